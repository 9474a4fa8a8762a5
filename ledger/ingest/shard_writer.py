"""Writing a batch's per-record hashes as Parquet hash shards (``register --shards DIR``).

Two layouts. Input hashed by worker processes (plain JSONL byte ranges, Parquet row
ranges: ``write_range_shard``) is written by the workers themselves, one shard per range,
straight into DIR: the worker hands back only the file's name, size and SHA-256, its row
range, the RFC 9162 root of its own records, the compact Merkle range of its records
within the batch (the aligned perfect subtrees, O(log n) of them) and SHA-256 digests over
its content and subject hashes; the registering process never holds a record's hashes
(``RangeShard``). The entry's ``shards`` has ``layout: "ranges"``; the batch's Merkle root
is folded from the shards' compact ranges, and its ``content_digest`` and
``subject_digest`` are SHA-256 over the shards' digests in order.

Other input (the layout below, ``ShardWriter``) is written by the registering process.

At crawl scale the records table is the one thing every registration funnels through
DuckDB's single writer. With shards, the registering process writes each run of
``shard_rows`` records (a power of two) to its own Parquet file in DIR while it hashes,
with the ledger closed, and the commit only signs the list: per file its name, byte size,
SHA-256, first record, rows and the RFC 9162 root of its records (a perfect subtree of the
batch's tree). What reads them, and how they are checked, is in
``provledger.storage.shards``.

A shard holds hashes only (``ord``, ``record_hash``, ``content_hash``, ``subject_hash``),
never record contents. Files of a registration that does not commit are removed.
"""

from __future__ import annotations

import errno
import hashlib
import os
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from provledger.errors import InputError
from provledger.ingest.record_hashes import Hashed
from provledger.tlog.merkle import MerkleBuilder

__all__ = [
    "DEFAULT_SHARD_ROWS",
    "RANGE_LAYOUT",
    "SHARD_SCHEMA",
    "RangeShard",
    "ShardEntry",
    "ShardTarget",
    "ShardWriter",
    "check_shard_rows",
    "write_range_shard",
]

DEFAULT_SHARD_ROWS = 1 << 20
DIGEST = pa.binary(32)
SHARD_SCHEMA = pa.schema(
    [
        pa.field("ord", pa.int32(), nullable=False),
        pa.field("record_hash", DIGEST, nullable=False),
        pa.field("content_hash", DIGEST, nullable=False),
        pa.field("subject_hash", DIGEST),
    ]
)
# Row groups of this many rows: a lookup by (batch, ord) reads one of them, pruned by the
# ord statistics DuckDB finds in the footer.
ROW_GROUP = 1 << 16
# The ``layout`` of a batch whose shards are its worker ranges.
RANGE_LAYOUT = "ranges"


@dataclass(frozen=True)
class ShardEntry:
    """One written shard, as the batch entry signs it."""

    file: str
    bytes: int
    sha256: str
    first: int
    rows: int
    root: str
    # Range layout only: the compact Merkle range ([height, root hex] pairs) and the
    # SHA-256 over the shard's content hashes and subject hashes (None without subjects).
    nodes: list[list[Any]] | None = None
    content: str | None = None
    subject: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.nodes is None:  # the power-of-two layout signs only these six fields
            for key in ("nodes", "content", "subject"):
                del out[key]
        return out


@dataclass(frozen=True)
class ShardTarget:
    """Where worker processes write their range shards: the folder and the registration's
    file name prefix (all its files, and only them, match ``<token>-*.parquet``)."""

    folder: str
    token: str

    def name(self, index: int) -> str:
        return f"{self.token}-r{index:07d}.parquet"

    def files(self) -> list[Path]:
        """This registration's shard files, finished or being written."""
        return sorted(Path(self.folder).glob(f"{self.token}-*.parquet*"))

    @property
    def marker(self) -> Path:
        """Left by a registration that did not commit while tasks may still be writing
        (Ray): a task that finds it after writing its shard removes the shard."""
        return Path(self.folder) / f"{self.token}.discarded"


