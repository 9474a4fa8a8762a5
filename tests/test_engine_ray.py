"""Registering on Ray: ``register --engine ray`` and ``Ledger.register`` of a
``ray.data.Dataset`` hash on a local Ray with 2 workers and commit the same bytes as the
local path: the same Merkle root, the same stored record, content and subject hashes, band
keys and n-gram profile.

One local Ray serves the whole module (starting it costs about 10 s on a loaded 2-core
machine, and each Ray Data run several more), so only the first test runs in the fast
suite; the others are marked slow. Skipped when Ray is not installed
(``pip install 'provledger[ray]'``).
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785

from provledger.errors import InputError
from provledger.ingest import parquet_ranges
from provledger.ingest.arrow_hashing import HashConfig
from provledger.ingest.shard_writer import RangeShard, ShardWriter
from provledger.ledger import Ledger
from provledger.tlog.merkle import MerkleBuilder
from tests.test_arrow_hashing import (
    FP,
    prepared,
    records,
    rfc9162_root,
    sha256,
    stored,
    stored_sketches,
)

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
engine_ray = pytest.importorskip("provledger.ingest.engine_ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray with 2 worker CPUs for this module, shut down after it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(records(20_000)), path, row_group_size=3000)
    return path


def test_engine_ray_gives_the_local_bytes(
    home: Path,
    data: Path,
    local_ray: None,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    prepared(home)
    with Ledger.open(home) as led:
        local = led.register(data, dataset="d", **FP)
        led.create_dataset("e", owner="o", context="internal", uses=["train"])
    result = cli(
        "register", str(data), "--dataset", "e", "--source", "first_party",
        "--consent", "tos@1", "--subject-field", "uid", "--engine", "ray", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    on_ray = json.loads(result.stdout)
    assert on_ray["records"] == local.records == 20_000
    assert on_ray["merkle_root"] == local.merkle_root
    assert on_ray["format"] == "parquet"
    assert stored(home, on_ray["seq"]) == stored(home, local.seq)
    assert stored_sketches(home, on_ray["seq"]) == stored_sketches(home, local.seq)
    assert (on_ray["bytes"], on_ray["words"]) == (local.bytes, local.words)
    with Ledger.open(home, read_only=True) as led:
        assert led.verify().ok


def test_a_parquet_file_comes_back_as_row_ranges_with_their_subtrees(
    data: Path, local_ray: None
) -> None:
    """The driver folds each range's compact Merkle range, not its leaves."""
    parts = list(engine_ray.hash_on_ray(data, HashConfig(), None, str(data)))
    plan = parquet_ranges.plan_ranges(data)
    assert [(p.first_index, p.count) for p in parts] == [(r[3], r[2]) for r in plan]
    builder = MerkleBuilder()
    for part in parts:
        assert part.subtrees is not None and len(part.subtrees) <= 2 * 17
        for height, node in part.subtrees:
            builder.push_subtree(node, height)
    expected = [sha256(rfc8785.dumps(r)) for r in records(20_000)]
    assert builder.root() == rfc9162_root(expected)
    assert b"".join(p.record_hashes for p in parts) == b"".join(expected)


@pytest.mark.slow
def test_ray_dataset_through_the_python_api(home: Path, data: Path, local_ray: None) -> None:
    prepared(home)
    with Ledger.open(home) as led:
        local = led.register(data, dataset="d", source="scraped")
        led.create_dataset("e", owner="o", context="internal", uses=["train"])
        dataset = ray.data.read_parquet(str(data)).repartition(7)
        result = led.register(dataset, dataset="e", source="scraped")
    assert (result.records, result.merkle_root, result.format) == (
        20_000,
        local.merkle_root,
        "ray",
    )
    assert stored(home, result.seq) == stored(home, local.seq)
    assert stored_sketches(home, result.seq) == stored_sketches(home, local.seq)


@pytest.mark.slow
def test_bad_record_on_ray_is_named_by_its_row_and_nothing_is_written(
    home: Path, tmp_path: Path, local_ray: None
) -> None:
    prepared(home)
    rows = records(20_000)
    rows[14_321]["text"] = None
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=3000)
    with Ledger.open(home) as led, pytest.raises(InputError) as err:
        led.register(path, dataset="d", source="scraped", engine="ray")
    assert str(err.value) == f"{path}, line 14322, field 'text': text field is missing"
    with Ledger.open(home, read_only=True) as led:
        assert led.store.row("SELECT count(*) FROM records") == (0,)


