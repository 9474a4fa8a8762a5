"""RFC 8785 (JCS) canonical JSON: strict parsing in, canonical bytes out. No I/O.

The exact encoder is the ``rfc8785`` package. orjson with sorted keys is used as a fast
path only for values where it provably writes the same bytes (a Hypothesis test in
``tests/test_canonical.py`` holds it to that): no floats, integers inside the IEEE-754
safe range, and object keys whose characters all sort the same in UTF-16 and in code-point
order (below U+D800). Everything else takes the exact encoder.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import rfc8785

from ledger.errors import CanonicalError

__all__ = ["MAX_SAFE_INTEGER", "canonical_json", "parse_json"]

MAX_SAFE_INTEGER = 2**53 - 1
_SORT_KEYS = orjson.OPT_SORT_KEYS
# Where a key's closing quote meets its colon; counted to detect duplicate keys cheaply.
_KEY_END = re.compile(rb'"\s*:')


def _walk(value: Any) -> tuple[bool, int]:
    """Return (orjson writes this exactly as JCS does, number of object keys inside)."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True, 0
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER, 0
    if kind is dict:
        fast, keys = True, len(value)
        for key, item in value.items():
            if not key.isascii() and max(key) >= "\ud800":
                fast = False
            item_fast, item_keys = _walk(item)
            fast = fast and item_fast
            keys += item_keys
        return fast, keys
    if kind is list:
        fast, keys = True, 0
        for item in value:
            item_fast, item_keys = _walk(item)
            fast = fast and item_fast
            keys += item_keys
        return fast, keys
    return False, 0


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises CanonicalError for what JCS cannot represent: NaN or infinite floats, integers
    outside +-(2**53 - 1), lone surrogates, non-string keys, or non-JSON types.
    """
    fast, _ = _walk(value)
    if fast:
        try:
            return orjson.dumps(value, option=_SORT_KEYS)
        except orjson.JSONEncodeError as exc:  # lone surrogates land here
            raise CanonicalError(f"cannot be canonicalised: {exc}") from None
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError:
        raise CanonicalError(
            "integer outside +-(2**53 - 1): RFC 8785 numbers are IEEE-754 doubles"
        ) from None
    except rfc8785.FloatDomainError:
        raise CanonicalError("NaN and Infinity have no JSON representation") from None
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalError(f"cannot be canonicalised: {exc}") from None


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, item in pairs:
        if key in seen:
            raise CanonicalError(f"duplicate key {key!r}", field=key)
        seen[key] = item
    return seen


def _refuse_constant(name: str) -> Any:
    raise CanonicalError(f"{name} is not JSON")


def parse_json(data: bytes | str) -> Any:
    """Parse one JSON text strictly.

    Refuses what JCS cannot represent: NaN/Infinity, numbers that overflow a double,
    duplicate object keys, lone surrogates, invalid UTF-8 and a byte-order mark. Raises
    CanonicalError (without file or line; callers add them with ``located``).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CanonicalError(f"malformed JSON: {exc}") from None
    # orjson keeps the last of duplicate keys silently. Without an escaped quote in the
    # text, every '"' followed by ':' ends a key, so the count below equals the parsed key
    # count exactly when no key was repeated; otherwise parse again with a checking hook.
    if b'\\"' in raw or len(_KEY_END.findall(raw)) != _walk(value)[1]:
        value = json.loads(
            raw, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    return value
