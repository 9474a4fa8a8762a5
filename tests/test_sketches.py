"""The sketch code path (provledger.similarity.sketches, provledger.similarity.distribution)
against a slow reference,
known-answer similarity tests at controlled Jaccard, and the distribution match formula."""

from __future__ import annotations

import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from provledger.ingest.hashing import normalised_utf8
from provledger.similarity import sketches as S
from provledger.similarity.distribution import coverage, match
from provledger.similarity.near_duplicates import min_bands_for
from tests import sketch_reference as R


def _texts(seed: int, count: int, longest: int = 150) -> list[bytes]:
    maker = R.TextMaker(seed)
    rng = random.Random(seed)
    return [" ".join(maker.words(rng.randint(1, longest))).encode() for _ in range(count)]


def test_vectorised_sketches_equal_the_reference_bit_for_bit() -> None:
    edge = [b"", b"a", b"one two three four", b"one two three four five"]
    edge.append(normalised_utf8("Café  naïve\tＡＢＣ 日本 語 Straße x y z"))
    texts = edge + _texts(1, 40)
    fast = S.sketch_texts(texts)
    assert fast.bands.shape == (len(texts), S.BANDS)
    for i, text in enumerate(texts):
        assert [int(k) for k in fast.bands[i]] == R.band_keys(text), text[:40]
    assert [int(c) for c in fast.profile] == R.profile(texts)


def test_short_texts_equal_the_reference_bit_for_bit() -> None:
    # Texts of 1-12 words fill few bins: they take the whole-row densification by rank
    # (up to eight full bins), then the cell-wise attempts, then the rotation fallback.
    maker = R.TextMaker(4)
    texts = [" ".join(maker.words(1 + i % 12)).encode() for i in range(300)]
    # A run of fewer than five words in all, alone.
    for few in ([b"a"], [b""], [b"a b", b"c"], [b"one two three four"]):
        assert [[int(k) for k in row] for row in S.sketch_texts(few).bands] == [
            R.band_keys(t) for t in few
        ]
    fast = S.sketch_texts(texts)
    for i, text in enumerate(texts):
        assert [int(k) for k in fast.bands[i]] == R.band_keys(text), text
    assert [int(c) for c in fast.profile] == R.profile(texts)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["a", "b", "cd", "é", "日本", "x" * 40, ""]), max_size=30),
        min_size=1,
        max_size=12,
    )
)
def test_any_run_of_texts_equals_the_reference(words: list[list[str]]) -> None:
    # Word ends come from the spaces of the joined block and each text's end from its
    # length: empty texts, empty words (two spaces), a text of only spaces, long and
    # multi-byte words, in any order, give the reference's keys and profile.
    texts = [" ".join(w).encode() for w in words]
    fast = S.sketch_texts(texts)
    assert [[int(k) for k in row] for row in fast.bands] == [R.band_keys(t) for t in texts]
    assert [int(c) for c in fast.profile] == R.profile(texts)


def test_densification_equals_the_reference_on_every_path() -> None:
    # Rows of every fill from 1 to 100 full bins (whole rows by rank up to _FEW_FULL, cell
    # by cell above), and rows whose empty bin j has all ATTEMPTS donors empty (the
    # rotation fallback), densified in one block and the few-bin rows alone.
    rng = random.Random(13)
    rows = [rng.sample(range(S.BINS), full) for full in range(1, S.BINS + 1)]
    for j in (0, 37, 99):
        donors = {R.donor_of(j, attempt) for attempt in range(S.ATTEMPTS)}
        allowed = [b for b in range(S.BINS) if b != j and b not in donors]
        rows += [rng.sample(allowed, S._FEW_FULL + 1), allowed]
    tables = []
    for full in rows:
        table = [R.EMPTY] * S.BINS
        for b in full:
            table[b] = rng.getrandbits(32)
        tables.append(table)
    for block in (tables, [t for t in tables if S.BINS - t.count(R.EMPTY) <= S._FEW_FULL]):
        flat = np.array(block, dtype=np.uint64).ravel()
        S._densify(flat, len(block))
        assert flat.reshape(len(block), S.BINS).tolist() == [R.densify(t) for t in block]


def test_blocks_do_not_change_the_result() -> None:
    # Over BLOCK_BYTES the texts are sketched block by block: same keys as one at a time.
    texts = _texts(2, 6000, longest=120)
    assert sum(len(t) + 1 for t in texts) > 2 * S.BLOCK_BYTES
    whole = S.sketch_texts(texts)
    for i in (0, 1, 2500, 4999, 5999):
        assert [int(k) for k in whole.bands[i]] == R.band_keys(texts[i])
    parts = [S.sketch_texts(texts[i : i + 700]) for i in range(0, len(texts), 700)]
    assert np.array_equal(whole.bands, np.concatenate([p.bands for p in parts]))
    assert np.array_equal(whole.profile, sum(p.profile for p in parts))


def test_exact_copies_share_every_band_and_short_texts_match_only_copies() -> None:
    keys = S.sketch_texts([b"a b c", b"a b c", b"a b d", b""]).bands
    assert (keys[0] == keys[1]).all()
    assert not (keys[0] == keys[2]).any()  # under five words: one whole-text shingle
    assert not (keys[0] == keys[3]).any()


