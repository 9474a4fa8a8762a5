"""CSV with a header row, plain or gzip-compressed. Every cell is a JSON string, so a record
is an object of header -> cell text; the same data in JSONL with string values hashes the
same."""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from ledger.errors import InputError
from ledger.readers import CHUNK_RECORDS, Chunk

__all__ = ["read_csv"]


def read_csv(path: Path, *, gz: bool = False) -> Iterator[Chunk]:
    """Chunks of records; line numbers are where each row ends in the (decompressed) file.
    Raises InputError naming the line for malformed CSV, invalid UTF-8 or a damaged gzip
    stream."""
    reader = None
    try:
        with (
            gzip.open(path, "rt", encoding="utf-8-sig", newline="")
            if gz
            else open(path, encoding="utf-8-sig", newline="")
        ) as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if header is None:
                return
            if len(set(header)) != len(header):
                raise InputError("duplicate column names in the header", file=path, line=1)
            items: list[object] = []
            locations: list[int] = []
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise InputError(
                        f"row has {len(row)} cells, the header has {len(header)}",
                        file=path,
                        line=reader.line_num,
                    )
                items.append(dict(zip(header, row, strict=True)))
                locations.append(reader.line_num)
                if len(items) >= CHUNK_RECORDS:
                    yield Chunk(items, locations, raw=False)
                    items, locations = [], []
            if items:
                yield Chunk(items, locations, raw=False)
    except UnicodeDecodeError:
        # The decoder's offset is within its current block; find the line in the file.
        line, reason = _first_invalid_utf8(path, gz)
        raise InputError(f"invalid UTF-8 ({reason})", file=path, line=line) from None
    except csv.Error as exc:
        line = reader.line_num if reader is not None else None
        raise InputError(f"malformed CSV: {exc}", file=path, line=line) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # cut short, or not gzip at all
        line = reader.line_num + 1 if reader is not None else None
        raise InputError(f"cannot read: {exc}", file=path, line=line) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None


def _first_invalid_utf8(path: Path, gz: bool) -> tuple[int | None, str]:
    """Line and reason of the first invalid UTF-8 in the file. A newline byte never sits
    inside a multi-byte sequence, so lines can be checked one by one."""
    with gzip.open(path, "rb") if gz else open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, exc.reason
    return None, "undecodable text"
