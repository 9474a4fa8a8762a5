"""JSON Lines, one JSON object per line. Blank lines are skipped (and still counted for
line numbers); a UTF-8 byte-order mark at the start of the file and CRLF line endings are
accepted. A plain file can be split into byte ranges at line boundaries, so worker
processes can each read and hash their own range."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from provledger.errors import InputError
from provledger.ingest.readers import CHUNK_RECORDS, Chunk

__all__ = ["BOM", "byte_ranges", "read_lines", "split_range"]

BOM = b"\xef\xbb\xbf"


def byte_ranges(path: Path, target: int) -> Iterator[tuple[int, int]]:
    """Split the file into [start, end) ranges of about ``target`` bytes that each end
    just after a newline (or at end of file)."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            end = min(start + target, size)
            if end < size:
                fh.seek(end)
                tail = fh.readline()
                end += len(tail)
            yield start, end
            start = end


def split_range(data: bytes, at_file_start: bool) -> list[bytes]:
    """The lines of a range's bytes, without line endings (a file-initial BOM removed)."""
    if at_file_start and data.startswith(BOM):
        data = data[len(BOM) :]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def read_lines(path: Path, *, gz: bool) -> Iterator[Chunk]:
    """Chunks of raw lines with their 1-based line numbers, blank lines skipped. Raises
    InputError (with the line it could not read) for a file that is not gzip or is cut
    short."""
    opener = gzip.open if gz else open
    number = 0
    try:
        with opener(path, "rb") as fh:
            items: list[bytes] = []
            locations: list[int] = []
            for number, line in enumerate(fh, start=1):
                if number == 1 and line.startswith(BOM):
                    line = line[len(BOM) :]
                line = line.rstrip(b"\r\n")
                if not line.strip():
                    continue
                items.append(line)
                locations.append(number)
                if len(items) >= CHUNK_RECORDS:
                    yield Chunk(items, locations, raw=True)
                    items, locations = [], []
            if items:
                yield Chunk(items, locations, raw=True)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; cut: EOFError
        raise InputError(f"cannot read: {exc}", file=path, line=number + 1) from None
