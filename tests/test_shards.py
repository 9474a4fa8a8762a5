"""Hash shards (``register --shards DIR``): a batch's per-record hashes written as Parquet
files outside the ledger file, listed with their SHA-256, row range and subtree root in the
signed entry, and read by every command through the ``records`` view.

The same 3,000 records are registered into one ledger's file and into another ledger's
shards (1,024 records a shard: three files of 1,024, 1,024 and 952 rows); the Merkle
root, the audit, lineage, export and inclusion proofs agree, and so do they after the same
erasure. Figures counted by hand: 13 subjects (``User-{i % 13}``), so subject 3 holds the
records i = 3, 16, ..., 2993: 231 of them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import shutil
import signal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785

from provledger import interrupts, verify
from provledger.errors import InputError, IntegrityError, ShardError
from provledger.ingest import parquet_ranges
from provledger.ingest import register as ingest
from provledger.ingest.limits import DEFAULT_LIMITS
from provledger.ingest.register import BatchSpec
from provledger.ingest.shard_writer import ShardWriter
from provledger.ingest.staging import STAGING_DIR
from provledger.ledger import Ledger
from provledger.storage.shards import check_shard_files
from tests.test_arrow_hashing import CONSENT, FP, records, rfc9162_root, sha256

N = 3000
SUBJECT = "User-3@Example.com"
SUBJECT_RECORDS = len(range(3, N, 13))


def register(home: Path, data: Path, shards: Path | None) -> dict[str, Any]:
    with Ledger.open(home) as led:
        rows = None if shards is None else 1024
        return led.register(data, dataset="d", shards=shards, shard_rows=rows, **FP).as_dict()


def answers(home: Path, data: Path, export: Path) -> dict[str, Any]:
    """What the read commands say about the batch: audit figures, lineage of a subject and
    of a record, the export manifest, an inclusion proof."""
    with Ledger.open(home) as led:
        audit = led.audit("d").as_dict()
        for volatile in ("as_of", "checked", "generated_at"):
            audit.pop(volatile, None)
        subject = led.lineage(subject=SUBJECT).as_dict()
        record_hash = sha256(rfc8785.dumps(records(N)[16])).hex()
        record = led.lineage(record=record_hash).as_dict()
        led.export("d", export)
        proof = led.prove("b4", record_hash)
        checked = led.check(data, "d").as_dict()
    for found in (subject, record):
        for erasure in found.get("erasures", []):
            erasure.pop("recorded_at", None)  # when each ledger recorded it
    return {
        "audit": audit,
        "subject": subject,
        "record": record,
        "export": pq.read_table(export).to_pylist(),
        "proof": (proof.leaf_index, proof.tree_size, proof.path, proof.root),
        "check": {k: v for k, v in checked.items() if k != "file"},
    }


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(records(N)), path, row_group_size=700)
    return path


@pytest.fixture
def two(tmp_path: Path, data: Path) -> tuple[Path, Path, Path]:
    """(a ledger of the batch in its file, one of the batch in shards, the shard folder)."""
    in_file, in_shards, folder = tmp_path / "file", tmp_path / "sharded", tmp_path / "shards"
    with Ledger.init(in_file) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        led.add_consent(CONSENT)
    shutil.copytree(in_file, in_shards)  # the same keys: the same subject hashes
    a = register(in_file, data, None)
    b = register(in_shards, data, folder)
    assert a["merkle_root"] == b["merkle_root"]
    assert a["merkle_root"] == rfc9162_root([sha256(rfc8785.dumps(r)) for r in records(N)]).hex()
    return in_file, in_shards, folder


def shard_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet"))


def test_shards_hold_the_records_and_are_listed_in_the_signed_entry(
    two: tuple[Path, Path, Path],
) -> None:
    _, home, folder = two
    files = shard_files(folder)
    assert [pq.read_metadata(f).num_rows for f in files] == [1024, 1024, 952]
    with Ledger.open(home, read_only=True) as led:
        assert led.store.row("SELECT count(*) FROM records") == (N,)  # through the view
        db = led.store.row("SELECT current_database()")
        assert db is not None
        table = led.store.row(f'SELECT count(*) FROM "{db[0]}".main.records')
        assert table == (0,)  # nothing in the ledger file itself
        (entry,) = [e for e in led.store.entries() if e.kind == "batch-registered"]
    listed = entry.payload["shards"]
    assert listed["dir"] == str(folder.resolve()) and listed["rows"] == 1024
    assert [(s["file"], s["first"], s["rows"], s["bytes"]) for s in listed["files"]] == [
        (f.name, first, rows, f.stat().st_size)
        for f, first, rows in zip(files, (0, 1024, 2048), (1024, 1024, 952), strict=True)
    ]
    hashes = [sha256(rfc8785.dumps(r)) for r in records(N)]
    assert [s["root"] for s in listed["files"]] == [
        rfc9162_root(hashes[a : a + 1024]).hex() for a in (0, 1024, 2048)
    ]


def test_file_and_shards_give_the_same_answers(
    two: tuple[Path, Path, Path], data: Path, tmp_path: Path
) -> None:
    in_file, in_shards, _ = two
    a = answers(in_file, data, tmp_path / "a.parquet")
    b = answers(in_shards, data, tmp_path / "b.parquet")
    assert a == b
    assert a["audit"]["records"] == N
    assert len(a["subject"]["records"]) == SUBJECT_RECORDS
    assert [x["records"] for x in a["subject"]["batches"]] == [SUBJECT_RECORDS]
    assert len(a["export"]) == N
    for home in (in_file, in_shards):
        with Ledger.open(home, read_only=True) as led:
            assert led.verify().ok


def test_erasure_reaches_records_in_shards(
    two: tuple[Path, Path, Path], data: Path, tmp_path: Path
) -> None:
    in_file, in_shards, _ = two
    for home in (in_file, in_shards):
        with Ledger.open(home) as led:
            erasure = led.erase(SUBJECT, "req-1")
            assert erasure.as_dict()["records"] == SUBJECT_RECORDS
    a = answers(in_file, data, tmp_path / "a.parquet")
    b = answers(in_shards, data, tmp_path / "b.parquet")
    assert a == b
    assert a["subject"]["erased"] is True
    assert a["audit"]["records"] == N - SUBJECT_RECORDS
    assert a["audit"]["erasure"]["erased_records"] == SUBJECT_RECORDS
    assert len(a["export"]) == N - SUBJECT_RECORDS
    assert a["check"]["erased_records"] == SUBJECT_RECORDS
    with Ledger.open(in_shards, read_only=True) as led:
        assert led.verify().ok


def _edit(files: list[Path]) -> Path:
    data = bytearray(files[1].read_bytes())
    data[200] ^= 0x01  # inside the first data page: same size, another digest
    files[1].write_bytes(bytes(data))
    return files[1]


def _remove(files: list[Path]) -> Path:
    files[2].unlink()
    return files[2]


def _swap(files: list[Path]) -> Path:
    first, second = files[0].read_bytes(), files[1].read_bytes()
    assert len(first) == len(second)  # full shards of fixed-width columns: same size
    files[0].write_bytes(second)
    files[1].write_bytes(first)
    return files[0]


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (_edit, "has changed (its SHA-256 differs from its entry's)"),
        (_remove, "is missing"),
        (_swap, "has changed (its SHA-256 differs from its entry's)"),
    ],
    ids=["edited", "missing", "swapped"],
)
def test_verify_names_a_tampered_shard(
    two: tuple[Path, Path, Path],
    cli,  # type: ignore[no-untyped-def]
    tamper: Any,
    problem: str,
) -> None:
    _, home, folder = two
    bad = tamper(shard_files(folder))
    result = cli("verify", "--home", str(home), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["first_bad_seq"] == 4
    assert report["problem"] == f"batch b4: shard {bad} {problem}"


def test_a_read_refuses_a_missing_or_resized_shard(
    two: tuple[Path, Path, Path],
    cli,  # type: ignore[no-untyped-def]
) -> None:
    _, home, folder = two
    files = shard_files(folder)
    files[1].write_bytes(files[1].read_bytes() + b"x")
    result = cli("lineage", "--subject", SUBJECT, "--home", str(home))
    assert result.exit_code == 1
    size = files[1].stat().st_size
    assert result.stderr == (
        f"Error: batch b4: shard {files[1]} has changed ({size} bytes, its entry says "
        f"{size - 1}); run 'provledger verify'\n"
    )
    files[1].unlink()
    with pytest.raises(ShardError) as err:
        Ledger.open(home, read_only=True)
    assert str(err.value) == f"batch b4: shard {files[1]} is missing; run 'provledger verify'"


def test_bad_input_leaves_no_shard_and_no_batch(home: Path, tmp_path: Path) -> None:
    rows = records(N)
    rows[2500]["text"] = None
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    folder = tmp_path / "shards"
    with Ledger.init(home) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        before = led.store.entry_count()
        with pytest.raises(InputError) as err:
            led.register(path, dataset="d", source="scraped", shards=folder, shard_rows=1024)
        assert led.store.entry_count() == before
    assert str(err.value) == f"{path}, line 2501, field 'text': text field is missing"
    assert shard_files(folder) == []  # the two shards written before the bad row: removed


def test_shard_rows_must_be_a_power_of_two(
    home: Path,
    data: Path,
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    with Ledger.init(home) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
    base = ["register", str(data), "--dataset", "d", "--source", "scraped"]
    result = cli(*base, "--shards", str(tmp_path / "s"), "--shard-rows", "1000")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: field 'shard_rows': --shard-rows must be a power of two from 1024 to 2**30, "
        "got 1000\n"
    )
    result = cli(*base, "--shard-rows", "1024")
    assert result.exit_code == 1
    assert result.stderr == "Error: field 'shard_rows': --shard-rows needs --shards DIR\n"
    with Ledger.open(home, read_only=True) as led:
        assert led.store.row("SELECT count(*) FROM batches") == (0,)
    assert not os.path.exists(tmp_path / "s") or shard_files(tmp_path / "s") == []


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small inputs hashed by worker processes: Parquet in row ranges of 300 (row groups
    of 700: ranges of 300, 300 and 100), JSONL in byte ranges of about 16 KiB."""
    monkeypatch.setattr(parquet_ranges, "PARALLEL_MIN_ROWS", 2000)
    monkeypatch.setattr(parquet_ranges, "RANGE_ROWS", 300)
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(ingest, "RANGE_BYTES", 16 << 10)