def _through_view(home: Path, seq: int) -> list[tuple[Any, ...]]:
    with Ledger.open(home, read_only=True) as led:
        return [
            tuple(bytes(v) if v is not None else None for v in row)
            for row in led.store.rows(
                "SELECT record_hash, content_hash, subject_hash FROM records "
                "WHERE batch_seq = ? ORDER BY ord",
                [seq],
            )
        ]


def test_ray_tasks_write_the_shards_themselves(
    home: Path, data: Path, tmp_path: Path, local_ray: None
) -> None:
    """With --shards, each Ray task writes its row ranges as shards into the folder and
    the driver gets back only the shards' entries (no record or content hash, under 2 KiB
    a range with sketches off); registered so, the batch has the local path's root and
    stored hashes, and verifies."""
    folder = tmp_path / "shards"
    writer = ShardWriter(folder)
    plan = parquet_ranges.plan_ranges(data)
    config = HashConfig(sketch=False)
    parts = list(engine_ray.hash_on_ray(data, config, None, str(data), target=writer.target))
    assert all(isinstance(p, RangeShard) for p in parts)
    assert [(p.first_index, p.count) for p in parts] == [(r[3], r[2]) for r in plan]
    assert sorted(folder / p.entry.file for p in parts if isinstance(p, RangeShard)) == sorted(
        folder.glob("*.parquet")
    )
    expected = [sha256(rfc8785.dumps(r)) for r in records(20_000)]
    for part in parts:
        blob = pickle.dumps(part)
        assert len(blob) < 2048
        assert not any(h in blob for h in expected)
    writer.discard()
    assert list(folder.glob("*.parquet")) == []

    prepared(home)
    with Ledger.open(home) as led:
        local = led.register(data, dataset="d", **FP)
        led.create_dataset("e", owner="o", context="internal", uses=["train"])
        on_ray = led.register(data, dataset="e", engine="ray", shards=folder, **FP)
        (entry,) = [e.payload for e in led.store.entries() if e.seq == on_ray.seq]
        assert led.verify().ok
    assert on_ray.merkle_root == local.merkle_root == rfc9162_root(expected).hex()
    assert entry["shards"]["layout"] == "ranges"
    assert [s["rows"] for s in entry["shards"]["files"]] == [r[2] for r in plan]
    assert _through_view(home, on_ray.seq) == _through_view(home, local.seq)
    assert len(_through_view(home, local.seq)) == 20_000


def test_a_bad_record_on_ray_leaves_no_task_shard(
    home: Path, tmp_path: Path, local_ray: None
) -> None:
    """A bad record in one range: the shards the other tasks wrote are removed too."""
    prepared(home)
    rows = records(20_000)
    rows[10_500]["text"] = None
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=3000)
    folder = tmp_path / "shards"
    with Ledger.open(home) as led:
        before = led.store.entry_count()
        with pytest.raises(InputError) as err:
            led.register(path, dataset="d", source="scraped", engine="ray", shards=folder)
        assert led.store.entry_count() == before
    assert str(err.value) == f"{path}, line 10501, field 'text': text field is missing"
    # A task still running removes its shard after writing it: wait for the tasks.
    time.sleep(2)
    left = [p.name for p in folder.iterdir()]
    assert len(left) == 1 and left[0].endswith(".discarded")  # only the marker


def test_engine_ray_refuses_jsonl(home: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    prepared(home)
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a"}\n')
    result = cli("register", str(path), "--dataset", "d", "--source", "scraped", "--engine", "ray")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}, field 'engine': --engine ray reads Parquet files and "
        "ray.data.Datasets; register jsonl input with the local engine\n"
    )


def test_unknown_engine_is_refused(home: Path, data: Path, cli) -> None:  # type: ignore[no-untyped-def]
    prepared(home)
    result = cli("register", str(data), "--dataset", "d", "--source", "scraped", "--engine", "x")
    assert result.exit_code == 1
    assert (
        result.stderr == "Error: field 'engine': unknown engine 'x' (expected one of local, ray)\n"
    )
