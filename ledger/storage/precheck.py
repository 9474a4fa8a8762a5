"""The cheap check every command runs when it opens a ledger, before any other query.

1. The catalog (``provledger.storage.catalog``) is exactly what the migrations create: its
fingerprint
   equals the one recorded in the latest signed ``ledger-created`` / ``schema-migrated``
   entry (whose hash and signature are checked), or, when they differ, the catalog equals
   the one the applied migrations create on an empty database (a newer DuckDB may describe
   the same objects in other words). Anything else is refused, naming each extra, missing
   or changed object.
2. The database is neither behind nor beside its signed checkpoint note
   (``checkpoint.note`` in the home): the note's size is at most the number of entries, and
   the RFC 9162 root of that many entries is the note's root. A ledger with more than one
   entry and no note is refused; ``provledger verify --restore-note`` restores one on
   purpose after a full verify, and records that it did.

None of this reads ``records``: its cost grows with the number of entries, not records.
A full ``verify`` stays a separate, explicit command; the time and seq of the last one that
passed are kept in ``last-verify.json`` in the home, a convenience as trustworthy as the
home itself (anyone who can write the home can write it).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from provledger.errors import BehindCheckpoint, CatalogError, IntegrityError
from provledger.storage.catalog import CatalogObject, describe_differences, fingerprint
from provledger.storage.entry_kinds import EntryKind
from provledger.storage.store import Store, entry_body_hash
from provledger.tlog.checkpoint import Checkpoint
from provledger.tlog.keys import PublicKey
from provledger.tlog.merkle import leaf_hash, root_from_leaf_hashes

__all__ = [
    "CATALOG_KINDS",
    "Checked",
    "LastFullVerify",
    "ReadCheckSummary",
    "check_catalog",
    "check_note",
    "expected_catalog",
    "recorded_fields",
]

# Entry kinds that record the catalog fingerprint (and the subject key check).
CATALOG_KINDS = (EntryKind.ledger_created, EntryKind.schema_migrated)
# The latest entry that records the catalog fingerprint. Run only once the catalog holds
# no macro, view or type, so every name below is DuckDB's own.
LATEST_CATALOG_ENTRY = (
    "SELECT seq, kind, payload, prev_hash, entry_hash, signature, key_id, recorded_at "
    "FROM entries WHERE kind IN ('ledger-created', 'schema-migrated') "
    "ORDER BY seq DESC LIMIT 1"
)
# Kinds of catalog object the migrations create; anything else fails the check at once.
_MIGRATION_KINDS = frozenset({"table", "trigger", "constraint", "index"})


@dataclass(frozen=True)
class Checked:
    """What the pre-check established when the ledger was opened."""

    checked_through_seq: int
    head_hash: str
    catalog: str
    note_size: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LastFullVerify:
    """The last full ``verify`` that passed, as recorded in the home's last-verify.json:
    when (ISO-8601 UTC, None if the file does not say), how many entries it verified,
    whether the log root of that many entries is still the one it verified
    (``matches_log``), and whether it covered every entry the log holds now."""

    at: str | None
    seq: int
    matches_log: bool
    covers_head: bool


@dataclass(frozen=True, slots=True)
class ReadCheckSummary:
    """What the pre-check at open established, and the last full verify (None when none
    is recorded): the ``checked`` object of a read command's ``--json``."""

    checked_through_seq: int
    head_hash: str
    catalog: str
    note_size: int | None
    last_full_verify: LastFullVerify | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.cache
def expected_catalog(migrations: tuple[str, ...]) -> list[CatalogObject]:
    """The catalog the named migrations create on an empty database."""
    scratch = Store.scratch(migrations)
    try:
        return scratch.catalog()
    finally:
        scratch.close()


def _refuse(store: Store, found: list[CatalogObject], expected: list[CatalogObject]) -> None:
    raise CatalogError(
        f"the catalog of {store.path} is not what the ledger's migrations create: "
        f"{describe_differences(found, expected)}. Someone changed the database's schema; "
        "restore it from a backup and run 'provledger verify'"
    )


def recorded_fields(store: Store, public: PublicKey) -> dict[str, Any]:
    """The payload of the latest entry recording the catalog, after checking its hash and
    signature ({} when there is none). Call only once the catalog holds no macro."""
    row = store.row(LATEST_CATALOG_ENTRY)
    if row is None:
        return {}
    seq, kind, payload_text, prev_hash, entry_hash, signature, key_id, recorded_at = row
    payload = orjson.loads(payload_text)
    digest = entry_body_hash(seq, kind, payload, prev_hash, key_id, recorded_at)
    try:
        sig = bytes.fromhex(signature)
    except ValueError:
        sig = b""
    if digest.hex() != entry_hash or not public.verify(sig, digest):
        raise IntegrityError(
            f"the {kind} entry that records the ledger's catalog does not verify", seq
        )
    return dict(payload)


def check_catalog(store: Store, public: PublicKey) -> tuple[str, dict[str, Any]]:
    """Refuse (CatalogError) a catalog that is not what the applied migrations create;
    return its fingerprint and the recorded catalog entry's payload."""
    found = store.catalog()
    applied = tuple(store.applied_migrations())
    # (Store.open has refused migrations out of order or unknown.)
    if {o.kind for o in found} - _MIGRATION_KINDS:
        _refuse(store, found, expected_catalog(applied))
    found_print = fingerprint(found)
    recorded = recorded_fields(store, public) if store.pending_migrations() == [] else {}
    if recorded.get("catalog") == found_print:
        return found_print, recorded
    expected = expected_catalog(applied)
    if found != expected:
        _refuse(store, found, expected)
    return found_print, recorded


def check_note(
    store: Store,
    note: Checkpoint | None,
    note_path: str,
    *,
    allow_missing: bool = False,
    allow_beside: bool = False,
) -> tuple[int, str]:
    """Refuse a database that is behind or beside its note, or that lost its note;
    return the head seq and entry hash. ``verify`` allows a missing note or one beside
    the database at open, and reports them itself with the first bad seq."""
    hashes = store.entry_hashes()
    count = len(hashes)
    head = hashes[-1].hex() if hashes else ""
    if note is None:
        if count > 1 and not allow_missing:
            raise BehindCheckpoint(
                f"ledger holds {count} entries but its signed checkpoint note {note_path} is "
                "missing, so a shortened ledger could not be told from a whole one. Put the "
                "note back (or check against one kept elsewhere: 'provledger verify "
                "--checkpoint FILE'); to restore it on purpose, run 'provledger verify "
                "--restore-note', which verifies everything first and records the restore",
                None,
            )
        return count, head
    if count < note.size:
        raise BehindCheckpoint(
            f"ledger database holds {count} entries but the signed checkpoint "
            f"{note_path} records {note.size}: acknowledged commits were lost "
            "(for example a torn write-ahead log). Refusing to continue on the shorter "
            "ledger; restore the database from a backup and run 'provledger verify'",
            count + 1,
        )
    root = root_from_leaf_hashes(leaf_hash(h) for h in hashes[: note.size])
    if root != note.root and not allow_beside:
        raise BehindCheckpoint(
            f"the first {note.size} entries of the ledger database do not match the signed "
            f"checkpoint {note_path}: the log was rewritten. Restore the database from a "
            "backup and run 'provledger verify'",
            None,
        )
    return count, head
