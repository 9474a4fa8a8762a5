"""Streaming readers: JSONL (also gzip), CSV and Parquet files, and in-memory Arrow tables,
turned into chunks of JSON records with the line or row number each came from.

Every reader yields ``Chunk``s of bounded size, so memory stays flat as files grow. A
chunk of JSONL holds raw lines (parsed later, possibly in a worker process); the other
formats hold records already mapped to JSON values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import InputError

__all__ = ["CHUNK_RECORDS", "Chunk", "detect_format"]

CHUNK_RECORDS = 8192

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl.gz",
    ".ndjson.gz": "jsonl.gz",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class Chunk:
    """Consecutive records of one file. ``locations`` are 1-based line numbers (JSONL,
    CSV) or row numbers (Parquet, Arrow); ``raw`` is True when ``items`` are unparsed JSON
    lines (bytes), False when they are JSON values already."""

    items: list[Any]
    locations: list[int]
    raw: bool


def detect_format(path: Path) -> str:
    """The reader for ``path``, from its name: jsonl, jsonl.gz, csv or parquet."""
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    raise InputError(
        "unknown file type: expected .jsonl, .jsonl.gz, .ndjson, .csv or .parquet", file=path
    )
