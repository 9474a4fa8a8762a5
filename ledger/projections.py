"""Checking the projection tables against the entries that wrote them.

Audits, lineage and exports read the projection tables (licenses, consent versions,
dataset states, batches, models, erasures ...), not the entry payloads. Each row carries
the seq of the entry that wrote it; ``check_projections`` rebuilds, from every entry's
signed payload, the rows it must have written and compares them with the stored rows, so a
row inserted, changed or removed behind the ledger's back is caught at its seq.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from ledger.errors import IntegrityError
from ledger.store import Store

__all__ = ["check_projections", "erased_row_count"]

Payload = dict[str, Any]


def _sorted(values: list[Any]) -> list[Any]:
    return sorted(values, key=repr)


def _batch_rows(p: Payload) -> list[tuple[Any, ...]]:
    return [
        (
            p["batch_id"], p["dataset"], p["source"], p["license"], p["consent"], p["origin"],
            p["collected_at"], p["split"], p["cost"], p["generator"], p["text_field"],
            p["subject_field"], p["records"], p["merkle_root"],
        )
    ]  # fmt: skip


def _license_rows(p: Payload) -> list[tuple[Any, ...]]:
    return [
        (
            p["id"], p["version"], p.get("title"), p.get("licensor"), p["grants"],
            p["effective_from"], p.get("expires_on"), p.get("spdx"), p.get("document_sha256"),
        )
    ]  # fmt: skip


def _consent_rows(p: Payload) -> list[tuple[Any, ...]]:
    return [
        (
            p["policy"], p["version"], p["effective_from"], p["permits"],
            p.get("retention_days"), p.get("prior_versions") or {},
        )
    ]  # fmt: skip


def erased_row_count(p: Payload) -> int:
    """How many (batch, ord) rows an erasure entry erased. Entries written before the rows
    were signed list one record hash per erased row."""
    return len(p["erased"]) if "erased" in p else len(p["record_hashes"])


def _erased_rows(p: Payload) -> list[tuple[Any, ...]]:
    if "erased" in p:
        return [(batch_id, ord_, h.upper()) for batch_id, ord_, h in p["erased"]]
    return [(h.upper(),) for h in p["record_hashes"]]


# table -> (entry kinds that write it, stored rows as tuples, rows a payload implies)
CHECKS: dict[str, tuple[tuple[str, ...], str, Callable[[Payload], list[tuple[Any, ...]]]]] = {
    "batches": (
        ("batch-registered",),
        "SELECT seq, batch_id, dataset, source, license, consent, origin, collected_at, split, "
        "cost, generator, text_field, subject_field, records, merkle_root FROM batches",
        _batch_rows,
    ),
    "batch_parents": (
        ("batch-registered",),
        "SELECT seq, batch_id, parent_id FROM batch_parents",
        lambda p: [(p["batch_id"], parent) for parent in p["derived_from"]],
    ),
    "licenses": (
        ("license-added",),
        "SELECT seq, id, version, title, licensor, grants, effective_from, expires_on, spdx, "
        "document_sha256 FROM licenses",
        _license_rows,
    ),
    "consent_versions": (
        ("consent-version-added",),
        "SELECT seq, policy, version, effective_from, permits, retention_days, "
        "prior_versions::JSON FROM consent_versions",
        _consent_rows,
    ),
    "dataset_states": (
        ("dataset-created", "dataset-context-changed"),
        "SELECT seq, dataset, owner, context, uses FROM dataset_states",
        lambda p: [(p["dataset"], p["owner"], p["context"], p["uses"])],
    ),
    "models": (
        ("model-registered",),
        "SELECT seq, name FROM models",
        lambda p: [(p["name"],)],
    ),
    "model_datasets": (
        ("model-registered",),
        "SELECT seq, model, dataset FROM model_datasets",
        lambda p: [(p["name"], d) for d in p["datasets"]],
    ),
    "erasures": (
        ("erasure-requested",),
        "SELECT seq, request_ref, hex(subject_hash), records FROM erasures",
        lambda p: [(p["request_ref"], p["subject_hash"].upper(), erased_row_count(p))],
    ),
    # Each erased row's batch (by id), ord and hash, exactly as its entry signed them. A
    # row pointing at a batch that does not exist reads as batch None and is caught.
    "erased_records": (
        ("erasure-requested",),
        "SELECT e.seq, b.batch_id, e.ord, hex(e.record_hash) FROM erased_records e "
        "LEFT JOIN batches b ON b.seq = e.batch_seq",
        _erased_rows,
    ),
}

# Entries written before erasures signed their rows name one record hash per erased row:
# for them only the hashes can be compared.
NARROW: dict[str, Callable[[Payload, tuple[Any, ...]], tuple[Any, ...]]] = {
    "erased_records": lambda p, row: row if "erased" in p else row[-1:],
}

# An erased record row must point at a stored record with the same hash.
ERASED_NOT_RECORDED = """
    SELECT min(e.seq) FROM erased_records e
    LEFT JOIN records r ON r.batch_seq = e.batch_seq AND r.ord = e.ord
    WHERE r.record_hash IS DISTINCT FROM e.record_hash
"""


def _plain(value: Any) -> Any:
    """A stored value in the form its payload holds it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def check_projections(store: Store, entries: dict[int, tuple[str, Payload]]) -> None:
    """Raise IntegrityError at the first seq whose projection rows differ from what its
    entry's payload says it wrote (``entries``: seq -> (kind, payload))."""
    problems: list[tuple[int, str]] = []
    for table, (kinds, sql, expected_rows) in CHECKS.items():
        stored: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in store.rows(sql):
            stored[row[0]].append(tuple(_plain(v) for v in row[1:]))
        for seq, (kind, payload) in entries.items():
            if kind not in kinds:
                continue
            want = expected_rows(payload)
            got = stored.pop(seq, [])
            narrow = NARROW.get(table)
            if narrow is not None:
                got = [narrow(payload, row) for row in got]
            if _sorted(got) != _sorted(want):
                problems.append((seq, f"{table} rows do not match the entry that wrote them"))
        for seq in stored:
            problems.append((seq, f"{table} holds rows that no {' or '.join(kinds)} entry wrote"))
    orphan = store.row(ERASED_NOT_RECORDED)
    if orphan is not None and orphan[0] is not None:
        problems.append((orphan[0], "erased_records names a record not stored with that hash"))
    if problems:
        seq, problem = min(problems)
        raise IntegrityError(problem, seq)