def jsonl_with_blank_lines(path: Path) -> Path:
    """The N records as JSONL, with an empty line after every 97th record and a line of
    spaces and a tab after every 211th: blank lines count as no record."""
    lines = []
    for i, row in enumerate(records(N)):
        lines.append(json.dumps(row, ensure_ascii=False))
        if i % 97 == 0:
            lines.append("")
        if i % 211 == 0:
            lines.append("   \t")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def two_ways(tmp_path: Path, data: Path) -> tuple[Path, Path, Path]:
    """(the batch registered into a ledger file, the same into worker-written shards, the
    shard folder); both ledgers share keys, so subject hashes agree."""
    in_file, in_shards, folder = tmp_path / "file", tmp_path / "sharded", tmp_path / "shards"
    with Ledger.init(in_file) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        led.add_consent(CONSENT)
    shutil.copytree(in_file, in_shards)
    register(in_file, data, None)
    register(in_shards, data, folder)
    return in_file, in_shards, folder


def digest_of_shards(files: list[Path], column: str) -> str:
    """SHA-256 over each shard's SHA-256 of its ``column`` hashes, in shard order."""
    outer = hashlib.sha256()
    for f in files:
        outer.update(hashlib.sha256(b"".join(pq.read_table(f).column(column).to_pylist())).digest())
    return outer.hexdigest()


