"""Inclusion proofs for one record of one batch: RFC 9162 audit paths over the batch's
record hashes in file order, which any RFC 9162 implementation can check."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ledger.errors import NotFound
from ledger.hashing import parse_hash
from ledger.merkle import inclusion_proof, leaf_hash
from ledger.merkle_verify import verify_inclusion
from ledger.store import Store

__all__ = ["InclusionProof", "prove"]

# The batch's recorded root and size.
BATCH_ROOT = "SELECT seq, merkle_root, records FROM batches WHERE batch_id = ?"
# Every record hash of the batch in file order (the tree's leaves).
BATCH_LEAVES = "SELECT record_hash FROM records WHERE batch_seq = ? ORDER BY ord"


@dataclass(frozen=True)
class InclusionProof:
    """``prove --json``: everything an outside verifier needs, hashes in lowercase hex."""

    batch_id: str
    record_hash: str
    leaf_index: int
    tree_size: int
    path: list[str]
    root: str
    occurrences: list[int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def prove(
    store: Store, batch_id: str, record_hash_hex: str, index: int | None = None
) -> InclusionProof:
    """Build (and check) the inclusion proof of a record in a batch, at leaf ``index`` or,
    when None, at its first occurrence. ``occurrences`` lists every leaf index holding the
    record (a file may hold the same record more than once).

    Raises NotFound for an unknown batch, a record the batch does not hold, or an index
    that does not hold it; InputError for a malformed hash.
    """
    record = parse_hash(record_hash_hex, "record_hash")
    row = store.row(BATCH_ROOT, [batch_id])
    if row is None:
        raise NotFound(f"unknown batch '{batch_id}'")
    seq, root_hex, size = row
    hashes = [r[0] for r in store.rows(BATCH_LEAVES, [seq])]
    occurrences = [i for i, h in enumerate(hashes) if h == record]
    if not occurrences:
        raise NotFound(f"batch {batch_id} holds no record with hash {record_hash_hex}")
    if index is None:
        index = occurrences[0]
    elif index not in occurrences:
        at = ", ".join(str(i) for i in occurrences)
        raise NotFound(
            f"batch {batch_id} does not hold record {record.hex()} at leaf index {index}; "
            f"it holds it at leaf index {at}"
        )
    leaves = [leaf_hash(h) for h in hashes]
    path = inclusion_proof(leaves, index)
    root = bytes.fromhex(root_hex)
    verify_inclusion(leaves[index], index, size, path, root)
    return InclusionProof(
        batch_id, record.hex(), index, size, [p.hex() for p in path], root_hex, occurrences
    )