def _pairs(count_per_level: int, seed: int) -> tuple[list[bytes], list[bytes], np.ndarray]:
    """Pairs at controlled similarity: a text of 60-140 words and a variant with m words
    replaced, m chosen to spread the exact Jaccard over 0.3 .. 1.0."""
    maker = R.TextMaker(seed)
    rng = random.Random(seed)
    a, b, j = [], [], []
    for m in (0, 1, 2, 3, 4, 6, 8, 12):
        for _ in range(count_per_level):
            words = maker.words(rng.randint(60, 140))
            x, y = " ".join(words).encode(), " ".join(maker.variant(words, m)).encode()
            a.append(x)
            b.append(y)
            j.append(R.jaccard(x, y))
    return a, b, np.array(j)


def test_known_answer_recall_and_false_positives_at_controlled_jaccard() -> None:
    # 2,400 pairs here (bench/bench_sketches.py measures 12,000): pairs at J >= 0.85 must
    # share a band key (targets: recall >= 0.95), pairs at J <= 0.5 must not (<= 1%).
    a, b, j = _pairs(300, seed=11)
    near = (S.sketch_texts(a).bands == S.sketch_texts(b).bands).any(axis=1)
    high, low = j >= 0.85, j <= 0.5
    assert high.sum() > 500 and low.sum() > 300
    assert near[high].mean() >= 0.95
    assert near[low].mean() <= 0.01
    assert near[j == 1.0].all()
    # The banding's S-curve: at J in [0.7, 0.8) neither almost always nor almost never.
    middle = (j >= 0.7) & (j < 0.8)
    assert 0.2 < near[middle].mean() < 0.8


def test_bin_agreement_estimates_jaccard_without_bias() -> None:
    # Each bin agrees with probability about J: over many pairs the mean agreement tracks
    # the mean exact Jaccard within 0.02 at every level.
    a, b, j = _pairs(60, seed=5)
    for lo, hi in ((0.3, 0.5), (0.5, 0.7), (0.7, 0.85), (0.85, 1.0)):
        sel = np.flatnonzero((j >= lo) & (j < hi))
        agree = [np.mean(np.array(R.bins(a[i])) == np.array(R.bins(b[i]))) for i in sel[:40]]
        assert abs(np.mean(agree) - np.mean(j[sel[:40]])) < 0.03, (lo, hi)


def test_min_bands_for_a_threshold() -> None:
    assert [min_bands_for(t) for t in (0.5, 0.8, 0.85, 0.9, 0.95, 1.0)] == [1, 1, 2, 3, 6, 10]


# -- distribution match ---------------------------------------------------------------------
def _naive_match(p: list[int], q: list[int]) -> float:
    sp, sq = sum(p), sum(q)
    jsd = 0.0
    for x, y in zip(p, q, strict=True):
        a, b = x / sp, y / sq
        m = (a + b) / 2
        if a:
            jsd += a * math.log2(a / m) / 2
        if b:
            jsd += b * math.log2(b / m) / 2
    return 1 - jsd


def test_match_is_one_minus_jensen_shannon_base_2_by_hand() -> None:
    # p = (1/2, 1/2, 0), q = (0, 1/2, 1/2): m = (1/4, 1/2, 1/4); KL(p||m) = 1/2 log2 2 +
    # 1/2 log2 1 = 0.5; KL(q||m) = 0.5 -> JSD 0.5, match 0.5. Coverage of q by p: 1/2.
    p, q = np.array([1, 1, 0]), np.array([0, 2, 2])
    assert match(p, q) == 0.5
    assert coverage(p, q) == 0.5
    assert match(np.array([1, 0]), np.array([0, 1])) == 0.0
    assert match(np.array([0, 0]), q) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=64))
def test_a_profile_matches_itself_at_one(counts: list[int]) -> None:
    p = np.array(counts, dtype=np.uint64)
    if p.sum() == 0:
        assert match(p, p) is None
        return
    assert match(p, p) == 1.0
    assert match(p * 3, p) == 1.0  # scale does not matter
    assert coverage(p, p) == 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=4, max_size=16), st.integers(0, 2**32 - 1))
def test_match_equals_the_naive_formula(counts: list[int], seed: int) -> None:
    rng = random.Random(seed)
    other = [rng.randint(0, 50) for _ in counts]
    if not sum(counts) or not sum(other):
        return
    got = match(np.array(counts), np.array(other))
    assert got is not None
    assert abs(got - round(_naive_match(counts, other), 4)) <= 1e-4


def test_same_vocabulary_batches_match_better_than_shifted_ones() -> None:
    # Two batches drawn from one Zipf vocabulary against one drawn from a vocabulary that
    # shares only its rarer half (the 'shifted' one). Documented separation: >= 0.2.
    base = R.TextMaker(21)
    same = R.TextMaker(22, vocab=base.vocab)
    shifted_vocab = base.vocab[len(base.vocab) // 2 :] + [w + "q" for w in base.vocab[:5000]]
    shifted = R.TextMaker(23, vocab=shifted_vocab)

    def batch(maker: R.TextMaker) -> np.ndarray:
        return S.sketch_texts([" ".join(maker.words(80)).encode() for _ in range(300)]).profile

    ref = batch(base)
    m_same, m_shift = match(batch(same), ref), match(batch(shifted), ref)
    assert m_same is not None and m_shift is not None
    assert m_same > 0.9
    assert m_same - m_shift >= 0.2