@pytest.mark.parametrize("kind", ["parquet", "jsonl"])
def test_workers_write_their_ranges_as_shards(
    workers: None, data: Path, tmp_path: Path, kind: str
) -> None:
    """Hashed by worker processes (Parquet row ranges; JSONL byte ranges with blank
    lines), each range is written by its worker as one shard. The batch has the Merkle
    root, the record hashes and the audit, lineage, export, proof and check answers of
    the same batch in a ledger file; the entry lists each range's rows, its own root and
    its compact range, and signs digests over the shards' content and subject digests."""
    source = data if kind == "parquet" else jsonl_with_blank_lines(tmp_path / "t.jsonl")
    in_file, in_shards, folder = two_ways(tmp_path, source)
    a = answers(in_file, source, tmp_path / "a.parquet")
    b = answers(in_shards, source, tmp_path / "b.parquet")
    assert a == b
    assert a["audit"]["records"] == N
    assert len(a["subject"]["records"]) == SUBJECT_RECORDS
    hashes = [sha256(rfc8785.dumps(r)) for r in records(N)]
    with Ledger.open(in_file, read_only=True) as led:
        (plain,) = [e.payload for e in led.store.entries() if e.kind == "batch-registered"]
    with Ledger.open(in_shards, read_only=True) as led:
        (entry,) = [e.payload for e in led.store.entries() if e.kind == "batch-registered"]
        assert led.verify().ok
        db = led.store.row("SELECT current_database()")
        assert db is not None
        assert led.store.row(f'SELECT count(*) FROM "{db[0]}".main.records') == (0,)
    assert entry["merkle_root"] == plain["merkle_root"] == rfc9162_root(hashes).hex()
    listed = entry["shards"]
    assert listed["layout"] == "ranges" and "rows" not in listed
    files = [folder / s["file"] for s in listed["files"]]
    assert sorted(files) == shard_files(folder)
    if kind == "parquet":  # 4 row groups of 700 (300 + 300 + 100) and one of 200
        assert [s["rows"] for s in listed["files"]] == [300, 300, 100] * 4 + [200]
    else:
        assert len(files) > 3
    first = 0
    for s, f in zip(listed["files"], files, strict=True):
        table = pq.read_table(f)
        assert s["first"] == first and s["rows"] == table.num_rows
        assert table.column("ord").to_pylist() == list(range(first, first + s["rows"]))
        assert table.column("record_hash").to_pylist() == hashes[first : first + s["rows"]]
        assert s["root"] == rfc9162_root(hashes[first : first + s["rows"]]).hex()
        assert s["bytes"] == f.stat().st_size
        assert s["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
        first += s["rows"]
    assert first == N
    assert entry["content_digest"] == digest_of_shards(files, "content_hash")
    assert entry["subject_digest"] == digest_of_shards(files, "subject_hash")


def test_erasure_reaches_records_in_worker_written_shards(
    workers: None, data: Path, tmp_path: Path
) -> None:
    """The same erasure in the ledger file and in worker-written shards: the same
    figures (231 records of the subject counted by hand), and both still verify."""
    in_file, in_shards, _ = two_ways(tmp_path, data)
    for home in (in_file, in_shards):
        with Ledger.open(home) as led:
            assert led.erase(SUBJECT, "req-1").as_dict()["records"] == SUBJECT_RECORDS
    a = answers(in_file, data, tmp_path / "a.parquet")
    b = answers(in_shards, data, tmp_path / "b.parquet")
    assert a == b
    assert a["audit"]["records"] == N - SUBJECT_RECORDS
    assert len(a["export"]) == N - SUBJECT_RECORDS
    with Ledger.open(in_shards, read_only=True) as led:
        assert led.verify().ok


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("root", "batch b4: shard {file}'s records do not match its root"),
        ("content", "batch b4: its shards' content digests do not match its entry"),
        ("nodes", "batch b4: its shards' roots do not combine to its Merkle root"),
    ],
)
def test_verify_checks_each_worker_shards_signed_fields(
    workers: None, data: Path, tmp_path: Path, field: str, problem: str
) -> None:
    """verify recomputes what a worker-written shard's entry says beyond its file digest:
    its own root, its content digest (the batch's digest is over the shards'), its
    compact range. The checks run on the entry payloads; one field of the second shard changed in
    them (as a forged entry would) is named."""
    _, home, _ = two_ways(tmp_path, data)
    with Ledger.open(home, read_only=True, verifying=True) as led:
        batches = {
            e.seq: copy.deepcopy(e.payload)
            for e in led.store.entries()
            if e.kind == "batch-registered"
        }
        assert verify._check_batches(led.store, batches) == N
        check_shard_files(batches)
        shard = batches[4]["shards"]["files"][1]
        if field == "root":
            shard["root"] = shard["root"][::-1]
        elif field == "content":
            shard["content"] = "00" * 32
        else:
            shard["nodes"][0][1] = "00" * 32
        with pytest.raises(IntegrityError) as err:
            if field == "nodes":
                check_shard_files(batches)
            else:
                verify._check_batches(led.store, batches)
    assert str(err.value).startswith(problem.format(file=shard["file"]))


