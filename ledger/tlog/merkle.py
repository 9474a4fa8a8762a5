"""RFC 9162 Merkle trees (Certificate Transparency v2): hashing, roots and proof building.

Pure functions over bytes. Proof checking lives apart, in ``provledger.tlog.merkle_verify``.
Domain separation keeps a leaf from ever being read as an interior node:

    leaf = SHA-256(0x00 || leaf input)
    node = SHA-256(0x01 || left || right)
    root of the empty tree = SHA-256("")

In provledger a batch's leaves are its record hashes (32 raw bytes each) in file order, and
the ledger's own log has one leaf per entry: its entry hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "MerkleBuilder",
    "compact_range",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_root",
    "root",
    "root_from_leaf_hashes",
]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf_input: bytes) -> bytes:
    """Hash of one leaf: SHA-256(0x00 || leaf_input)."""
    return hashlib.sha256(LEAF_PREFIX + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


class MerkleBuilder:
    """Streaming root: push leaf hashes in order, read ``root()`` at any time.

    Keeps one hash per set bit of the leaf count (the perfect subtrees so far), so memory
    is O(log n) whatever the number of leaves.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def push(self, leaf: bytes) -> None:
        """Add one already-hashed leaf."""
        self.size += 1
        node = leaf
        count = self.size
        stack = self._stack
        # Each trailing zero bit of the new size is a completed pair of equal subtrees.
        while count & 1 == 0:
            node = hashlib.sha256(NODE_PREFIX + stack.pop() + node).digest()
            count >>= 1
        stack.append(node)

    def push_subtree(self, node: bytes, height: int) -> None:
        """Add the root of a perfect subtree of 2**height leaves. The subtree must start at
        the current size (a multiple of 2**height), as ``compact_range`` guarantees."""
        if self.size % (1 << height):
            raise ValueError(f"subtree of height {height} is not aligned at {self.size}")
        stack = self._stack
        self.size += 1 << height
        count = self.size >> height
        while count & 1 == 0:
            node = hashlib.sha256(NODE_PREFIX + stack.pop() + node).digest()
            count >>= 1
        stack.append(node)

    def push_input(self, leaf_input: bytes) -> None:
        """Add one leaf given its input bytes (hashes it with the leaf prefix)."""
        self.push(hashlib.sha256(LEAF_PREFIX + leaf_input).digest())

    def root(self) -> bytes:
        """Root of the leaves pushed so far (the empty-tree root when none)."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def perfect_root(leaves: Sequence[bytes]) -> bytes:
    """Root of a perfect tree (len(leaves) a power of two), level by level."""
    sha = hashlib.sha256
    level = list(leaves)
    while len(level) > 1:
        level = [
            sha(NODE_PREFIX + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)
        ]
    return level[0]


def compact_range(leaves: Sequence[bytes], start: int) -> list[tuple[int, bytes]]:
    """Split leaves that sit at positions [start, start + len) of a bigger tree into the
    aligned perfect subtrees covering them, left to right, as (height, root) pairs.

    Pushing them in order with ``MerkleBuilder.push_subtree`` onto a builder of size
    ``start`` gives the same root as pushing every leaf, so worker processes can hash
    whole ranges of a batch and hand back O(log n) nodes.
    """
    out: list[tuple[int, bytes]] = []
    pos, i, n = start, 0, len(leaves)
    while i < n:
        height = (pos & -pos).bit_length() - 1 if pos else 63
        while (1 << height) > n - i:
            height -= 1
        size = 1 << height
        out.append((height, perfect_root(leaves[i : i + size])))
        pos += size
        i += size
    return out


def root_from_leaf_hashes(leaves: Iterable[bytes]) -> bytes:
    """Root over already-hashed leaves."""
    builder = MerkleBuilder()
    for leaf in leaves:
        builder.push(leaf)
    return builder.root()


def root(leaf_inputs: Iterable[bytes]) -> bytes:
    """Root over leaf inputs (each is hashed with the leaf prefix first)."""
    builder = MerkleBuilder()
    for data in leaf_inputs:
        builder.push_input(data)
    return builder.root()


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree_root(leaves: Sequence[bytes]) -> bytes:
    return root_from_leaf_hashes(leaves)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree over ``leaves`` (leaf hashes), RFC 9162
    section 2.1.3.1, ordered from the leaf's sibling up to the root's child.

    Raises IndexError when index is outside the tree.
    """
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} outside a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    # Walk from the root down, collecting the sibling subtree at each level.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            path.append(_subtree_root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(_subtree_root(leaves[lo : lo + k]))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Proof that the tree of the first ``old_size`` leaves is a prefix of the tree over
    all ``leaves`` (leaf hashes), RFC 9162 section 2.1.4.1.

    Raises ValueError when old_size is not in 0..len(leaves).
    """
    n = len(leaves)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} outside 0..{n}")
    if old_size in (0, n):
        return []
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_subtree_root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _subtree_root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _subtree_root(leaves[:k])]
