"""Models: a training run or release recorded with the datasets it consumed, as of a
point in the log (a ``model-registered`` entry)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from provledger.errors import Conflict, InputError
from provledger.storage.entry_kinds import EntryKind

if TYPE_CHECKING:
    from provledger.ledger import Ledger
    from provledger.storage.store import Store

__all__ = [
    "RegisteredModel",
    "list_models",
    "register_model",
]


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A registered model (``model register --json``, ``model list --json``): recorded at
    ``seq``, trained on ``datasets`` as the ledger stood at ``as_of_seq``."""

    name: str
    seq: int
    recorded_at: str
    as_of_seq: int
    datasets: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MODEL_NAME = re.compile(r"[A-Za-z0-9._-]+")


# -- models -----------------------------------------------------------------------------
MODEL_BY_NAME = "SELECT seq FROM models WHERE name = ?"
INSERT_MODEL = "INSERT INTO models VALUES (?, ?)"
INSERT_MODEL_DATASET = "INSERT INTO model_datasets VALUES (?, ?, ?)"
MODELS = """
    SELECT m.seq, m.name, n.recorded_at, list(md.dataset ORDER BY md.dataset) AS datasets
    FROM models m JOIN model_datasets md ON md.seq = m.seq JOIN entries n ON n.seq = m.seq
    GROUP BY m.seq, m.name, n.recorded_at ORDER BY m.seq
"""


def register_model(ledger: Ledger, name: str, datasets: list[str]) -> RegisteredModel:
    """Record that model ``name`` (a training run or a release) consumed ``datasets`` as
    the ledger stands now: it reaches only batches registered before this entry.

    Raises InputError for a bad name or no datasets, NotFound for an unknown dataset and
    Conflict when a model of that name is already registered; nothing is written then.
    """
    # Deferred for start-up time: loads msgspec, orjson, rfc8785
    from provledger.registry import operations as registry

    if not MODEL_NAME.fullmatch(name):
        raise InputError(
            f"model name '{name}' may hold only letters, digits, '.', '_' and '-'", field="name"
        )
    chosen = sorted(set(datasets))
    if not chosen:
        raise InputError("name at least one dataset the model was trained on", field="dataset")
    store = ledger.store
    for dataset in chosen:
        registry.require_dataset(store, dataset)
    earlier = store.row(MODEL_BY_NAME, [name])
    if earlier is not None:
        raise Conflict(
            f"model '{name}' is already registered (seq {earlier[0]}); register a new "
            "training run or release under its own name, e.g. with a version suffix"
        )
    with ledger.appending() as app:
        store.execute(INSERT_MODEL, [app.seq, name])
        for dataset in chosen:
            store.execute(INSERT_MODEL_DATASET, [app.seq, name, dataset])
        entry = app.write_entry(
            EntryKind.model_registered, {"name": name, "datasets": chosen, "as_of_seq": app.seq - 1}
        )
    return RegisteredModel(
        name=name,
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        as_of_seq=entry.seq - 1,
        datasets=chosen,
    )


def list_models(store: Store) -> list[RegisteredModel]:
    """Every registered model, oldest first: name, seq, recorded_at, as_of_seq, datasets."""
    return [
        RegisteredModel(
            name=r["name"],
            seq=r["seq"],
            recorded_at=r["recorded_at"],
            as_of_seq=r["seq"] - 1,
            datasets=list(r["datasets"]),
        )
        for r in store.dicts(MODELS)
    ]
