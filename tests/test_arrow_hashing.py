"""The engine contract: ``provledger.ingest.arrow_hashing`` gives, for Arrow records, the
same bytes the local registration path stores (hashes, band keys, n-gram profile), and the
local Parquet path hashes row ranges in worker processes with the same result as reading
the file in one process.

Expected hashes come from a registration of the same file (what the ledger stores) and,
independently, from ``rfc8785`` and a naive recursive RFC 9162 root.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785

from provledger.errors import InputError
from provledger.ingest import arrow_hashing, parquet_ranges
from provledger.ingest.arrow_hashing import (
    HASH_SCHEMA,
    HashConfig,
    fold_range,
    hash_range,
    hash_records,
)
from provledger.ledger import Ledger
from provledger.tlog.merkle import MerkleBuilder
from tests.merkle_reference import rfc9162_root, sha256
from tests.rows import rows as raw_rows

CONSENT = {
    "policy": "tos",
    "version": 1,
    "effective_from": "2026-01-01",
    "permits": ["train"],
    "retention_days": None,
    "prior_versions": {},
}


def records(n: int) -> list[dict[str, object]]:
    return [
        {
            "id": i,
            "uid": f"User-{i % 13}@Example.com",
            "score": i / 4,
            "text": f"Ticket {i}:  the  ÉCRAN is broken " + "x" * (i % 7),
        }
        for i in range(n)
    ]


def parquet_file(path: Path, n: int, row_group_size: int = 700) -> Path:
    pq.write_table(pa.Table.from_pylist(records(n)), path, row_group_size=row_group_size)
    return path


def prepared(home: Path) -> None:
    with Ledger.init(home) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        led.add_consent(CONSENT)


def stored(home: Path, seq: int) -> list[tuple[bytes, bytes, bytes | None]]:
    found = raw_rows(
        home,
        "SELECT record_hash, content_hash, subject_hash FROM records "
        "WHERE batch_seq = ? ORDER BY ord",
        [seq],
    )
    return [(bytes(r[0]), bytes(r[1]), None if r[2] is None else bytes(r[2])) for r in found]


def stored_sketches(home: Path, seq: int) -> tuple[bytes, bytes]:
    """A batch's stored band keys (little-endian uint32, record by record) and profile."""
    bands = raw_rows(
        home,
        "SELECT b0, b1, b2, b3, b4, b5, b6, b7, b8, b9 FROM record_sketches "
        "WHERE batch_seq = ? ORDER BY ord",
        [seq],
    )
    profile = raw_rows(home, "SELECT counts FROM batch_profiles WHERE seq = ?", [seq])
    assert len(profile) == 1
    return b"".join(k.to_bytes(4, "little") for row in bands for k in row), bytes(profile[0][0])


FP = {"source": "first_party", "consent": "tos@1", "subject_field": "uid"}


def test_hash_records_is_what_register_stores(home: Path, tmp_path: Path) -> None:
    prepared(home)
    path = parquet_file(tmp_path / "t.parquet", 1500)
    with Ledger.open(home) as led:
        result = led.register(path, dataset="d", **FP)
        key = led.subject_key
    table = pq.read_table(path)
    config = HashConfig(text_field="text", subject_field="uid", subject_key=key)
    hashes = hash_records(table, config)
    assert hashes.schema == HASH_SCHEMA
    rows = stored(home, result.seq)
    assert [
        (r["record_hash"], r["content_hash"], r["subject_hash"]) for r in hashes.to_pylist()
    ] == rows
    # independently: RFC 8785 record hashes, RFC 9162 leaves, HMAC of the normalised id
    expected = [sha256(rfc8785.dumps(r)) for r in records(1500)]
    assert hashes.column("record_hash").to_pylist() == expected
    assert hashes.column("leaf_hash").to_pylist() == [sha256(b"\x00" + h) for h in expected]
    assert (
        hashes.column("subject_hash")[14].as_py()
        == hmac.new(key, b"user-1@example.com", hashlib.sha256).digest()
    )
    assert rfc9162_root(expected).hex() == result.merkle_root
    # the sketches registration stores: band keys per record, the profile on the first row
    bands, profile = stored_sketches(home, result.seq)
    assert b"".join(hashes.column("bands").to_pylist()) == bands
    assert hashes.column("profile").to_pylist() == [profile] + [None] * 1499
    assert hashes.column("words")[0].as_py() == result.words
    assert hashes.column("text_bytes")[0].as_py() == result.bytes


