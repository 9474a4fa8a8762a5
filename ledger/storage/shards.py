"""Record hashes held in Parquet hash shards outside the database file.

A batch registered with ``register --shards DIR`` keeps its per-record hashes (``ord``,
``record_hash``, ``content_hash``, ``subject_hash``) in Parquet files in DIR instead of the
``records`` table. Its signed entry lists them (``shards``: the folder, the rows per shard,
and per file its name, byte size, SHA-256, first record and row count, and the RFC 9162
root of its records' subtree), so nothing about a shard is taken on trust from storage:

- every open checks, cheaply, that each listed file is there with its signed size
  (``check_present``; a stat per file), and refuses with ``ShardError`` naming the file;
- ``verify`` reads every shard file whole: its SHA-256 and size against the entry, the
  shards' rows contiguous, their roots combined into the batch's Merkle root
  (``check_shard_files``), and then, through the view below, the records' Merkle root and
  digests as for any batch; an edited, missing or swapped shard is named at its batch's seq;
- the connection gets a temporary view named ``records`` (``attach``): the ``records`` table
  of the file, UNION ALL each sharded batch's files read with ``read_parquet``. Every query
  of audit, lineage, export, check, prove and verify names ``records`` and so reads the
  shards as if they were rows of the table; writes go to the table itself
  (``Store.insert_arrow`` qualifies the name). The view is temporary: it is created by this
  code after the catalog pre-check and never stored, so the file's catalog stays exactly
  what the migrations create (``provledger.storage.catalog`` ignores the temporary catalog).

Shards hold ``2**k`` records each (the last may hold fewer), starting at multiples of that,
so each full shard is one perfect subtree of the batch's tree and the batch's root is the
RFC 9162 tree over the shard roots (``combine_roots``).

Shards written by the hashing workers (``layout: "ranges"``) are the workers' ranges, of
any length: each one's entry adds its compact Merkle range (``nodes``: the aligned perfect
subtrees covering its records, as [height, root]) and the SHA-256 over its content hashes
and over its subject hashes. The batch's root is those nodes folded in order
(``fold_nodes``), and its content and subject digests are SHA-256 over the shards' digests
in order (``SegmentedDigest`` recomputes them from the rows).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from provledger.errors import RootMismatch, ShardError
from provledger.storage.entry_kinds import EntryKind
from provledger.tlog.merkle import NODE_PREFIX, MerkleBuilder

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "RANGE_LAYOUT",
    "SegmentedDigest",
    "ShardFile",
    "attach",
    "check_present",
    "check_shard_files",
    "combine_roots",
    "fold_nodes",
    "is_ranged",
    "sharded_batches",
]

# Batch entries that list shards (the canonical payload holds the key as written here; a
# string value containing it would be escaped, so it cannot match). Parsed and checked
# again in Python.
SHARDED_ENTRIES = (
    "SELECT seq, payload FROM entries WHERE kind = ? AND payload LIKE '%\"shards\":{%' ORDER BY seq"
)
READ_BLOCK = 1 << 20
# The ``layout`` of a batch whose shards are its workers' ranges (see the docstring).
RANGE_LAYOUT = "ranges"
# One node of a compact Merkle range: (height, root of that perfect subtree).
Node = tuple[int, bytes]


@dataclass(frozen=True)
class ShardFile:
    """One shard as the batch entry signs it."""

    seq: int
    batch_id: str
    path: Path
    bytes: int
    sha256: str
    first: int
    rows: int
    root: str
    nodes: list[Node] | None = None

    @classmethod
    def listed(cls, seq: int, payload: dict[str, Any]) -> list[ShardFile]:
        shards = payload["shards"]
        folder = Path(shards["dir"])
        return [
            cls(
                seq,
                payload["batch_id"],
                folder / s["file"],
                s["bytes"],
                s["sha256"],
                s["first"],
                s["rows"],
                s["root"],
                None if "nodes" not in s else [(int(h), bytes.fromhex(n)) for h, n in s["nodes"]],
            )
            for s in shards["files"]
        ]


def is_ranged(payload: dict[str, Any]) -> bool:
    """Whether a batch payload's shards are its workers' ranges (``RANGE_LAYOUT``)."""
    shards = payload.get("shards")
    return isinstance(shards, dict) and shards.get("layout") == RANGE_LAYOUT


class SegmentedDigest:
    """SHA-256 over per-shard SHA-256 digests: ``update`` takes one record's hash at a
    time, and after each shard's ``rows`` records its digest goes into the outer one. What
    a ranged batch signs as ``content_digest`` and ``subject_digest``."""

    def __init__(self, rows: list[int]) -> None:
        self._rows = [r for r in rows if r]
        self._outer = hashlib.sha256()
        self._inner = hashlib.sha256()
        self._seen = 0
        self._closed = 0

    def update(self, data: bytes) -> None:
        self._inner.update(data)
        self._seen += 1
        if self._closed < len(self._rows) and self._seen == self._rows[self._closed]:
            self._outer.update(self._inner.digest())
            self._inner = hashlib.sha256()
            self._seen = 0
            self._closed += 1

    def hexdigest(self) -> str:
        outer = self._outer.copy()
        if self._seen:  # more records than the shards hold: the digest cannot match
            outer.update(self._inner.digest())
        return outer.hexdigest()


def fold_nodes(shards: list[ShardFile]) -> bytes:
    """A ranged batch's root: every shard's compact range pushed in order. Raises
    ValueError when a shard's nodes do not cover its rows or are not aligned."""
    builder = MerkleBuilder()
    for shard in shards:
        for height, node in shard.nodes or []:
            builder.push_subtree(node, height)
        if builder.size != shard.first + shard.rows:
            raise ValueError(f"shard {shard.path.name}: its nodes do not cover its rows")
    return builder.root()


