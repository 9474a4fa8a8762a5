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

The contract, for any engine that registers records (local worker processes, Ray,
Spark): ``sketch_texts(texts: Sequence[bytes]) -> Sketched`` takes the normalised UTF-8
texts of any run of records and returns their band keys (``bands``, (n, BANDS) uint32,
record order) and the run's profile (``profile``, (PROFILE_BUCKETS,) uint64 counts). It
is a pure function: no I/O, no state but caches of constant tables, and a record's keys
depend on its text alone, so runs can be sketched anywhere, in any split, and the keys
concatenated and the profiles summed give the same result as one run
(``tests/test_sketches.py``).

How it runs: texts go in blocks of about ``BLOCK_BYTES`` (at most ``BLOCK_TEXTS``
texts) through whole-array numpy passes; no Python code runs per record or per word. A
block's texts are joined by spaces: word ends come from one scan for spaces, each text's
last word from the texts' lengths. Every polynomial hash (of a word, a shingle, a whole
short text) is read off one running sum over the block's bytes at two word boundaries.
One-permutation bins are filled with ``np.minimum.at`` (about 2 ns an entry in numpy 2:
cheaper than sorting). Empty bins are densified in two ways that give the same values: a
text with at most ``_FEW_FULL`` full bins (a short text) whole, each bin taking the
lowest of a precomputed rank table over the text's full bins (the bin itself ranked
first); the others cell by cell, one attempt per pass over the cells still empty (a
bench ticket's empty cells take about 1.4 passes), with the rotation fallback ranked for the
rare cells whose every attempt misses. ``tests/sketch_reference.py`` is the slow,
per-record reference it is checked against bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
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
# Texts are sketched in blocks of about this many bytes, or of this many texts if that
# comes first: large enough that numpy's cost per call is spread over many records, small
# enough that a block's arrays stay within a few MB (docs/distribution-and-near-duplicates.md).
BLOCK_BYTES = 256 << 10
BLOCK_TEXTS = 1024
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
_U32 = np.uint32
_U16 = np.uint16
_BIN_BITS = 127  # BINS < 128
_MASK32 = _U64(0xFFFFFFFF)
_EMPTY = _U64(1 << 62)  # above every bin value (< 2**32)
_SPACE = 32
# Cached per process and grown to the largest block seen: powers of POLY_BASE and of its
# inverse mod 2**32.
_tables: dict[str, np.ndarray] = {}


def _inverse(a: int) -> int:
    return pow(a, -1, 1 << 32)


def _table(name: str, length: int) -> np.ndarray:
    """At least ``length`` entries, k = 0, 1, ..., mod 2**32: ``base`` POLY_BASE**k,
    ``inverse`` POLY_BASE**-k, ``previous`` POLY_BASE**max(k - 1, 0)."""
    table = _tables.get(name)
    if table is None or len(table) < length:
        size = max(length, 1024, 2 * (0 if table is None else len(table)))
        if name == "previous":
            table = np.ones(size, dtype=_U32)
            table[1:] = _table("base", size)[: size - 1]
        else:
            table = np.full(size, POLY_BASE if name == "base" else _inverse(POLY_BASE), _U32)
            table[0] = 1
            np.cumprod(table, out=table)
        _tables[name] = table
    return table


def _mix(z: np.ndarray, tmp: np.ndarray | None = None) -> np.ndarray:
    """splitmix64 in place over a uint64 array the caller owns (wraps mod 2**64); ``tmp``,
    if given, is scratch space of z's shape."""
    if tmp is None:
        tmp = np.empty_like(z)
    z += _U64(0x9E3779B97F4A7C15)
    z ^= np.right_shift(z, _U64(30), out=tmp)
    z *= _U64(0xBF58476D1CE4E5B9)
    z ^= np.right_shift(z, _U64(27), out=tmp)
    z *= _U64(0x94D049BB133111EB)
    z ^= np.right_shift(z, _U64(31), out=tmp)
    return z


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise over uint64 (wraps mod 2**64)."""
    return _mix(np.array(x, dtype=_U64))


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


class _Words:
    """The words of a block of texts joined by spaces, and the polynomial hash of any run
    of consecutive words within one text, with whole-array passes only.

    Every word (the empty text is one empty word) ends at one space: the one after it in
    its text, or the one joined after its text. The hash of bytes [s, e), the sum of
    (byte_k + 1) * base**(e - 1 - k), is base**(e - 1) * (F[e] - F[s]) with F[i] the sum
    over k < i of (byte_k + 1) * base**-k: F is one running sum over the block's bytes,
    read only at word boundaries.
    """

    def __init__(self, texts: list[bytes], lengths: np.ndarray) -> None:
        data = np.frombuffer(b" ".join([*texts, b""]), dtype=np.uint8)
        size = len(data)
        ends = np.flatnonzero(data == _SPACE)
        # The last word of each text ends at the space joined after it.
        self.last_words = np.searchsorted(ends, np.cumsum(lengths + 1) - 1)
        self.lengths = lengths
        last = np.zeros(len(ends), dtype=bool)
        last[self.last_words] = True
        inverse = _table("inverse", size)[:size]
        weights = data.astype(_U32)
        weights += _U32(1)
        weights *= inverse
        running = np.empty(size + 1, dtype=_U32)
        running[0] = 0
        np.cumsum(weights, out=running[1:])
        self.f_end = running[ends]
        self.f_start = np.empty_like(self.f_end)  # F at each word's first byte
        self.f_start[0] = 0
        np.take(running, ends[:-1] + 1, out=self.f_start[1:])
        self.power = _table("previous", size)[ends]
        # Texts completed before each word (so its text's index), over W + 1 positions.
        self.done = np.zeros(len(ends) + 1, dtype=np.int64)
        np.cumsum(last, out=self.done[1:])

    def hashes(self, first: np.ndarray | slice, last: np.ndarray | slice) -> np.ndarray:
        """The raw 32-bit polynomial hash of the words ``first`` .. ``last`` (inclusive,
        with their single spaces) of one text; ``first`` and ``last`` index alike."""
        return self.power[last] * (self.f_end[last] - self.f_start[first])


def _shingles(w: _Words) -> tuple[np.ndarray, np.ndarray]:
    """(text of each shingle, its raw 32-bit hash): every word 5-gram within a text, and
    the whole text of every text shorter than five words."""
    k = SHINGLE_WORDS
    count = len(w.f_end)
    # A 5-gram starting at word i stays in one text when none of words i .. i+3 ends one.
    # Most do: every start is hashed, then the few that cross texts are dropped.
    starts = max(count - k + 1, 0)  # 5-grams that fit in the block at all
    inside = w.done[k - 1 : k - 1 + starts] == w.done[:starts]
    raw = w.hashes(slice(None, starts), slice(k - 1, None))[inside]
    texts = w.done[:starts][inside]
    words_per = np.diff(w.last_words, prepend=-1)
    short = np.flatnonzero(words_per < k)
    if len(short):
        lasts = w.last_words[short]
        raw = np.concatenate((raw, w.hashes(lasts - words_per[short] + 1, lasts)))
        texts = np.concatenate((texts, short))
    return texts, raw


def _donor_table() -> np.ndarray:
    """(ATTEMPTS, BINS): the bins an empty bin tries, in order; the same for every text."""
    tries = np.arange(ATTEMPTS * BINS, dtype=_U64) + _U64(SEED ^ 0xD0)
    return (((splitmix64(tries) >> _U64(32)) * _U64(BINS)) >> _U64(32)).reshape(ATTEMPTS, BINS)


_DONORS = _donor_table().astype(np.int64)


def bin_values(texts: np.ndarray, raw: np.ndarray, n: int) -> np.ndarray:
    """One-permutation MinHash, densified: (n, BINS) uint64 values from the raw shingle
    hashes ``raw`` of texts ``texts`` (every text has at least one shingle). A shingle
    hash is spread to 64 bits (splitmix64 of raw ^ SEED); each shingle enters COPIES
    times (as the pairs (shingle, copy): copy c > 0 is splitmix64(hash ^ c)), which keeps
    the Jaccard similarity and fills more bins."""
    s = len(raw)
    items = np.empty(COPIES * s, dtype=_U64)
    first = items[:s]
    np.bitwise_xor(raw, _U64(SEED), out=first, dtype=_U64)
    _mix(first)
    for c in range(1, COPIES):
        np.bitwise_xor(first, _U64(c), out=items[c * s : (c + 1) * s])
    _mix(items[s:])
    slots = items >> _U64(32)
    slots *= _U64(BINS)
    slots >>= _U64(32)  # below BINS
    by_copy = slots.reshape(COPIES, s)
    by_copy += (texts * BINS).astype(_U64)  # each text's first cell
    items &= _MASK32
    flat = np.full(n * BINS, _EMPTY, dtype=_U64)
    np.minimum.at(flat, slots.view(np.int64), items)
    _densify(flat, n)
    return flat.reshape(n, BINS)


def _donor_ranks() -> np.ndarray:
    """(BINS * BINS) int32, at [empty * BINS + full]: where bin ``full`` stands among the
    donors of bin ``empty``: the first attempt that names it (below ATTEMPTS), else
    ATTEMPTS + its distance to the right, wrapping (the rotation fallback). An empty bin's
    donor is the full bin of its text with the lowest rank."""
    ranks = ATTEMPTS + (np.arange(BINS)[None, :] - np.arange(BINS)[:, None]) % BINS
    for attempt in range(ATTEMPTS - 1, -1, -1):  # the earliest attempt is written last
        ranks[np.arange(BINS), _DONORS[attempt]] = attempt
    return ranks.astype(np.int32).ravel()


_RANKS = _donor_ranks()
# Per full bin f, (BINS,) uint16 for every bin j: the rank of f among j's donors plus one,
# times 128, plus f; 0 * 128 + f for j = f itself. The minimum over a text's full bins,
# masked to its low 7 bits, names the bin whose value bin j holds after densification
# (itself when full).
_SELF_RANKED = _RANKS.reshape(BINS, BINS) + 1
np.fill_diagonal(_SELF_RANKED, 0)
_SELF_RANKED = ((_SELF_RANKED.T << 7) | np.arange(BINS)[:, None]).astype(np.uint16)
# Texts with at most this many full bins are densified whole by rank; the others cell by
# cell, attempt by attempt (docs/distribution-and-near-duplicates.md: measured crossover).
_FEW_FULL = 24


def _densify(flat: np.ndarray, n: int) -> None:
    """Fill the empty cells of ``flat`` ((n * BINS) bin values) in place: each takes the
    value of its first non-empty donor bin (``_DONORS``: the same bins for any text), else
    of the next non-empty bin to its right, wrapping around. Donors are read
    only from cells that were non-empty to begin with, so filling in place changes nothing.
    (One-dimensional passes where it can: numpy is slow along short axes.)"""
    empty = flat == _EMPTY
    few = np.flatnonzero(np.count_nonzero(empty.reshape(n, BINS), axis=1) >= BINS - _FEW_FULL)
    if len(few):
        _densify_few(flat, empty, few)
        empty.reshape(n, BINS)[few] = False
    cells = np.flatnonzero(empty)
    for attempt in range(ATTEMPTS):
        # An empty donor copies _EMPTY, or a value another cell took this round: both are
        # overwritten when the cell's own donor is found.
        donor = cells + _donor_offsets(attempt, len(flat))[cells]
        flat[cells] = flat[donor]
        missed = np.flatnonzero(empty[donor])
        cells = cells[missed]
        if not len(cells):
            break
    if len(cells):
        cols = _column_of(len(flat))[cells]
        _densify_by_rank(flat, ~empty, cells, cols, cells - cols)


_offset_tables: list[np.ndarray] = []


def _donor_offsets(attempt: int, size: int) -> np.ndarray:
    """(>= size,) int8: for every flat cell index below ``size``, the index of its donor
    at ``attempt`` minus its own (cached per attempt, built on first use: one lookup per
    cell, no division by BINS)."""
    while len(_offset_tables) <= attempt:
        _offset_tables.append(np.zeros(0, dtype=np.int8))
    table = _offset_tables[attempt]
    if len(table) < size:  # the table built here is the one returned, whatever other threads do
        offsets = (_DONORS[attempt] - np.arange(BINS)).astype(np.int8)
        table = np.tile(offsets, max(size, 1 << 15) // BINS + 1)
        _offset_tables[attempt] = table
    return table


_columns: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]


def _column_of(size: int) -> np.ndarray:
    """The bin of every flat cell index below ``size`` (cached: cheaper than a division)."""
    columns = _columns[0]
    if len(columns) < size:
        columns = np.tile(np.arange(BINS, dtype=np.int64), max(size, 1 << 16) // BINS + 1)
        _columns[0] = columns
    return columns


def _densify_few(flat: np.ndarray, empty: np.ndarray, rows: np.ndarray) -> None:
    """Densify whole rows ``rows`` (texts of few full bins, at least one each) by rank:
    each bin takes the value of the bin named by the minimum, over the row's full bins, of
    ``_SELF_RANKED``. Rows go in falling order of full bins, so the rows that have a k-th
    full bin are a prefix."""
    table = empty if len(rows) * BINS == len(empty) else empty.reshape(-1, BINS)[rows]
    cells = np.flatnonzero(~table.ravel())  # np.nonzero over two axes is several times slower
    full_cols = _column_of(len(empty))[cells]
    count = np.bincount(cells // BINS, minlength=len(rows))
    first = np.cumsum(count) - count
    order = np.argsort(-count, kind="stable")
    count, first = count[order], first[order]
    best = _SELF_RANKED[full_cols[first]]
    for k in range(1, int(count[0])):
        more = int(np.count_nonzero(count > k))
        np.minimum(best[:more], _SELF_RANKED[full_cols[first[:more] + k]], out=best[:more])
    best &= _U16(_BIN_BITS)
    donors = best.astype(np.intp)
    rows = rows[order]
    donors += (rows * BINS)[:, None]
    flat.reshape(-1, BINS)[rows] = flat[donors]


def _densify_by_rank(
    flat: np.ndarray, full: np.ndarray, cells: np.ndarray, cols: np.ndarray, rows: np.ndarray
) -> None:
    """Fill ``cells`` (in row order) from the full bin of their row with the lowest rank
    (``_RANKS``): pairs every cell with every full bin of its row, one segment per cell."""
    new_row = np.empty(len(rows), dtype=bool)
    new_row[0] = True
    np.not_equal(rows[1:], rows[:-1], out=new_row[1:])
    row_of = np.cumsum(new_row) - 1  # each cell's row among the distinct rows
    starts = rows[new_row]
    table = full.reshape(-1, BINS)[starts // BINS]
    per_row = table.sum(axis=1)  # every text has a full bin
    _, full_cols = np.nonzero(table)
    first_full = np.cumsum(per_row) - per_row
    reps = per_row[row_of]
    seg = np.cumsum(reps) - reps
    pair_cell = np.repeat(np.arange(len(cells)), reps)
    position = np.arange(len(pair_cell)) - seg[pair_cell]
    candidate = full_cols[first_full[row_of][pair_cell] + position]
    ranked = _RANKS[cols[pair_cell] * BINS + candidate] * (2 * BINS) + candidate
    best = np.minimum.reduceat(ranked, seg) % (2 * BINS)
    flat[cells] = flat[rows + best]


def band_keys(values: np.ndarray) -> np.ndarray:
    """(n, BINS) bin values -> (n, BANDS) uint32 band keys."""
    n = values.shape[0]
    by_row = values.reshape(n, BANDS, ROWS)
    key = np.empty((n, BANDS), dtype=_U64)
    key[:] = np.arange(BANDS, dtype=_U64) + _U64(SEED)
    tmp = np.empty_like(key)
    for r in range(ROWS):
        key ^= by_row[:, :, r]
        _mix(key, tmp)
    key >>= _U64(32)
    return key.astype(_U32)


def profile_counts(w: _Words) -> np.ndarray:
    """Hashed word unigram and bigram counts over every text. A word's feature is its
    32-bit polynomial hash, a bigram's the two words' hashes combined; both are bucketed by
    the top PROFILE_BITS bits of a multiplicative (Fibonacci) hash."""
    every = slice(None)
    words = w.hashes(every, every)
    bigrams = words[:-1] * _U32(_BIGRAM_MULT)
    bigrams += words[1:]
    # Every word and every pair of neighbours is counted, then taken out again: the empty
    # texts' empty words, and the pairs across two texts (a few per block, where dropping
    # them first would copy every feature).
    left_out = np.concatenate((words[w.last_words[w.lengths == 0]], bigrams[w.last_words[:-1]]))
    counts = _buckets(words) + _buckets(bigrams)
    counts -= _buckets(left_out)
    return counts


def _buckets(features: np.ndarray) -> np.ndarray:
    """(PROFILE_BUCKETS,) uint64 counts of 32-bit features by the top PROFILE_BITS bits of
    their Fibonacci hash; ``features`` is overwritten."""
    features *= _U32(_FIBONACCI)
    features >>= _U32(32 - PROFILE_BITS)
    return np.bincount(features, minlength=PROFILE_BUCKETS).astype(_U64)


def _sketch_block(texts: list[bytes], lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = _Words(texts, lengths)
    shingle_texts, raw = _shingles(w)
    return band_keys(bin_values(shingle_texts, raw, len(texts))), profile_counts(w)


def sketch_texts(texts: Sequence[bytes]) -> Sketched:
    """Band keys and the n-gram profile of ``texts``: a pure function of the texts'
    bytes, record by record (blocks and batches change nothing). Each text must be
    normalised UTF-8 as ``provledger.ingest.hashing.normalised_utf8`` returns it (no
    newline, single spaces, no leading or trailing space): the bytes ``content_hash``
    hashes."""
    texts = list(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    ends = np.cumsum(lengths + 1)  # bytes up to and including each text's separator
    bands = [np.zeros((0, BANDS), dtype=_U32)]
    profile = np.zeros(PROFILE_BUCKETS, dtype=_U64)
    start = 0
    while start < len(texts):
        before = int(ends[start - 1]) if start else 0
        # Up to the first text that brings the block to BLOCK_BYTES, at most BLOCK_TEXTS.
        stop = int(np.searchsorted(ends, before + BLOCK_BYTES)) + 1
        stop = min(stop, start + BLOCK_TEXTS, len(texts))
        block_bands, block_profile = _sketch_block(texts[start:stop], lengths[start:stop])
        bands.append(block_bands)
        profile += block_profile
        start = stop
    return Sketched(np.concatenate(bands), profile)
