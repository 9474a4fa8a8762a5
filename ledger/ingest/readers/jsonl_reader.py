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
from provledger.ingest.limits import DEFAULT_LIMITS, ReadLimits, format_size, line_too_long
from provledger.ingest.readers import CHUNK_RECORDS, Chunk

__all__ = ["BOM", "byte_ranges", "read_lines", "split_range"]

BOM = b"\xef\xbb\xbf"


def byte_ranges(
    path: Path, target: int, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, int]]:
    """Split the file into [start, end) ranges of about ``target`` bytes that each end
    just after a newline (or at end of file). Raises InputError naming the line when a
    range would end inside a line longer than ``limits.max_line``, without reading it."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            end = min(start + target, size)
            if end < size:
                fh.seek(end)
                tail = fh.readline(limits.max_line + 2)
                if len(tail) == limits.max_line + 2 and not tail.endswith(b"\n"):
                    raise line_too_long(path, limits, _line_at(path, end))
                end += len(tail)
            yield start, end
            start = end


def _line_at(path: Path, offset: int) -> int:
    """The 1-based number of the line holding byte ``offset``, counted in blocks."""
    count = 1
    with open(path, "rb") as fh:
        while offset > 0:
            block = fh.read(min(offset, 1 << 20))
            if not block:
                break
            count += block.count(b"\n")
            offset -= len(block)
    return count


def split_range(data: bytes, at_file_start: bool) -> list[bytes]:
    """The lines of a range's bytes, without line endings (a file-initial BOM removed)."""
    if at_file_start and data.startswith(BOM):
        data = data[len(BOM) :]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def read_lines(path: Path, *, gz: bool, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Chunk]:
    """Chunks of raw lines with their 1-based line numbers, blank lines skipped. Raises
    InputError (with the line it could not read) for a file that is not gzip or is cut
    short, for a line longer than ``limits.max_line`` (read no further than the limit),
    and for a gzip file that expands beyond ``limits.max_input``."""
    opener = gzip.open if gz else open
    number = 0
    read = 0
    # A line is read up to the limit plus its ending: a longer one is refused unread.
    most = limits.max_line + 2
    try:
        with opener(path, "rb") as fh:
            items: list[bytes] = []
            locations: list[int] = []
            while True:
                line = fh.readline(most)
                if not line:
                    break
                number += 1
                read += len(line)
                if gz and read > limits.max_input:
                    raise InputError(
                        f"decompressed input is larger than the limit of "
                        f"{format_size(limits.max_input)} (raise it with {limits.input_flag})",
                        file=path,
                        line=number,
                    )
                if number == 1 and line.startswith(BOM):
                    line = line[len(BOM) :]
                if len(line) == most and not line.endswith(b"\n"):
                    raise line_too_long(path, limits, number)  # it goes on past the limit
                line = line.rstrip(b"\r\n")
                if len(line) > limits.max_line:
                    raise line_too_long(path, limits, number)
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
