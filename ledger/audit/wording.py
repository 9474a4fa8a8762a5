"""How findings and recommendations word counts and batch lists ("1 record", "3 batches",
"batches b7, b8"), so every message of the audit says them the same way."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["batches_text", "plural"]


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1 ("-es" after "ch" and "s")."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("ch", "s")) else f"{n} {word}s"


def batches_text(ids: Iterable[str]) -> str:
    """'batch b7' or 'batches b7, b8'."""
    ids = list(ids)
    return ("batch " if len(ids) == 1 else "batches ") + ", ".join(ids)
