"""Input size limits: the longest line (or CSV row, or Parquet row) a reader accepts and
the most bytes it reads from one file after decompression.

A line is held in memory whole while it is parsed and hashed (a few times its size at the
peak), so the line limit bounds memory; the input limit bounds what a small compressed
file can expand to. Both are checked while reading, before a line is held whole: the
error names the file and line, and the flag that raises the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provledger.errors import InputError

__all__ = [
    "DEFAULT_LIMITS",
    "LINE_TOO_LONG",
    "ReadLimits",
    "format_size",
    "line_too_long",
    "parse_size",
]

MIB = 1 << 20
GIB = 1 << 30
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 10**6, "mb": 10**6,
          "mib": MIB, "g": 10**9, "gb": 10**9, "gib": GIB, "t": 10**12, "tb": 10**12,
          "tib": 1 << 40}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+)\s*([a-zA-Z]*)\s*")


@dataclass(frozen=True)
class ReadLimits:
    """``max_line``: bytes in one line without its ending (JSONL), one CSV row, or one
    Parquet row group's rows at most this many bytes each on average; ``max_input``: bytes
    read from one file, after decompression."""

    max_line: int = 64 * MIB
    max_input: int = 32 * GIB
    line_flag: str = "--max-line-size"
    input_flag: str = "--max-input-size"


DEFAULT_LIMITS = ReadLimits()


def parse_size(text: str, field: str) -> int:
    """A size such as ``64MiB``, ``1GB`` or ``1048576`` (bytes) as an integer of bytes.
    Raises InputError naming ``field`` for anything else, or for zero."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS or int(match.group(1)) == 0:
        raise InputError(
            f"'{text}' is not a size (a positive number of bytes, or with a unit such as "
            "64MiB or 2GB)",
            field=field,
        )
    return int(match.group(1)) * _UNITS[unit or ""]


def format_size(size: int) -> str:
    """``size`` bytes in the largest binary unit that divides it, e.g. ``64 MiB``."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


# The reason a worker process gives for a line over the limit (the parent adds the rest).
LINE_TOO_LONG = "line is longer than the limit"


def line_too_long(file: str | Path, limits: ReadLimits, line: int | None) -> InputError:
    """The error for a line over ``limits.max_line`` at ``file``:``line``."""
    return InputError(
        f"{LINE_TOO_LONG} of {format_size(limits.max_line)} (raise it with {limits.line_flag})",
        file=file,
        line=line,
    )
