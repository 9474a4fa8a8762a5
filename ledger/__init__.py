"""provledger: a dataset provenance ledger for AI training data.

The public API is re-exported here and loaded lazily, so importing ``ledger.errors`` (as
the CLI does at start-up) does not pull in DuckDB, pyarrow or SQLModel.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "BehindCheckpoint",
    "CanonicalError",
    "CatalogError",
    "Conflict",
    "HomeError",
    "InputError",
    "IntegrityError",
    "KeyFileError",
    "Ledger",
    "LedgerBusy",
    "LedgerError",
    "NotFound",
    "RootMismatch",
]

_WHERE = {name: "ledger.errors" for name in __all__ if name != "Ledger"} | {
    "Ledger": "ledger.ledger"
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