@dataclass
class RangeShard:
    """What a worker hands back for a range it wrote as a shard: no per-record hashes.
    ``bands`` (the near-duplicate band keys, for the ledger file's sketch tables) only with
    sketches on."""

    entry: ShardEntry
    count: int
    first_index: int
    subtrees: list[tuple[int, bytes]]
    text_bytes: int
    words: int
    bands: bytes | None
    profile: bytes | None


def write_range_shard(
    target: ShardTarget, index: int, first_index: int, hashed: Hashed
) -> RangeShard:
    """Worker side: write ``hashed`` (records [first_index, first_index + count) of the
    batch, with its compact range set) as shard ``index`` of ``target``. Raises
    InputError when the file cannot be written."""
    n = hashed.count
    table = _shard_table(first_index, hashed)
    name = target.name(index)
    data = _write(Path(target.folder), name, table)
    if target.marker.exists():  # the registration gave up while this range was hashed
        with suppress(FileNotFoundError):
            (Path(target.folder) / name).unlink()
    leaves = hashed.leaves
    tree = MerkleBuilder()
    for i in range(0, len(leaves), 32):
        tree.push(leaves[i : i + 32])
    subtrees = hashed.subtrees or []
    subject = hashed.subject_hashes
    entry = ShardEntry(
        name,
        len(data),
        hashlib.sha256(data).hexdigest(),
        first_index,
        n,
        tree.root().hex(),
        [[height, node.hex()] for height, node in subtrees],
        hashlib.sha256(hashed.content_hashes).hexdigest(),
        None if subject is None else hashlib.sha256(subject).hexdigest(),
    )
    return RangeShard(
        entry,
        n,
        first_index,
        subtrees,
        hashed.text_bytes,
        hashed.words,
        hashed.bands,
        hashed.profile,
    )


def _shard_table(start: int, hashed: Hashed) -> pa.Table:
    n = hashed.count
    return pa.table(
        {
            "ord": pa.array(np.arange(start, start + n, dtype=np.int32)),
            "record_hash": _column(hashed.record_hashes, n),
            "content_hash": _column(hashed.content_hashes, n),
            "subject_hash": _column(hashed.subject_hashes, n),
        },
        schema=SHARD_SCHEMA,
    )


