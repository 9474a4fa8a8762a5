"""Reads during long registrations: a large batch is hashed with the ledger
closed, into a staging file, and the writer lock is taken only to commit. A lineage
lookup from another process succeeds while the registration hashes; the staged commit
stores exactly what the in-transaction path stores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785

from provledger import interrupts
from provledger.errors import InputError
from provledger.ingest import register as ingest
from provledger.ingest.staging import STAGING_DIR
from provledger.ledger import Ledger
from tests.cli_process import run_cli
from tests.test_arrow_hashing import FP, prepared, records, sha256, stored, stored_sketches


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(records(3000)), path, row_group_size=1000)
    return path


def lookup_during_hashing(
    home: Path, data: Path, dataset: str
) -> list[subprocess.CompletedProcess[str]]:
    """Register ``data`` to ``dataset`` and, the first time progress is reported (the
    records are being hashed), look up a record already in the ledger from another
    process without waiting for the lock."""
    target = sha256(rfc8785.dumps(records(3000)[0])).hex()
    lookups: list[subprocess.CompletedProcess[str]] = []

    def progress(done: int, total: int | None) -> None:
        if not lookups:
            lookups.append(
                run_cli("lineage", "--record", target, "--json", "--wait", "0", home=home)
            )

    with Ledger.open(home) as led:
        led.register(data, dataset=dataset, source="scraped", progress=progress)
    return lookups


def test_a_lookup_succeeds_while_a_large_registration_hashes(
    home: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared(home)
    with Ledger.open(home) as led:
        first = led.register(data, dataset="d", source="scraped")
        led.create_dataset("e", owner="o", context="internal", uses=["train"])
        led.create_dataset("f", owner="o", context="internal", uses=["train"])
    monkeypatch.setattr(ingest, "RELEASE_MIN_BYTES", 1)  # every input counts as large
    (lookup,) = lookup_during_hashing(home, data, "e")
    assert lookup.returncode == 0, lookup.stderr
    found = json.loads(lookup.stdout)
    assert [r["batch_id"] for r in found["records"]] == [first.batch_id]
    assert [b["batch_id"] for b in found["batches"]] == [first.batch_id]
    # held for the whole run (inputs below the threshold), the same lookup is refused
    monkeypatch.setattr(ingest, "RELEASE_MIN_BYTES", 1 << 62)
    (refused,) = lookup_during_hashing(home, data, "f")
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: ledger busy: another provledger process holds ")
    with Ledger.open(home, read_only=True) as led:
        assert led.verify().ok


def test_staged_commit_stores_what_the_transaction_path_stores(
    home: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared(home)
    with Ledger.open(home) as led:
        direct = led.register(data, dataset="d", **FP)
        led.create_dataset("e", owner="o", context="internal", uses=["train"])
    monkeypatch.setattr(ingest, "RELEASE_MIN_BYTES", 1)
    with Ledger.open(home) as led:
        staged = led.register(data, dataset="e", **FP)
        report = led.verify()
    assert report.ok
    assert (staged.records, staged.merkle_root) == (direct.records, direct.merkle_root)
    assert stored(home, staged.seq) == stored(home, direct.seq)
    assert stored_sketches(home, staged.seq) == stored_sketches(home, direct.seq)
    with Ledger.open(home, read_only=True) as led:
        payloads = {e.seq: e.payload for e in led.store.entries() if e.kind == "batch-registered"}
    for key in ("content_digest", "subject_digest", "merkle_root", "records", "sketch", "profile"):
        assert payloads[staged.seq][key] == payloads[direct.seq][key]
    assert not (home / STAGING_DIR).exists()


def test_bad_input_while_staged_changes_nothing_and_leaves_no_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared(home)
    rows = records(3000)
    rows[2500]["text"] = None
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1000)
    monkeypatch.setattr(ingest, "RELEASE_MIN_BYTES", 1)
    with Ledger.open(home) as led:
        before = led.store.entry_count()
        with pytest.raises(InputError) as err:
            led.register(path, dataset="d", source="scraped")
        assert led.store.entry_count() == before  # reopened after the failed hashing
    assert str(err.value) == f"{path}, line 2501, field 'text': text field is missing"
    assert not (home / STAGING_DIR).exists()


def test_a_staging_file_left_by_a_killed_process_is_removed(
    home: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared(home)
    (home / STAGING_DIR).mkdir()
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process has this id
    stale = home / STAGING_DIR / f"{gone}.abc.arrow"
    stale.write_bytes(b"left over")
    mine = home / STAGING_DIR / f"{os.getppid()}.abc.arrow"  # a live process's: kept
    mine.write_bytes(b"in use")
    monkeypatch.setattr(ingest, "RELEASE_MIN_BYTES", 1)
    with Ledger.open(home) as led:
        led.register(data, dataset="d", source="scraped")
    assert not stale.exists()
    assert mine.read_bytes() == b"in use"


def test_an_interruption_while_staged_hashing_changes_nothing(
    home: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the ledger is released: the registration ends at once with the ledger
    closed and untouched, no staging file left, and the next open works."""
    prepared(home)
    monkeypatch.setattr(ingest, "RELEASE_MIN_BYTES", 1)

    def progress(done: int, total: int | None) -> None:
        raise interrupts.Interrupted(signal.SIGINT)

    with Ledger.open(home) as led:
        before = led.store.entry_count()
        with pytest.raises(interrupts.Interrupted):
            led.register(data, dataset="d", source="scraped", progress=progress)
    assert not (home / STAGING_DIR).exists()
    with Ledger.open(home, read_only=True) as led:
        assert led.store.entry_count() == before
        assert led.verify().ok
