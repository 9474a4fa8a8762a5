"""Parquet files and in-memory Arrow tables, mapped to JSON by one rule:

| Arrow type                         | JSON                                        |
|------------------------------------|---------------------------------------------|
| null                               | null                                        |
| bool                               | true / false                                |
| integers                           | number (see canonical_json past 2**53 - 1) |
| floats                             | number (NaN and infinities are refused)     |
| decimal                            | string of the exact decimal, e.g. "12.50"   |
| string, large_string               | string                                      |
| binary                             | string, standard base64                     |
| date                               | string "YYYY-MM-DD"                         |
| timestamp, time                    | string, ISO 8601 (UTC offset kept if any)   |
| duration                           | number of microseconds                      |
| list, large_list, fixed_size_list  | array                                       |
| struct                             | object                                      |
| map                                | object (keys as strings)                    |

So a Parquet file whose columns are strings and int64s hashes the same as the JSONL file
holding the same objects.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from provledger.errors import InputError
from provledger.ingest.limits import DEFAULT_LIMITS, ReadLimits, format_size
from provledger.ingest.readers import CHUNK_RECORDS, PARQUET_SUFFIXES, Chunk

__all__ = [
    "duplicate_field",
    "json_rows",
    "open_parquet",
    "read_parquet",
    "read_table",
    "to_json_value",
]

DUPLICATE_MAP_KEY = "duplicate map key"


def to_json_value(value: Any) -> Any:
    """Map one Python value from ``pyarrow ... to_pylist()`` to JSON (rule above)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        # pyarrow renders a map as a list of (key, value) tuples
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            mapped = {str(k): to_json_value(v) for k, v in value}
            if len(mapped) != len(value):  # refused, as JSONL refuses duplicate keys
                keys = [str(k) for k, _ in value]
                twice = next(k for i, k in enumerate(keys) if k in keys[:i])
                raise InputError(f"{DUPLICATE_MAP_KEY} '{twice}'")
            return mapped
        return [to_json_value(v) for v in value]
    if isinstance(value, tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        # With pandas installed pyarrow hands out nanosecond values as pandas Timestamps and
        # Timedeltas (datetime subclasses) instead of refusing them: refuse those that carry
        # nanoseconds too, so a record hashes the same whether pandas is installed or not.
        if getattr(value, "nanosecond", 0) or getattr(value, "nanoseconds", 0):
            raise InputError(
                f"cannot map a value to JSON: {value} has nanoseconds, "
                "which Python's datetime types cannot hold"
            )
        if isinstance(value, dt.timedelta):
            return value // dt.timedelta(microseconds=1)
        return value.isoformat()
    raise InputError(f"cannot map a {type(value).__name__} value to JSON")


def _pylist(batch: Any, rows_before: int) -> list[Any]:
    """The batch's rows as Python values. Raises InputError naming the row for a value
    Python's datetime types cannot hold (pyarrow refuses nanosecond times with ValueError)."""
    try:
        return batch.to_pylist()
    except ValueError as exc:
        bad = 0
        for bad in range(batch.num_rows):  # the error path only: find the row
            try:
                batch.slice(bad, 1).to_pylist()
            except ValueError:
                break
        raise InputError(f"cannot map a value to JSON: {exc}", line=rows_before + bad + 1) from None


def _json_native(schema: Any) -> bool:
    """Whether every column is null, bool, integer, float or string: then a row's Python
    values already are its JSON values, which the rule maps to themselves."""
    # Deferred for start-up time: loads numpy, pyarrow
    import pyarrow.types as t

    return all(
        t.is_null(f.type)
        or t.is_boolean(f.type)
        or t.is_integer(f.type)
        or t.is_floating(f.type)
        or t.is_string(f.type)
        or t.is_large_string(f.type)
        for f in schema
    )


def json_rows(batch: Any, rows_before: int) -> list[Any]:
    """The batch's rows as JSON values (rule above); an InputError names the row (1-based,
    counted from ``rows_before``) that could not be mapped, and for a duplicate map key its
    column too."""
    items = _pylist(batch, rows_before)
    if _json_native(batch.schema):  # flat tables: about half the mapping cost saved
        return items
    try:
        return [to_json_value(r) for r in items]
    except InputError as exc:
        bad = next(i for i, r in enumerate(items) if _fails(r))  # the error path only
        line = rows_before + bad + 1
        if exc.reason.startswith(DUPLICATE_MAP_KEY):  # name the column too
            column = next(k for k, v in items[bad].items() if _fails(v))
            raise InputError(exc.reason, line=line, field=column) from None
        raise exc.located(line=line) from None


def _fails(value: Any) -> bool:
    try:
        to_json_value(value)
    except InputError:
        return True
    return False


def duplicate_field(schema: Any, prefix: str = "") -> str | None:
    """The first column or struct field name used twice at one level (dotted path), which
    would otherwise be resolved last-wins when rows become JSON objects."""
    # Deferred for start-up time: loads numpy, pyarrow
    import pyarrow as pa

    names = [f.name for f in schema]
    for name in names:
        if names.count(name) > 1:
            return prefix + name
    for f in schema:
        kind = f.type
        while (
            pa.types.is_list(kind)
            or pa.types.is_large_list(kind)
            or (pa.types.is_fixed_size_list(kind))
        ):
            kind = kind.value_type
        if pa.types.is_struct(kind):
            found = duplicate_field([kind.field(i) for i in range(kind.num_fields)],
                                     f"{prefix}{f.name}.")  # fmt: skip
            if found is not None:
                return found
    return None


def read_table(table: Any, *, name: str = "<arrow table>") -> Iterator[Chunk]:
    """Chunks of records from an in-memory pyarrow Table. Raises InputError for a column
    or struct field name used twice, or a map with a key twice."""
    twice = duplicate_field(table.schema)
    if twice is not None:
        raise InputError(f"duplicate column name '{twice}'", file=name)
    row = 0
    for batch in table.to_batches(max_chunksize=CHUNK_RECORDS):
        try:
            items = json_rows(batch, row)
        except InputError as exc:
            raise exc.located(file=name) from None
        yield Chunk(items, list(range(row + 1, row + 1 + len(items))), raw=False)
        row += len(items)


def open_parquet(path: Path | str, limits: ReadLimits = DEFAULT_LIMITS, **options: Any) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` (``options`` passed on), after the checks every
    reader of a Parquet file makes: readable, no column or struct field name used twice,
    and uncompressed data within ``limits.max_input``. Raises InputError naming the file."""
    # Deferred for start-up time: loads numpy, pyarrow
    import pyarrow as pa

    # Deferred for start-up time: loads numpy, pyarrow
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path, **options)
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # a damaged column name
        raise InputError(f"not a readable Parquet file ({exc})", file=path) from None
    twice = duplicate_field(schema)
    if twice is not None:
        raise InputError(f"duplicate column name '{twice}'", file=path)
    meta = pf.metadata
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > limits.max_input:
        raise InputError(
            f"uncompressed data is larger than the limit of {format_size(limits.max_input)} "
            f"(raise it with {limits.input_flag})",
            file=path,
        )
    return pf


def read_parquet(path: Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Chunk]:
    """Chunks of records from a Parquet file, row group by row group. Raises InputError
    for a column or struct field name used twice, a map with a key twice (naming the
    row), and a file whose data uncompressed exceeds ``limits.max_input``."""
    # Deferred for start-up time: loads numpy, pyarrow
    import pyarrow as pa

    pf = open_parquet(path, limits)
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=CHUNK_RECORDS):
            items = json_rows(batch, row)
            yield Chunk(items, list(range(row + 1, row + 1 + len(items))), raw=False)
            row += len(items)
    except InputError as exc:
        raise exc.located(file=path, line=row + 1) from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"Parquet data is damaged ({exc})", file=path) from None


def parquet_shards(folder: Path) -> list[Path]:
    """The Parquet files directly inside ``folder`` (.parquet or .pq), in file-name order.
    Other files (``_SUCCESS``, checksums) and subfolders are not read. Raises InputError
    when there is none."""
    shards = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(PARQUET_SUFFIXES)),
        key=lambda p: p.name,
    )
    if not shards:
        raise InputError("folder holds no .parquet or .pq files", file=folder)
    return shards


def read_parquet_dir(folder: Path) -> Iterator[Chunk]:
    """Chunks of every shard's records in file-name order, as one batch. Each chunk names
    its shard, and row numbers count within the shard."""
    for shard in parquet_shards(folder):
        for chunk in read_parquet(shard):
            chunk.file = shard
            yield chunk
