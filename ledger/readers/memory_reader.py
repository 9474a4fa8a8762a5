"""In-memory inputs to ``Ledger.register``: a pyarrow Table or RecordBatchReader, a pandas
DataFrame, a Hugging Face ``datasets.Dataset``, or any iterable of dicts. Each becomes the
same chunks of JSON records a file would, so the same records hash the same whatever
carried them (Arrow values map to JSON by the rule in ``ledger.readers.parquet_reader``).

pandas and ``datasets`` are never imported here: they are recognised by their module, so
the library does not depend on either.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ledger.errors import InputError
from ledger.readers import CHUNK_RECORDS, Chunk
from ledger.readers.parquet_reader import read_table

__all__ = ["EXPECTED", "InMemory", "in_memory"]

EXPECTED = (
    "expected a file path, a pyarrow Table or RecordBatchReader, a pandas DataFrame, "
    "a Hugging Face datasets.Dataset, or an iterable of dicts"
)


@dataclass
class InMemory:
    """An in-memory input: its format (as recorded in the batch entry), the name errors
    use, its chunks, and its row count when known up front (for progress)."""

    format: str
    name: str
    chunks: Iterator[Chunk]
    total: int | None


def _module(data: Any) -> str:
    return type(data).__module__.split(".", 1)[0]


def _batches(batches: Iterable[Any], name: str) -> Iterator[Chunk]:
    """Chunks from a stream of Arrow record batches (or tables), rows numbered across it."""
    row = 0
    for batch in batches:
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        for chunk in read_table(table, name=name):
            chunk.locations = [row + n for n in chunk.locations]
            yield chunk
        row += batch.num_rows


def _records(items: Iterable[Any]) -> Iterator[Chunk]:
    """Chunks of an iterable's items, consumed as it goes (a generator is never held
    whole)."""
    chunk: list[Any] = []
    row = 0
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK_RECORDS:
            yield Chunk(chunk, list(range(row + 1, row + 1 + len(chunk))), raw=False)
            row += len(chunk)
            chunk = []
    if chunk:
        yield Chunk(chunk, list(range(row + 1, row + 1 + len(chunk))), raw=False)


def in_memory(data: Any) -> InMemory:
    """Recognise an in-memory input. Raises InputError for anything else (a str or bytes
    is not an iterable of records; a mapping is one record, not many)."""
    if isinstance(data, pa.Table):
        return InMemory("arrow", "<arrow table>", read_table(data), data.num_rows)
    if isinstance(data, pa.RecordBatchReader):
        name = "<arrow stream>"
        return InMemory("arrow-stream", name, _batches(data, name), None)
    module = _module(data)
    if module == "pandas" and type(data).__name__ == "DataFrame":
        name = "<pandas DataFrame>"
        try:
            # The index is not data: a default RangeIndex would otherwise become a column.
            table = pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InputError(f"cannot convert to Arrow: {exc}", file=name) from None
        return InMemory("pandas", name, read_table(table, name=name), table.num_rows)
    if module == "datasets" and type(data).__name__ == "Dataset":
        name = "<datasets.Dataset>"
        # Arrow format hands out slices of the dataset's own (memory-mapped) Arrow table, so
        # rows are not copied before hashing; selections and shuffles are followed.
        stream = data.with_format("arrow").iter(batch_size=CHUNK_RECORDS)
        return InMemory("datasets", name, _batches(stream, name), data.num_rows)
    if isinstance(data, str | bytes | bytearray | Mapping) or not isinstance(data, Iterable):
        raise InputError(EXPECTED)
    return InMemory("records", "<records>", _records(data), None)
