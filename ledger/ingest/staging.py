"""A batch's hashes staged on disk between hashing and committing.

DuckDB lets one process write the ledger, and a process that has it open for writing
keeps every other process out, readers included. So a large registration hashes first,
with the database closed (``Ledger.released``), into a staging file: an Arrow IPC file of
record, content and subject hashes and band keys in record order, in ``<home>/staging/``.
The Merkle root, the record count, the digests the entry signs, the n-gram profile and
the text's bytes and words are folded on the way. Only then does it reopen the ledger and
commit, reading the staged hashes back chunk by chunk: the writer lock is held for the
insert, the lookup index and the entry, not for the hashing.

A staging file holds hashes only (never record contents) and is removed when the
registration ends, committed or not; files left by a killed process are removed by the
next registration that stages.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from provledger.ingest.arrow_hashing import BAND_BYTES, HASH_SCHEMA, table_from_hashed
from provledger.ingest.record_hashes import Hashed, Totals, sum_profiles
from provledger.ingest.shard_writer import RangeShard

if TYPE_CHECKING:
    from provledger.ingest.shard_writer import ShardWriter

__all__ = ["STAGED_SCHEMA", "STAGING_DIR", "Staged", "stage"]

STAGING_DIR = "staging"
STAGED_SCHEMA = pa.schema(
    [HASH_SCHEMA.field(n) for n in ("record_hash", "content_hash", "subject_hash", "bands")]
)


@dataclass
class Staged:
    """A batch's staged hashes and what was folded from them while staging."""

    path: Path
    totals: Totals
    # With shards: the entry payload's ``shards`` part (provledger.ingest.shard_writer).
    shards: dict[str, Any] | None = None

    def tables(self) -> Iterator[pa.Table]:
        """The staged hashes in record order, chunk by chunk (read a chunk at a time, so
        memory holds one chunk whatever the batch's size)."""
        with pa.OSFile(str(self.path), "rb") as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield pa.Table.from_batches([reader.get_batch(i)])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_stale(folder: Path) -> None:
    """Remove staging files whose process is gone (killed before it could clean up)."""
    for path in folder.glob("*.arrow"):
        pid = path.name.split(".", 1)[0]
        if pid.isdigit() and int(pid) > 0 and _alive(int(pid)):
            continue
        with suppress(FileNotFoundError):
            path.unlink()


def fold_range_shard(totals: Totals, shard: RangeShard) -> None:
    """Add a shard a worker wrote to the batch's totals, from what the worker handed back:
    its compact Merkle range, its content and subject digests (the batch's digests are
    SHA-256 over the shards' in order), its text figures and profile."""
    if shard.first_index != totals.builder.size:
        raise ValueError(
            f"range shard at record {shard.first_index} folded at {totals.builder.size}"
        )
    for height, node in shard.subtrees:
        totals.builder.push_subtree(node, height)
    entry = shard.entry
    totals.content.update(bytes.fromhex(entry.content or ""))
    if entry.subject is not None:
        totals.subject.update(bytes.fromhex(entry.subject))
    totals.text_bytes += shard.text_bytes
    totals.words += shard.words
    totals.profile = sum_profiles([totals.profile, shard.profile])


def _bands_table(shard: RangeShard) -> pa.Table:
    kind = pa.binary(BAND_BYTES)
    n = shard.count
    if shard.bands is None:
        column = pa.nulls(n, kind)
    else:
        column = pa.FixedSizeBinaryArray.from_buffers(kind, n, [None, pa.py_buffer(shard.bands)])
    return pa.table({"bands": column})


@contextmanager
def stage(
    home: Path, chunks: Iterable[Hashed | RangeShard], shards: ShardWriter | None = None
) -> Iterator[Staged]:
    """Hash ``chunks`` into a staging file under ``home``; yields the ``Staged`` batch and
    removes the file when the block ends. Errors from ``chunks`` propagate (file removed).

    With ``shards`` the hashes go to its shard files instead and the staging file keeps
    only the band keys; the shards are removed too when the block ends with an error
    (the batch was not committed), ``chunks`` closed first so no worker is still writing
    one. A ``RangeShard`` (a range a worker wrote as a shard) brings no record hashes:
    only its band keys are staged."""
    folder = home / STAGING_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    _remove_stale(folder)
    path = folder / f"{os.getpid()}.{os.urandom(6).hex()}.arrow"
    schema = STAGED_SCHEMA if shards is None else pa.schema([STAGED_SCHEMA.field("bands")])
    try:
        totals = Totals.empty()
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for hashed in chunks:
                if not hashed.count:
                    continue
                if isinstance(hashed, RangeShard):
                    if shards is None:
                        raise ValueError("a range shard needs the shard writer")
                    writer.write_table(_bands_table(hashed))
                    shards.add_range(hashed)
                    fold_range_shard(totals, hashed)
                    continue
                writer.write_table(table_from_hashed(hashed).select(schema.names))
                if shards is not None:
                    shards.add(hashed)
                totals.add(hashed)
        yield Staged(path, totals, None if shards is None else shards.finish())
    except BaseException:
        if shards is not None:
            close = getattr(chunks, "close", None)
            if close is not None:  # stop the workers before removing what they wrote
                close()
            shards.discard()
        raise
    finally:
        with suppress(FileNotFoundError):
            path.unlink()
        with suppress(OSError):
            folder.rmdir()  # only when empty: another registration may be staging
