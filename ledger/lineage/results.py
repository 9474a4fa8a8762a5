"""What a lineage look-up and an erasure return: frozen dataclasses, one per part of the
result, so a caller reads ``result.batches[0].source`` (a ``Source``) instead of a dict of
anything. ``as_dict()`` gives the JSON shape ``lineage --json`` and ``erase --json`` print,
key for key. Light on purpose (dataclasses and the vocabulary only): the facade and the
CLI name these types without loading the lineage queries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from provledger.vocabulary import Context, Source, Split

__all__ = [
    "Erasure",
    "Lineage",
    "LineageBatch",
    "LineageDataset",
    "LineageErasure",
    "LineageModel",
    "LineageQuery",
    "LineageRecord",
    "MatchedBy",
    "QueryBy",
    "Relation",
    "RowRef",
    "SameTextRecord",
]

# How a look-up was asked.
QueryBy = Literal["subject", "record", "text"]
# Why a record is in a result: it matched the query itself, it is another copy of a
# matching record (same record hash), or it is a near copy of the text.
MatchedBy = Literal["subject", "record", "text", "near", "record_hash"]
# A batch holding matching records (direct) or derived from one, at any depth (derived).
Relation = Literal["direct", "derived"]


def _flat(row: Any) -> dict[str, Any]:
    """A result row of plain fields as a dict, in field order. ``asdict`` deep-copies every
    value, which a look-up reaching thousands of rows would pay for nothing."""
    return {name: getattr(row, name) for name in row.__match_args__}


@dataclass(frozen=True, slots=True)
class LineageQuery:
    """How a look-up was asked: by what, and the hash looked up (never a raw subject id);
    ``near`` when near copies of a text were asked for too."""

    by: QueryBy
    hash: str
    near: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"by": self.by, "hash": self.hash}
        if self.near:
            out["near"] = True
        return out


@dataclass(frozen=True, slots=True)
class LineageRecord:
    """One matching record: where it sits, its hash, and the request that erased it."""

    batch_id: str
    ord: int
    record_hash: str
    erased: bool
    erased_by: str | None
    matched_by: MatchedBy


@dataclass(frozen=True, slots=True)
class SameTextRecord:
    """A record elsewhere with the same normalised text but another record hash."""

    batch_id: str
    ord: int
    record_hash: str
    erased: bool


@dataclass(frozen=True, slots=True)
class LineageBatch:
    """A batch reached: holding matching records (``direct``, ``records`` of its
    ``batch_records``) or derived from one ``depth`` steps down (``derived``)."""

    batch_id: str
    dataset: str
    source: Source
    split: Split
    relation: Relation
    depth: int
    records: int
    batch_records: int
    derived_from: list[str]
    origin: str | None
    file: str | None


@dataclass(frozen=True, slots=True)
class LineageDataset:
    """A dataset reached, with its current owner and context (None for a dataset with no
    recorded state) and the reached batches in it."""

    dataset: str
    owner: str | None
    context: Context | None
    batches: list[str]
    records: int


@dataclass(frozen=True, slots=True)
class LineageModel:
    """A model reached: registered at ``seq`` on ``datasets``, through ``batches``."""

    name: str
    seq: int
    datasets: list[str]
    batches: list[str]


@dataclass(frozen=True, slots=True)
class LineageErasure:
    """An erasure request that covers some of the matching records."""

    seq: int
    request_ref: str
    recorded_at: str
    records: int


@dataclass(frozen=True, slots=True)
class Lineage:
    """What a lookup found (``lineage --json``). ``query`` holds how it was looked up and
    the hash (never a raw subject id); ``erased`` is True when every matching record is
    covered by an erasure."""

    query: LineageQuery
    records: list[LineageRecord] = field(default_factory=list)
    batches: list[LineageBatch] = field(default_factory=list)
    datasets: list[LineageDataset] = field(default_factory=list)
    models: list[LineageModel] = field(default_factory=list)
    erasures: list[LineageErasure] = field(default_factory=list)
    same_text: list[SameTextRecord] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.records)

    @property
    def erased(self) -> bool:
        return self.found and all(r.erased for r in self.records)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.as_dict(),
            "records": [_flat(r) for r in self.records],
            "batches": [_flat(b) for b in self.batches],
            "datasets": [_flat(d) for d in self.datasets],
            "models": [_flat(m) for m in self.models],
            "erased": self.erased,
            "erasures": [_flat(e) for e in self.erasures],
            "same_text": [_flat(r) for r in self.same_text],
        }


@dataclass(frozen=True, slots=True)
class RowRef:
    """One stored record row: its batch, its 0-based place in the batch, its hash."""

    batch_id: str
    ord: int
    record_hash: str


@dataclass(frozen=True, slots=True)
class Erasure:
    """A recorded erasure request (``erase --json``). ``already_recorded`` is True when
    this call found the request already in the ledger and changed nothing."""

    request_ref: str
    seq: int
    recorded_at: str
    entry_hash: str
    subject_hash: str
    record_hashes: list[str]
    batches: list[str]
    derived_batches: list[str]
    models: list[str]
    records: int
    same_text: list[RowRef] = field(default_factory=list)
    same_text_erased: bool = False
    already_recorded: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
