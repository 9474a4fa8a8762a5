"""The streaming readers on their own: the Parquet/Arrow -> JSON type rule, line numbers,
byte-order marks and CRLF, and JSONL byte ranges for the worker processes."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InputError
from ledger.ledger import Ledger
from ledger.readers import detect_format
from ledger.readers.csv_reader import read_csv
from ledger.readers.jsonl_reader import byte_ranges, read_lines, split_range
from ledger.readers.parquet_reader import read_table

# One row of every Arrow type docs/registration.md's Parquet rule names, and the JSON it maps to.
TYPED_COLUMNS: dict[str, tuple[pa.Array, Any]] = {
    "null": (pa.array([None], pa.null()), None),
    "bool": (pa.array([True]), True),
    "int8": (pa.array([-5], pa.int8()), -5),
    "uint64": (pa.array([2**53 - 1], pa.uint64()), 2**53 - 1),
    "float64": (pa.array([0.1]), 0.1),
    # A float32 maps to the double it holds exactly, not to its shortest decimal spelling.
    "float32": (pa.array([0.1], pa.float32()), 0.10000000149011612),
    "decimal": (pa.array([Decimal("12.50")], pa.decimal128(5, 2)), "12.50"),
    "string": (pa.array(["plain"]), "plain"),
    "large_string": (pa.array(["large"], pa.large_string()), "large"),
    "dictionary": (pa.array(["cat"]).dictionary_encode(), "cat"),
    "binary": (pa.array([b"\x00\xff"], pa.binary()), "AP8="),
    "fixed_binary": (pa.array([b"ab"], pa.binary(2)), "YWI="),
    "date": (pa.array([dt.date(2026, 3, 1)], pa.date32()), "2026-03-01"),
    "timestamp": (
        pa.array([dt.datetime(2026, 3, 1, 10, 30, 0, 123456)], pa.timestamp("us")),
        "2026-03-01T10:30:00.123456",
    ),
    "timestamp_utc": (
        pa.array([dt.datetime(2026, 3, 1, 10, 30)], pa.timestamp("s", tz="UTC")),
        "2026-03-01T10:30:00+00:00",
    ),
    "timestamp_offset": (
        pa.array([dt.datetime(2026, 3, 1, 10, 30)], pa.timestamp("ms", tz="+02:00")),
        "2026-03-01T12:30:00+02:00",  # the stored instant, shown in the column's offset
    ),
    "time": (pa.array([dt.time(10, 30, 0, 1)], pa.time64("us")), "10:30:00.000001"),
    "duration": (pa.array([dt.timedelta(seconds=5)], pa.duration("s")), 5_000_000),
    "list": (pa.array([[1, 2]], pa.list_(pa.int64())), [1, 2]),
    "large_list": (pa.array([["a"]], pa.large_list(pa.string())), ["a"]),
    "fixed_list": (pa.array([[1, 2]], pa.list_(pa.int64(), 2)), [1, 2]),
    "struct": (pa.array([{"a": 1, "b": "x"}]), {"a": 1, "b": "x"}),
    "map": (pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())), {"k": 1}),
    "map_int_keys": (pa.array([[(1, "v")]], pa.map_(pa.int64(), pa.string())), {"1": "v"}),
    "list_of_maps": (
        pa.array([[[("k", 1)], [("j", 2)]]], pa.list_(pa.map_(pa.string(), pa.int64()))),
        [{"k": 1}, {"j": 2}],
    ),
}


def typed_table() -> tuple[pa.Table, dict[str, Any]]:
    columns = {"text": pa.array(["typed row"])} | {k: a for k, (a, _) in TYPED_COLUMNS.items()}
    expected = {"text": "typed row"} | {k: v for k, (_, v) in TYPED_COLUMNS.items()}
    return pa.table(columns), expected


def test_arrow_types_map_to_json_by_the_documented_rule() -> None:
    table, expected = typed_table()
    (chunk,) = list(read_table(table))
    (record,) = chunk.items
    assert record == expected
    for name, value in expected.items():  # bool is not 1, 1.0 is not 1
        assert type(record[name]) is type(value), name


def test_parquet_record_hash_is_rfc8785_of_the_mapped_json(home: Path, tmp_path: Path) -> None:
    table, expected = typed_table()
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    with Ledger.init(home) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        result = led.register(path, dataset="d", source="scraped")
        (stored,) = led.store.row(
            "SELECT record_hash FROM records WHERE batch_seq = ?", [result.seq]
        )  # type: ignore[misc]
    assert stored == hashlib.sha256(rfc8785.dumps(expected)).digest()


def test_parquet_of_json_like_columns_hashes_like_the_jsonl(home: Path, tmp_path: Path) -> None:
    records = [
        {"text": f"ticket {i}", "n": i * 1000, "ok": i % 2 == 0, "tags": ["a", str(i)],
         "meta": {"lang": "en", "score": None}}
        for i in range(5)
    ]  # fmt: skip
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records))
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(records), parquet)
    with Ledger.init(home) as led:
        for name in ("a", "b", "c"):
            led.create_dataset(name, owner="o", context="internal", uses=["train"])
        roots = {
            led.register(data, dataset=name, source="scraped").merkle_root
            for data, name in ((jsonl, "a"), (parquet, "b"), (pa.Table.from_pylist(records), "c"))
        }
    assert len(roots) == 1


def test_nanosecond_times_are_refused_naming_the_row() -> None:
    # With pandas installed pyarrow returns nanosecond Timestamps instead of raising: the
    # reader refuses those too, so the outcome does not depend on pandas being there.
    table = pa.table({"at": pa.array([1000, 2000, 3001], pa.timestamp("ns"))})
    with pytest.raises(InputError) as caught:
        list(read_table(table))
    assert caught.value.line == 3
    assert str(caught.value).startswith("<arrow table>, line 3: cannot map a value to JSON: ")


def test_arrow_row_numbers_run_across_chunks() -> None:
    table = pa.table({"text": [str(i) for i in range(20000)]})
    locations = [loc for chunk in read_table(table) for loc in chunk.locations]
    assert locations == list(range(1, 20001))


# -- JSONL ---------------------------------------------------------------------------------------
def test_jsonl_lines_skip_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a":1}\r\n\r\n   \n{"b":2}\r\n{"c":3}')
    (chunk,) = list(read_lines(path, gz=False))
    assert chunk.items == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
    assert chunk.locations == [1, 4, 5]
    gz = tmp_path / "t.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert list(read_lines(gz, gz=True)) == [chunk]


def test_truncated_gzip_names_the_line_it_could_not_read(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b'{"text":"%d"}\n' % i for i in range(5000)))
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    lines_read = 0
    with pytest.raises(InputError) as caught:
        for chunk in read_lines(path, gz=True):
            lines_read = chunk.locations[-1]
    assert caught.value.line is not None and caught.value.line > lines_read
    assert "cannot read: Compressed file ended before the end-of-stream marker" in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=40),
    final_newline=st.booleans(),
    target=st.integers(min_value=1, max_value=64),
)
def test_byte_ranges_split_at_line_ends_and_cover_the_file(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], final_newline: bool, target: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("ranges") / "t.jsonl"
    path.write_bytes(data)
    ranges = list(byte_ranges(path, target))
    starts, ends = [s for s, _ in ranges], [e for _, e in ranges]
    assert starts == ([0, *ends[:-1]] if ranges else [])
    assert (ends[-1] if ranges else 0) == len(data)
    assert all(data[e - 1 : e] == b"\n" for _, e in ranges[:-1])
    pieces = [split_range(data[s:e], at_file_start=s == 0) for s, e in ranges]
    assert [line for piece in pieces for line in piece] == split_range(data, at_file_start=True)


# -- CSV ----------------------------------------------------------------------------------------
def test_csv_cells_are_strings_and_lines_are_where_rows_end(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b'\xef\xbb\xbftext,n\r\n"two\r\nlines",1\r\n\r\nplain,2\r\n')
    (chunk,) = list(read_csv(path))
    assert chunk.items == [{"text": "two\r\nlines", "n": "1"}, {"text": "plain", "n": "2"}]
    assert chunk.locations == [3, 5]


def test_csv_bare_quote_inside_an_unquoted_field_is_kept_as_text(tmp_path: Path) -> None:
    """Decided and documented (docs/verify-without-provledger.md): provledger reads CSV as
    Python's csv module does with strict=True. A quote inside an unquoted field is a
    literal character (RFC 4180 would refuse it); a quoted field must close cleanly."""
    path = tmp_path / "t.csv"
    path.write_bytes(b'text,n\nsay "hi" now,1\n5" screen,2\n')
    (chunk,) = list(read_csv(path))
    assert chunk.items == [{"text": 'say "hi" now', "n": "1"}, {"text": '5" screen', "n": "2"}]
    with Ledger.init(tmp_path / "home") as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        result = led.register(path, dataset="d", source="scraped")
        proof = led.prove(
            result.batch_id, hashlib.sha256(rfc8785.dumps(chunk.items[0])).hexdigest()
        )
    assert proof.leaf_index == 0
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'text,n\n"closed"then more,1\n')
    with pytest.raises(InputError) as err:
        list(read_csv(bad))
    assert str(err.value) == f"{bad}, line 2: malformed CSV: ',' expected after '\"'"


# -- file types ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("A.JSONL.GZ", "jsonl.gz"),
        ("a.ndjson.gz", "jsonl.gz"),
        ("a.csv", "csv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
    ],
)
def test_format_from_the_file_name(name: str, fmt: str) -> None:
    assert detect_format(Path(name)) == fmt


@pytest.mark.parametrize("name", ["a.txt", "jsonl", "a.json.gz", "a.tsv"])
def test_unknown_file_types_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="unknown file type"):
        detect_format(Path(name))
