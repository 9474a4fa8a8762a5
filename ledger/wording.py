"""How counts and fractions are written for people, the same in every report and command.

- A count carries thousands separators: ``7,659``.
- ``plural(n, noun)``: ``1 record``, ``2 records``, ``1 batch``, ``3 batches``,
  ``16 entries``.
- A fraction is rounded to the nearest shown step, except that it never shows an end it
  has not reached. A share above 0 never reads ``0%``: it reads ``<1%`` (``<0.1%`` with
  one decimal); a share below 1 never reads ``100%``: it reads ``>99%`` (``>99.9%``). A
  provenance certainty below 1 (some records not provable) never reads ``1.00``: it reads
  ``0.99`` (one step below); a certainty above 0 never reads ``0.00``: it reads ``0.01``.

Pure functions, no imports beyond the standard library: the command line uses them too.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["batches_text", "cell", "certainty", "count", "percent", "plural"]


def count(n: int) -> str:
    """``n`` with thousands separators."""
    return f"{n:,}"


def plural(n: int, noun: str) -> str:
    """``n`` (with separators) and ``noun``, in the plural unless ``n`` is 1. Nouns ending
    in s, x, ch or sh take -es ("batch" -> "batches"), a consonant and y takes -ies
    ("entry" -> "entries"); a phrase pluralises its last word."""
    if n == 1:
        return f"{count(n)} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return f"{count(n)} {noun[:-1]}ies"
    suffix = "es" if noun.endswith(("s", "x", "ch", "sh")) else "s"
    return f"{count(n)} {noun}{suffix}"


def percent(share: float, decimals: int = 0) -> str:
    """A fraction (0..1) as a percentage, never showing 0% or 100% it has not reached."""
    shown = f"{share * 100:.{decimals}f}"
    step = 10.0**-decimals
    if share > 0 and float(shown) == 0:
        return f"<{step:.{decimals}f}%"
    if share < 1 and float(shown) >= 100:
        return f">{100 - step:.{decimals}f}%"
    return f"{shown}%"


def certainty(value: float, decimals: int = 2) -> str:
    """A score between 0 and 1, never showing 1 while below it nor 0 while above it."""
    step = 10.0**-decimals
    if 0 < value < 1:
        value = min(max(value, step), 1 - step)
    return f"{value:.{decimals}f}"


def cell(value: object) -> str:
    """A value in a table cell or a sentence: ``-`` for nothing, a list joined by commas."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def batches_text(ids: Iterable[str]) -> str:
    """'batch b7' or 'batches b7, b8'."""
    ids = list(ids)
    return ("batch " if len(ids) == 1 else "batches ") + ", ".join(ids)
