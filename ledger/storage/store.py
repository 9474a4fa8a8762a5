"""The DuckDB file: connection, migrations, the one append path, and query execution.

Only this module talks to DuckDB directly. Other modules keep their SQL as named,
commented constants next to the code that uses them and run it through ``Store``.

DuckDB lets one process write a database file at a time; a second one fails at once with
"Could not set lock". ``Store.open`` retries for up to ``wait`` seconds, then raises
``LedgerBusy``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from provledger.errors import (
    DEFAULT_WAIT,
    CatalogError,
    HomeError,
    IntegrityError,
    LedgerBusy,
    ShardError,
)
from provledger.interrupts import deferred
from provledger.storage.catalog import CATALOG_QUERIES, CatalogObject, objects_from_rows
from provledger.storage.entry_kinds import subject_of
from provledger.storage.migrations import MIGRATIONS
from provledger.tlog.canonical import canonical_json
from provledger.tlog.keys import Signer

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_WAIT",
    "GENESIS_HASH",
    "TIMESTAMP_FORMAT",
    "Entry",
    "Store",
    "entry_body",
    "entry_body_hash",
    "stamp",
]

GENESIS_HASH = "0" * 64
# Entry times: UTC, microseconds, a 'Z'; fixed width, so they sort as strings.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# How far a recorded_at may run ahead of the clock: one entry stamped by a machine whose
# clock ran fast would otherwise push every later stamp (and `audit --as-of`) after it.
CLOCK_SKEW = timedelta(minutes=5)


def stamp(when: datetime) -> str:
    """The recorded_at form of a time (``TIMESTAMP_FORMAT``)."""
    return when.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


@dataclass(frozen=True)
class Entry:
    """One signed event of the append-only log."""

    seq: int
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    entry_hash: str
    signature: str
    key_id: str
    recorded_at: str

    @property
    def subject(self) -> str:
        """What the entry is about, for a one-line listing (see
        ``provledger.storage.entry_kinds``)."""
        return subject_of(self.kind, self.payload)

    def body(self) -> bytes:
        """The canonical bytes the entry hash is the SHA-256 of (see ``entry_body``)."""
        return entry_body(
            self.seq, self.kind, self.payload, self.prev_hash, self.key_id, self.recorded_at
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
            "signature": self.signature,
            "key_id": self.key_id,
            "recorded_at": self.recorded_at,
        }


def entry_body(
    seq: int, kind: str, payload: dict[str, Any], prev_hash: str, key_id: str, recorded_at: str
) -> bytes:
    """The canonical JSON (RFC 8785) of an entry without its hash and signature: the bytes
    whose SHA-256 is the entry hash."""
    body = {
        "seq": seq,
        "kind": kind,
        "payload": payload,
        "prev_hash": prev_hash,
        "key_id": key_id,
        "recorded_at": recorded_at,
    }
    return canonical_json(body)


def entry_body_hash(
    seq: int, kind: str, payload: dict[str, Any], prev_hash: str, key_id: str, recorded_at: str
) -> bytes:
    """SHA-256 of the canonical JSON of an entry without its hash and signature."""
    return hashlib.sha256(entry_body(seq, kind, payload, prev_hash, key_id, recorded_at)).digest()


class Appender:
    """Handed out inside ``Store.appending``: the seq being written and a way to write the
    entry itself once the projection rows are in."""

    def __init__(
        self, store: Store, signer: Signer, seq: int, prev_hash: str, last_at: str
    ) -> None:
        self.store = store
        self.seq = seq
        self._signer = signer
        self._prev_hash = prev_hash
        self._last_at = last_at
        self.entry: Entry | None = None

    def write_entry(self, kind: str, payload: dict[str, Any]) -> Entry:
        """Sign and insert this transaction's entry (exactly once)."""
        if self.entry is not None:
            raise RuntimeError("one entry per append")
        clock = datetime.now(UTC)
        now = stamp(clock)
        if self._last_at > stamp(clock + CLOCK_SKEW):
            raise IntegrityError(
                f"the last entry (seq {self.seq - 1}) is stamped {self._last_at}, more than "
                f"{CLOCK_SKEW.seconds // 60} minutes after this machine's clock ({now}): "
                "refusing to append (check the clock; 'provledger verify' names the entry)",
                self.seq - 1,
            )
        recorded_at = max(now, self._last_at)  # never decreasing, so --as-of is a seq cut
        key_id = self._signer.public.key_id
        digest = entry_body_hash(self.seq, kind, payload, self._prev_hash, key_id, recorded_at)
        entry = Entry(
            seq=self.seq,
            kind=kind,
            payload=payload,
            prev_hash=self._prev_hash,
            entry_hash=digest.hex(),
            signature=self._signer.sign(digest).hex(),
            key_id=key_id,
            recorded_at=recorded_at,
        )
        self.store.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                entry.seq,
                entry.kind,
                canonical_json(payload).decode("utf-8"),
                entry.prev_hash,
                entry.entry_hash,
                entry.signature,
                entry.key_id,
                entry.recorded_at,
            ],
        )
        self.entry = entry
        return entry


