"""Registering a PySpark DataFrame: ``mapInArrow`` runs the Arrow hashing
contract in local-mode Spark executors and the ledger commits the same bytes as the local
path: the same Merkle root, record, content and subject hashes, band keys and profile.

Starting Spark costs 20-30 s on a loaded 2-core machine, so the test is marked slow; it
is skipped when PySpark or a Java runtime is missing (``pip install 'provledger[spark]'``).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from provledger.errors import InputError
from provledger.ledger import Ledger
from tests.test_arrow_hashing import FP, prepared, records, stored, stored_sketches

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A local-mode Spark with 2 executor threads whose Python workers run this
    interpreter (so they import the same ledger and pyarrow); stopped after the module."""
    from pyspark.sql import SparkSession

    mp = pytest.MonkeyPatch()
    mp.setenv("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        mp.undo()


def test_spark_dataframe_gives_the_local_bytes(home: Path, tmp_path: Path, spark: Any) -> None:
    prepared(home)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(records(20_000)), path, row_group_size=3000)
    with Ledger.open(home) as led:
        local = led.register(path, dataset="d", **FP)
        led.create_dataset("e", owner="o", context="internal", uses=["train"])
        frame = spark.read.parquet(str(path))
        assert frame.rdd.getNumPartitions() >= 1
        on_spark = led.register(frame, dataset="e", **FP)
        assert led.verify().ok
    assert (on_spark.records, on_spark.merkle_root, on_spark.format) == (
        20_000,
        local.merkle_root,
        "spark",
    )
    assert stored(home, on_spark.seq) == stored(home, local.seq)
    assert stored_sketches(home, on_spark.seq) == stored_sketches(home, local.seq)


def test_bad_row_on_spark_is_named_and_nothing_is_written(
    home: Path, tmp_path: Path, spark: Any
) -> None:
    prepared(home)
    rows = records(5000)
    rows[4321]["text"] = None
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1000)
    frame = spark.read.parquet(str(path)).repartition(1)
    with Ledger.open(home) as led, pytest.raises(InputError) as err:
        led.register(frame, dataset="d", source="scraped")
    assert str(err.value) == "<spark dataframe>, line 4322, field 'text': text field is missing"
    with Ledger.open(home, read_only=True) as led:
        assert led.store.row("SELECT count(*) FROM records") == (0,)
