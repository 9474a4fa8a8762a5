"""Every input kind registers the same records as the equivalent JSONL file (issue 15):
pandas DataFrames, Hugging Face ``datasets.Dataset``s, Arrow streams, iterables of dicts,
gzip CSV, JSON array files and folders of Parquet shards. The expected Merkle root is
computed here from the ``rfc8785`` package and RFC 9162's definition, not by ``ledger/``."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785

from ledger.errors import InputError
from ledger.ledger import Ledger

RECORDS: list[dict[str, Any]] = [
    {"text": "Printer on fire", "n": 1, "tag": "hw"},
    {"text": "Cannot log in", "n": 2, "tag": "auth"},
    {"text": "Refund please", "n": 9007199254740991, "tag": "billing"},
    {"text": "Ünïcode ✓", "n": -3, "tag": "misc"},
    {"text": "Large id", "n": 10000000000000000, "tag": "misc"},  # 1e16 as JCS writes it
]
STRINGS = [{k: str(v) for k, v in r.items()} for r in RECORDS]  # what CSV cells are


def root(records: list[dict[str, Any]]) -> str:
    """RFC 9162 MTH over SHA-256 of each record's RFC 8785 form, recursively."""

    def sha(b: bytes) -> bytes:
        return hashlib.sha256(b).digest()

    def mth(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return sha(b"\x00" + leaves[0])
        k = 1
        while k * 2 < len(leaves):
            k *= 2
        return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))

    def as_jcs_tools_read(record: dict[str, Any]) -> Any:
        # Every JSON number is a double to JCS: beyond 2**53 - 1 the integer becomes one.
        return json.loads(
            json.dumps(record), parse_int=lambda s: int(s) if len(s) < 16 else float(s)
        )

    return mth([sha(rfc8785.dumps(as_jcs_tools_read(r))) for r in records]).hex()


@pytest.fixture
def led(ledger: Ledger) -> Ledger:
    ledger.create_dataset("d", owner="o", context="internal", uses=["train"])
    return ledger


def register(led: Ledger, data: Any) -> tuple[str, int, str]:
    result = led.register(data, dataset="d", source="scraped")
    return result.merkle_root, result.records, result.format


def jsonl(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "same.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def test_the_jsonl_file_is_the_yardstick(led: Ledger, tmp_path: Path) -> None:
    assert register(led, jsonl(tmp_path, RECORDS)) == (root(RECORDS), 5, "jsonl")
    assert led.verify().ok  # 10000000000000000, another JCS tool's 1e16, verifies too


def test_a_pandas_dataframe_hashes_as_the_jsonl_file(led: Ledger) -> None:
    frame = pd.DataFrame(RECORDS, index=[10, 11, 12, 13, 14])  # the index is not data
    assert frame["n"].dtype == "int64"
    assert register(led, frame) == (root(RECORDS), 5, "pandas")


def test_a_hugging_face_dataset_hashes_as_the_jsonl_file(led: Ledger) -> None:
    ds = datasets.Dataset.from_list(RECORDS)
    assert register(led, ds) == (root(RECORDS), 5, "datasets")


def test_a_shuffled_selection_of_a_dataset_follows_its_indices(led: Ledger) -> None:
    ds = datasets.Dataset.from_list(RECORDS).select([3, 0, 4])
    expected = [RECORDS[3], RECORDS[0], RECORDS[4]]
    assert register(led, ds) == (root(expected), 3, "datasets")


def test_an_arrow_stream_hashes_as_the_jsonl_file(led: Ledger) -> None:
    table = pa.Table.from_pylist(RECORDS)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2))
    assert register(led, reader) == (root(RECORDS), 5, "arrow-stream")


def test_an_iterable_of_dicts_is_streamed(led: Ledger) -> None:
    taken: list[int] = []

    def generate() -> Iterator[dict[str, Any]]:
        for i, r in enumerate(RECORDS):
            taken.append(i)
            yield r

    assert register(led, generate()) == (root(RECORDS), 5, "records")
    assert taken == [0, 1, 2, 3, 4]


def test_a_list_of_dicts_hashes_as_the_jsonl_file(led: Ledger) -> None:
    assert register(led, list(RECORDS)) == (root(RECORDS), 5, "records")