def test_blocks_add_up_to_the_batch(home: Path, tmp_path: Path) -> None:
    """Hashed in blocks (as engines do), the band keys join and the profiles, bytes and
    words add up to what one registration stores."""
    prepared(home)
    path = parquet_file(tmp_path / "t.parquet", 1500)
    with Ledger.open(home) as led:
        result = led.register(path, dataset="d", source="scraped")
    table = pq.read_table(path)
    blocks = [hash_records(table.slice(a, 500), HashConfig(), a) for a in (0, 500, 1000)]
    merged = arrow_hashing.hashed_from_table(pa.concat_tables(blocks))
    assert (merged.bands, merged.profile) == stored_sketches(home, result.seq)
    assert (merged.text_bytes, merged.words) == (result.bytes, result.words)
    unsketched = hash_records(table.slice(0, 3), HashConfig(sketch=False))
    assert unsketched.column("bands").null_count == 3
    assert unsketched.column("profile").null_count == 3


@pytest.mark.parametrize("cuts", [[0, 1500], [0, 3, 10, 1024, 1500], [0, 511, 512, 1499, 1500]])
def test_ranges_folded_in_order_give_the_registered_root(
    home: Path, tmp_path: Path, cuts: list[int]
) -> None:
    prepared(home)
    path = parquet_file(tmp_path / "t.parquet", 1500)
    with Ledger.open(home) as led:
        result = led.register(path, dataset="d", source="scraped")
    table = pq.read_table(path)
    builder = MerkleBuilder()
    for start, end in itertools.pairwise(cuts):
        part = hash_range(table.slice(start, end - start), HashConfig(), start)
        assert part.table.num_rows == end - start
        fold_range(builder, part)
    assert builder.size == 1500
    assert builder.root().hex() == result.merkle_root


def test_a_range_folded_out_of_order_is_refused() -> None:
    table = pa.Table.from_pylist(records(10))
    later = hash_range(table.slice(5), HashConfig(), 5)
    with pytest.raises(ValueError, match="range starting at record 5 folded at 0"):
        fold_range(MerkleBuilder(), later)


def test_bad_record_is_named_by_its_position_in_the_batch() -> None:
    rows = records(20)
    rows[12]["text"] = None
    table = pa.Table.from_pylist(rows)
    with pytest.raises(InputError) as err:
        hash_records(table.slice(10), HashConfig(), first_index=10)
    assert str(err.value) == "line 13, field 'text': text field is missing"


def test_subject_field_without_key_is_refused() -> None:
    with pytest.raises(ValueError, match="subject_key is required with subject_field"):
        HashConfig(subject_field="uid")


def test_plain_binary_digests_read_back_like_fixed_size() -> None:
    """Spark hands digests back as plain binary; the committing side reads both alike."""
    table = hash_records(pa.Table.from_pylist(records(5)), HashConfig())
    plain = table.cast(
        arrow_hashing.ENGINE_SCHEMA.remove(8).remove(8).remove(8).remove(8).remove(8)
    )
    a = arrow_hashing.hashed_from_table(table)
    b = arrow_hashing.hashed_from_table(plain)
    assert a == b
    assert a.subject_hashes is None and a.count == 5 and a.bands is not None


