"""Bounds (issue 11 point 8): line and input size limits with one-line errors naming file
and line, running out of memory as an error not a traceback, Parquet duplicate names
refused, ``checkpoint --output`` atomic and recording nothing when it cannot write, and
``erase --receipt`` saying the erasure was committed when the receipt cannot be written.
Every refusal leaves the ledger as it was."""

from __future__ import annotations

import errno
import gzip
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from provledger import atomic
from provledger.ingest import register as ingest
from provledger.ingest.limits import format_size, parse_size
from provledger.ledger import Ledger

DATASET = "limits"


@pytest.fixture
def led(home: Path) -> Any:
    with Ledger.init(home) as led:
        led.create_dataset(DATASET, owner="qa", context="internal", uses=["train"])
    return home


def _counts(home: Path) -> tuple[int, int, int]:
    with Ledger.open(home, read_only=True) as led:
        row = led.store.row(
            "SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM batches), "
            "(SELECT count(*) FROM records)"
        )
    assert row is not None
    return row


def _line(text: str) -> bytes:
    return json.dumps({"text": text}).encode() + b"\n"


def _register(cli: Any, path: Path, *flags: str) -> Any:
    return cli("register", str(path), "--dataset", DATASET, "--source", "scraped", *flags)


def test_sizes_parse_and_print() -> None:
    assert parse_size("64MiB", "x") == 64 << 20
    assert parse_size("2 GB", "x") == 2 * 10**9
    assert parse_size("1024", "x") == 1024
    assert format_size(64 << 20) == "64 MiB"
    assert format_size(32 << 30) == "32 GiB"
    assert format_size(1000) == "1000 bytes"


@pytest.mark.parametrize("bad", ["0", "lots", "12 parsecs", "-5MiB", ""])
def test_a_bad_size_flag_is_refused(led: Path, cli: Any, tmp_path: Path, bad: str) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(_line("hello"))
    out = _register(cli, path, "--max-line-size", bad)
    assert out.exit_code == 1
    assert out.stderr == (
        f"Error: field 'max-line-size': '{bad}' is not a size (a positive number of bytes, "
        "or with a unit such as 64MiB or 2GB)\n"
    )


