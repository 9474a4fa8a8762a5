"""Record, content and subject hashes. Pure functions over bytes and text; no I/O.

- ``record_hash`` = SHA-256 of the RFC 8785 canonical JSON of the record (computed by
  ``ledger.ingest`` over the canonical bytes its parser produces).
- ``content_hash`` = SHA-256 of the normalised text: Unicode NFKC, case-folded, every run
  of whitespace collapsed to one space, leading and trailing whitespace removed. Two texts
  that differ only in case, spacing or compatibility forms hash the same, which is what
  duplicate and contamination checks want.
- ``subject_hash`` = HMAC-SHA256(ledger subject key, normalised subject id), where the id
  is NFKC-normalised, case-folded and stripped, so ``Alice@Example.com `` and
  ``alice@example.com`` are one subject. The raw id never reaches the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from ledger.errors import InputError

__all__ = [
    "SubjectHasher",
    "content_hash",
    "normalise_subject",
    "normalise_text",
    "normalised_utf8",
    "parse_hash",
    "subject_hash",
]


def parse_hash(text: str, field: str) -> bytes:
    """A SHA-256 hash given as 64 hex digits (either case, surrounding space ignored).
    Raises InputError naming ``field``."""
    try:
        digest = bytes.fromhex(text.strip())
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise InputError("expected a SHA-256 hash as 64 hex digits", field=field)
    return digest


# ASCII control characters: str.split() whitespace among them (\t \n \v \f \r \x1c-\x1f).
_ASCII_CONTROLS = bytes(range(32))


def normalise_text(text: str) -> str:
    """The normal form content hashes are taken over (see module docstring)."""
    return normalised_utf8(text).decode("utf-8")


def normalised_utf8(text: str) -> bytes:
    """``normalise_text(text)`` encoded as UTF-8: what ``content_hash`` hashes."""
    if text.isascii():  # ASCII is NFKC-invariant and casefolds as lower(): skip the tables
        lowered = text.lower()
        # With no control character (so no whitespace but ' ') and no doubled, leading or
        # trailing space, the text is already in normal form: splitting it would be wasted.
        if "  " not in lowered and lowered[:1] != " " and lowered[-1:] != " ":
            data = lowered.encode("ascii")
            if len(data.translate(None, _ASCII_CONTROLS)) == len(data):
                return data
        return " ".join(lowered.split()).encode("ascii")
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).encode("utf-8")


def content_hash(text: str) -> bytes:
    """SHA-256 of the normalised text, UTF-8 encoded."""
    return hashlib.sha256(normalised_utf8(text)).digest()


def normalise_subject(subject_id: str) -> str:
    """The normal form of a data subject id before it is keyed."""
    if subject_id.isascii():
        return subject_id.lower().strip()
    return unicodedata.normalize("NFKC", subject_id).casefold().strip()


def subject_hash(key: bytes, subject_id: str) -> bytes:
    """HMAC-SHA256 of the normalised subject id under the ledger's subject key."""
    return hmac.new(key, normalise_subject(subject_id).encode("utf-8"), hashlib.sha256).digest()


class SubjectHasher:
    """``subject_hash`` for many ids under one key: the HMAC pads are hashed once (RFC 2104),
    so each id costs two SHA-256 state copies instead of a fresh HMAC object."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, subject_id: str) -> bytes:
        inner = self._inner.copy()
        inner.update(normalise_subject(subject_id).encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()
