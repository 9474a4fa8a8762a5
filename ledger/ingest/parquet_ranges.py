"""Parallel hashing of one Parquet file: row ranges hashed by worker processes.

The file's footer gives every row group's row count, so each range's position in the
batch is known before a byte of data is read. Ranges are row groups, and row groups
bigger than ``RANGE_ROWS`` are cut into slices of that many rows. Each worker streams its
row group, hashes its slice with the engine contract (``provledger.ingest.arrow_hashing``)
and hands back the digests, band keys, profile and the slice's compact Merkle range; the
registering process folds the ranges in order, exactly as for JSONL byte ranges. With a
shard target (``register --shards DIR``) each worker writes its slice's hashes as a shard
itself and hands back only the shard's entry, its compact range and figures
(``provledger.ingest.shard_writer.RangeShard``). Workers follow the pool policy of
``provledger.ingest.workers``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from provledger import interrupts
from provledger.errors import InputError
from provledger.ingest.arrow_hashing import HashConfig, hash_hashed, with_subtrees
from provledger.ingest.limits import DEFAULT_LIMITS, ReadLimits
from provledger.ingest.readers import CHUNK_RECORDS
from provledger.ingest.readers.parquet_reader import open_parquet
from provledger.ingest.record_hashes import Hashed
from provledger.ingest.shard_writer import RangeShard, ShardTarget, write_range_shard
from provledger.ingest.workers import exit_with_parent

if TYPE_CHECKING:
    from provledger.ingest.register import Progress

__all__ = [
    "PARALLEL_MIN_ROWS",
    "RANGE_ROWS",
    "hash_parquet_parallel",
    "hash_slice",
    "parquet_rows",
    "plan_ranges",
]

# Parquet files with at least this many rows are hashed by worker processes, in ranges of
# at most RANGE_ROWS rows (a multiple of CHUNK_RECORDS, so slices start on a read batch).
PARALLEL_MIN_ROWS = 65_536
RANGE_ROWS = 16 * CHUNK_RECORDS
# Bytes read from the file at a time: the reader streams pages instead of loading whole
# column chunks, so a worker's memory does not grow with the row group.
READ_BUFFER = 1 << 20

Range = tuple[int, int, int, int]


def _open(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> Any:
    return open_parquet(path, limits, buffer_size=READ_BUFFER, pre_buffer=False)


def plan_ranges(
    path: str | Path, limits: ReadLimits = DEFAULT_LIMITS, range_rows: int | None = None
) -> list[Range]:
    """(row group, first row in it, rows, first record of the batch) for each range, in
    file order. Raises InputError as ``read_parquet`` does (unreadable file, a name used
    twice, data beyond ``limits.max_input``)."""
    step = range_rows or RANGE_ROWS
    meta = _open(path, limits).metadata
    ranges = []
    first = 0
    for group in range(meta.num_row_groups):
        rows = meta.row_group(group).num_rows
        for skip in range(0, rows, step):
            take = min(step, rows - skip)
            ranges.append((group, skip, take, first))
            first += take
    return ranges


def parquet_rows(path: str | Path) -> int:
    """Rows in a Parquet file, from its footer. Raises InputError."""
    return int(open_parquet(path).metadata.num_rows)


def hash_slice(
    path: str,
    group: int,
    skip: int,
    take: int,
    first_index: int,
    config: HashConfig,
    target: ShardTarget | None = None,
    index: int = 0,
) -> Hashed | RangeShard | InputError:
    """Worker task (a process here, a Ray task on a cluster): hash rows [skip, skip + take)
    of one row group, with their compact Merkle range; or the error, its line counted
    within the batch. With a shard ``target`` the slice is written as shard ``index`` and
    only the shard's ``RangeShard`` comes back."""
    try:
        pf = _open(path, ReadLimits(max_input=1 << 62))  # the planner checked the size
        batches = []
        seen = 0
        for batch in pf.iter_batches(batch_size=CHUNK_RECORDS, row_groups=[group]):
            if seen >= skip + take:
                break
            end = seen + batch.num_rows
            if end > skip:
                start = max(0, skip - seen)
                batches.append(batch.slice(start, min(end, skip + take) - seen - start))
            seen = end
        table = pa.Table.from_batches(batches, schema=pf.schema_arrow)
        hashed = with_subtrees(hash_hashed(table, config, first_index), first_index)
        if target is not None and hashed.count:
            return write_range_shard(target, index, first_index, hashed)
        return hashed
    except InputError as exc:
        return exc
    except (pa.ArrowException, OSError) as exc:
        return InputError(f"Parquet data is damaged ({exc})")


def hash_parquet_parallel(
    path: Path,
    config: HashConfig,
    progress: Progress | None,
    limits: ReadLimits = DEFAULT_LIMITS,
    workers: int | None = None,
    target: ShardTarget | None = None,
) -> Iterator[Hashed | RangeShard]:
    """Hashes of every record of a Parquet file, range by range in record order, computed
    by ``workers`` processes (one per core, at most 8). Raises InputError naming the file
    and row of the first bad record."""
    ranges = plan_ranges(path, limits)
    total = sum(r[2] for r in ranges)
    count = workers or max(1, min(os.cpu_count() or 1, 8))
    todo = iter(ranges)
    pool = ProcessPoolExecutor(
        max_workers=count, initializer=exit_with_parent, initargs=(os.getpid(),)
    )
    pending: list[tuple[Range, Future[Hashed | RangeShard | InputError]]] = []
    submitted = [0]

    def submit() -> None:
        task = next(todo, None)
        if task is not None:
            job = pool.submit(hash_slice, str(path), *task, config, target, submitted[0])
            pending.append((task, job))
            submitted[0] += 1

    try:
        # The workers are forked by the first submit: with the signals blocked, so each
        # can ignore them before one arrives (provledger.interrupts).
        with interrupts.blocked():
            for _ in range(count * 2):  # a bounded window of ranges in flight: flat memory
                submit()
        while pending:
            (_, _, take, first), future = pending.pop(0)
            submit()
            result = future.result()
            if isinstance(result, InputError):
                for _, other in pending:
                    other.cancel()
                raise result.located(file=path) from None
            if progress is not None:
                progress(first + take, total)
            yield result
    finally:
        # However this ends, no worker outlives the registration (as for JSONL ranges).
        with interrupts.deferred():
            pool.shutdown(wait=True, cancel_futures=True)