def test_every_in_memory_kind_verifies(led: Ledger) -> None:
    for n, data in enumerate(
        [
            pd.DataFrame(RECORDS),
            datasets.Dataset.from_list(RECORDS),
            pa.Table.from_pylist(RECORDS).to_reader(),
            iter(RECORDS),
        ]
    ):
        led.create_dataset(f"v{n}", owner="o", context="internal", uses=["train"])
        led.register(data, dataset=f"v{n}", source="scraped")
    report = led.verify()
    assert report.ok, report
    formats = [r[0] for r in led.store.rows("SELECT file_format FROM batches ORDER BY seq")]
    assert formats == ["pandas", "datasets", "arrow-stream", "records"]


def test_a_bad_record_in_an_iterable_names_its_position(led: Ledger) -> None:
    with pytest.raises(InputError) as caught:
        led.register(iter([RECORDS[0], {"text": 5}]), dataset="d", source="scraped")
    assert str(caught.value) == "<records>, line 2, field 'text': text field is not a string"
    assert led.store.row("SELECT count(*) FROM batches") == (0,)


def test_a_frame_with_missing_values_registers_them_as_null(led: Ledger) -> None:
    frame = pd.DataFrame({"text": ["a", "b"], "x": [1.5, None]})  # pandas holds a NaN
    expected = [{"text": "a", "x": 1.5}, {"text": "b", "x": None}]
    assert register(led, frame) == (root(expected), 2, "pandas")


def test_a_gzip_csv_hashes_as_the_plain_csv(led: Ledger, tmp_path: Path) -> None:
    text = "text,n,tag\n" + "".join(f'"{r["text"]}",{r["n"]},{r["tag"]}\n' for r in RECORDS)
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    assert register(led, path) == (root(STRINGS), 5, "csv.gz")


def test_a_damaged_gzip_csv_is_refused(led: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(b"text\na\n")
    with pytest.raises(InputError) as caught:
        led.register(path, dataset="d", source="scraped")
    assert str(caught.value) == f"{path}, line 1: cannot read: Not a gzipped file (b'te')"


def test_a_json_array_file_hashes_as_the_jsonl_file(led: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(RECORDS, indent=2))
    assert register(led, path) == (root(RECORDS), 5, "json")


def test_a_json_file_that_is_not_an_array_is_refused(led: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(RECORDS[0]))
    with pytest.raises(InputError) as caught:
        led.register(path, dataset="d", source="scraped")
    assert str(caught.value) == (
        f"{path}: expected a JSON array of records (one object per record); "
        "for one object per line name the file .jsonl"
    )


def test_a_folder_of_parquet_shards_is_one_batch_in_file_name_order(
    led: Ledger, tmp_path: Path
) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    # Written out of order; part-10 sorts after part-02 by name, as file-name order says.
    pq.write_table(pa.Table.from_pylist(RECORDS[3:]), folder / "part-10.parquet")
    pq.write_table(pa.Table.from_pylist(RECORDS[:1]), folder / "part-00.parquet")
    pq.write_table(pa.Table.from_pylist(RECORDS[1:3]), folder / "part-02.pq")
    (folder / "_SUCCESS").write_text("")
    assert register(led, folder) == (root(RECORDS), 5, "parquet-dir")


def test_a_bad_shard_is_named(led: Ledger, tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(RECORDS[:2]), folder / "a.parquet")
    pq.write_table(pa.table({"text": ["x", None]}), folder / "b.parquet")
    with pytest.raises(InputError) as caught:
        led.register(folder, dataset="d", source="scraped")
    assert str(caught.value) == (
        f"{folder / 'b.parquet'}, line 2, field 'text': text field is missing"
    )


def test_an_empty_folder_is_refused(led: Ledger, tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    with pytest.raises(InputError) as caught:
        led.register(tmp_path / "none", dataset="d", source="scraped")
    assert str(caught.value) == f"{tmp_path / 'none'}: folder holds no .parquet or .pq files"


def test_the_cli_registers_a_folder_and_a_json_array(cli: Any, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0
    made = cli("dataset", "create", "d", "--owner", "o", "--context", "internal", "--use", "train")
    assert made.exit_code == 0
    folder = tmp_path / "shards"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(RECORDS), folder / "0.parquet")
    result = cli("register", str(folder), "--dataset", "d", "--source", "scraped", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["merkle_root"] == root(RECORDS)
    unknown = tmp_path / "t.txt"
    unknown.write_text("x")
    result = cli("register", str(unknown), "--dataset", "d", "--source", "scraped")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {unknown}: unknown file type: expected .jsonl, .ndjson, .jsonl.gz, "
        ".ndjson.gz, .csv, .csv.gz, .json (an array of objects), .parquet, .pq, or a folder "
        "of .parquet/.pq shards\n"
    )