def test_the_registering_process_receives_no_record_hash(
    workers: None, data: Path, tmp_path: Path
) -> None:
    """What the workers hand back to the registering process for a sharded registration
    (the objects the pool unpickles there) holds none of the batch's record or content
    hashes, and of its Merkle leaves only the compact range's single-leaf nodes at a
    range's edges (at most two a range); it stays under 2 KiB a range whatever the range's
    length (sketches off: with them each record's band keys come back too)."""
    source = jsonl_with_blank_lines(tmp_path / "t.jsonl")
    hashes = {sha256(rfc8785.dumps(r)) for r in records(N)}
    leaves = {sha256(b"\x00" + h) for h in hashes}
    spec = BatchSpec(dataset="d", source="scraped", sketches=False)
    for path, fmt in ((data, "parquet"), (source, "jsonl")):
        folder = tmp_path / f"s-{fmt}"
        writer = ShardWriter(folder)
        chunks = ingest._hashed_chunks(
            path, fmt, spec, None, None, DEFAULT_LIMITS, "local", writer.target
        )
        received = [pickle.dumps(c) for c in chunks]
        contents = {
            c
            for f in shard_files(folder)
            for c in pq.read_table(f).column("content_hash").to_pylist()
        }
        assert len(received) == len(shard_files(folder)) > 3
        for blob in received:
            assert len(blob) < 2048
            assert not any(h in blob for h in hashes | contents)
            assert sum(leaf in blob for leaf in leaves) <= 2
        writer.discard()
        assert shard_files(folder) == []