def test_a_long_line_is_refused_naming_file_and_line(led: Path, cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_bytes(_line("short") + _line("x" * 2000) + _line("short too"))
    before = _counts(led)
    out = _register(cli, path, "--max-line-size", "1KiB")
    assert out.exit_code == 1
    assert out.stderr == (
        f"Error: {path}, line 2: line is longer than the limit of 1 KiB "
        "(raise it with --max-line-size)\n"
    )
    assert _counts(led) == before
    # A line of exactly the limit is accepted; the flag raises the limit.
    out = _register(cli, path, "--max-line-size", str(len(_line("x" * 2000)) - 1))
    assert out.exit_code == 0, out.stderr
    # check reads with the same limits.
    out = cli("check", str(path), "--dataset", DATASET, "--max-line-size", "1KiB")
    assert out.exit_code == 1
    assert out.stderr.startswith(f"Error: {path}, line 2: line is longer than the limit")


def test_gzip_long_line_and_expansion_limits(led: Path, cli: Any, tmp_path: Path) -> None:
    long = tmp_path / "long.jsonl.gz"
    long.write_bytes(gzip.compress(_line("a") + _line("b" * 5000)))
    out = _register(cli, long, "--max-line-size", "4KiB")
    assert out.stderr == (
        f"Error: {long}, line 2: line is longer than the limit of 4 KiB "
        "(raise it with --max-line-size)\n"
    )
    # 200 lines of 1,000 bytes expand past 100 KiB in line 103.
    bomb = tmp_path / "bomb.jsonl.gz"
    bomb.write_bytes(gzip.compress(b"".join(_line(f"{i:03d}" + "z" * 984) for i in range(200))))
    before = _counts(led)
    out = _register(cli, bomb, "--max-input-size", "100KiB")
    assert out.exit_code == 1
    assert out.stderr == (
        f"Error: {bomb}, line 103: decompressed input is larger than the limit of 100 KiB "
        "(raise it with --max-input-size)\n"
    )
    assert _counts(led) == before
    assert _register(cli, bomb).exit_code == 0


def test_long_lines_in_the_worker_path(led: Path, cli: Any, tmp_path: Path) -> None:
    """Files above the worker threshold: a line inside one range (found by a worker) and
    one crossing a range boundary (found before it is read whole) both name their line."""
    filler = _line("f" * 990)  # 1,005 bytes a line
    lines = ingest.PARALLEL_MIN_BYTES // len(filler) + 100
    inside = tmp_path / "inside.jsonl"
    with open(inside, "wb") as fh:
        for i in range(lines):
            fh.write(_line("y" * 1500) if i == 1000 else filler)
    out = _register(cli, inside, "--max-line-size", "1KiB")
    assert out.stderr == (
        f"Error: {inside}, line 1001: line is longer than the limit of 1 KiB "
        "(raise it with --max-line-size)\n"
    )
    crossing = tmp_path / "crossing.jsonl"
    per_range = ingest.RANGE_BYTES // len(filler)
    with open(crossing, "wb") as fh:
        for i in range(lines):
            # Starts just before the first range boundary and runs 3 MiB past it.
            fh.write(_line("w" * (3 << 20)) if i == per_range else filler)
    out = _register(cli, crossing, "--max-line-size", "1MiB")
    assert out.stderr == (
        f"Error: {crossing}, line {per_range + 1}: line is longer than the limit of 1 MiB "
        "(raise it with --max-line-size)\n"
    )
    assert _counts(led)[1] == 0


def test_running_out_of_memory_is_a_one_line_error(
    led: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(_line("hello"))

    def no_memory(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(ingest, "hash_items", no_memory)
    before = _counts(led)
    out = _register(cli, path)
    assert out.exit_code == 1
    assert out.stderr == (
        f"Error: {path}: ran out of memory while reading it; lower the line limit "
        "(--max-line-size) or give the process more memory\n"
    )
    assert _counts(led) == before


def test_parquet_duplicate_names_are_refused(led: Path, cli: Any, tmp_path: Path) -> None:
    columns = tmp_path / "columns.parquet"
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["text", "text"])
    pq.write_table(table, columns)
    nested = tmp_path / "nested.parquet"
    inner = pa.StructArray.from_arrays([pa.array([1]), pa.array([2])], names=["k", "k"])
    pq.write_table(pa.table({"text": ["a"], "meta": inner}), nested)
    keys = tmp_path / "keys.parquet"
    maps = pa.array(
        [[("a", 1)], [("a", 1), ("b", 2)], [("x", 1), ("x", 2)]],
        type=pa.map_(pa.string(), pa.int64()),
    )
    pq.write_table(pa.table({"text": ["r1", "r2", "r3"], "tags": maps}), keys)
    before = _counts(led)
    expected = {
        columns: f"Error: {columns}: duplicate column name 'text'\n",
        nested: f"Error: {nested}: duplicate column name 'meta.k'\n",
        keys: f"Error: {keys}, line 3, field 'tags': duplicate map key 'x'\n",
    }
    for path, message in expected.items():
        out = _register(cli, path)
        assert (out.exit_code, out.stderr) == (1, message)
    assert _counts(led) == before


def test_checkpoint_output_records_nothing_when_it_cannot_write(
    led: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _counts(led)
    missing = tmp_path / "no-such-folder" / "note.txt"
    out = cli("checkpoint", "--output", str(missing))
    assert out.exit_code == 1
    assert out.stderr == (
        f"Error: {missing}: cannot write it: No such file or directory; no checkpoint was "
        "recorded\n"
    )
    assert _counts(led) == before
    # A full disk: the write of the staged note fails.
    target = tmp_path / "note.txt"
    target.write_text("the previous note\n")
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    out = cli("checkpoint", "--output", str(target))
    assert out.exit_code == 1
    assert out.stderr == (
        f"Error: {target}: cannot write it: No space left on device; no checkpoint was recorded\n"
    )
    assert _counts(led) == before
    assert target.read_text() == "the previous note\n"  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "note.txt"]
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    out = cli("checkpoint", "--output", str(target))
    assert out.exit_code == 0, out.stderr
    assert _counts(led)[0] == before[0] + 1
    assert target.read_text().startswith("provledger/")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_checkpoint_output_to_a_read_only_folder(led: Path, cli: Any, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    before = _counts(led)
    out = cli("checkpoint", "--output", str(locked / "note.txt"))
    assert out.exit_code == 1
    assert out.stderr.endswith(": cannot write it: Permission denied; no checkpoint was recorded\n")
    assert _counts(led) == before


def test_a_receipt_that_cannot_be_written_says_the_erasure_was_committed(
    home: Path, cli: Any, tmp_path: Path
) -> None:
    with Ledger.init(home) as led:
        led.add_consent(
            {"policy": "tos", "version": 1, "effective_from": "2025-01-01",
             "permits": ["train"], "retention_days": None, "prior_versions": {}}
        )  # fmt: skip
        led.create_dataset(DATASET, owner="qa", context="internal", uses=["train"])
        data = tmp_path / "t.jsonl"
        data.write_text('{"text": "hi", "uid": "alice"}\n')
        led.register(
            data, dataset=DATASET, source="first_party", consent="tos@1", subject_field="uid"
        )
    bad = tmp_path / "no-such-folder" / "r.json"
    out = cli("erase", "--subject", "alice", "--request", "DSR-1", "--receipt", str(bad))
    assert out.exit_code == 1
    with Ledger.open(home, read_only=True) as led:
        seq = led.store.row("SELECT seq FROM erasures WHERE request_ref = 'DSR-1'")[0]
    assert out.stderr == (
        f"Error: erasure DSR-1 is committed at seq {seq}, but its receipt could not be written "
        f"to {bad}: No such file or directory. Run the same 'provledger erase' command again "
        "with another --receipt path to write it (the erasure is not recorded twice).\n"
    )
    good = tmp_path / "r.json"
    out = cli("erase", "--subject", "alice", "--request", "DSR-1", "--receipt", str(good))
    assert out.exit_code == 0, out.stderr
    assert out.stdout == (
        f"Request DSR-1 was already recorded at seq {seq}; nothing changed.\n"
        f"Receipt written to {good}\n"
    )
    assert cli("verify-receipt", str(good)).exit_code == 0


def test_duckdb_running_out_of_memory_is_a_one_line_error(
    led: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real DuckDB out-of-memory error (a query over a 1 MB limit), raised where verify
    # would run its queries: one line, exit 1, no traceback.
    import duckdb

    def short_of_memory(*args: Any, **kwargs: Any) -> Any:
        con = duckdb.connect(config={"memory_limit": "1MB", "threads": 1})
        con.execute("SELECT list(range) FROM range(10000000) GROUP BY range % 1000").fetchall()

    monkeypatch.setattr(Ledger, "verify", short_of_memory)
    out = cli("verify")
    assert out.exit_code == 1
    # DuckDB's own reason in brackets; then what committed in this process (a console
    # script runs one command a process, so there it says what this command committed).
    assert out.stderr.startswith("Error: out of memory (")
    assert "allocate" in out.stderr  # DuckDB's words: "failed to allocate data of size ..."
    assert out.stderr.count("\n") == 1
