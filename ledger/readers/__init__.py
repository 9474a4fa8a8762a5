"""Streaming readers: JSONL (also gzip), CSV (also gzip), JSON array and Parquet files, a
folder of Parquet shards, and in-memory inputs (Arrow tables and streams, pandas
DataFrames, Hugging Face datasets, iterables of dicts), turned into chunks of JSON records
with the line or row number each came from.

Every reader yields ``Chunk``s of bounded size, so memory stays flat as files grow. A
chunk of JSONL holds raw lines (parsed later, possibly in a worker process); the other
formats hold records already mapped to JSON values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import InputError

__all__ = ["ACCEPTED", "CHUNK_RECORDS", "PARQUET_SUFFIXES", "Chunk", "detect_format"]

CHUNK_RECORDS = 8192

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl.gz",
    ".ndjson.gz": "jsonl.gz",
    ".csv": "csv",
    ".csv.gz": "csv.gz",
    ".json": "json",
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
    # The file the chunk came from when it is not the registered path itself (a shard of a
    # folder of Parquet files), so an error names the shard.
    file: Path | None = None


PARQUET_SUFFIXES = (".parquet", ".pq")
# Every accepted input, as the unknown-type message lists it.
ACCEPTED = (
    ", ".join(s + " (an array of objects)" if s == ".json" else s for s in FORMATS)
    + ", or a folder of .parquet/.pq shards"
)


def detect_format(path: Path) -> str:
    """The reader for ``path``: from its name (jsonl, jsonl.gz, csv, csv.gz, json,
    parquet), or parquet-dir for a folder. Raises InputError for anything else."""
    if path.is_dir():
        return "parquet-dir"
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    raise InputError(f"unknown file type: expected {ACCEPTED}", file=path)
