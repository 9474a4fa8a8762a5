"""The errors provledger raises, and when to catch each.

Every error the library raises on purpose is a ``LedgerError``; anything else is a bug.
The CLI catches ``LedgerError`` only, prints ``Error: <message>`` and exits 1.

    LedgerError                 base: catch this to handle every expected failure
    ├── HomeError               ledger home missing, already initialised, or from a newer schema
    │   └── LedgerBusy          another process holds the write lock past --wait
    ├── KeyFileError            key file missing, wrong passphrase, or loose permissions
    ├── InputError              a file, manifest or argument is malformed (file, line, field)
    │   └── CanonicalError      JSON that RFC 8785 cannot represent (NaN, duplicate keys, ...)
    ├── NotFound                a license, consent version, dataset, batch or record is unknown
    ├── Conflict                the request would duplicate something already in the ledger
    └── IntegrityError          the ledger does not verify (seq names the first bad entry)
        ├── BehindCheckpoint    the database is behind or beside its signed note, or lost it
        ├── CatalogError        the database's catalog is not what the migrations create
        ├── ShardError          a hash shard file is missing or not what its entry signed
        └── RootMismatch        a Merkle root or proof does not match (expected, calculated)
"""

from __future__ import annotations

from pathlib import Path


class LedgerError(Exception):
    """Base of every error provledger raises on purpose."""


class HomeError(LedgerError):
    """The ledger home cannot be used: missing, already there, or newer than this code."""

    def __init__(self, message: str, home: Path | None = None) -> None:
        super().__init__(message)
        self.home = home


class LedgerBusy(HomeError):
    """Another process held the ledger's write lock for longer than the wait allowed."""


# Seconds a command waits for another process's lock before LedgerBusy (``--wait``). Kept
# here, beside the error it bounds, so the command line reads it without loading DuckDB.
DEFAULT_WAIT = 30.0


class KeyFileError(LedgerError):
    """A key file is missing, unreadable with the given passphrase, or too open."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class InputError(LedgerError):
    """Bad input: names the file, line (1-based) and field when they are known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        where = []
        if self.file is not None:
            where.append(self.file)
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def located(self, *, file: str | Path | None = None, line: int | None = None) -> InputError:
        """The same error with the file and line filled in where they were missing."""
        return type(self)(
            self.reason,
            file=self.file if self.file is not None else file,
            line=self.line if self.line is not None else line,
            field=self.field,
        )


class CanonicalError(InputError):
    """JSON that RFC 8785 cannot represent: NaN, Infinity, duplicate keys, lone surrogates,
    integers beyond 2**53, or text that is not JSON at all."""


class NotFound(LedgerError):
    """A license, consent version, dataset, batch, model or record that the ledger lacks."""


class Conflict(LedgerError):
    """The request would register something twice or break an ordering rule."""


class IntegrityError(LedgerError):
    """The ledger does not verify. ``seq`` is the first bad entry, when one can be named."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class BehindCheckpoint(IntegrityError):
    """The database holds fewer entries than the signed checkpoint kept beside it: it lost
    acknowledged commits (for example a torn write-ahead log)."""


class CatalogError(IntegrityError):
    """The database holds a table, view, macro, trigger or index the migrations did not
    create, or lacks or changed one they did: a read could be answered by it."""


class ShardError(IntegrityError):
    """A batch's hash shard file (``register --shards``) is missing, or its size or SHA-256
    is not what the batch's entry signed (see ``provledger.storage.shards``)."""


class RootMismatch(IntegrityError):
    """A Merkle root or proof did not check out; carries the expected and calculated roots."""

    def __init__(
        self,
        message: str,
        expected: bytes | None = None,
        calculated: bytes | None = None,
        seq: int | None = None,
    ) -> None:
        super().__init__(message, seq)
        self.expected = expected
        self.calculated = calculated