def _write(folder: Path, name: str, table: pa.Table) -> bytes:
    """Write ``table`` as the new file ``folder/name`` (synced, then renamed into place, so
    a file of that name is always whole); return its bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=ROW_GROUP, compression="none")
    data = sink.getvalue().to_pybytes()
    part = folder / f"{name}.part"
    try:
        with open(part, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if (folder / name).exists():
            raise FileExistsError(errno.EEXIST, "file exists")
        os.replace(part, folder / name)
    except OSError as exc:
        with suppress(OSError):
            part.unlink()
        raise InputError(f"cannot write shard {name}: {exc.strerror}", file=folder) from None
    return bytes(data)


def check_shard_rows(rows: int) -> int:
    """``rows`` if it is a power of two from 1,024 to 2**30; else InputError."""
    if rows < 1024 or rows > 1 << 30 or rows & (rows - 1):
        raise InputError(
            f"--shard-rows must be a power of two from 1024 to 2**30, got {rows}",
            field="shard_rows",
        )
    return rows


class ShardWriter:
    """Takes a batch's hashed chunks in record order and writes a shard file each time
    ``shard_rows`` records have come (and the rest at ``finish``)."""

    def __init__(self, folder: Path, shard_rows: int = DEFAULT_SHARD_ROWS) -> None:
        self.folder = folder.resolve()
        self.shard_rows = check_shard_rows(shard_rows)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create it: {exc.strerror}", file=folder) from None
        if not os.access(self.folder, os.W_OK):
            raise InputError("cannot write into it", file=folder)
        self.token = os.urandom(6).hex()
        self.target = ShardTarget(str(self.folder), self.token)
        self.written: list[ShardEntry] = []
        self.ranges = False  # the shards are the workers' ranges (RANGE_LAYOUT)
        # Workers may outlive a failed registration (Ray tasks): discard leaves the marker.
        self.lingering = False
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._tree = MerkleBuilder()
        self._next = 0  # ord of the first pending record
        self._records = 0  # records added so far

    def add_range(self, shard: RangeShard) -> None:
        """A shard a worker wrote (it must follow the records added so far)."""
        if (self.written and not self.ranges) or shard.first_index != self._records:
            raise ValueError(f"range shard at record {shard.first_index} out of order")
        self.ranges = True
        self.written.append(shard.entry)
        self._records += shard.count
        self._next = self._records

    def add(self, hashed: Hashed) -> None:
        n = hashed.count
        if not n:
            return
        if self.ranges:
            raise ValueError("records added after range shards")
        start = self._records
        table = _shard_table(start, hashed)
        self._records += n
        nodes = self._nodes(hashed, start)
        node = 0
        offset = 0
        while offset < n:
            take = min(n - offset, self.shard_rows - self._pending_rows)
            self._pending.append(table.slice(offset, take))
            # The shard's subtree: the chunk's nodes that fall in this part of it.
            while node < len(nodes) and nodes[node][0] < start + offset + take:
                _, height, root = nodes[node]
                self._tree.push_subtree(root, height)
                node += 1
            self._pending_rows += take
            offset += take
            if self._pending_rows == self.shard_rows:
                self._flush()

    def _nodes(self, hashed: Hashed, start: int) -> list[tuple[int, int, bytes]]:
        """(position, height, root) of the chunk's aligned subtrees, left to right: the
        workers' compact range when none crosses a shard boundary, else every leaf."""
        limit = self.shard_rows.bit_length() - 1
        if (
            hashed.subtrees is not None
            and hashed.first_index == start
            and all(height <= limit for height, _ in hashed.subtrees)
        ):
            out = []
            pos = start
            for height, root in hashed.subtrees:
                out.append((pos, height, root))
                pos += 1 << height
            return out
        leaves = hashed.leaves
        return [(start + i, 0, leaves[i * 32 : i * 32 + 32]) for i in range(hashed.count)]

    def finish(self) -> dict[str, Any]:
        """Write the last shard; return the entry payload's ``shards`` part."""
        if self._pending_rows:
            self._flush()
        files = [s.as_dict() for s in self.written]
        if self.ranges:
            return {"dir": str(self.folder), "layout": RANGE_LAYOUT, "files": files}
        return {"dir": str(self.folder), "rows": self.shard_rows, "files": files}

    def discard(self) -> None:
        """Remove every shard written so far (the registration did not commit): those
        listed, and any a worker wrote whose result was never taken (its name carries this
        registration's token). Call it once the workers have stopped; when they may not
        have (``lingering``), the marker is left first, so a worker still writing removes
        its own file after writing it."""
        if self.lingering:
            with suppress(OSError):
                self.target.marker.touch()
        for path in {self.folder / s.file for s in self.written} | set(self.target.files()):
            with suppress(FileNotFoundError):
                path.unlink()
        self.written = []

    def _flush(self) -> None:
        table = pa.concat_tables(self._pending)
        name = f"{self.token}-{len(self.written):06d}.parquet"
        data = _write(self.folder, name, table)
        self.written.append(
            ShardEntry(
                name,
                len(data),
                hashlib.sha256(data).hexdigest(),
                self._next,
                table.num_rows,
                self._tree.root().hex(),
            )
        )
        self._next += table.num_rows
        self._pending = []
        self._pending_rows = 0
        self._tree = MerkleBuilder()


def _column(blob: bytes | None, n: int) -> pa.Array:
    if blob is None:
        return pa.nulls(n, DIGEST)
    return pa.FixedSizeBinaryArray.from_buffers(DIGEST, n, [None, pa.py_buffer(blob)])
