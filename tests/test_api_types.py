"""The public Python API returns typed results, not dicts of ``Any``.

Every public method and property of ``Ledger`` has a return annotation; resolved (with the
names its module imports only for type checking), neither it nor any field of the
dataclasses and models it returns, at any depth, is ``Any``, except where ``ANY_ALLOWED``
says why a JSON document is returned as one.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any

import pydantic
import pytest

from provledger import ledger as ledger_module
from provledger.ledger import Ledger
from provledger.registry.views import ProfileState
from provledger.vocabulary import Context, Use

# (owner, attribute) -> why it is a JSON document of Any and not a typed result.
ANY_ALLOWED = {
    ("Ledger", "receipt"): "the signed erasure receipt: its RFC 8785 bytes are what is signed, "
    "so it is handed out, written and checked as that JSON document",
    ("ProfileState", "profile"): "the organisation profile exactly as its entry signed it "
    "(schemas/profile.schema.json); reading it back loads no SQLModel",
    ("Entry", "payload"): "an entry's signed payload: its shape is its kind's "
    "(provledger.storage.entry_kinds)",
    ("EntryProof", "entry"): "the entry as the JSON object whose RFC 8785 form is the proven "
    "leaf (canonical_entry); a checker rebuilds the leaf from it",
}


def type_checking_names(module: types.ModuleType) -> dict[str, Any]:
    """The names a module imports under ``if TYPE_CHECKING:`` (at any level), imported."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module:
                source = importlib.import_module(stmt.module)
                for alias in stmt.names:
                    names[alias.asname or alias.name] = getattr(source, alias.name)
    return names


NAMESPACE = {**vars(ledger_module), **type_checking_names(ledger_module)}


def public_members() -> list[tuple[str, Any]]:
    """(name, function) for every public method and property getter of Ledger."""
    out = []
    for name, member in vars(Ledger).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            out.append((name, member.fget))
        elif isinstance(member, classmethod | staticmethod):
            out.append((name, member.__func__))
        elif inspect.isfunction(member):
            out.append((name, member))
    return out


def hints(owner: Any) -> dict[str, Any]:
    """Resolved field annotations of a dataclass or pydantic model."""
    module = importlib.import_module(owner.__module__)
    return typing.get_type_hints(owner, {**vars(module), **type_checking_names(module)})


def any_in(tp: Any, where: str, seen: set[Any]) -> list[str]:
    """Places in ``tp`` (and in the fields of the classes it names) that are Any."""
    if tp is Any:
        return [where]
    found = []
    for arg in typing.get_args(tp):
        found += any_in(arg, where, seen)
    if not isinstance(tp, type) or tp in seen:
        return found
    seen.add(tp)
    fields: dict[str, Any] = {}
    if dataclasses.is_dataclass(tp):
        fields = {f.name: hints(tp)[f.name] for f in dataclasses.fields(tp)}
    elif issubclass(tp, pydantic.BaseModel):
        fields = {name: f.annotation for name, f in tp.model_fields.items()}
    for name, annotation in fields.items():
        if (tp.__name__, name) not in ANY_ALLOWED:
            found += any_in(annotation, f"{where} -> {tp.__name__}.{name}", seen)
    return found


MEMBERS = public_members()


def test_the_walk_covers_the_facade() -> None:
    names = {name for name, _ in MEMBERS}
    assert {"lineage", "erase", "datasets", "add_license", "key_info", "read_check"} <= names
    assert len(names) >= 40


@pytest.mark.parametrize(("name", "function"), MEMBERS, ids=[n for n, _ in MEMBERS])
def test_public_ledger_results_are_typed(name: str, function: Any) -> None:
    annotations = inspect.get_annotations(function)
    assert "return" in annotations, f"Ledger.{name} has no return annotation"
    returned = typing.get_type_hints(function, NAMESPACE)["return"]
    if ("Ledger", name) in ANY_ALLOWED:
        assert any_in(returned, f"Ledger.{name}", set()), "no longer Any: drop the exception"
        return
    assert any_in(returned, f"Ledger.{name}", set()) == []


@dataclasses.dataclass
class _Deep:
    rows: list[dict[str, Any]]


def test_the_check_sees_a_dict_of_any() -> None:
    def untyped() -> dict[str, Any]:
        return {}

    def nested() -> list[_Deep]:
        return []

    assert any_in(typing.get_type_hints(untyped)["return"], "untyped", set()) == ["untyped"]
    assert any_in(typing.get_type_hints(nested)["return"], "nested", set()) == [
        "nested -> _Deep.rows"
    ]


def test_the_profile_reads_back_as_it_was_set(ledger: Ledger) -> None:
    assert ledger.profile() is None
    manifest = {"provider": {"name": "Example AI", "contact": "ai@example.com"},
                "intended_purpose": "ticket routing"}  # fmt: skip
    state = ledger.set_profile(manifest)
    assert isinstance(state, ProfileState)
    entry = ledger.entries()[-1]
    assert (state.seq, state.recorded_at) == (entry.seq, entry.recorded_at)
    assert state.profile == entry.payload
    assert state.profile["provider"] == manifest["provider"]
    assert ledger.profile() == state


def test_registry_views_carry_the_vocabulary_and_dates(ledger: Ledger) -> None:
    created = ledger.create_dataset("d", owner="o", context="regulated", uses=["train"])
    assert type(created.context) is Context and created.context is Context.regulated
    assert [type(u) for u in created.uses] == [Use]
    added = ledger.add_consent(
        {"policy": "tos", "version": 1, "effective_from": "2024-01-01", "permits": ["train"]}
    )
    assert added.effective_from == date(2024, 1, 1)
    assert added.as_dict()["effective_from"] == "2024-01-01"
    assert ledger.consent_versions() == [added]
