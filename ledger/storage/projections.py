"""Checking the projection tables against the entries that wrote them.

Audits, lineage and exports read the projection tables (licenses, consent versions,
dataset states, batches, models, erasures ...), not the entry payloads. Each row carries
the seq of the entry that wrote it; ``check_projections`` rebuilds, from every entry's
signed payload, the rows it must have written and compares them with the stored rows, so a
row inserted, changed or removed behind the ledger's back is caught at its seq.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from provledger.errors import IntegrityError
from provledger.storage.entry_kinds import EntryKind
from provledger.storage.store import Store

__all__ = ["check_projections", "erased_row_count", "unsigned_digest"]

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
        (EntryKind.batch_registered,),
        "SELECT seq, batch_id, dataset, source, license, consent, origin, collected_at, split, "
        "cost, generator, text_field, subject_field, records, merkle_root FROM batches",
        _batch_rows,
    ),
    "batch_parents": (
        (EntryKind.batch_registered,),
        "SELECT seq, batch_id, parent_id FROM batch_parents",
        lambda p: [(p["batch_id"], parent) for parent in p["derived_from"]],
    ),
    "licenses": (
        (EntryKind.license_added,),
        "SELECT seq, id, version, title, licensor, grants, effective_from, expires_on, spdx, "
        "document_sha256 FROM licenses",
        _license_rows,
    ),
    "consent_versions": (
        (EntryKind.consent_version_added,),
        "SELECT seq, policy, version, effective_from, permits, retention_days, "
        "prior_versions::JSON FROM consent_versions",
        _consent_rows,
    ),
    "dataset_states": (
        (EntryKind.dataset_created, EntryKind.dataset_context_changed),
        "SELECT seq, dataset, owner, context, uses FROM dataset_states",
        lambda p: [(p["dataset"], p["owner"], p["context"], p["uses"])],
    ),
    "models": (
        (EntryKind.model_registered,),
        "SELECT seq, name FROM models",
        lambda p: [(p["name"],)],
    ),
    "model_datasets": (
        (EntryKind.model_registered,),
        "SELECT seq, model, dataset FROM model_datasets",
        lambda p: [(p["name"], d) for d in p["datasets"]],
    ),
    "erasures": (
        (EntryKind.erasure_requested,),
        "SELECT seq, request_ref, hex(subject_hash), records FROM erasures",
        lambda p: [(p["request_ref"], p["subject_hash"].upper(), erased_row_count(p))],
    ),
    # Each erased row's batch (by id), ord and hash, exactly as its entry signed them. A
    # row pointing at a batch that does not exist reads as batch None and is caught.
    "erased_records": (
        (EntryKind.erasure_requested,),
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


# Columns that entries written before m004 did not sign: batches' file name and format and
# erased records' (batch, ord). The schema-migrated entry signs a digest of them as they
# stood (``unsigned_digest``); later entries sign the values themselves.
UNSIGNED_ROWS = (
    "SELECT 'b', seq, NULL, NULL, file_name, file_format FROM batches WHERE seq < $before "
    "UNION ALL "
    "SELECT 'e', seq, batch_seq, ord, lower(hex(record_hash)), NULL FROM erased_records "
    "WHERE seq < $before ORDER BY 1, 2, 3, 4, 5"
)
BATCH_FILES = "SELECT seq, file_name, file_format FROM batches"
# The lookup keys rebuilt from `records` (as lineage.BATCH_KEYS writes them) against the
# stored ones, both ways: a key missing, added or redirected is counted.
LOOKUP_KEYS_DIFFER = """
    WITH stored AS (
        SELECT kind, prefix, batch_seq, ord, prefix2 FROM lookup_keys
        UNION ALL
        SELECT kind, prefix, batch_seq, ord, prefix2 FROM lookup_keys_recent
    ), rebuilt AS (
        SELECT 0::TINYINT AS kind, record_hash[1:4]::BIT::INTEGER AS prefix, batch_seq, ord,
               NULL::INTEGER AS prefix2
        FROM records
        UNION ALL
        SELECT 1::TINYINT, subject_hash[1:4]::BIT::INTEGER, batch_seq, ord,
               subject_hash[5:8]::BIT::INTEGER
        FROM records WHERE subject_hash IS NOT NULL
    )
    SELECT min(batch_seq) FROM (
        (SELECT * FROM stored EXCEPT ALL SELECT * FROM rebuilt)
        UNION ALL
        (SELECT * FROM rebuilt EXCEPT ALL SELECT * FROM stored)
    )
"""


def unsigned_digest(store: Store, before: int = 2**62) -> str:
    """Hex SHA-256 over the rows of the columns older entries did not sign (see
    UNSIGNED_ROWS), for rows written before seq ``before``."""
    digest = hashlib.sha256()
    for row in store.rows(UNSIGNED_ROWS, {"before": before}):
        digest.update(json.dumps(list(row)).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _check_signed_columns(
    store: Store, entries: dict[int, tuple[str, Payload]], problems: list[tuple[int, str]]
) -> None:
    """Batch file names and formats against the payloads that sign them; for entries older
    than that signing, file names and erased records' (batch, ord) against the digest a
    schema-migrated entry signed. (Erased rows of newer erasures are compared whole in
    ``CHECKS``.)"""
    for seq, file_name, file_format in store.rows(BATCH_FILES):
        kind, p = entries.get(seq, ("", {}))
        if kind != EntryKind.batch_registered:
            continue  # reported by the batches check
        base = os.path.basename(file_name) if file_name is not None else None
        if (
            file_format != p.get("format")
            or base != p.get("file")
            or ("path" in p and file_name != p["path"])
        ):
            problems.append((seq, "batches file name or format does not match its entry"))
    for seq, (kind, p) in entries.items():
        if (
            kind == EntryKind.schema_migrated
            and p.get("unsigned_digest") is not None
            and unsigned_digest(store, before=seq) != p["unsigned_digest"]
        ):
            problems.append(
                (seq, "batch file names or erased records written before this entry changed")
            )
    differ = store.row(LOOKUP_KEYS_DIFFER)
    if differ is not None and differ[0] is not None:
        problems.append((differ[0], "lineage lookup keys do not match the records they index"))


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
    _check_signed_columns(store, entries, problems)
    orphan = store.row(ERASED_NOT_RECORDED)
    if orphan is not None and orphan[0] is not None:
        problems.append((orphan[0], "erased_records names a record not stored with that hash"))
    if problems:
        seq, problem = min(problems)
        raise IntegrityError(problem, seq)
