"""The ledger's schema, as ordered, named migrations. Applied names are recorded in
``schema_migrations``; a database that names a migration this code lacks is from a newer
provledger and is refused.

The ledger tables (``APPEND_ONLY_TABLES``): ``entries`` and the projections of entry
payloads, each written in the same transaction as its entry and keyed by that entry's
``seq``, so ``--as-of`` is a filter on seq and ``verify`` can rebuild them. No code path
updates or deletes their rows; triggers refuse both as a guard rail. The lineage lookup
keys (m003) are an index derived from ``records``: ``provledger.lineage.lineage`` rewrites them
when it
folds new keys in (dropping and recreating the tables and their guards, m004), and
``verify`` rebuilds them from ``records`` and compares, because ``lineage`` answers from
them. The catalog these migrations create is pinned (``provledger.storage.catalog``).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

__all__ = ["APPEND_ONLY_TABLES", "LOOKUP_KEY_TABLES", "MIGRATIONS", "guard_statements"]

# The tables of m001, which m002 guards; later migrations guard their own.
_INITIAL_TABLES = (
    "entries",
    "licenses",
    "consent_versions",
    "dataset_states",
    "batches",
    "batch_parents",
    "records",
    "models",
    "model_datasets",
    "erasures",
    "erased_records",
)
APPEND_ONLY_TABLES = (
    *_INITIAL_TABLES,
    "record_sketches",
    "batch_profiles",
    "near_batches",
    "near_cross_split",
    "near_benchmark",
)
# Derived from `records` and rewritten only by lineage's merge (which drops and recreates
# the tables, then their guards); verify rebuilds them from `records` and compares.
LOOKUP_KEY_TABLES = ("lookup_keys", "lookup_keys_recent")


def guard_statements(table: str) -> list[str]:
    """The statements creating ``table``'s guard triggers, which refuse UPDATE and DELETE."""
    return [
        f"CREATE TRIGGER {table}_no_{event.lower()} AFTER {event} ON {table} "
        f"FOR EACH STATEMENT INSERT INTO guard_sink "
        f"SELECT error('ledger is append-only: {event} on {table} refused')"
        for event in ("UPDATE", "DELETE")
    ]


