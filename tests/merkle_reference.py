"""An independent, obviously-correct Merkle tree hash for tests to check roots against:
MTH(D[n]) exactly as RFC 9162 section 2.1.1 defines it, recursively, over SHA-256."""

from __future__ import annotations

import hashlib


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc9162_root(leaf_inputs: list[bytes]) -> bytes:
    """MTH(D[n]) of the leaf inputs (each leaf hashed as SHA-256(0x00 || input))."""
    n = len(leaf_inputs)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + leaf_inputs[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + rfc9162_root(leaf_inputs[:k]) + rfc9162_root(leaf_inputs[k:]))