class Store:
    """An open connection to the ledger database."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self._con = con
        # Tables whose name a temporary view shadows (``shadow``): their qualified names.
        self._shadowed: dict[str, str] = {}
        self.path = path
        self.read_only = read_only
        # The applied migrations, read once per open: only _migrate changes them, and no
        # other process can while this connection is open (DuckDB's file lock).
        self._applied_names: list[str] | None = None
        if not read_only:
            # Hash columns are random bytes: DuckDB's dictionary+FSST analysis of every new
            # segment finds nothing to gain (measured on 1M record rows: insert CPU 1.04 s
            # -> 0.28 s, file 5% larger for lack of the subject-hash dictionary).
            with deferred():
                con.execute("SET disabled_compression_methods = 'dict_fsst'")

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path) -> Store:
        """Create a new database file and apply every migration."""
        with deferred():
            store = cls(duckdb.connect(str(path)), path, read_only=False)
            store._migrate()
        return store

    @classmethod
    def scratch(cls, migrations: Sequence[str]) -> Store:
        """An empty in-memory database with the named migrations applied, in order: the
        catalog those migrations create, to compare a ledger file's catalog with."""
        store = cls(duckdb.connect(":memory:"), Path(":memory:"), read_only=False)
        store._migrate(only=set(migrations), checkpoint=False)
        return store

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        wait: float = DEFAULT_WAIT,
        migrate: bool = True,
    ) -> Store:
        """Open an existing database, waiting up to ``wait`` seconds for the file lock.

        With ``migrate`` (and not ``read_only``) missing migrations are applied at once;
        without it the caller checks the catalog first and calls ``migrate`` itself.
        """
        if not path.exists():
            raise HomeError(f"no ledger database at {path}: run 'provledger init' first")
        deadline = time.monotonic() + wait
        delay = 0.01
        while True:
            try:
                with deferred():
                    con = duckdb.connect(str(path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise HomeError(f"cannot open ledger database {path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise LedgerBusy(
                        f"ledger busy: another provledger process holds {path} "
                        f"(waited {wait:g} s; raise --wait to wait longer)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
            except duckdb.Error as exc:
                raise HomeError(f"cannot open ledger database {path}: {exc}") from None
        store = cls(con, path, read_only)
        try:
            with deferred():
                store._check_schema(migrate=migrate)
        except BaseException:
            con.close()  # a refused database must not stay open (and locked) in this process
            raise
        return store

    def close(self) -> None:
        with deferred():
            self._con.close()

    # -- schema --------------------------------------------------------------------------
    def catalog(self) -> list[CatalogObject]:
        """Every object of the database's catalog (see provledger.storage.catalog), read through the
        qualified system catalog functions only, so no user macro can answer instead."""
        with deferred():
            rows = {k: self._con.execute(sql).fetchall() for k, sql in CATALOG_QUERIES.items()}
        return objects_from_rows(rows)

    def applied_migrations(self) -> list[str]:
        """The names of the applied migrations, sorted."""
        return self._applied()

    def pending_migrations(self) -> list[str]:
        """The known migrations not applied yet, in order."""
        applied = set(self._applied())
        return [name for name, _ in MIGRATIONS if name not in applied]

    def _applied(self) -> list[str]:
        if self._applied_names is None:
            self._applied_names = self._read_applied()
        return list(self._applied_names)

    def _read_applied(self) -> list[str]:
        # Qualified system function and no SQL function: a user macro cannot answer.
        with deferred():
            tables = self._con.execute(
                "SELECT database_name, schema_name, table_name FROM system.main.duckdb_tables()"
            ).fetchall()
            if not any(r[1:] == ("main", "schema_migrations") for r in tables if r[0] != "temp"):
                return []
            rows = self._con.execute("SELECT name FROM schema_migrations").fetchall()
        return sorted(str(r[0]) for r in rows)

    def _check_schema(self, *, migrate: bool = True) -> None:
        applied = self._applied()
        known = [name for name, _ in MIGRATIONS]
        newer = [name for name in applied if name not in known]
        if newer:
            raise HomeError(
                f"ledger database {self.path} has schema migrations this provledger does not "
                f"know ({', '.join(newer)}): it was written by a newer version; upgrade provledger"
            )
        if applied != known[: len(applied)]:
            raise CatalogError(
                f"the schema migrations recorded in {self.path} ({', '.join(applied)}) are not "
                "the ones this provledger applies, in order: someone changed schema_migrations"
            )
        if len(applied) < len(known):
            if self.read_only:
                raise HomeError(
                    f"ledger database {self.path} needs a schema upgrade: run any writing "
                    "command (for example 'provledger checkpoint') once"
                )
            if migrate:
                self._migrate()

    def migrate(self) -> list[str]:
        """Apply every pending migration; return their names."""
        pending = self.pending_migrations()
        if pending:
            self._migrate()
        return pending

    def _migrate(self, *, only: set[str] | None = None, checkpoint: bool = True) -> None:
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, "
            "applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
        ).fetchall()
        applied = set(self._read_applied())
        self._applied_names = None  # read afresh once the migrations below are recorded
        for name, migrate in MIGRATIONS:
            if name in applied or (only is not None and name not in only):
                continue
            self._con.begin()
            try:
                migrate(self._con)
                self._con.execute(
                    "INSERT INTO schema_migrations (name) VALUES (?)", [name]
                ).fetchall()
                self._con.commit()
            except BaseException:
                self._con.rollback()
                raise
        if checkpoint:
            self._con.execute("CHECKPOINT").fetchall()

    def schema(self) -> list[tuple[str, str]]:
        """(table, CREATE statement) for every table, for tests that pin the schema."""
        with deferred():
            rows = self._con.execute(
                "SELECT table_name, sql FROM duckdb_tables() ORDER BY table_name"
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    # -- the one append path -------------------------------------------------------------
    @contextmanager
    def appending(self, signer: Signer) -> Iterator[Appender]:
        """One transaction that writes projection rows and exactly one signed entry.

        Commits when the block ends normally, rolls back on any exception, then CHECKPOINTs
        so the write-ahead log is folded into the database file.
        """
        if self.read_only:
            raise RuntimeError("store opened read-only")
        with deferred():
            self._con.begin()
        try:
            last = self.row(
                "SELECT seq, entry_hash, recorded_at FROM entries ORDER BY seq DESC LIMIT 1"
            )
            seq, prev, last_at = (last[0] + 1, last[1], last[2]) if last else (1, GENESIS_HASH, "")
            appender = Appender(self, signer, seq, prev, last_at)
            yield appender
            if appender.entry is None:
                raise RuntimeError("append block wrote no entry")
        except BaseException:
            with deferred():
                self._con.rollback()
            raise
        # Committed and folded in whole: a signal now waits for the caller's deferred
        # block (Ledger.appending), which also rewrites the note.
        with deferred():
            self._con.commit()
            self._con.execute("CHECKPOINT").fetchall()

    @contextmanager
    def limits(self, *, threads: int, memory: str) -> Iterator[None]:
        """Run the block with DuckDB held to ``threads`` threads and ``memory`` (e.g.
        "256MB") of buffer memory, then restore both settings. Under the limit DuckDB
        spills an open transaction's rows to disk instead of holding them in memory."""
        before = self.row("SELECT current_setting('threads'), current_setting('memory_limit')")
        self.execute(f"SET threads = {int(threads)}")
        self.execute("SET memory_limit = ?", [memory])
        try:
            yield
        finally:
            if before is not None:
                self.execute(f"SET threads = {int(before[0])}")
                self.execute("SET memory_limit = ?", [before[1]])

    # -- queries -------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        """Run a statement for its effect (the result is drained, as DuckDB requires)."""
        with deferred():
            self._con.execute(sql, params).fetchall()

    def rows(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        with deferred():
            return self._con.execute(sql, params).fetchall()

    def row(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        with deferred():
            found = self._con.execute(sql, params).fetchall()
        return found[0] if found else None

    def dicts(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        with deferred():
            cur = self._con.execute(sql, params)
            names = [d[0] for d in cur.description]
            fetched = cur.fetchall()
        return [dict(zip(names, r, strict=True)) for r in fetched]

    def arrays(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The result's columns as numpy arrays, by name."""
        with deferred():
            return dict(self._con.execute(sql, params).fetchnumpy())

    def array(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The result's one column as a numpy array (writable: the caller may sort it)."""
        columns = list(self.arrays(sql, params).values())
        if len(columns) != 1:
            raise ValueError("array() needs a query with one column")
        column = columns[0]
        return column if column.flags.writeable else column.copy()

    def stream(
        self, sql: str, params: Sequence[Any] | None = None, batch_rows: int = 1 << 16
    ) -> Iterator[Any]:
        """Result as an iterator of pyarrow RecordBatches, for scans too big for memory."""
        with deferred():
            reader = self._con.sql(sql, params=params).to_arrow_reader(batch_rows)
        while True:
            with deferred():
                batch = next(reader, None)
            if batch is None:
                return
            yield batch

    def insert_arrow(self, table: str, data: Any) -> None:
        """Append a pyarrow Table or RecordBatch whose columns match ``table`` in order
        (into the table itself when a temporary view shadows its name: see ``shadow``)."""
        with deferred():
            self._con.from_arrow(data).insert_into(self._shadowed.get(table, table))

    def shadow(self, table: str, selects: Sequence[str]) -> None:
        """Make unqualified reads of ``table`` on this connection see the rows of
        ``selects`` (queries with the table's columns, in order) as well: a temporary view
        of that name, the table UNION ALL each. With no selects the view is dropped.
        Temporary objects are not part of the file (nor of its pinned catalog); writes
        through ``insert_arrow`` still go to the table."""
        row = self.row("SELECT current_database()")
        assert row is not None
        qualified = '"' + str(row[0]).replace('"', '""') + f'".main.{table}'
        if not selects:
            self.execute(f"DROP VIEW IF EXISTS temp.main.{table}")
            self._shadowed.pop(table, None)
            return
        union = "".join(f" UNION ALL {s}" for s in selects)
        # A view takes no parameters: the names come from code, the selects from shards.py.
        view = f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {qualified}{union}"  # noqa: S608
        try:
            self.execute(view)
        except duckdb.Error as exc:  # a file the selects read cannot be read
            raise ShardError(f"cannot read the hash shards of {table}: {exc}") from None
        self._shadowed[table] = qualified

    # -- the entry log -------------------------------------------------------------------
    def entry_count(self) -> int:
        row = self.row("SELECT count(*) FROM entries")
        return int(row[0]) if row else 0

    def entries(self, *, after: int = 0, until: int | None = None) -> Iterator[Entry]:
        """Entries with ``after < seq <= until`` in seq order; payloads parsed."""
        sql = (
            "SELECT seq, kind, payload, prev_hash, entry_hash, signature, key_id, recorded_at "
            "FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq"
        )
        params: list[Any] = [after, until if until is not None else 2**62]
        for r in self.rows(sql, params):
            yield Entry(r[0], r[1], orjson.loads(r[2]), r[3], r[4], r[5], r[6], r[7])

    def entry(self, seq: int) -> Entry | None:
        """The entry at ``seq``, payload parsed (None when there is none)."""
        return next(self.entries(after=seq - 1, until=seq), None)

    def raw_entries(self) -> list[tuple[Any, ...]]:
        """Entry rows exactly as stored (payload as its stored text), in seq order."""
        return self.rows(
            "SELECT seq, kind, payload, prev_hash, entry_hash, signature, key_id, recorded_at "
            "FROM entries ORDER BY seq"
        )

    def entry_hashes(self, limit: int | None = None) -> list[bytes]:
        sql = "SELECT entry_hash FROM entries ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [bytes.fromhex(r[0]) for r in self.rows(sql)]

    def seq_at(self, when: str) -> int:
        """The last seq recorded at or before the ISO-8601 time ``when`` (0 if none)."""
        row = self.row("SELECT coalesce(max(seq), 0) FROM entries WHERE recorded_at <= ?", [when])
        return int(row[0]) if row else 0
