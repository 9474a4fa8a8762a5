"""Entry kinds are one enum: the code names them through ``EntryKind``, and a listing's
subject comes from the kind, not from a guess over payload keys."""

from __future__ import annotations

import ast
from pathlib import Path

from ledger.entry_kinds import EntryKind, subject_of

ROOT = Path(__file__).resolve().parent.parent


def test_the_library_names_kinds_through_the_enum() -> None:
    # "checkpoint" is also a file name and a note's default source label.
    values = {k.value for k in EntryKind} - {"checkpoint"}
    literal = []
    for path in sorted((ROOT / "ledger").rglob("*.py")):
        if path.name == "entry_kinds.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in values:
                literal.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert literal == []


def test_each_kind_names_its_subject() -> None:
    assert subject_of("license-added", {"id": "meridian", "version": 2}) == "meridian@2"
    assert subject_of("consent-version-added", {"policy": "tos", "version": 1}) == "tos@1"
    assert subject_of("dataset-created", {"dataset": "d", "owner": "o"}) == "d"
    assert subject_of("dataset-context-changed", {"dataset": "d", "previous": {}}) == "d"
    assert subject_of("batch-registered", {"batch_id": "b7", "dataset": "d"}) == "b7"
    assert subject_of("model-registered", {"name": "m", "datasets": ["d"]}) == "m"
    assert subject_of("erasure-requested", {"request_ref": "DSR-1", "batches": []}) == "DSR-1"
    assert subject_of("profile-set", {"provider": {"name": "Acme"}}) == "Acme"
    assert subject_of("disclosure-published", {"subject": "m", "template": "t"}) == "m"
    # Kinds about the log itself name nothing, whatever their payload holds.
    for kind in ("ledger-created", "schema-migrated", "note-restored", "checkpoint"):
        assert subject_of(kind, {"name": "x", "dataset": "y", "size": 3}) == ""
    assert subject_of("from-a-newer-version", {"name": "x"}) == ""
