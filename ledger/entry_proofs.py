"""Proofs about the entry log itself, for someone holding only signed notes and the
verifier key: an entry's RFC 9162 inclusion in the log at a checkpoint's size, and the
RFC 9162 consistency of two checkpoints.

The log's tree has one leaf per entry, in seq order: leaf input = the 32 raw bytes of the
entry hash, so entry ``seq`` is leaf index ``seq - 1``, and the entry hash is the SHA-256
of the entry's canonical body (``Entry.body``). Every proof is checked against the notes'
roots before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.checkpoint import Checkpoint, parse_note
from ledger.errors import InputError, NotFound, RootMismatch
from ledger.merkle import consistency_proof, inclusion_proof, leaf_hash, root_from_leaf_hashes
from ledger.merkle_verify import verify_consistency, verify_inclusion

if TYPE_CHECKING:
    from ledger.ledger import Ledger

__all__ = ["ConsistencyProof", "EntryProof", "prove_consistency", "prove_entry", "read_note"]


@dataclass(frozen=True)
class EntryProof:
    """``prove --entry --json``: the entry, its leaf, its audit path and the note."""

    leaf_index: int
    tree_size: int
    path: list[str]
    root: str
    entry: dict[str, Any]
    canonical_entry: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "path": self.path,
            "root": self.root,
            "entry": self.entry,
            "canonical_entry": self.canonical_entry,
            "note": self.note,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """``consistency --json``: the RFC 9162 proof that the old tree is a prefix of the new."""

    origin: str
    old_size: int
    new_size: int
    path: list[str]
    old_root: str
    new_root: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "old_size": self.old_size,
            "new_size": self.new_size,
            "path": self.path,
            "old_root": self.old_root,
            "new_root": self.new_root,
        }


def read_note(led: Ledger, text: str, source: str) -> Checkpoint:
    """Parse a note of this ledger's log and check it against the ledger: its signature,
    its origin, that the log reaches its size, and that the log's root at that size is
    the note's root.

    Raises InputError (malformed, tampered, another log's note, a size beyond the log) or
    RootMismatch (this ledger's log at that size has another root).
    """
    note = parse_note(text, led.public, source=source, origin=led.origin)
    count = led.store.entry_count()
    if note.size > count:
        raise InputError(
            f"note records {note.size} entries but this ledger holds only {count}", file=source
        )
    root = root_from_leaf_hashes(leaf_hash(h) for h in led.store.entry_hashes(note.size))
    if root != note.root:
        raise RootMismatch(
            f"{source}: the note's root does not match this ledger's log at size {note.size} "
            "(the log was rewritten since the note was signed)",
            note.root,
            root,
        )
    return note


def prove_entry(
    led: Ledger, seq: int, note_text: str | None = None, *, source: str = "checkpoint"
) -> EntryProof:
    """The inclusion proof of entry ``seq`` in the log at the note's size (default: the
    latest note kept beside the database, which covers every entry).

    Raises NotFound for a seq the ledger does not hold, InputError for a bad note or a seq
    the note does not cover, RootMismatch when the note does not match the ledger.
    """
    if note_text is None:
        note_text, source = led.stored_note()
    note = read_note(led, note_text, source)
    entry = led.store.entry(seq) if seq >= 1 else None
    if entry is None:
        count = led.store.entry_count()
        raise NotFound(f"no entry with seq {seq} (this ledger holds seq 1 to {count})")
    if seq > note.size:
        raise InputError(
            f"entry seq {seq} is not covered by the note, which covers seq 1 to {note.size}; "
            "use a later checkpoint",
            file=source,
        )
    leaves = [leaf_hash(h) for h in led.store.entry_hashes(note.size)]
    index = seq - 1
    path = inclusion_proof(leaves, index)
    verify_inclusion(leaf_hash(bytes.fromhex(entry.entry_hash)), index, note.size, path, note.root)
    return EntryProof(
        leaf_index=index,
        tree_size=note.size,
        path=[p.hex() for p in path],
        root=note.root.hex(),
        entry=entry.as_dict(),
        canonical_entry=entry.body().decode("utf-8"),
        note=note_text,
    )


def prove_consistency(
    led: Ledger, old_text: str, new_text: str, *, old_source: str, new_source: str
) -> ConsistencyProof:
    """The consistency proof from the old note's tree to the new note's, after checking
    both notes against this ledger (see ``read_note``).

    Raises InputError when the old note is larger than the new one.
    """
    old = read_note(led, old_text, old_source)
    new = read_note(led, new_text, new_source)
    if old.size > new.size:
        raise InputError(
            f"the old note ({old.size} entries) is larger than the new note {new_source} "
            f"({new.size} entries): give the older note first",
            file=old_source,
        )
    leaves = [leaf_hash(h) for h in led.store.entry_hashes(new.size)]
    path = consistency_proof(leaves, old.size)
    verify_consistency(old.size, new.size, old.root, new.root, path)
    return ConsistencyProof(
        origin=new.origin,
        old_size=old.size,
        new_size=new.size,
        path=[p.hex() for p in path],
        old_root=old.root.hex(),
        new_root=new.root.hex(),
    )
