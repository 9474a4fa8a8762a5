"""A slow, obviously-correct reference of ``provledger.similarity.sketches``: the same algorithm
written
record by record with Python integers, for checking the vectorised code bit for bit, plus
exact shingle sets and Jaccard similarity, and texts built at controlled similarity."""

from __future__ import annotations

import itertools
import random

from provledger.similarity import sketches as S

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def poly32(data: bytes) -> int:
    """sum of (byte + 1) * base**(len - 1 - k) mod 2**32."""
    h = 0
    for b in data:
        h = (h * S.POLY_BASE + b + 1) & M32
    return h


def shingles(text: bytes) -> list[bytes]:
    words = text.split(b" ")
    k = S.SHINGLE_WORDS
    if len(words) < k:
        return [text]
    return [b" ".join(words[i : i + k]) for i in range(len(words) - k + 1)]


def jaccard(a: bytes, b: bytes) -> float:
    sa, sb = set(shingles(a)), set(shingles(b))
    return len(sa & sb) / len(sa | sb)


EMPTY = 1 << 62


def bins(text: bytes) -> list[int]:
    table = [EMPTY] * S.BINS
    for shingle in shingles(text):
        h = splitmix64(poly32(shingle) ^ S.SEED)
        for copy in range(S.COPIES):
            item = h if copy == 0 else splitmix64(h ^ copy)
            b = ((item >> 32) * S.BINS) >> 32
            table[b] = min(table[b], item & M32)
    return densify(table)


def donor_of(j: int, attempt: int) -> int:
    """The bin that empty bin ``j`` tries at ``attempt`` (the same for every text)."""
    tries = (attempt * S.BINS + j + (S.SEED ^ 0xD0)) & M64
    return ((splitmix64(tries) >> 32) * S.BINS) >> 32


def densify(table: list[int]) -> list[int]:
    """Each empty bin (EMPTY) takes the value of its first non-empty donor among ATTEMPTS
    pseudo-random bins, else of the next non-empty bin to its right, wrapping around."""
    empty = EMPTY
    out = list(table)
    for j in range(S.BINS):
        if table[j] != empty:
            continue
        for attempt in range(S.ATTEMPTS):
            donor = donor_of(j, attempt)
            if table[donor] != empty:
                out[j] = table[donor]
                break
        else:
            step = 1
            while table[(j + step) % S.BINS] == empty:
                step += 1
            out[j] = table[(j + step) % S.BINS]
    return out


def band_keys(text: bytes) -> list[int]:
    values = bins(text)
    keys = []
    for band in range(S.BANDS):
        key = (band + S.SEED) & M64
        for r in range(S.ROWS):
            key = splitmix64(key ^ values[band * S.ROWS + r])
        keys.append(key >> 32)
    return keys


def profile(texts: list[bytes]) -> list[int]:
    counts = [0] * S.PROFILE_BUCKETS
    shift = 32 - S.PROFILE_BITS
    for text in texts:
        words = [poly32(w) for w in text.split(b" ")] if text else []
        for w in words:
            counts[((w * S._FIBONACCI) & M32) >> shift] += 1
        for a, b in itertools.pairwise(words):
            f = (a * S._BIGRAM_MULT + b) & M32
            counts[((f * S._FIBONACCI) & M32) >> shift] += 1
    return counts


# -- realistic text at controlled similarity --------------------------------------------
SYLLABLES = [
    *[
        "ka",
        "lo",
        "mi",
        "ne",
        "ra",
        "ti",
        "su",
        "ve",
        "do",
        "ba",
        "re",
        "an",
        "or",
        "is",
        "el",
        "un",
        "qu",
        "th",
        "sh",
        "pr",
    ]
]


def vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    words = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(size)}
    return sorted(words)


class TextMaker:
    """Texts drawn word by word from a Zipf-like vocabulary (weight 1/rank), as natural
    language is, and variants of a text with ``m`` words replaced (each replacement
    changes up to five word 5-grams, so ``m`` sets the Jaccard similarity)."""

    def __init__(self, seed: int, vocab: list[str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.vocab = vocab or vocabulary(self.rng)
        self.weights = [1 / (i + 1) for i in range(len(self.vocab))]

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, self.weights, k=n)

    def variant(self, words: list[str], m: int) -> list[str]:
        out = list(words)
        for p in self.rng.sample(range(0, len(words), 4), m) if m else []:
            out[p] = self.rng.choice(self.vocab) + "x"
        return out
