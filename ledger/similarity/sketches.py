"""Near-duplicate signatures and text profiles: pure functions over normalised text, no I/O.

Computed at registration from exactly the bytes ``content_hash`` hashes
(``provledger.ingest.hashing.normalised_utf8``), so a sketch and a content hash always describe the
same text. Nothing here can rebuild a record: a record keeps ten 32-bit band keys, a batch
keeps a histogram of hashed word n-grams.

Per record (``SKETCH_PARAMS``; docs/distribution-and-near-duplicates.md says why):
- shingles: the word 5-grams of the normalised text (words are separated by single
  spaces); a text of fewer than five words is one shingle, the whole text (so it matches
  only an exact copy; the empty text is one empty shingle);
- shingle hash: a 32-bit polynomial hash of the shingle's UTF-8 bytes (base ``POLY_BASE``,
  mod 2**32, each byte counted as its value + 1), xored with the seed and spread to 64 bits
  by the splitmix64 mixer;
- MinHash by one-permutation hashing: each shingle hash goes to one of ``BINS`` bins (its
  top 32 bits, range-reduced), keeping its low 32 bits; each bin keeps its minimum; an
  empty bin borrows the value of the next non-empty bin to its right (circularly) plus
  its distance times 2**32 (densification by rotation, Shrivastava & Li, ICML 2014), so
  two texts' bins agree with probability close to their shingle-set Jaccard similarity;
- LSH: the ``BINS`` values form ``BANDS`` bands of ``ROWS`` consecutive bins, each band
  mixed into one 32-bit key. Two records share a band key with probability about J**ROWS
  per band, so they share at least one with probability 1 - (1 - J**10)**10: 0.68 at
  J = 0.8, 0.986 at J = 0.9, 0.0097 at J = 0.5.

Per batch (``PROFILE_PARAMS``): counts of the word unigrams and bigrams of every record,
hashed into ``PROFILE_BUCKETS`` buckets (splitmix64 of the same polynomial hash, top 12
bits), from which distribution match and coverage are computed
(``provledger.similarity.distribution``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "BANDS",
    "BINS",
    "PROFILE_BUCKETS",
    "PROFILE_PARAMS",
    "ROWS",
    "SKETCH_PARAMS",
    "Sketched",
    "band_keys",
    "bin_values",
    "profile_counts",
    "sketch_texts",
]

SHINGLE_WORDS = 5
BANDS = 10
ROWS = 10
BINS = BANDS * ROWS
SEED = 0x5EED_5EED_5EED_5EED
POLY_BASE = 0x01000193  # the 32-bit FNV prime: odd, so invertible mod 2**32
ATTEMPTS = 32
COPIES = 3
_BIGRAM_MULT = 0x9E3779B1  # odd multipliers for the profile's feature hash
_FIBONACCI = 0x61C88647
# Texts are sketched in blocks of about this many bytes (the arrays stay in cache).
BLOCK_BYTES = 256 << 10
PROFILE_BUCKETS = 4096
PROFILE_BITS = 12

# What a stored sketch means, signed into every batch entry that carries sketches: a
# signature is never compared with one made under other parameters.
SKETCH_PARAMS: dict[str, Any] = {
    "scheme": "oph-minhash-rotation-v1",
    "shingle": "word-5gram",
    "short_text": "whole-text",
    "hash": "poly32-fnvprime+splitmix64",
    "copies": COPIES,
    "densify": "optimal-32-then-rotation",
    "seed": f"{SEED:#018x}",
    "bins": BINS,
    "bands": BANDS,
    "rows": ROWS,
    "band_key_bits": 32,
}
PROFILE_PARAMS: dict[str, Any] = {
    "features": "word-1gram+2gram",
    "bucket": "fibonacci32-top12",
    "hash": "poly32-fnvprime+splitmix64",
    "buckets": PROFILE_BUCKETS,
}

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_EMPTY = _U64(1 << 62)  # above every densified value (< 100 * 2**32 + 2**32)
_NEWLINE, _SPACE = 10, 32
# Powers of POLY_BASE and of its inverse mod 2**32, grown to the largest block seen.
_powers: dict[str, np.ndarray] = {}


def _inverse(a: int) -> int:
    return pow(a, -1, 1 << 32)


def _power_table(base: int, length: int, name: str) -> np.ndarray:
    """base**0 .. base**(length-1) mod 2**32, cached per process."""
    table = _powers.get(name)
    if table is None or len(table) < length:
        size = max(length, 1024, 2 * (0 if table is None else len(table)))
        table = np.empty(size, dtype=np.uint32)
        table[0] = 1
        if size > 1:
            table[1:] = np.uint32(base % (1 << 32))
            with np.errstate(over="ignore"):
                np.cumprod(table, out=table)
        _powers[name] = table
    return table


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise over uint64 (wraps mod 2**64)."""
    with np.errstate(over="ignore"):
        z = x + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


