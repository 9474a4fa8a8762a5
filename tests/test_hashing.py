"""The content and subject normalisations equal their documented definitions, whatever
shortcuts the implementation takes for ASCII."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from provledger.ingest.hashing import SubjectHasher, normalise_subject, normalise_text, subject_hash

# ASCII-heavy text with every kind of whitespace str.split() knows, plus some non-ASCII.
TEXT = st.text(
    alphabet=st.sampled_from(
        [*"aZ09 .,:;-'\"", "\x00", "\x01", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x7f",
         "\u00a0", "\u2028", "\u00c9", "\ufb01", "\u212b"]
    ),
    max_size=40,
)  # fmt: skip


def reference_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@given(TEXT)
def test_normalise_text_is_the_documented_definition(text: str) -> None:
    assert normalise_text(text) == reference_text(text)


@given(TEXT)
def test_normalise_subject_is_the_documented_definition(text: str) -> None:
    assert normalise_subject(text) == unicodedata.normalize("NFKC", text).casefold().strip()


@given(st.binary(min_size=0, max_size=100), TEXT)
def test_subject_hasher_is_hmac_sha256(key: bytes, subject: str) -> None:
    expected = hmac.new(key, normalise_subject(subject).encode(), hashlib.sha256).digest()
    assert SubjectHasher(key)(subject) == expected == subject_hash(key, subject)


# -- the canonical-JSON hot path -----------------------------------------------------------
KEYS = st.text(alphabet='abé"\\:', min_size=0, max_size=3)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), TEXT)


@given(st.lists(st.tuples(KEYS, SCALARS), max_size=5), st.booleans())
def test_parse_canonical_matches_the_exact_encoder_or_refuses_duplicates(
    members: list[tuple[str, object]], spaced: bool
) -> None:
    import json

    import rfc8785

    from provledger.errors import CanonicalError
    from provledger.tlog.canonical import parse_canonical

    sep = (", ", ": ") if spaced else (",", ":")
    raw = (
        "{"
        + sep[0].join(
            json.dumps(k, ensure_ascii=False) + sep[1] + json.dumps(v, ensure_ascii=False)
            for k, v in members
        )
        + "}"
    ).encode()
    duplicated = len({k for k, _ in members}) < len(members)
    try:
        value, canonical = parse_canonical(raw)
    except CanonicalError:
        assert duplicated
        return
    assert not duplicated
    assert canonical == rfc8785.dumps(dict(members))
    assert value == dict(members)
