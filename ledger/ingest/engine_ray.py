"""Hashing a batch on Ray: Ray Data ``map_batches`` runs the engine contract
(``provledger.ingest.arrow_hashing``) on the cluster's workers; the driver reads the blocks
back in record order, numbers errors within the batch and commits as usual.

The cluster is the one ``RAY_ADDRESS`` names, else a Ray the caller already started with
``ray.init``, else a local Ray started for this registration (and shut down after it).
Workers receive the ledger's subject key with the config when a subject field is hashed:
run them on machines trusted with it (see docs/scale.md).

With hash shards (``register --shards DIR``) and a Parquet file, each ``map_batches`` task
writes its row ranges' shards into DIR itself (a folder every Ray worker can write: on a
local Ray, this machine's; on a cluster, a shared filesystem at the same path) and sends
the driver only each shard's entry and figures (``RangeShard``), never a record's hashes.

Ray is an optional extra (``pip install 'provledger[ray]'``); this module is only imported
when a registration asks for it.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from provledger.errors import InputError
from provledger.ingest.arrow_hashing import (
    HashConfig,
    blocks_back,
    engine_block,
    error_block,
    hash_block,
)
from provledger.ingest.limits import DEFAULT_LIMITS, ReadLimits
from provledger.ingest.parquet_ranges import hash_slice, plan_ranges
from provledger.ingest.readers import CHUNK_RECORDS
from provledger.ingest.record_hashes import Hashed
from provledger.ingest.shard_writer import RangeShard, ShardTarget

if TYPE_CHECKING:
    from provledger.ingest.register import Progress

try:
    import ray
    import ray.data
except ImportError:  # depends on the installation
    ray = None  # type: ignore[assignment]

__all__ = [
    "ADDRESS_ENV",
    "NEEDS_RAY",
    "SHARD_BLOCK_SCHEMA",
    "hash_on_ray",
    "ray_session",
    "shards_back",
]

ADDRESS_ENV = "RAY_ADDRESS"
# What a task writing shards returns: per range, the pickled RangeShard (Ray moves task
# results as pickles anyway) or the range's error, its line counted within the batch.
SHARD_BLOCK_SCHEMA = pa.schema(
    [
        pa.field("shard", pa.binary()),
        pa.field("error_reason", pa.string()),
        pa.field("error_line", pa.int64()),
        pa.field("error_field", pa.string()),
        pa.field("error_file", pa.string()),
    ]
)
NEEDS_RAY = "--engine ray needs Ray: pip install 'provledger[ray]'"


def _require_ray() -> Any:
    if ray is None:
        raise InputError(NEEDS_RAY, field="engine")
    return ray


@contextmanager
def ray_session() -> Iterator[Any]:
    """Connect to the cluster in ``RAY_ADDRESS``, reuse a running Ray, or start a local
    one; a Ray started here is shut down when the block ends. Yields the ``ray`` module."""
    engine = _require_ray()
    started = not engine.is_initialized()
    if started:
        # Ray Data logs each run's plan to stderr; a command line wants only its own lines.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        engine.init(
            address=os.environ.get(ADDRESS_ENV) or None,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
    try:
        yield engine
    finally:
        if started:
            engine.shutdown()


def _hash_file_ranges(ranges: pa.Table, path: str, config: HashConfig) -> pa.Table:
    """Ray Data task body: hash the Parquet row ranges listed in ``ranges`` (rows of
    group, skip, take, first), each with its compact Merkle range."""
    out = []
    for group, skip, take, first in zip(
        *(ranges.column(n).to_pylist() for n in ("group", "skip", "take", "first")), strict=True
    ):
        result = hash_slice(path, group, skip, take, first, config)
        if isinstance(result, InputError):
            out.append(error_block(result, first))
            break
        assert isinstance(result, Hashed)  # no shard target: the hashes come back
        out.append(engine_block(result))
    return pa.concat_tables(out)


def _quiet(dataset: Any) -> Any:
    # Set on this dataset's own context, not the process-wide one the caller may use.
    dataset.context.execution_options.preserve_order = True  # record order
    dataset.context.enable_progress_bars = False
    return dataset


def _shard_file_ranges(
    ranges: pa.Table, path: str, config: HashConfig, target: ShardTarget
) -> pa.Table:
    """Ray Data task body with shards: hash the row ranges listed in ``ranges`` and write
    each as shard ``index`` of ``target``; one ``SHARD_BLOCK_SCHEMA`` row per range."""
    rows: list[dict[str, Any]] = []
    for group, skip, take, first, index in zip(
        *(ranges.column(n).to_pylist() for n in ("group", "skip", "take", "first", "index")),
        strict=True,
    ):
        result = hash_slice(path, group, skip, take, first, config, target, index)
        if isinstance(result, InputError):
            rows.append(
                {
                    "error_reason": result.reason,
                    "error_line": result.line,
                    "error_field": result.field,
                    "error_file": result.file,
                }
            )
            break
        rows.append({"shard": pickle.dumps(result)})
    return pa.Table.from_pylist(rows, schema=SHARD_BLOCK_SCHEMA)


def _hash_file(
    engine: Any,
    path: Path,
    config: HashConfig,
    limits: ReadLimits,
    target: ShardTarget | None = None,
) -> Generator[pa.Table, None, None]:
    """A Parquet file on Ray: its row ranges (positions known from the footer) hashed by
    ``map_batches`` tasks that return each range's compact Merkle range, so the driver
    folds O(log n) nodes per range; with a shard ``target`` the tasks write the ranges as
    shards and return ``SHARD_BLOCK_SCHEMA`` rows."""
    ranges = plan_ranges(path, limits)
    plan = engine.data.from_items(
        [
            {"group": g, "skip": s, "take": t, "first": f, "index": i}
            for i, (g, s, t, f) in enumerate(ranges)
        ],
        override_num_blocks=len(ranges),
    )
    hashed = plan.map_batches(
        _hash_file_ranges if target is None else _shard_file_ranges,
        fn_kwargs={"path": str(path), "config": config}
        | ({} if target is None else {"target": target}),
        batch_format="pyarrow",
        batch_size=1,
    )
    yield from _quiet(hashed).iter_batches(batch_format="pyarrow", batch_size=None)


def shards_back(table: pa.Table, name: str) -> Iterator[RangeShard]:
    """The driver's side of ``_shard_file_ranges``: the shards in ``table``, or the first
    range's error raised as InputError naming ``name`` (or the shard folder it could not
    write) and the record's line within the batch."""
    for row in table.to_pylist():
        if row["error_reason"] is not None:
            raise InputError(
                row["error_reason"],
                file=row["error_file"] or name,
                line=row["error_line"],
                field=row["error_field"],
            )
        # Our own tasks' results, unpickled as Ray unpickles every task result.
        shard = pickle.loads(row["shard"])
        if not isinstance(shard, RangeShard):
            raise TypeError("a shard task returned something else")
        yield shard


