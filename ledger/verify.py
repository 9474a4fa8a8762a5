"""Recomputing everything the ledger claims: entry hashes, the chain, signatures, batch
Merkle roots, and consistency with signed checkpoints held outside the database."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from provledger.errors import CanonicalError, IntegrityError, RootMismatch
from provledger.similarity.near_facts import check_near_facts
from provledger.similarity.sketch_tables import check_sketches
from provledger.storage.entry_kinds import EntryKind
from provledger.storage.projections import check_projections
from provledger.storage.shards import SegmentedDigest, check_shard_files, is_ranged
from provledger.storage.store import CLOCK_SKEW, GENESIS_HASH, Store, entry_body_hash, stamp
from provledger.tlog.canonical import canonical_json
from provledger.tlog.checkpoint import Checkpoint
from provledger.tlog.keys import PublicKey
from provledger.tlog.merkle import (
    LEAF_PREFIX,
    MerkleBuilder,
    consistency_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from provledger.tlog.merkle_verify import verify_consistency

__all__ = ["CheckpointCheck", "VerifyReport", "verify_ledger"]

# Every record's hashes, in batch then file order, streamed for the root and digest checks.
RECORDS_IN_ORDER = (
    "SELECT batch_seq, record_hash, content_hash, subject_hash, ord FROM records "
    "ORDER BY batch_seq, ord"
)


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    """A signed checkpoint the ledger was found consistent with: where it came from, its
    size and root."""

    source: str
    size: int
    root: str
    consistent: bool


@dataclass
class VerifyReport:
    """What ``verify`` found. ``ok`` only when every check held."""

    ok: bool
    entries: int
    batches: int
    records: int
    checkpoints: list[CheckpointCheck] = field(default_factory=list)
    root: str = ""
    first_bad_seq: int | None = None
    problem: str | None = None
    restored_note_at: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_entries(
    store: Store, public: PublicKey
) -> tuple[list[bytes], dict[int, tuple[str, dict[str, Any]]]]:
    """Check every entry; return the entry hashes and (kind, payload) by seq."""
    hashes: list[bytes] = []
    log = MerkleBuilder()  # the entry log's tree so far, for the recorded checkpoints
    entries: dict[int, tuple[str, dict[str, Any]]] = {}
    prev = GENESIS_HASH
    prev_at = ""
    latest = stamp(datetime.now(UTC) + CLOCK_SKEW)
    for expected_seq, row in enumerate(store.raw_entries(), start=1):
        seq, kind, payload_text, prev_hash, entry_hash, signature, key_id, recorded_at = row
        if seq != expected_seq:
            raise IntegrityError(
                f"entry seq {expected_seq} is missing (found seq {seq} in its place)", expected_seq
            )
        try:
            payload = orjson.loads(payload_text)
        except orjson.JSONDecodeError:
            raise IntegrityError("payload is not JSON", seq) from None
        try:
            canonical = canonical_json(payload).decode("utf-8")
        except CanonicalError:  # e.g. an integer beyond 2**53 written into the row
            raise IntegrityError("payload cannot be canonicalised", seq) from None
        if canonical != payload_text:
            raise IntegrityError("payload is not in canonical form", seq)
        if prev_hash != prev:
            raise IntegrityError("prev_hash does not match the previous entry's hash", seq)
        digest = entry_body_hash(seq, kind, payload, prev_hash, key_id, recorded_at)
        if digest.hex() != entry_hash:
            raise IntegrityError("entry_hash does not match the entry's contents", seq)
        if key_id != public.key_id:
            raise IntegrityError(f"signed by unknown key {key_id}", seq)
        try:
            sig = bytes.fromhex(signature)
        except ValueError:
            sig = b""
        if not public.verify(sig, digest):
            raise IntegrityError("signature does not verify with the ledger's public key", seq)
        if recorded_at < prev_at:
            raise IntegrityError(
                f"recorded_at {recorded_at} is earlier than the previous entry's ({prev_at})", seq
            )
        if recorded_at > latest:
            raise IntegrityError(
                f"recorded_at {recorded_at} is in the future (the clock now reads "
                f"{stamp(datetime.now(UTC))}): it would hide every later entry from --as-of",
                seq,
            )
        prev_at = recorded_at
        if kind == EntryKind.checkpoint:
            size, want = payload["size"], bytes.fromhex(payload["root"])
            got = (
                log.root()
                if size == log.size  # what `checkpoint` records: the log before it
                else root_from_leaf_hashes(leaf_hash(h) for h in hashes[:size])
            )
            if size > len(hashes) or got != want:
                raise RootMismatch(
                    "recorded checkpoint does not match the log before it", want, got, seq
                )
        entries[seq] = (kind, payload)
        hashes.append(digest)
        log.push_input(digest)
        prev = entry_hash
    return hashes, entries


class _BatchCheck:
    """Running recomputation of one batch: Merkle root and the two column digests (for a
    batch in worker-written shards, digests over the shards' digests)."""

    def __init__(self, payload: dict[str, Any] | None = None) -> None:
        self.tree = MerkleBuilder()
        self.content: Any = hashlib.sha256()
        self.subject: Any = hashlib.sha256()
        # A ranged batch's shards: (file, rows, own root) each, checked as its rows end.
        self.shards: list[tuple[str, int, str]] = []
        self.shard_tree = MerkleBuilder()
        if payload is not None and is_ranged(payload):
            files = payload["shards"]["files"]
            self.shards = [(f["file"], int(f["rows"]), f["root"]) for f in files if f["rows"]]
            rows = [r for _, r, _ in self.shards]
            self.content, self.subject = SegmentedDigest(rows), SegmentedDigest(rows)
        self.subjects = 0

    def push(self, record: bytes, name: str, seq: int) -> None:
        """Add a record's hash to the batch's tree and, for a ranged batch, to its shard's
        tree, whose root must be the shard's signed root once its rows are in."""
        leaf = hashlib.sha256(LEAF_PREFIX + record).digest()
        self.tree.push(leaf)
        if not self.shards:
            return
        self.shard_tree.push(leaf)
        file, rows, root = self.shards[0]
        if self.shard_tree.size == rows:
            want, got = bytes.fromhex(root), self.shard_tree.root()
            if got != want:
                raise RootMismatch(
                    f"batch {name}: shard {file}'s records do not match its root", want, got, seq
                )
            self.shards.pop(0)
            self.shard_tree = MerkleBuilder()


def _check_shard_digests(payload: dict[str, Any], seq: int) -> None:
    """A ranged batch's per-shard content and subject digests, as signed, digest to its
    content and subject digests (which the rows were checked against)."""
    name = payload["batch_id"]
    files = [f for f in payload["shards"]["files"] if f["rows"]]
    for column, key in (("content", "content_digest"), ("subject", "subject_digest")):
        if payload.get(key) is None:
            continue
        outer = hashlib.sha256()
        for f in files:
            outer.update(bytes.fromhex(f.get(column) or ""))
        if outer.hexdigest() != payload[key]:
            raise IntegrityError(
                f"batch {name}: its shards' {column} digests do not match its entry", seq
            )


def _check_batches(store: Store, batches: dict[int, dict[str, Any]]) -> int:
    """Recompute every batch's Merkle root and hash-column digests from its stored rows."""
    checks: dict[int, _BatchCheck] = {}
    total = 0
    for chunk in store.stream(RECORDS_IN_ORDER):
        columns = [chunk.column(i).to_pylist() for i in range(5)]
        for seq, record, content, subject, ord_ in zip(*columns, strict=True):
            check = checks.get(seq)
            if check is None:
                if seq not in batches:
                    raise IntegrityError(
                        f"records belong to batch seq {seq}, which has no entry", seq
                    )
                check = checks[seq] = _BatchCheck(batches[seq])
            if ord_ != check.tree.size:  # file order is 0, 1, 2 ...: lineage reports it
                raise IntegrityError(
                    f"batch {batches[seq]['batch_id']}: record order is broken at position "
                    f"{check.tree.size} (ord {ord_})",
                    seq,
                )
            check.push(record, batches[seq]["batch_id"], seq)
            check.content.update(content or b"")
            if subject is not None:
                check.subject.update(subject)
                check.subjects += 1
        total += len(columns[0])
    for seq, payload in batches.items():
        check = checks.get(seq, _BatchCheck(payload))
        name = payload["batch_id"]
        if check.tree.size != payload["records"]:
            raise IntegrityError(
                f"batch {name} holds {check.tree.size} records, its entry says "
                f"{payload['records']}",
                seq,
            )
        want = bytes.fromhex(payload["merkle_root"])
        got = check.tree.root()
        if got != want:
            raise RootMismatch(
                f"batch {name}: record hashes do not match its Merkle root", want, got, seq
            )
        if "content_digest" in payload and check.content.hexdigest() != payload["content_digest"]:
            raise IntegrityError(f"batch {name}: content hashes do not match its entry", seq)
        expected_subjects = payload.get("subject_digest", check.subject.hexdigest())
        if (expected_subjects is None and check.subjects) or (
            expected_subjects is not None and check.subject.hexdigest() != expected_subjects
        ):
            raise IntegrityError(f"batch {name}: subject hashes do not match its entry", seq)
        if is_ranged(payload):
            _check_shard_digests(payload, seq)
    return total


def _check_checkpoint(hashes: list[bytes], checkpoint: Checkpoint, label: str) -> CheckpointCheck:
    n = len(hashes)
    if checkpoint.size > n:
        raise IntegrityError(
            f"{label} records {checkpoint.size} entries but the database holds only {n}: "
            "the ledger lost entries it had acknowledged",
            n + 1,
        )
    leaves = [leaf_hash(h) for h in hashes]
    proof = consistency_proof(leaves, checkpoint.size)
    try:
        verify_consistency(
            checkpoint.size, n, checkpoint.root, root_from_leaf_hashes(leaves), proof
        )
    except IntegrityError as exc:
        # The first entry that differs is within the checkpointed prefix; find it.
        raise IntegrityError(f"{label} is not a prefix of this ledger: {exc}", None) from None
    return CheckpointCheck(
        source=label, size=checkpoint.size, root=checkpoint.root.hex(), consistent=True
    )


def verify_ledger(
    store: Store, public: PublicKey, checkpoints: list[tuple[str, Checkpoint]]
) -> VerifyReport:
    """Run every check. Never raises IntegrityError: failures are reported in the result."""
    report = VerifyReport(ok=False, entries=0, batches=0, records=0)
    try:
        hashes, entries = _check_entries(store, public)
        batches = {
            seq: p for seq, (kind, p) in entries.items() if kind == EntryKind.batch_registered
        }
        report.entries = len(hashes)
        report.batches = len(batches)
        report.root = root_from_leaf_hashes(leaf_hash(h) for h in hashes).hex()
        check_shard_files(batches)  # before their rows are read through `records`
        report.records = _check_batches(store, batches)
        check_projections(store, entries)
        check_sketches(store, batches)
        check_near_facts(store, entries)  # rebuilt from the band keys just checked
        for label, checkpoint in checkpoints:
            report.checkpoints.append(_check_checkpoint(hashes, checkpoint, label))
    except IntegrityError as exc:
        report.first_bad_seq = exc.seq
        report.problem = str(exc)
        return report
    report.ok = True
    return report
