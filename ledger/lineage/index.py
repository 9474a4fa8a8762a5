"""The lineage lookup keys: for every registered record, an 8-byte prefix of its record hash
and of its subject hash, kept sorted in ``lookup_keys`` so a lookup reads a few rows instead
of scanning ``records``. ``index_batch`` writes a batch's keys in its registration's
transaction; ``merge_keys`` folds the small runs together. ``verify`` rebuilds the keys from
``records`` and compares (see ``provledger.storage.projections``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from provledger.storage.migrations import guard_statements

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "KIND_RECORD",
    "KIND_SUBJECT",
    "index_batch",
    "key_prefix",
    "key_prefix2",
    "merge_keys",
]


KIND_RECORD = 0
KIND_SUBJECT = 1
# Merge the recent keys into the sorted ones once there are at least this many of them and
# more than a quarter as many as sorted ones: below that a lookup scans them in about 1 ms.
MERGE_MIN_KEYS = 1 << 20
MERGE_RATIO = 4


# -- lookup keys --------------------------------------------------------------------------
KEY_COLUMNS = (
    "kind TINYINT NOT NULL, prefix INTEGER NOT NULL, batch_seq INTEGER NOT NULL, "
    "ord INTEGER NOT NULL, prefix2 INTEGER"
)
# One batch's keys, sorted, appended to the recent keys in the registering transaction.
# h[1:4]::BIT::INTEGER reads bytes 0-3 big-endian and h[5:8] bytes 4-7, as key_prefix does.
BATCH_KEYS = """
    INSERT INTO lookup_keys_recent
    SELECT * FROM (
        SELECT 0::TINYINT, record_hash[1:4]::BIT::INTEGER, batch_seq, ord, NULL::INTEGER
        FROM records WHERE batch_seq = $seq
        UNION ALL
        SELECT 1::TINYINT, subject_hash[1:4]::BIT::INTEGER, batch_seq, ord,
               subject_hash[5:8]::BIT::INTEGER
        FROM records WHERE batch_seq = $seq AND subject_hash IS NOT NULL
    ) ORDER BY ALL
"""
KEY_COUNTS = """
    SELECT (SELECT count(*) FROM lookup_keys),
           (SELECT count(*) FROM lookup_keys_recent),
           (SELECT count(DISTINCT batch_seq) FROM lookup_keys_recent)
"""
# Rewrites the sorted keys with the recent ones folded in, then empties the recent ones.
MERGE_KEYS = (
    f"CREATE TABLE lookup_keys_merged ({KEY_COLUMNS})",
    "INSERT INTO lookup_keys_merged SELECT * FROM "
    "(SELECT * FROM lookup_keys UNION ALL SELECT * FROM lookup_keys_recent) ORDER BY ALL",
    "DROP TABLE lookup_keys",
    "ALTER TABLE lookup_keys_merged RENAME TO lookup_keys",
    "DROP TABLE lookup_keys_recent",
    f"CREATE TABLE lookup_keys_recent ({KEY_COLUMNS})",
    # Dropping a table drops its guard triggers: put them back on the new tables.
    *guard_statements("lookup_keys"),
    *guard_statements("lookup_keys_recent"),
)
# Where the records whose hash starts with these bytes sit, per kind.
KEY_HITS = {
    KIND_RECORD: """
        SELECT batch_seq, ord FROM lookup_keys WHERE kind = 0 AND prefix = $prefix
        UNION ALL
        SELECT batch_seq, ord FROM lookup_keys_recent WHERE kind = 0 AND prefix = $prefix
    """,
    KIND_SUBJECT: """
        SELECT batch_seq, ord FROM lookup_keys
        WHERE kind = 1 AND prefix = $prefix AND prefix2 = $prefix2
        UNION ALL
        SELECT batch_seq, ord FROM lookup_keys_recent
        WHERE kind = 1 AND prefix = $prefix AND prefix2 = $prefix2
    """,
}


def key_prefix(digest: bytes) -> int:
    """The lookup key of a hash: its first four bytes as a signed big-endian integer."""
    return int.from_bytes(digest[:4], "big", signed=True)


def key_prefix2(digest: bytes) -> int:
    """The second part of a subject's lookup key: bytes 4-7, as ``key_prefix``."""
    return int.from_bytes(digest[4:8], "big", signed=True)


def index_batch(store: Store, seq: int) -> None:
    """Add the lookup keys of batch ``seq``'s records; call it inside the transaction that
    registers them. Folds the recent keys into the sorted ones when they have grown."""
    store.execute(BATCH_KEYS, {"seq": seq})
    counts = store.row(KEY_COUNTS)
    assert counts is not None
    base, recent, runs = counts
    if runs > 1 and recent >= MERGE_MIN_KEYS and recent * MERGE_RATIO > base:
        merge_keys(store)


def merge_keys(store: Store) -> None:
    """Rewrite ``lookup_keys`` sorted with ``lookup_keys_recent`` folded in (call it inside
    a transaction)."""
    for statement in MERGE_KEYS:
        store.execute(statement)
