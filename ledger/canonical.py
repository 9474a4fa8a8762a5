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

from ledger.errors import CanonicalError, InputError

__all__ = ["MAX_SAFE_INTEGER", "canonical_json", "parse_canonical", "parse_json", "require_utf8"]

MAX_SAFE_INTEGER = 2**53 - 1
_SORT_KEYS = orjson.OPT_SORT_KEYS
# Where a key's closing quote meets its colon; counted to detect duplicate keys cheaply.
_KEY_END = re.compile(rb'"\s*:')
_TOO_DEEP = "JSON nested too deeply"


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
            if type(key) is not str or (not key.isascii() and max(key) >= "\ud800"):
                fast = False
            # Scalars inline: flat records are the common case and calls cost.
            item_kind = type(item)
            if item_kind is str or item is None or item_kind is bool:
                continue
            if item_kind is int:
                if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    fast = False
                continue
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


def require_utf8(value: object, field: str, *, show: bool = True) -> None:
    """Refuse text holding lone surrogates (what Python makes of invalid UTF-8 in arguments
    and file names), which neither DuckDB nor canonical JSON can store. ``value`` may be a
    list of texts; non-text values pass. With ``show=False`` the message leaves the text
    out (a raw subject id must not be echoed). Raises InputError naming ``field``."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                message = f"{text!r} is not valid UTF-8 text" if show else "not valid UTF-8 text"
                raise InputError(message, field=field) from None


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises CanonicalError for what JCS cannot represent: NaN or infinite floats, integers
    outside +-(2**53 - 1), lone surrogates, non-string keys, or non-JSON types.
    """
    try:
        fast, _ = _walk(value)
    except RecursionError:
        raise CanonicalError(_TOO_DEEP) from None
    if fast:
        try:
            return orjson.dumps(value, option=_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate, or nesting past orjson's limit: the exact encoder decides
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
    except UnicodeEncodeError:  # a lone surrogate in an object key, met while sorting
        raise CanonicalError("cannot be canonicalised: lone surrogate in an object key") from None
    except RecursionError:
        raise CanonicalError(_TOO_DEEP) from None


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
    try:
        if b'\\"' in raw or len(_KEY_END.findall(raw)) != _walk(value)[1]:
            value = json.loads(
                raw, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
            )
    except RecursionError:
        raise CanonicalError(_TOO_DEEP) from None
    return value


def parse_canonical(raw: bytes) -> tuple[Any, bytes]:
    """Parse one JSON text strictly and return (value, its RFC 8785 canonical bytes).

    The same checks as ``parse_json`` followed by ``canonical_json``, walking the value
    once: this is the per-record hot path of registration. Raises CanonicalError.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CanonicalError(f"malformed JSON: {exc}") from None
    try:
        fast, keys = _walk(value)
    except RecursionError:
        raise CanonicalError(_TOO_DEEP) from None
    if fast:
        try:
            canonical: bytes | None = orjson.dumps(value, option=_SORT_KEYS)
        except orjson.JSONEncodeError:
            canonical = None
        # The canonical form is never longer than any JSON text of the same value (its
        # escapes and numbers are the shortest, it has no whitespace), and a duplicate key
        # that parsing dropped would make it shorter: equal lengths prove no duplicate.
        if canonical is not None and len(canonical) == len(raw):
            return value, canonical
    else:
        canonical = None
    # Otherwise the duplicate-key screen of parse_json; counting every ':' is cheaper than
    # the regex and suffices when no string holds a colon.
    escaped_quote = b"\\" in raw and b'\\"' in raw  # memchr first: most lines have no '\\'
    if escaped_quote or (raw.count(b":") != keys and len(_KEY_END.findall(raw)) != keys):
        value = parse_json(raw)
        return value, canonical_json(value)
    if canonical is not None:
        return value, canonical
    return value, canonical_json(value)