@pytest.mark.parametrize("kind", ["parquet", "jsonl"])
def test_bad_input_in_one_range_removes_every_workers_shard(
    workers: None, home: Path, tmp_path: Path, kind: str
) -> None:
    """A bad record in the middle range: the shards the other workers wrote (before and
    after it) are all removed and the ledger is unchanged."""
    rows = records(N)
    rows[1500]["text"] = None
    path = tmp_path / f"bad.{kind}"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=700)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    folder = tmp_path / "shards"
    with Ledger.init(home) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        before = led.store.entry_count()
        with pytest.raises(InputError) as err:
            led.register(path, dataset="d", source="scraped", shards=folder)
        assert led.store.entry_count() == before
        assert led.store.row("SELECT count(*) FROM records") == (0,)
    assert str(err.value) == f"{path}, line 1501, field 'text': text field is missing"
    assert shard_files(folder) == []


def test_an_interruption_removes_every_workers_shard(
    workers: None, home: Path, data: Path, tmp_path: Path
) -> None:
    """Ctrl-C once the first range is back (the other workers are writing theirs): no
    shard is left, no staging file, and the ledger is as it was."""
    folder = tmp_path / "shards"

    def progress(done: int, total: int | None) -> None:
        assert shard_files(folder)  # a worker's shard is on disk by now
        raise interrupts.Interrupted(signal.SIGINT)

    with Ledger.init(home) as led:
        led.create_dataset("d", owner="o", context="internal", uses=["train"])
        before = led.store.entry_count()
        with pytest.raises(interrupts.Interrupted):
            led.register(data, dataset="d", source="scraped", shards=folder, progress=progress)
    assert shard_files(folder) == []
    assert not (home / STAGING_DIR).exists()
    with Ledger.open(home, read_only=True) as led:
        assert led.store.entry_count() == before
        assert led.verify().ok