def m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE entries (
            seq         BIGINT PRIMARY KEY,
            kind        VARCHAR NOT NULL,
            payload     VARCHAR NOT NULL,   -- RFC 8785 canonical JSON
            prev_hash   VARCHAR NOT NULL,   -- hex; 64 zeros before the first entry
            entry_hash  VARCHAR NOT NULL,   -- hex SHA-256 of the canonical entry body
            signature   VARCHAR NOT NULL,   -- hex Ed25519 signature over entry_hash bytes
            key_id      VARCHAR NOT NULL,
            recorded_at VARCHAR NOT NULL    -- ISO-8601 UTC, never decreasing
        );
        CREATE TABLE licenses (
            seq BIGINT NOT NULL, id VARCHAR NOT NULL, version INTEGER NOT NULL,
            title VARCHAR, licensor VARCHAR, grants VARCHAR[] NOT NULL,
            effective_from DATE NOT NULL, expires_on DATE, spdx VARCHAR,
            document_sha256 VARCHAR
        );
        CREATE TABLE consent_versions (
            seq BIGINT NOT NULL, policy VARCHAR NOT NULL, version INTEGER NOT NULL,
            effective_from DATE NOT NULL, permits VARCHAR[] NOT NULL,
            retention_days INTEGER, prior_versions VARCHAR NOT NULL  -- JSON {"1": fate}
        );
        -- One row per create or set-context: the current state is the latest seq.
        CREATE TABLE dataset_states (
            seq BIGINT NOT NULL, dataset VARCHAR NOT NULL, owner VARCHAR NOT NULL,
            context VARCHAR NOT NULL, uses VARCHAR[] NOT NULL
        );
        CREATE TABLE batches (
            seq BIGINT NOT NULL,            -- the batch-registered entry; batch_id = 'b' || seq
            batch_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, source VARCHAR NOT NULL,
            license VARCHAR, consent VARCHAR, origin VARCHAR, collected_at TIMESTAMP,
            split VARCHAR NOT NULL, cost DOUBLE, generator VARCHAR,
            file_name VARCHAR, file_format VARCHAR, text_field VARCHAR, subject_field VARCHAR,
            records BIGINT NOT NULL, merkle_root VARCHAR NOT NULL
        );
        CREATE TABLE batch_parents (seq BIGINT NOT NULL, batch_id VARCHAR NOT NULL,
                                    parent_id VARCHAR NOT NULL);
        -- Hashes only: never record contents, never raw subject ids.
        CREATE TABLE records (
            batch_seq INTEGER NOT NULL, ord INTEGER NOT NULL,
            record_hash BLOB NOT NULL, content_hash BLOB, subject_hash BLOB
        );
        CREATE TABLE models (seq BIGINT NOT NULL, name VARCHAR NOT NULL);
        CREATE TABLE model_datasets (seq BIGINT NOT NULL, model VARCHAR NOT NULL,
                                     dataset VARCHAR NOT NULL);
        CREATE TABLE erasures (
            seq BIGINT NOT NULL, request_ref VARCHAR NOT NULL, subject_hash BLOB NOT NULL,
            records BIGINT NOT NULL
        );
        CREATE TABLE erased_records (seq BIGINT NOT NULL, batch_seq INTEGER NOT NULL,
                                     ord INTEGER NOT NULL, record_hash BLOB NOT NULL);
    """)


def m002_append_only_guards(con: duckdb.DuckDBPyConnection) -> None:
    # A guard rail against mistakes, not a security boundary: someone with the file can
    # drop these. Tamper evidence comes from the hash chain and signatures. A trigger needs
    # a statement to run; the insert into guard_sink never happens because error() throws.
    con.execute("CREATE TABLE guard_sink (never VARCHAR)")
    for table in _INITIAL_TABLES:
        for statement in guard_statements(table):
            con.execute(statement)


def m003_lineage_lookup_keys(con: duckdb.DuckDBPyConnection) -> None:
    # Lineage lookup keys: for every record hash (kind 0) and subject hash (kind 1), its
    # first four bytes as a big-endian signed INTEGER (subject keys: the next four too)
    # and where the record sits. An index derived from `records`, not ledger data: lineage
    # rewrites these two tables (see ledger/lineage/lineage.py), so they have no guard triggers and
    # verify ignores them. Kept sorted, they cost about 5 bytes a key; an ART index, 30+.
    for table in ("lookup_keys", "lookup_keys_recent"):
        con.execute(
            f"CREATE TABLE {table} (kind TINYINT NOT NULL, prefix INTEGER NOT NULL, "
            "batch_seq INTEGER NOT NULL, ord INTEGER NOT NULL, prefix2 INTEGER)"
        )
    con.execute("""
        INSERT INTO lookup_keys
        SELECT * FROM (
            SELECT 0::TINYINT, record_hash[1:4]::BIT::INTEGER, batch_seq, ord, NULL::INTEGER
            FROM records
            UNION ALL
            SELECT 1::TINYINT, subject_hash[1:4]::BIT::INTEGER, batch_seq, ord,
                   subject_hash[5:8]::BIT::INTEGER
            FROM records WHERE subject_hash IS NOT NULL
        ) ORDER BY ALL
    """)


def m004_lookup_key_guards(con: duckdb.DuckDBPyConnection) -> None:
    # The lookup keys answer `lineage`, so they get the same guard rail as the ledger
    # tables; `verify` rebuilds them from `records` and compares (provledger.storage.projections).
    for table in LOOKUP_KEY_TABLES:
        for statement in guard_statements(table):
            con.execute(statement)


def m005_sketches(con: duckdb.DuckDBPyConnection) -> None:
    # Near-duplicate band keys per record and the n-gram profile per batch (see
    # ledger/similarity/sketch_tables.py); signed through digests in the batch entry, so append-only
    # ledger tables with the same guard triggers as m002's.
    bands = ", ".join(f"b{i} UINTEGER NOT NULL" for i in range(10))
    con.execute(
        f"CREATE TABLE record_sketches (batch_seq INTEGER NOT NULL, ord INTEGER NOT NULL, {bands})"
    )
    con.execute(
        "CREATE TABLE batch_profiles (seq BIGINT NOT NULL, counts BLOB NOT NULL, "
        "records BIGINT NOT NULL, features BIGINT NOT NULL)"
    )
    for table in ("record_sketches", "batch_profiles"):
        for statement in guard_statements(table):
            con.execute(statement)


def m006_near_facts(con: duckdb.DuckDBPyConnection) -> None:
    # Near-duplicate facts worked out at registration for the default threshold (see
    # ledger/similarity/near_facts.py): what a batch's registration found, keyed by its seq;
    # verify rebuilds them from the signed band keys, so append-only with m002's guards.
    con.execute(
        "CREATE TABLE near_batches (seq BIGINT NOT NULL, duplicates BIGINT NOT NULL, "
        "firsts VARCHAR[] NOT NULL)"
    )
    con.execute(
        "CREATE TABLE near_cross_split (seq BIGINT NOT NULL, batch_seq INTEGER NOT NULL, "
        "ord INTEGER NOT NULL, train_seq INTEGER NOT NULL)"
    )
    con.execute(
        "CREATE TABLE near_benchmark (seq BIGINT NOT NULL, batch_seq INTEGER NOT NULL, "
        "ord INTEGER NOT NULL, bench_seq INTEGER NOT NULL)"
    )
    for table in ("near_batches", "near_cross_split", "near_benchmark"):
        for statement in guard_statements(table):
            con.execute(statement)


MIGRATIONS: list[tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]] = [
    ("m001_initial", m001_initial),
    ("m002_append_only_guards", m002_append_only_guards),
    ("m003_lineage_lookup_keys", m003_lineage_lookup_keys),
    ("m004_lookup_key_guards", m004_lookup_key_guards),
    ("m005_sketches", m005_sketches),
    ("m006_near_facts", m006_near_facts),
]
