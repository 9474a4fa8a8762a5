"""RFC 9162 Merkle trees: known answers, proofs for every small tree, tamper cases, and a
naive reference implementation (the RFC's definitions written literally) that the fast
code in ``provledger.tlog.merkle`` must agree with on random trees."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provledger.errors import IntegrityError, RootMismatch
from provledger.tlog.merkle import (
    EMPTY_ROOT,
    MerkleBuilder,
    compact_range,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_root,
    root,
    root_from_leaf_hashes,
)
from provledger.tlog.merkle_verify import (
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

# The leaf inputs of the Certificate Transparency reference test data (RFC 6962 / 9162
# implementations share them; transparency-dev/merkle uses the same eight).
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAVES = [leaf_hash(d) for d in LEAF_INPUTS]


def h(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


# MTH(D[n]) for n = 0..8.
ROOTS = [
    # printf '' | sha256sum
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    # printf '\x00' | sha256sum            (the leaf hash of d0 = "")
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    # { printf '\x01'; printf '\x00' | openssl dgst -sha256 -binary;
    #   printf '\x00\x00' | openssl dgst -sha256 -binary; } | sha256sum
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (leaf index, tree size) -> audit path, from the CT reference test data.
KNOWN_INCLUSION = {
    (0, 1): [],
    (0, 8): [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    (5, 8): [
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
    (2, 3): [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")],
    (1, 5): [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ],
}

# (old size, new size) -> consistency proof, from the CT reference test data.
KNOWN_CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    (6, 8): [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
    (2, 5): [
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ],
    (6, 7): [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
}


# -- the reference: RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1, written literally -------


def _ref_k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf inputs."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _ref_k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf m."""
    n = len(d)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m <= n."""
    return ref_subproof(m, d, True)


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_reference_reproduces_the_known_answers() -> None:
    # The reference is itself checked against the published data before it judges anything.
    assert [ref_mth(LEAF_INPUTS[:n]) for n in range(9)] == ROOTS
    for (index, size), path in KNOWN_INCLUSION.items():
        assert ref_path(index, LEAF_INPUTS[:size]) == path
    for (old, new), proof in KNOWN_CONSISTENCY.items():
        assert ref_proof(old, LEAF_INPUTS[:new]) == proof


# -- known answers --------------------------------------------------------------------------


def test_prefixes_and_empty_root() -> None:
    assert leaf_hash(b"") == ROOTS[1]
    assert node_hash(LEAVES[0], LEAVES[1]) == ROOTS[2]
    assert ROOTS[0] == EMPTY_ROOT
    assert root([]) == ROOTS[0]
    assert MerkleBuilder().root() == ROOTS[0]


@pytest.mark.parametrize("size", range(9))
def test_known_roots(size: int) -> None:
    assert root(LEAF_INPUTS[:size]) == ROOTS[size]
    assert root_from_leaf_hashes(LEAVES[:size]) == ROOTS[size]


def test_named_known_roots() -> None:
    assert root(LEAF_INPUTS).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    assert root(LEAF_INPUTS[:3]).hex() == (
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
    )
    assert root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_builder_root_after_every_push() -> None:
    builder = MerkleBuilder()
    for size, data in enumerate(LEAF_INPUTS, start=1):
        builder.push_input(data)
        assert builder.size == size
        assert builder.root() == ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(KNOWN_INCLUSION))
def test_known_inclusion_proofs(index: int, size: int) -> None:
    path = KNOWN_INCLUSION[index, size]
    assert inclusion_proof(LEAVES[:size], index) == path
    # The published path (not one this code built) must verify against the published root.
    verify_inclusion(LEAVES[index], index, size, path, ROOTS[size])


@pytest.mark.parametrize(("old", "new"), sorted(KNOWN_CONSISTENCY))
def test_known_consistency_proofs(old: int, new: int) -> None:
    proof = KNOWN_CONSISTENCY[old, new]
    assert consistency_proof(LEAVES[:new], old) == proof
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


SMALL_TREES = [(size, index) for size in range(1, 9) for index in range(size)]
SMALL_PREFIXES = [(new, old) for new in range(1, 9) for old in range(new + 1)]


@pytest.mark.parametrize(("size", "index"), SMALL_TREES)
def test_every_inclusion_proof_of_small_trees(size: int, index: int) -> None:
    path = inclusion_proof(LEAVES[:size], index)
    assert path == ref_path(index, LEAF_INPUTS[:size])
    assert root_from_inclusion_proof(LEAVES[index], index, size, path) == ROOTS[size]
    verify_inclusion(LEAVES[index], index, size, path, ROOTS[size])


@pytest.mark.parametrize(("new", "old"), SMALL_PREFIXES)
def test_every_consistency_proof_of_small_trees(new: int, old: int) -> None:
    proof = consistency_proof(LEAVES[:new], old)
    if old > 0:
        assert proof == ref_proof(old, LEAF_INPUTS[:new])
    else:
        assert proof == []
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_proof_builders_refuse_impossible_arguments() -> None:
    with pytest.raises(IndexError):
        inclusion_proof(LEAVES, 8)
    with pytest.raises(IndexError):
        inclusion_proof(LEAVES, -1)
    with pytest.raises(ValueError, match=r"old size 9 outside 0\.\.8"):
        consistency_proof(LEAVES, 9)


# -- tamper cases: inclusion ----------------------------------------------------------------


@pytest.mark.parametrize(("size", "index"), SMALL_TREES)
def test_inclusion_flipped_bit_in_any_proof_element(size: int, index: int) -> None:
    path = inclusion_proof(LEAVES[:size], index)
    for position in range(len(path)):
        for bit in (0, 7, 131, 255):
            tampered = list(path)
            tampered[position] = flip_bit(path[position], bit)
            with pytest.raises(RootMismatch):
                verify_inclusion(LEAVES[index], index, size, tampered, ROOTS[size])


@pytest.mark.parametrize(("size", "index"), SMALL_TREES)
def test_inclusion_wrong_leaf(size: int, index: int) -> None:
    path = inclusion_proof(LEAVES[:size], index)
    for other in [*LEAVES[:index], *LEAVES[index + 1 :], leaf_hash(b"not in the tree")]:
        with pytest.raises(RootMismatch) as info:
            verify_inclusion(other, index, size, path, ROOTS[size])
        assert info.value.expected == ROOTS[size]
        assert info.value.calculated != ROOTS[size]
    # A leaf input given where its leaf hash belongs is a wrong leaf too.
    with pytest.raises(RootMismatch):
        verify_inclusion(leaf_hash(LEAVES[index]), index, size, path, ROOTS[size])


@pytest.mark.parametrize(("size", "index"), SMALL_TREES)
def test_inclusion_wrong_index(size: int, index: int) -> None:
    path = inclusion_proof(LEAVES[:size], index)
    for wrong in [*range(size + 2), -1]:
        if wrong == index:
            continue
        with pytest.raises(IntegrityError):
            verify_inclusion(LEAVES[index], wrong, size, path, ROOTS[size])


@pytest.mark.parametrize(("size", "index"), SMALL_TREES)
def test_inclusion_truncated_and_extended(size: int, index: int) -> None:
    path = inclusion_proof(LEAVES[:size], index)
    if path:
        with pytest.raises(IntegrityError, match="shorter than the tree is deep"):
            verify_inclusion(LEAVES[index], index, size, path[:-1], ROOTS[size])
        with pytest.raises(IntegrityError, match="not 32 bytes"):
            verify_inclusion(LEAVES[index], index, size, [*path[:-1], path[-1][:31]], ROOTS[size])
    for garbage in (b"\x00" * 32, LEAVES[index], ROOTS[size]):
        with pytest.raises(IntegrityError, match="longer than the tree is deep"):
            verify_inclusion(LEAVES[index], index, size, [*path, garbage], ROOTS[size])


@pytest.mark.parametrize(("size", "index"), SMALL_TREES)
def test_inclusion_wrong_size(size: int, index: int) -> None:
    # RFC 9162 proofs bind the tree size only through their shape (a signed checkpoint binds
    # size and root together), so the wrong sizes tried here are ones that change the shape:
    # a tree twice as big is one level deeper, and a size at or below the index is impossible.
    path = inclusion_proof(LEAVES[:size], index)
    for wrong in (2 * size, index, 0):
        with pytest.raises(IntegrityError):
            verify_inclusion(LEAVES[index], index, wrong, path, ROOTS[size])


@pytest.mark.parametrize("size", range(1, 9))
def test_inclusion_wrong_root(size: int) -> None:
    path = inclusion_proof(LEAVES[:size], 0)
    for wrong in (ROOTS[size - 1], ROOTS[0], flip_bit(ROOTS[size], 3)):
        with pytest.raises(RootMismatch) as info:
            verify_inclusion(LEAVES[0], 0, size, path, wrong)
        assert (info.value.expected, info.value.calculated) == (wrong, ROOTS[size])


# -- tamper cases: consistency --------------------------------------------------------------

PROPER_PREFIXES = [(new, old) for new in range(2, 9) for old in range(1, new)]


@pytest.mark.parametrize(("new", "old"), PROPER_PREFIXES)
def test_consistency_flipped_bit_in_any_proof_element(new: int, old: int) -> None:
    proof = consistency_proof(LEAVES[:new], old)
    for position in range(len(proof)):
        for bit in (0, 9, 200, 255):
            tampered = list(proof)
            tampered[position] = flip_bit(proof[position], bit)
            with pytest.raises(RootMismatch):
                verify_consistency(old, new, ROOTS[old], ROOTS[new], tampered)


@pytest.mark.parametrize(("new", "old"), PROPER_PREFIXES)
def test_consistency_wrong_roots(new: int, old: int) -> None:
    # The consistency analogue of a wrong leaf: the old tree or the new one is not the one
    # the proof was made for.
    proof = consistency_proof(LEAVES[:new], old)
    other_leaves = [leaf_hash(b"other"), *LEAVES[1:new]]
    forged_old = root_from_leaf_hashes(other_leaves[:old])
    forged_new = root_from_leaf_hashes(other_leaves)
    for wrong_old in (forged_old, flip_bit(ROOTS[old], 0), ROOTS[new]):
        with pytest.raises(RootMismatch):
            verify_consistency(old, new, wrong_old, ROOTS[new], proof)
    for wrong_new in (forged_new, flip_bit(ROOTS[new], 0), ROOTS[old]):
        with pytest.raises(RootMismatch):
            verify_consistency(old, new, ROOTS[old], wrong_new, proof)


@pytest.mark.parametrize(("new", "old"), PROPER_PREFIXES)
def test_consistency_truncated_and_extended(new: int, old: int) -> None:
    proof = consistency_proof(LEAVES[:new], old)
    with pytest.raises(IntegrityError):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], proof[:-1])
    with pytest.raises(IntegrityError, match="not 32 bytes"):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], [*proof[:-1], proof[-1][1:]])
    for garbage in (b"\xff" * 32, ROOTS[old], ROOTS[new]):
        with pytest.raises(IntegrityError, match="longer than needed"):
            verify_consistency(old, new, ROOTS[old], ROOTS[new], [*proof, garbage])


@pytest.mark.parametrize(("new", "old"), PROPER_PREFIXES)
def test_consistency_wrong_sizes(new: int, old: int) -> None:
    proof = consistency_proof(LEAVES[:new], old)
    for wrong_old in range(new + 2):
        if wrong_old != old:
            with pytest.raises(IntegrityError):
                verify_consistency(wrong_old, new, ROOTS[old], ROOTS[new], proof)
    # As for inclusion, the new size is bound through the proof's shape: a tree twice as big.
    with pytest.raises(IntegrityError):
        verify_consistency(old, 2 * new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize("size", range(0, 9))
def test_consistency_between_equal_sizes(size: int) -> None:
    verify_consistency(size, size, ROOTS[size], ROOTS[size], [])
    with pytest.raises(IntegrityError, match="must be empty"):
        verify_consistency(size, size, ROOTS[size], ROOTS[size], [ROOTS[size]])
    with pytest.raises(RootMismatch, match="same size, different roots"):
        verify_consistency(size, size, ROOTS[size], flip_bit(ROOTS[size], 1), [])


def test_consistency_refuses_shrinking_and_empty_proofs() -> None:
    with pytest.raises(IntegrityError, match="larger than new size"):
        verify_consistency(5, 4, ROOTS[5], ROOTS[4], [])
    with pytest.raises(IntegrityError, match="consistency proof is empty"):
        verify_consistency(3, 5, ROOTS[3], ROOTS[5], [])
    with pytest.raises(IntegrityError, match="from the empty tree must be empty"):
        verify_consistency(0, 5, ROOTS[0], ROOTS[5], [ROOTS[5]])


# -- the fast code against the reference on random trees ------------------------------------


@st.composite
def trees(draw: st.DrawFn, min_size: int = 0, max_size: int = 300) -> list[bytes]:
    """Leaf inputs: a random size up to ~300, each leaf distinct, of varying length."""
    size = draw(st.integers(min_size, max_size))
    salt = draw(st.binary(max_size=8))
    return [i.to_bytes(2, "big") + salt[: i % (len(salt) + 1)] for i in range(size)]


@settings(max_examples=100, deadline=None)
@given(data=st.lists(st.binary(max_size=40), max_size=40))
def test_root_matches_reference_on_arbitrary_leaves(data: list[bytes]) -> None:
    assert root(data) == ref_mth(data)


@settings(max_examples=100, deadline=None)
@given(leaves=trees(), cut=st.floats(0, 1))
def test_builder_matches_reference(leaves: list[bytes], cut: float) -> None:
    middle = int(len(leaves) * cut)
    builder = MerkleBuilder()
    for data in leaves[:middle]:
        builder.push_input(data)
    assert builder.root() == ref_mth(leaves[:middle])
    for data in leaves[middle:]:
        builder.push(leaf_hash(data))
    assert builder.size == len(leaves)
    assert builder.root() == ref_mth(leaves) == root(leaves)


@settings(max_examples=100, deadline=None)
@given(leaves=trees(min_size=1), pick=st.floats(0, 1, exclude_max=True))
def test_inclusion_matches_reference(leaves: list[bytes], pick: float) -> None:
    index = int(len(leaves) * pick)
    hashes = [leaf_hash(d) for d in leaves]
    path = inclusion_proof(hashes, index)
    assert path == ref_path(index, leaves)
    mth = ref_mth(leaves)
    verify_inclusion(hashes[index], index, len(leaves), path, mth)
    if path:
        tampered = [*path[:-1], flip_bit(path[-1], index % 256)]
        with pytest.raises(RootMismatch):
            verify_inclusion(hashes[index], index, len(leaves), tampered, mth)


@settings(max_examples=100, deadline=None)
@given(leaves=trees(min_size=1), pick=st.floats(0, 1))
def test_consistency_matches_reference(leaves: list[bytes], pick: float) -> None:
    new = len(leaves)
    old = max(1, round(new * pick))
    hashes = [leaf_hash(d) for d in leaves]
    proof = consistency_proof(hashes, old)
    assert proof == ref_proof(old, leaves)
    old_root, new_root = ref_mth(leaves[:old]), ref_mth(leaves)
    verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        tampered = [flip_bit(proof[0], old % 256), *proof[1:]]
        with pytest.raises(RootMismatch):
            verify_consistency(old, new, old_root, new_root, tampered)
        with pytest.raises(IntegrityError):
            verify_consistency(old, new, old_root, new_root, proof[:-1])


@settings(max_examples=100, deadline=None)
@given(leaves=trees(), cuts=st.lists(st.floats(0, 1), max_size=6))
def test_compact_ranges_pushed_as_subtrees_match_reference(
    leaves: list[bytes], cuts: list[float]
) -> None:
    # Registration hashes ranges of a batch in worker processes and pushes back only the
    # perfect subtrees covering each range; the root must not depend on how it was cut.
    bounds = sorted({0, len(leaves), *(int(len(leaves) * c) for c in cuts)})
    hashes = [leaf_hash(d) for d in leaves]
    builder = MerkleBuilder()
    for lo, hi in itertools.pairwise(bounds):
        for height, node in compact_range(hashes[lo:hi], lo):
            builder.push_subtree(node, height)
    assert builder.size == len(leaves)
    assert builder.root() == ref_mth(leaves)


@pytest.mark.parametrize("height", range(5))
def test_perfect_root_matches_reference(height: int) -> None:
    data = [bytes([i]) for i in range(1 << height)]
    assert perfect_root([leaf_hash(d) for d in data]) == ref_mth(data)


def test_push_subtree_refuses_a_misaligned_subtree() -> None:
    builder = MerkleBuilder()
    builder.push(LEAVES[0])
    with pytest.raises(ValueError, match="not aligned"):
        builder.push_subtree(ROOTS[2], 1)
