"""A JSON file holding one array of objects (what ``json.dump(records)`` and many export
tools write). The whole file is parsed at once, so it must fit in memory: large data
belongs in JSON Lines. Each element is located by its 1-based position in the array,
reported as its line, as Parquet rows are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ledger.canonical import parse_json
from ledger.errors import InputError
from ledger.readers import CHUNK_RECORDS, Chunk

__all__ = ["read_json_array"]


def read_json_array(path: Path) -> Iterator[Chunk]:
    """Chunks of the array's elements, parsed strictly (``parse_json``: no duplicate keys,
    NaN or lone surrogates). Raises InputError when the file is not one JSON array."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        value = parse_json(data)
    except InputError as exc:
        raise exc.located(file=path) from None
    if type(value) is not list:
        raise InputError(
            "expected a JSON array of records (one object per record); "
            "for one object per line name the file .jsonl",
            file=path,
        )
    for start in range(0, len(value), CHUNK_RECORDS):
        items = value[start : start + CHUNK_RECORDS]
        yield Chunk(items, list(range(start + 1, start + 1 + len(items))), raw=False)
