"""Reading a closed ledger's tables straight from its DuckDB file, for tests that only
count rows (to show a refused command changed nothing): opening a ledger through
``Ledger.open`` runs the whole pre-check, several times the cost of the count itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


def counts(home: Path, *tables: str) -> tuple[int, ...]:
    """Row counts of ``tables`` in the ledger file under ``home``, read-only."""
    with duckdb.connect(str(home / "ledger.duckdb"), read_only=True) as con:
        return tuple(int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables)  # type: ignore[index]


def rows(home: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of one query on the ledger file under ``home``, read-only."""
    with duckdb.connect(str(home / "ledger.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()
