"""Hashing a batch on Ray: Ray Data ``map_batches`` runs the engine contract
(``provledger.ingest.arrow_hashing``) on the cluster's workers; the driver reads the blocks
back in record order, numbers errors within the batch and commits as usual.

The cluster is the one ``RAY_ADDRESS`` names, else a Ray the caller already started with
``ray.init``, else a local Ray started for this registration (and shut down after it).
Workers receive the ledger's subject key with the config when a subject field is hashed:
run them on machines trusted with it (see docs/scale.md).

Ray is an optional extra (``pip install 'provledger[ray]'``); this module is only imported
when a registration asks for it.
"""

from __future__ import annotations

import logging
import os
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

if TYPE_CHECKING:
    from provledger.ingest.register import Progress

try:
    import ray
    import ray.data
except ImportError:  # depends on the installation
    ray = None  # type: ignore[assignment]

__all__ = ["ADDRESS_ENV", "NEEDS_RAY", "hash_on_ray", "ray_session"]

ADDRESS_ENV = "RAY_ADDRESS"
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


def _hash_file(
    engine: Any, path: Path, config: HashConfig, limits: ReadLimits
) -> Generator[pa.Table, None, None]:
    """A Parquet file on Ray: its row ranges (positions known from the footer) hashed by
    ``map_batches`` tasks that return each range's compact Merkle range, so the driver
    folds O(log n) nodes per range."""
    ranges = plan_ranges(path, limits)
    plan = engine.data.from_items(
        [{"group": g, "skip": s, "take": t, "first": f} for g, s, t, f in ranges],
        override_num_blocks=len(ranges),
    )
    hashed = plan.map_batches(
        _hash_file_ranges,
        fn_kwargs={"path": str(path), "config": config},
        batch_format="pyarrow",
        batch_size=1,
    )
    yield from _quiet(hashed).iter_batches(batch_format="pyarrow", batch_size=None)


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
) -> Iterator[Hashed]:
    """Hashes of every record of a Parquet file or a ``ray.data.Dataset``, block by block
    in record order. Raises InputError naming ``name`` and the record of a bad one."""
    if isinstance(data, Path):
        plan_ranges(path=data, limits=limits)  # a bad file is refused before Ray starts
    with ray_session() as engine:
        tables: Generator[pa.Table, None, None] = (
            _hash_file(engine, data, config, limits)
            if isinstance(data, Path)
            else _hash_dataset(data, config)
        )
        done = 0
        # Closed before Ray shuts down, however the loop ends, so Ray Data's iterator
        # stops while it can still reach the cluster.
        with closing(tables):
            for table in tables:
                for hashed in blocks_back(table, done, name):
                    done += hashed.count
                    if progress is not None:
                        progress(done, None)
                    yield hashed
