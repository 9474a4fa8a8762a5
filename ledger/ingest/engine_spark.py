"""Hashing a batch on Spark: ``DataFrame.mapInArrow`` runs the engine contract
(``provledger.ingest.arrow_hashing.hash_block``) in the executors; the driver collects the
hashes as Arrow, partition by partition in record order, and commits as usual.

    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master("local[2]").getOrCreate()
    df = spark.read.parquet("tickets.parquet")
    with Ledger.open(home) as led:
        led.register(df, dataset="support", source="scraped")

The DataFrame's row order is the batch's record order, as for a file: keep it (read one
file, or sort before registering). Spark's Arrow types map to JSON by the rule of
``provledger.ingest.readers.parquet_reader``, so a DataFrame read from a Parquet file of
string, integer and float columns hashes exactly like the file. The executors receive the
ledger's subject key when a subject field is hashed (see docs/scale.md).

PySpark is an optional extra (``pip install 'provledger[spark]'``, with a Java 17+
runtime); this module is only imported when a DataFrame is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from provledger.ingest.arrow_hashing import ENGINE_SCHEMA, HashConfig, blocks_back, hash_block
from provledger.ingest.record_hashes import Hashed

if TYPE_CHECKING:
    from provledger.ingest.register import Progress

__all__ = ["hash_on_spark", "spark_schema"]

_SPARK_TYPES = {pa.binary(): "binary", pa.string(): "string", pa.int64(): "bigint"}


def spark_schema() -> str:
    """``ENGINE_SCHEMA`` as the DDL string ``mapInArrow`` takes."""
    return ", ".join(f"{f.name} {_SPARK_TYPES[f.type]}" for f in ENGINE_SCHEMA)


def _hash_partition(
    config: HashConfig,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from hash_block(batch, config).to_batches()

    return run


def hash_on_spark(
    frame: Any, config: HashConfig, progress: Progress | None, name: str
) -> Iterator[Hashed]:
    """Hashes of every row of a PySpark DataFrame, in its row order. Raises InputError
    naming ``name`` and the row of the first bad record."""
    hashes = frame.mapInArrow(_hash_partition(config), spark_schema())
    # Collected on the driver, partitions concatenated in order: about 190 bytes a record
    # (five binary columns and their offsets).
    table = hashes.toArrow()
    done = 0
    for hashed in blocks_back(table, 0, name):
        done += hashed.count
        if progress is not None:
            progress(done, table.num_rows)
        yield hashed
