"""Checking RFC 9162 inclusion and consistency proofs (sections 2.1.3.2 and 2.1.4.2).

Each function returns None when the proof holds and raises ``RootMismatch`` (carrying the
expected and calculated roots) or ``IntegrityError`` (malformed proof) when it does not.
"""

from __future__ import annotations

from collections.abc import Sequence

from provledger.errors import IntegrityError, RootMismatch
from provledger.tlog.merkle import node_hash

__all__ = ["root_from_inclusion_proof", "verify_consistency", "verify_inclusion"]


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root implied by a leaf hash, its index, the tree size and its audit path."""
    if not 0 <= index < size:
        raise IntegrityError(f"leaf index {index} outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != 32:
            raise IntegrityError("proof element is not 32 bytes")
        if sn == 0:
            raise IntegrityError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` sits at ``index`` in the tree of ``size`` leaves with ``root``."""
    calculated = root_from_inclusion_proof(leaf, index, size, path)
    if calculated != root:
        raise RootMismatch("inclusion proof does not lead to the root", root, calculated)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if not 0 <= old_size <= new_size:
        raise IntegrityError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise IntegrityError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise RootMismatch("same size, different roots", old_root, new_root)
        return
    if old_size == 0:
        if proof:
            raise IntegrityError("consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise IntegrityError("consistency proof is empty")
    if any(len(p) != 32 for p in proof):
        raise IntegrityError("proof element is not 32 bytes")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise IntegrityError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError("consistency proof is shorter than needed")
    if fr != old_root:
        raise RootMismatch("consistency proof does not lead to the old root", old_root, fr)
    if sr != new_root:
        raise RootMismatch("consistency proof does not lead to the new root", new_root, sr)
