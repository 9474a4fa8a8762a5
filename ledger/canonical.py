"""RFC 8785 (JCS) canonical JSON: strict parsing in, canonical bytes out. No I/O.

The exact encoder is the ``rfc8785`` package. msgspec's encoder with sorted keys is used
as a fast path only for values where it provably writes the same bytes (Hypothesis tests
in ``tests/test_canonical.py`` hold it to that): no floats, integers inside the IEEE-754
safe range, and object keys whose characters all sort the same in UTF-16 and in code-point
order (below U+D800). Everything else takes the exact encoder.

``parse_canonical``, the per-record hot path of registration, parses with msgspec and
proves the absence of duplicate keys from quote counts (see there); any record it cannot
prove plain takes the strict orjson/``json`` parser and the exact encoder.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
import orjson
import rfc8785

from ledger.errors import CanonicalError, InputError

__all__ = [
    "MAX_SAFE_INTEGER",
    "big_integer_message",
    "canonical_json",
    "parse_canonical",
    "parse_json",
    "require_utf8",
]

MAX_SAFE_INTEGER = 2**53 - 1
_encode_sorted = msgspec.json.Encoder(order="sorted").encode


class _Float:
    """What the hot-path decoder makes of a JSON float: msgspec cannot encode it, so a
    record holding a float always reaches the exact encoder (JCS writes numbers as
    ECMAScript does, which no fast encoder matches)."""

    __slots__ = ()


_FLOAT = _Float()
_decode_marking_floats = msgspec.json.Decoder(float_hook=lambda _text: _FLOAT).decode
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

    An integer outside +-(2**53 - 1) is taken as the double it equals when its digits are
    exactly what RFC 8785 writes for that double (``10000000000000000`` is 1e16 written by
    any JCS tool), so such a record hashes as every JCS implementation hashes it. Raises
    CanonicalError for what JCS cannot represent: NaN or infinite floats, any other integer
    outside +-(2**53 - 1) (``BigIntegerError``), lone surrogates, non-string keys, or
    non-JSON types.
    """
    try:
        fast, _ = _walk(value)
    except RecursionError:
        raise CanonicalError(_TOO_DEEP) from None
    if fast:
        try:
            return _encode_sorted(value)
        except (UnicodeEncodeError, RecursionError):
            pass  # a lone surrogate, or very deep nesting: the exact encoder decides
    try:
        try:
            return rfc8785.dumps(value)
        except rfc8785.IntegerDomainError:
            return rfc8785.dumps(_big_integers_as_doubles(value))
    except rfc8785.FloatDomainError:
        raise CanonicalError("NaN and Infinity have no JSON representation") from None
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalError(f"cannot be canonicalised: {exc}") from None
    except UnicodeEncodeError:  # a lone surrogate in an object key, met while sorting
        raise CanonicalError("cannot be canonicalised: lone surrogate in an object key") from None
    except RecursionError:
        raise CanonicalError(_TOO_DEEP) from None


def big_integer_message(value: int) -> str:
    """Why ``value`` (outside +-(2**53 - 1)) is refused and what to do instead."""
    digits = str(value)
    shown = digits if len(digits) <= 40 else f"of {len(digits)} digits"
    return (
        f"integer {shown} is outside +-(2**53 - 1) and is not exactly an IEEE-754 double "
        "as RFC 8785 writes one, so other JCS tools would hash a different number: "
        "store it as a string (for example a CSV column, or a JSON string) to keep every digit"
    )


def _as_double(value: int) -> float:
    """The double an integer outside the safe range stands for, when the integer's digits
    are exactly RFC 8785's form of that double; else CanonicalError."""
    try:
        double = float(value)
    except OverflowError:
        double = math.inf
    if math.isfinite(double) and rfc8785.dumps(double) == str(value).encode():
        return double
    raise CanonicalError(big_integer_message(value))


def _big_integers_as_doubles(value: Any) -> Any:
    kind = type(value)
    if kind is int:
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else _as_double(value)
    if kind is list:
        return [_big_integers_as_doubles(v) for v in value]
    if kind is dict:
        return {k: _big_integers_as_doubles(v) for k, v in value.items()}
    return value


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
    # orjson keeps the last of duplicate keys silently. Every key in the text is followed
    # by a ':', so as many ':' as parsed keys proves none was dropped (enough when no string
    # holds a colon). Else, without an escaped quote in the text, every '"' followed by ':'
    # ends a key and the same count over those decides. Else parse again with a checking hook.
    try:
        keys = _walk(value)[1]
        if raw.count(b":") != keys and (b'\\"' in raw or len(_KEY_END.findall(raw)) != keys):
            value = json.loads(
                raw, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
            )
    except RecursionError:
        raise CanonicalError(_TOO_DEEP) from None
    return value


def _plain_strings(value: Any, check_keys: bool) -> int:
    """The number of strings (keys included) inside ``value``, or -1 unless every integer
    inside is within the safe range and, with ``check_keys``, every object key sorts the
    same in UTF-16 and code-point order."""
    kind = type(value)
    if kind is dict:
        if check_keys and not all(k.isascii() or max(k) < "\ud800" for k in value):
            return -1
        strings = len(value)
        items = value.values()
    elif kind is list:
        strings = 0
        items = value
    elif kind is int:
        return 0 if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else -1
    else:
        return int(kind is str)
    for item in items:
        kind = type(item)
        if kind is str:  # flat records are the common case: scalars inline, calls cost
            strings += 1
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return -1
        elif kind is dict or kind is list:
            inner = _plain_strings(item, check_keys)
            if inner < 0:
                return -1
            strings += inner
    return strings


def parse_canonical(raw: bytes) -> tuple[Any, bytes]:
    """Parse one JSON text strictly and return (value, its RFC 8785 canonical bytes).

    The same checks as ``parse_json`` followed by ``canonical_json``: this is the
    per-record hot path of registration. Raises CanonicalError.
    """
    try:
        value = _decode_marking_floats(raw)
        canonical = _encode_sorted(value)  # TypeError when a float was marked
    except (msgspec.MsgspecError, TypeError, ValueError, RecursionError):
        return _parse_canonical_exact(raw)  # it words the error, or handles the float
    # msgspec keeps the last of duplicate keys silently. Without a quote inside any string
    # (no \" or \u0022 escape in the text), every '"' of the text delimits one of its
    # strings, so twice the parsed value's string count equals the text's quote count
    # exactly when no key was dropped. Keys need a look only when the text may hold
    # non-ASCII ones.
    escapes = b"\\" in raw  # memchr: most records have none
    if not escapes or (b'\\"' not in raw and b"\\u0022" not in raw):
        strings = _plain_strings(value, escapes or not raw.isascii())
        if strings >= 0 and 2 * strings == raw.count(b'"'):
            return value, canonical
    return _parse_canonical_exact(raw)


def _parse_canonical_exact(raw: bytes) -> tuple[Any, bytes]:
    """``parse_canonical`` for what its fast path cannot prove plain: the strict parser,
    then the exact encoder."""
    value = parse_json(raw)
    return value, canonical_json(value)