def _hash_dataset(dataset: Any, config: HashConfig) -> Generator[pa.Table, None, None]:
    hashed = dataset.map_batches(
        hash_block,
        fn_kwargs={"config": config},
        batch_format="pyarrow",
        batch_size=CHUNK_RECORDS,
        zero_copy_batch=True,
    )
    yield from _quiet(hashed).iter_batches(batch_format="pyarrow", batch_size=None)


def hash_on_ray(
    data: Path | Any,
    config: HashConfig,
    progress: Progress | None,
    name: str,
    limits: ReadLimits = DEFAULT_LIMITS,
    target: ShardTarget | None = None,
) -> Iterator[Hashed | RangeShard]:
    """Hashes of every record of a Parquet file or a ``ray.data.Dataset``, block by block
    in record order. Raises InputError naming ``name`` and the record of a bad one. With a
    shard ``target`` (a file only) the tasks write the shards and the shards come back."""
    if isinstance(data, Path):
        plan_ranges(path=data, limits=limits)  # a bad file is refused before Ray starts
    with ray_session() as engine:
        tables: Generator[pa.Table, None, None] = (
            _hash_file(engine, data, config, limits, target)
            if isinstance(data, Path)
            else _hash_dataset(data, config)
        )
        done = 0
        # Closed before Ray shuts down, however the loop ends, so Ray Data's iterator
        # stops while it can still reach the cluster.
        with closing(tables):
            for table in tables:
                if isinstance(data, Path) and target is not None:
                    for shard in shards_back(table, name):
                        done += shard.count
                        if progress is not None:
                            progress(done, None)
                        yield shard
                    continue
                for hashed in blocks_back(table, done, name):
                    done += hashed.count
                    if progress is not None:
                        progress(done, None)
                    yield hashed