@dataclass
class Sketched:
    """Sketches of a list of texts: ``bands`` is (n, BANDS) uint32 band keys in record
    order; ``profile`` the (PROFILE_BUCKETS,) uint64 n-gram counts summed over them."""

    bands: np.ndarray
    profile: np.ndarray

    def band_bytes(self) -> bytes:
        """The band keys as stored and digested: little-endian uint32, record by record."""
        return self.bands.astype("<u4", copy=False).tobytes()

    def profile_bytes(self) -> bytes:
        """The profile as stored: little-endian uint64 counts."""
        return self.profile.astype("<u8", copy=False).tobytes()


class _Spans:
    """Word boundaries and polynomial prefix sums (mod 2**32) of texts joined by newlines."""

    def __init__(self, texts: list[bytes]) -> None:
        n = len(texts)
        data = np.frombuffer(b"\n".join(texts) + b"\n", dtype=np.uint8)
        size = len(data)
        # Word ends are the separators; a record's first word starts at the record.
        ends = np.flatnonzero((data == _SPACE) | (data == _NEWLINE))
        word_start = np.empty_like(ends)
        word_start[0] = 0
        word_start[1:] = ends[:-1] + 1
        last = np.flatnonzero(data[ends] == _NEWLINE)
        words_per = np.diff(last, prepend=-1)
        self.n = n
        self.word_start = word_start
        self.word_end = ends
        self.words_per = words_per
        self.first_word = last - words_per + 1
        self.word_record = np.repeat(np.arange(n), words_per)
        # prefix[i] = sum over k < i of (byte_k + 1) * inverse**k, so the hash of bytes
        # [s, e), sum of (byte_k + 1) * base**(e - 1 - k), is base**(e - 1) * (prefix[e] -
        # prefix[s]): position-free, whatever the span's place in the chunk.
        inv = _power_table(_inverse(POLY_BASE), size, "inverse")
        self.power = _power_table(POLY_BASE, size, "base")
        prefix = np.zeros(size + 1, dtype=np.uint32)
        with np.errstate(over="ignore"):
            np.cumsum((data + np.uint32(1)) * inv[:size], out=prefix[1:])
        self.prefix = prefix

    def word_hashes(self) -> np.ndarray:
        """The raw 32-bit polynomial hash of every word, in order."""
        e = self.word_end
        with np.errstate(over="ignore"):
            return self.power[np.maximum(e - 1, 0)] * (
                self.prefix[e] - self.prefix[self.word_start]
            )

    def span_hashes(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Mixed 64-bit hashes of the byte spans from word ``first`` to word ``last``."""
        s = self.word_start[first]
        e = self.word_end[last]
        with np.errstate(over="ignore"):
            raw = self.power[np.maximum(e - 1, 0)] * (self.prefix[e] - self.prefix[s])
        return splitmix64(raw.astype(_U64) ^ _U64(SEED))


def _shingles(sp: _Spans) -> tuple[np.ndarray, np.ndarray]:
    """(record of each shingle, its hash): word 5-grams, or the whole text when short."""
    k = SHINGLE_WORDS
    n_words = len(sp.word_start)
    first = np.arange(max(n_words - k + 1, 0))
    if len(first):
        first = first[sp.word_record[first + k - 1] == sp.word_record[first]]
    short = np.flatnonzero(sp.words_per < k)
    short_first = sp.first_word[short]
    short_last = short_first + sp.words_per[short] - 1
    firsts = np.concatenate((first, short_first))
    lasts = np.concatenate((first + k - 1, short_last))
    return sp.word_record[firsts], sp.span_hashes(firsts, lasts)


def _donor_table() -> np.ndarray:
    """(ATTEMPTS, BINS): the bins an empty bin tries, in order; the same for every text."""
    tries = np.arange(ATTEMPTS * BINS, dtype=_U64) + _U64(SEED ^ 0xD0)
    return (((splitmix64(tries) >> _U64(32)) * _U64(BINS)) >> _U64(32)).reshape(ATTEMPTS, BINS)


_DONORS = _donor_table().astype(np.int64)


def bin_values(records: np.ndarray, hashes: np.ndarray, n: int) -> np.ndarray:
    """One-permutation MinHash, densified: (n, BINS) uint64 values. Every record must
    have at least one shingle hash. Each shingle enters COPIES times (as the pairs
    (shingle, copy)), which keeps the Jaccard similarity and fills more bins."""
    copies = [hashes] + [splitmix64(hashes ^ _U64(c)) for c in range(1, COPIES)]
    items = np.concatenate(copies)
    slots = ((items >> _U64(32)) * _U64(BINS)) >> _U64(32)  # below BINS: fits int64
    slots += np.tile(records.astype(_U64) * _U64(BINS), COPIES)
    flat = np.full(n * BINS, _EMPTY, dtype=_U64)
    np.minimum.at(flat, slots.view(np.int64), items & _MASK32)
    # Empty cells, as flat indices, try their donors in turn (the same bins for any text).
    full = flat != _EMPTY
    out = flat.copy()
    cells = np.flatnonzero(~full)
    cols = cells % BINS
    base = cells - cols
    for attempt in range(ATTEMPTS):
        if not len(cells):
            return out.reshape(n, BINS)
        donor = base + _DONORS[attempt, cols]
        ok = full[donor]
        out[cells[ok]] = flat[donor[ok]]
        missing = ~ok
        cells, cols, base = cells[missing], cols[missing], base[missing]
    # Texts with very few shingles: the next non-empty bin to the right, wrapping around.
    table = flat.reshape(n, BINS)
    for cell in cells.tolist():
        r, c = divmod(cell, BINS)
        right = int(np.flatnonzero(np.roll(table[r] != _EMPTY, -c))[0])
        out[cell] = table[r, (c + right) % BINS]
    return out.reshape(n, BINS)


def band_keys(values: np.ndarray) -> np.ndarray:
    """(n, BINS) bin values -> (n, BANDS) uint32 band keys."""
    n = values.shape[0]
    grouped = values.reshape(n, BANDS, ROWS)
    key = np.broadcast_to(np.arange(BANDS, dtype=_U64) + _U64(SEED), (n, BANDS)).copy()
    for r in range(ROWS):
        key = splitmix64(key ^ grouped[:, :, r])
    return (key >> _U64(32)).astype(np.uint32)


def profile_counts(sp: _Spans) -> np.ndarray:
    """Hashed word unigram and bigram counts over every text. A word's feature is its
    32-bit polynomial hash, a bigram's the two words' hashes combined; both are bucketed by
    the top PROFILE_BITS bits of a multiplicative (Fibonacci) hash."""
    words = sp.word_hashes()
    nonempty = sp.word_end > sp.word_start  # the empty text has no words
    pairs = np.flatnonzero(sp.word_record[1:] == sp.word_record[:-1])
    with np.errstate(over="ignore"):
        bigrams = words[pairs] * np.uint32(_BIGRAM_MULT) + words[pairs + 1]
        features = np.concatenate((words[nonempty], bigrams)) * np.uint32(_FIBONACCI)
    buckets = features >> np.uint32(32 - PROFILE_BITS)
    return np.bincount(buckets, minlength=PROFILE_BUCKETS).astype(_U64)


def _sketch_block(texts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    sp = _Spans(texts)
    records, hashes = _shingles(sp)
    return band_keys(bin_values(records, hashes, len(texts))), profile_counts(sp)


def sketch_texts(texts: list[bytes]) -> Sketched:
    """Band keys and the n-gram profile of ``texts`` (normalised UTF-8, as
    ``normalised_utf8`` returns: no newline, single spaces, no leading/trailing space)."""
    bands = [np.zeros((0, BANDS), dtype=np.uint32)]
    profile = np.zeros(PROFILE_BUCKETS, dtype=_U64)
    start = size = 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size >= BLOCK_BYTES or i == len(texts) - 1:
            block_bands, block_profile = _sketch_block(texts[start : i + 1])
            bands.append(block_bands)
            profile += block_profile
            start, size = i + 1, 0
    return Sketched(np.concatenate(bands), profile)