def test_engine_blocks_number_errors_within_the_batch() -> None:
    """An engine may hand back several blocks' outputs as one table: the error's line
    counts the records of earlier tables and of the rows before it in the same table."""
    rows = records(30)
    rows[24]["text"] = None
    config = HashConfig()
    tables = [
        arrow_hashing.hash_block(pa.Table.from_pylist(rows[a:b]), config)
        for a, b in ((0, 10), (10, 20), (20, 30))
    ]
    assert tables[2].num_rows == 1 and tables[0].schema == arrow_hashing.ENGINE_SCHEMA
    (first,) = arrow_hashing.blocks_back(tables[0], 0, "<ray dataset>")
    assert first == arrow_hashing.hashed_from_table(
        hash_records(pa.Table.from_pylist(rows[:10]), config)
    )
    # two blocks joined in one table come back as two
    joined = pa.concat_tables(tables[:2])
    assert [h.count for h in arrow_hashing.blocks_back(joined, 0, "<ray dataset>")] == [10, 10]
    with pytest.raises(InputError) as err:
        list(arrow_hashing.blocks_back(pa.concat_tables(tables[1:]), 10, "<ray dataset>"))
    assert str(err.value) == "<ray dataset>, line 25, field 'text': text field is missing"


# -- the local Parquet path: row ranges in worker processes ---------------------------------
@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send Parquet files of 2,000+ rows through worker processes in ranges of 300 rows
    (so row groups of 700 are cut into slices that do not start on a group)."""
    monkeypatch.setattr(parquet_ranges, "PARALLEL_MIN_ROWS", 2000)
    monkeypatch.setattr(parquet_ranges, "RANGE_ROWS", 300)


def test_plan_cuts_row_groups_into_ranges(tmp_path: Path, small_ranges: None) -> None:
    path = parquet_file(tmp_path / "t.parquet", 1500)
    assert parquet_ranges.plan_ranges(path) == [
        (0, 0, 300, 0),
        (0, 300, 300, 300),
        (0, 600, 100, 600),
        (1, 0, 300, 700),
        (1, 300, 300, 1000),
        (1, 600, 100, 1300),
        (2, 0, 100, 1400),
    ]


def test_parallel_parquet_matches_one_process(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared(home)
    path = parquet_file(tmp_path / "t.parquet", 5000)
    with Ledger.open(home) as led:
        serial = led.register(pq.read_table(path), dataset="d", **FP)
    serial_sketches = stored_sketches(home, serial.seq)
    calls: list[int] = []
    real = parquet_ranges.hash_parquet_parallel

    def counted(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parquet_ranges, "PARALLEL_MIN_ROWS", 2000)
    monkeypatch.setattr(parquet_ranges, "RANGE_ROWS", 300)
    monkeypatch.setattr(parquet_ranges, "hash_parquet_parallel", counted)
    with Ledger.open(home) as led:
        led.create_dataset("e", owner="o", context="internal", uses=["train"])
        par = led.register(path, dataset="e", **FP)
        assert led.verify().ok
    assert calls == [1]
    assert par.records == serial.records == 5000
    assert par.merkle_root == serial.merkle_root
    assert stored(home, par.seq) == stored(home, serial.seq)
    assert stored_sketches(home, par.seq) == serial_sketches
    assert (par.bytes, par.words) == (serial.bytes, serial.words)
    assert par.merkle_root == rfc9162_root([sha256(rfc8785.dumps(r)) for r in records(5000)]).hex()


def test_parallel_parquet_error_names_file_and_row(
    home: Path, tmp_path: Path, small_ranges: None
) -> None:
    prepared(home)
    rows = records(3000)
    rows[2345]["uid"] = ""
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=700)
    with Ledger.open(home) as led, pytest.raises(InputError) as err:
        led.register(path, dataset="d", **FP)
    assert str(err.value) == f"{path}, line 2346, field 'uid': subject field is missing or empty"
    with Ledger.open(home, read_only=True) as led:
        assert led.store.row("SELECT count(*) FROM batches") == (0,)
