"""What registration computes per record, in one pure function over a chunk of records.

``hash_items`` takes records (raw JSON lines or JSON values) and returns a ``Hashed``: per
record its ``record_hash`` (SHA-256 of the RFC 8785 canonical JSON), ``content_hash``
(SHA-256 of the normalised text field), ``subject_hash`` (HMAC of the subject field), the
RFC 9162 Merkle leaf, and with sketches its LSH band keys; per chunk the n-gram profile and
the text's bytes and words. Every way of registering runs it: the JSONL byte ranges, the
Arrow contract (``provledger.ingest.arrow_hashing``) on this machine and on Ray or Spark.
``fold`` adds a chunk's leaves (or its workers' subtrees) to the batch's Merkle tree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from provledger.errors import InputError
from provledger.ingest.hashing import SubjectHasher, normalised_utf8
from provledger.similarity.sketches import PROFILE_BUCKETS, sketch_texts
from provledger.tlog.canonical import canonical_json, parse_canonical
from provledger.tlog.merkle import LEAF_PREFIX, MerkleBuilder

__all__ = ["Hashed", "Totals", "fold", "hash_items", "sum_profiles"]


@dataclass
class Hashed:
    """Hashes of one chunk: 32-byte digests concatenated, in record order."""

    count: int
    record_hashes: bytes
    content_hashes: bytes
    subject_hashes: bytes | None
    leaves: bytes
    # UTF-8 bytes and whitespace-separated words of the text fields
    # (provledger.ingest.batch_metadata).
    text_bytes: int = 0
    words: int = 0
    # Set by worker processes: the aligned Merkle subtrees over these leaves, valid when
    # the chunk's first record is record ``first_index`` of the batch.
    first_index: int = -1
    subtrees: list[tuple[int, bytes]] | None = None
    # With sketches: BANDS little-endian uint32 band keys per record, and the chunk's
    # n-gram profile (PROFILE_BUCKETS little-endian uint64 counts); see
    # provledger.similarity.sketches.
    bands: bytes | None = None
    profile: bytes | None = None


def hash_items(
    items: list[Any],
    locations: list[int],
    raw: bool,
    text_field: str,
    subject_field: str | None,
    subject_key: bytes | None,
    sketch: bool = False,
) -> Hashed:
    """Hash a chunk of records (and sketch their normalised text when ``sketch``).
    Raises InputError carrying the line of the bad record."""
    sha = hashlib.sha256
    rh: list[bytes] = []
    ch: list[bytes] = []
    sh: list[bytes] = []
    leaves: list[bytes] = []
    texts: list[bytes] = []
    keyed: SubjectHasher | None = None
    text_bytes = 0
    words = 0
    if subject_field is not None:
        if subject_key is None:
            raise ValueError("subject_key is required with subject_field")
        keyed = SubjectHasher(subject_key)
    for item, line in zip(items, locations, strict=True):
        try:
            record, canonical = parse_canonical(item) if raw else (item, canonical_json(item))
            if type(record) is not dict:
                raise InputError("record is not a JSON object")
        except InputError as exc:
            raise exc.located(line=line) from None
        text = record.get(text_field)
        if type(text) is not str:
            what = "is missing" if text is None else "is not a string"
            raise InputError(f"text field {what}", line=line, field=text_field)
        text_bytes += len(text) if text.isascii() else len(text.encode("utf-8"))
        digest = sha(canonical).digest()
        del canonical  # a long line's canonical form need not outlive its hash
        rh.append(digest)
        leaves.append(sha(LEAF_PREFIX + digest).digest())
        normal = normalised_utf8(text)
        ch.append(sha(normal).digest())
        if sketch:
            texts.append(normal)
        # Words of the normalised text, whose whitespace is single spaces: counting them is
        # one C-speed scan, where str.split() would build a string per word.
        words += normal.count(b" ") + 1 if normal else 0
        if keyed is not None:
            subject = record.get(subject_field)
            if subject is None or subject == "" or type(subject) not in (str, int):
                raise InputError(
                    "subject field is missing or empty"
                    if subject in (None, "")
                    else "subject id must be a string or integer",
                    line=line,
                    field=subject_field,
                )
            sh.append(keyed(str(subject)))
    hashed = Hashed(
        len(rh),
        b"".join(rh),
        b"".join(ch),
        b"".join(sh) if keyed is not None else None,
        b"".join(leaves),
        text_bytes,
        words,
    )
    if sketch:
        sketched = sketch_texts(texts)
        hashed.bands = sketched.band_bytes()
        hashed.profile = sketched.profile_bytes()
    return hashed


def fold(builder: MerkleBuilder, hashed: Hashed) -> None:
    """Add a chunk's leaves to the batch's Merkle tree."""
    if hashed.subtrees is not None and hashed.first_index == builder.size:
        for height, node in hashed.subtrees:
            builder.push_subtree(node, height)
        return
    # Hashed in this process, or a blank line shifted the worker's count: leaf by leaf.
    leaves = hashed.leaves
    for i in range(0, len(leaves), 32):
        builder.push(leaves[i : i + 32])


def sum_profiles(profiles: list[bytes | None]) -> bytes | None:
    """N-gram profiles (little-endian uint64 counts) added up; None when there is none."""
    present = [p for p in profiles if p is not None]
    if not present:
        return None
    total = np.zeros(PROFILE_BUCKETS, dtype=np.uint64)
    for blob in present:
        total += np.frombuffer(blob, dtype="<u8")
    return total.astype("<u8").tobytes()


@dataclass
class Totals:
    """What a batch's hashed chunks fold into, whatever holds their rows: the Merkle tree,
    the digests the entry signs over the content and subject hashes, the summed n-gram
    profile, and the text's bytes and words."""

    builder: MerkleBuilder
    content: Any
    subject: Any
    profile: bytes | None = None
    text_bytes: int = 0
    words: int = 0

    @classmethod
    def empty(cls) -> Totals:
        return cls(MerkleBuilder(), hashlib.sha256(), hashlib.sha256())

    def add(self, hashed: Hashed) -> None:
        fold(self.builder, hashed)
        self.content.update(hashed.content_hashes)
        self.subject.update(hashed.subject_hashes or b"")
        self.text_bytes += hashed.text_bytes
        self.words += hashed.words
        self.profile = sum_profiles([self.profile, hashed.profile])

    @property
    def count(self) -> int:
        return self.builder.size
