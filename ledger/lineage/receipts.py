"""Erasure receipts: the signed record of what an erasure request covered, written for
the requester, and their check against the ledger."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from provledger.errors import CanonicalError, InputError, NotFound
from provledger.lineage.lineage import (
    BATCHES_BY_ID,
    ERASED_PER_BATCH,
    ERASURE_BY_REF,
    MODELS_BY_NAME,
    row_dicts,
)
from provledger.storage.entry_kinds import EntryKind
from provledger.storage.projections import erased_row_count
from provledger.tlog.canonical import canonical_json, parse_json

if TYPE_CHECKING:
    from provledger.ledger import Ledger
    from provledger.storage.store import Entry

__all__ = [
    "RECEIPT_TYPE",
    "ReceiptCheck",
    "receipt",
    "verify_receipt",
]


RECEIPT_TYPE = "provledger-erasure-receipt"
RECEIPT_VERSION = 1


# -- receipts ----------------------------------------------------------------------------
def _receipt_body(ledger: Ledger, entry: Entry) -> dict[str, Any]:
    """The receipt of an erasure entry, unsigned: everything in it is read from the entry
    and from rows that never change, so the same entry always gives the same body."""
    store = ledger.store
    p = entry.payload
    per_batch = dict(store.rows(ERASED_PER_BATCH, [entry.seq]))
    rows = store.dicts(BATCHES_BY_ID, {"ids": p["batches"] + p["derived_batches"]})
    by_id = {r["batch_id"]: r for r in rows}

    def batch(batch_id: str, derived: bool) -> dict[str, Any]:
        r = by_id[batch_id]
        out = {
            "batch_id": batch_id,
            "dataset": r["dataset"],
            "source": r["source"],
            "origin": r["origin"],
            "file": r["file_name"],
        }
        if derived:
            out["derived_from"] = list(r["derived_from"])
        else:
            out["records_erased"] = per_batch.get(batch_id, 0)
        return out

    direct = [batch(b, False) for b in p["batches"]]
    derived = [batch(b, True) for b in p["derived_batches"]]
    models = [
        {"name": m["name"], "seq": m["seq"], "datasets": list(m["datasets"])}
        for m in store.dicts(MODELS_BY_NAME, {"names": p["models"]})
    ]
    datasets = sorted({b["dataset"] for b in direct + derived})
    # Entries that sign their rows say which; older receipts keep their shape.
    signed_rows: dict[str, Any] = {}
    if "erased" in p:
        signed_rows = {
            "erased": row_dicts(p["erased"]),
            "same_text": {"erased": p["same_text_erased"], "records": row_dicts(p["same_text"])},
        }
    return {
        "type": RECEIPT_TYPE,
        "version": RECEIPT_VERSION,
        "ledger": ledger.origin,
        "key_id": ledger.public.key_id,
        "request_ref": p["request_ref"],
        "recorded_at": entry.recorded_at,
        "seq": entry.seq,
        "entry_hash": entry.entry_hash,
        "subject_hash": p["subject_hash"],
        "records": erased_row_count(p),
        "record_hashes": p["record_hashes"],
        **signed_rows,
        "batches": direct,
        "derived_batches": derived,
        "models": models,
        "rebuild": {
            "datasets": datasets,
            "batches": [b["batch_id"] for b in direct + derived],
            "models": [m["name"] for m in models],
        },
    }


def receipt(ledger: Ledger, request_ref: str) -> dict[str, Any]:
    """The signed receipt of a recorded erasure: its body plus ``signature``, the hex
    Ed25519 signature over the RFC 8785 canonical JSON of everything else. Raises
    NotFound when no erasure has that reference."""
    store = ledger.store
    row = store.row(ERASURE_BY_REF, [request_ref])
    if row is None:
        raise NotFound(f"no erasure request '{request_ref}' in the ledger")
    entry = store.entry(row[0])
    assert entry is not None
    body = _receipt_body(ledger, entry)
    return body | {"signature": ledger.signer.sign(canonical_json(body)).hex()}


@dataclass(frozen=True)
class ReceiptCheck:
    """A receipt that verified: signed by this ledger's key and matching its entry."""

    request_ref: str
    seq: int
    entry_hash: str
    recorded_at: str
    key_id: str
    ok: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_RECEIPT_FIELDS = {
    "type": str,
    "key_id": str,
    "request_ref": str,
    "seq": int,
    "entry_hash": str,
    "subject_hash": str,
    "signature": str,
}


def verify_receipt(
    ledger: Ledger, document: str | bytes | dict[str, Any], *, source: str = "receipt"
) -> ReceiptCheck:
    """Check a receipt: its signature against this ledger's public key, and that the
    ledger holds its erasure entry with the same hash and contents.

    Raises InputError (naming ``source``) when it is not a receipt, is signed by another
    key, its signature fails (it was changed after signing), or it does not match the
    ledger's entry.
    """
    if isinstance(document, dict):
        doc: Any = document
    else:
        try:
            doc = parse_json(document)
        except CanonicalError as exc:
            raise InputError(f"not a JSON receipt: {exc.reason}", file=source) from None
    if not isinstance(doc, dict) or doc.get("type") != RECEIPT_TYPE:
        raise InputError("not a provledger erasure receipt", file=source)
    for name, kind in _RECEIPT_FIELDS.items():
        if type(doc.get(name)) is not kind:
            raise InputError(f"receipt field '{name}' is missing or malformed", file=source)
    key_id = ledger.public.key_id
    if doc["key_id"] != key_id:
        raise InputError(
            f"receipt was signed by key {doc['key_id']}, not this ledger's key {key_id}",
            file=source,
        )
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        signature = bytes.fromhex(doc["signature"])
        message = canonical_json(body)
    except (ValueError, CanonicalError):
        signature, message = b"", b""
    if not message or not ledger.public.verify(signature, message):
        raise InputError(
            "receipt signature does not verify with this ledger's key: the receipt was "
            "changed after it was signed",
            file=source,
        )
    entry = ledger.store.entry(doc["seq"])
    if (
        entry is None
        or entry.kind != EntryKind.erasure_requested
        or entry.entry_hash != doc["entry_hash"]
    ):
        raise InputError(
            f"the ledger holds no erasure entry at seq {doc['seq']} with hash {doc['entry_hash']}",
            file=source,
        )
    if _receipt_body(ledger, entry) != body:
        raise InputError(
            f"receipt does not match the ledger's erasure entry at seq {entry.seq}",
            file=source,
        )
    return ReceiptCheck(
        request_ref=doc["request_ref"],
        seq=entry.seq,
        entry_hash=entry.entry_hash,
        recorded_at=entry.recorded_at,
        key_id=key_id,
    )