def sharded_batches(store: Store) -> dict[int, list[ShardFile]]:
    """Every sharded batch's shard files, by batch seq, from the signed entries."""
    found: dict[int, list[ShardFile]] = {}
    for seq, text in store.rows(SHARDED_ENTRIES, [EntryKind.batch_registered]):
        payload = orjson.loads(text)
        if isinstance(payload.get("shards"), dict):
            found[int(seq)] = ShardFile.listed(int(seq), payload)
    return found


def _problem(shard: ShardFile) -> str | None:
    """What is wrong with a shard file that a stat shows: missing, or another size."""
    try:
        size = os.stat(shard.path).st_size
    except FileNotFoundError:
        return f"batch {shard.batch_id}: shard {shard.path} is missing"
    except OSError as exc:
        return f"batch {shard.batch_id}: shard {shard.path} cannot be read ({exc.strerror})"
    if size != shard.bytes:
        return (
            f"batch {shard.batch_id}: shard {shard.path} has changed ({size} bytes, its entry "
            f"says {shard.bytes})"
        )
    return None


def check_present(batches: dict[int, list[ShardFile]]) -> None:
    """The read pre-check: every listed shard file is there with its signed size. Raises
    ShardError naming the first file (in seq order) that is not. A same-size edit is for
    ``verify`` to find (it hashes every file)."""
    for seq in sorted(batches):
        for shard in batches[seq]:
            problem = _problem(shard)
            if problem is not None:
                raise ShardError(f"{problem}; run 'provledger verify'", seq)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def combine_roots(roots: list[bytes]) -> bytes:
    """The RFC 9162 root over shard roots: shards of 2**k records starting at multiples of
    2**k are the tree's subtrees, so the split rule over records is the split rule over
    shards (the last shard may be smaller)."""
    if len(roots) == 1:
        return roots[0]
    k = 1
    while k * 2 < len(roots):
        k *= 2
    left, right = combine_roots(roots[:k]), combine_roots(roots[k:])
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def check_shard_files(batches: dict[int, dict[str, Any]]) -> None:
    """``verify``'s check of every sharded batch (``batches``: seq -> batch payload): each
    shard file present, of its signed size and SHA-256; the shards' rows contiguous and
    adding up to the batch's records; their roots combining into its Merkle root. Raises
    ShardError (RootMismatch for the roots) at the first bad batch seq."""
    for seq in sorted(batches):
        payload = batches[seq]
        if not isinstance(payload.get("shards"), dict):
            continue
        shards = ShardFile.listed(seq, payload)
        first = 0
        for shard in shards:
            problem = _problem(shard)
            if problem is None and _file_sha256(shard.path) != shard.sha256:
                problem = (
                    f"batch {shard.batch_id}: shard {shard.path} has changed (its SHA-256 "
                    "differs from its entry's)"
                )
            if problem is not None:
                raise ShardError(problem, seq)
            if shard.first != first:
                raise ShardError(
                    f"batch {shard.batch_id}: shard {shard.path.name} starts at record "
                    f"{shard.first}, expected {first}",
                    seq,
                )
            first += shard.rows
        if first != payload["records"]:
            raise ShardError(
                f"batch {payload['batch_id']}: its shards hold {first} records, its entry says "
                f"{payload['records']}",
                seq,
            )
        want = bytes.fromhex(payload["merkle_root"])
        if is_ranged(payload):
            try:
                got = fold_nodes(shards)
            except ValueError as exc:
                raise ShardError(f"batch {payload['batch_id']}: {exc}", seq) from None
        else:
            got = combine_roots([bytes.fromhex(s.root) for s in shards])
        if got != want:
            raise RootMismatch(
                f"batch {payload['batch_id']}: its shards' roots do not combine to its Merkle root",
                want,
                got,
                seq,
            )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def shard_select(seq: int, files: list[Path]) -> str:
    """One sharded batch's rows in the ``records`` columns. A view cannot take parameters:
    the seq is an integer and each path a quoted SQL string literal."""
    paths = ", ".join(_literal(str(f)) for f in files)
    return (
        f"SELECT {int(seq)}::INTEGER AS batch_seq, ord::INTEGER AS ord, record_hash, "  # noqa: S608
        f"content_hash, subject_hash FROM read_parquet([{paths}])"
    )


def attach(
    store: Store,
    batches: dict[int, list[ShardFile]],
    *,
    present_only: bool = False,
) -> None:
    """Make ``records`` on this connection read the sharded batches' files too (see the
    module docstring). With ``present_only`` files a stat shows missing or resized are
    left out (for ``verify``, which names them); else they must all be there."""
    selects = []
    for seq in sorted(batches):
        files = [s.path for s in batches[seq] if not present_only or _problem(s) is None]
        if files:
            selects.append(shard_select(seq, files))
    store.shadow("records", selects)
