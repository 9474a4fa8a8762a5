"""Concurrent writers and readers on one ledger home.

DuckDB lets one process write a database file; readers take a shared lock, so a reader and
a writer never overlap either. Every provledger command waits up to ``--wait`` seconds for
the lock and then fails with "ledger busy". Promises checked (docs/reliability.md):
- each registration either succeeds or fails with the "ledger busy" message, exit 1;
- afterwards batches == successes, the chain has no fork and no gap, ``verify`` passes;
- readers running meanwhile always see a whole, verifying ledger that only grows, and
  hold up a writer only while their own command runs.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_process import new_ledger, raw_counts, run_cli, write_jsonl

from provledger.ledger import DB_FILE, Ledger

DATASET = "concurrent"
SETUP_ENTRIES = 2  # ledger-created, dataset-created

# One writer or reader process driving the real CLI code in-process (typer's CliRunner),
# so one process makes many registrations without paying start-up for each. Prints
# "ready", waits for the go file, then one JSON line per command it ran.
_DRIVER = r"""
import json, os, sys, time
from pathlib import Path
from typer.testing import CliRunner
from provledger.cli.main import app
import provledger.ingest.register, provledger.ledger  # import before the race
import provledger.registry.operations, provledger.verify

role, home, wait, go, *rest = sys.argv[1:]
runner = CliRunner()

def run(args):
    began = time.monotonic()
    result = runner.invoke(app, [*args, "--home", home])
    crash = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = repr(result.exception)
    print(json.dumps({"args": args, "code": result.exit_code, "stdout": result.stdout,
                      "stderr": result.stderr, "crash": crash, "began": began,
                      "seconds": time.monotonic() - began}), flush=True)

print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.002)
if role == "writer":
    pause, *files = rest
    for i, path in enumerate(files):
        run(["register", path, "--dataset", "concurrent", "--source", "scraped",
             "--wait", wait, "--json"])
        if i == 0 and pause != "-":
            Path(f"{pause}.{os.getpid()}").touch()  # tell the test the first attempt is made
            while not Path(pause).exists():
                time.sleep(0.002)
else:
    stop = Path(rest[0])
    i = 0
    while not stop.exists():
        run(["verify", "--json", "--wait", wait] if i % 2 == 0 else
            ["log", "--json", "--wait", wait])
        i += 1
"""


def _busy_message(home: Path, wait: float) -> str:
    return (
        f"Error: ledger busy: another provledger process holds {home / DB_FILE} "
        f"(waited {wait:g} s; raise --wait to wait longer)\n"
    )


def _files(folder: Path, writers: int, each: int) -> list[list[Path]]:
    """Small files of distinct content, so no registration is refused as a duplicate."""
    folder.mkdir(exist_ok=True)
    return [
        [
            write_jsonl(
                folder / f"w{w}-{i}.jsonl",
                ({"id": j, "text": f"writer {w} file {i} record {j}"} for j in range(20)),
            )
            for i in range(each)
        ]
        for w in range(writers)
    ]


@dataclass
class Outcome:
    writes: list[dict[str, Any]]
    reads: list[dict[str, Any]]


@contextmanager
def _drivers(
    home: Path,
    tmp_path: Path,
    files: list[list[Path]],
    wait: float,
    *,
    pause: bool = False,
    reader: bool = True,
) -> Iterator[Outcome]:
    """Start one writer process per file list (and a reader process), all started at
    once when the block is entered; on leaving, wait for the writers and stop the reader.
    With ``pause``, each writer makes its first attempt, then waits for ``tmp_path/go2``."""
    go, stop, go2 = tmp_path / "go", tmp_path / "stop", tmp_path / "go2"
    procs = []
    for batch in files:
        args = ["writer", str(home), str(wait), str(go), str(go2) if pause else "-"]
        procs.append(_spawn([*args, *map(str, batch)]))
    readers = [_spawn(["reader", str(home), "30", str(go), str(stop)])] if reader else []
    for proc in [*procs, *readers]:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n", proc.stderr.read() if proc.stderr else ""
    outcome = Outcome([], [])
    go.touch()
    try:
        yield outcome
    finally:
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            outcome.writes += [json.loads(line) for line in out.splitlines()]
        stop.touch()
        for proc in readers:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outcome.reads += [json.loads(line) for line in out.splitlines()]


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _DRIVER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_ledger_after(home: Path, writes: list[dict[str, Any]], busy_message: str) -> int:
    """Every write succeeded or was refused as busy; the ledger holds exactly the
    successes, as one unforked, gapless, verifying chain. Returns the successes."""
    succeeded = []
    for write in writes:
        assert write["crash"] is None, write
        if write["code"] == 0:
            succeeded.append(json.loads(write["stdout"]))
        else:
            assert (write["code"], write["stderr"], write["stdout"]) == (1, busy_message, ""), write
    counts = raw_counts(home)
    assert counts["batches"] == len(succeeded)
    assert counts["entries"] == SETUP_ENTRIES + len(succeeded)
    # No fork: no two successes were told the same seq; no gap: they fill 3..n.
    seqs = sorted(r["seq"] for r in succeeded)
    assert seqs == list(range(SETUP_ENTRIES + 1, SETUP_ENTRIES + 1 + len(succeeded)))
    with Ledger.open(home, read_only=True) as led:
        assert sorted(r[0] for r in led.store.rows("SELECT batch_id FROM batches")) == sorted(
            r["batch_id"] for r in succeeded
        )
        report = led.verify()
        assert report.ok, report.problem
        entries = led.entries()
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    return len(succeeded)


def _check_reads(reads: list[dict[str, Any]]) -> None:
    """Every read saw a whole ledger that verifies, with a gapless chain, never shrinking."""
    assert reads, "the reader never ran"
    seen = 0
    for read in reads:
        assert read["crash"] is None, read
        assert read["code"] == 0, read
        document = json.loads(read["stdout"])
        if read["args"][0] == "verify":
            assert document["ok"] is True, document
            size = document["entries"]
        else:
            assert [e["seq"] for e in document] == list(range(1, len(document) + 1))
            for before, after in itertools.pairwise(document):
                assert after["prev_hash"] == before["entry_hash"]
            size = len(document)
        assert size >= seen, "a reader saw the ledger shrink"
        seen = size


SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    ("writers", "each"), [(4, 5), pytest.param(4, 10, marks=SLOW), pytest.param(8, 10, marks=SLOW)]
)
def test_writers_started_at_once_with_a_reader(
    home: Path, tmp_path: Path, writers: int, each: int
) -> None:
    new_ledger(home, [DATASET])
    files = _files(tmp_path / "files", writers, each)

    with _drivers(home, tmp_path, files, wait=60) as outcome:
        pass

    assert len(outcome.writes) == writers * each
    successes = _check_ledger_after(home, outcome.writes, _busy_message(home, 60))
    assert successes == writers * each
    _check_reads(outcome.reads)
    print(
        f"{successes} registrations from {writers} processes held; "
        f"{len(outcome.reads)} reads meanwhile"
    )


def test_no_wait_gives_ledger_busy_and_changes_nothing(home: Path, tmp_path: Path) -> None:
    new_ledger(home, [DATASET])
    files = _files(tmp_path / "files", writers=4, each=2)

    # Hold the write lock while every writer makes its first attempt with --wait 0.
    holder: Ledger | None = Ledger.open(home)
    try:
        with _drivers(home, tmp_path, files, wait=0, pause=True, reader=False) as outcome:
            deadline = time.monotonic() + 60
            while len(list(tmp_path.glob("go2.*"))) < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert holder is not None
            holder.close()
            holder = None
            (tmp_path / "go2").touch()
    finally:
        if holder is not None:
            holder.close()

    busy = sum(1 for w in outcome.writes if w["code"] != 0)
    successes = _check_ledger_after(home, outcome.writes, _busy_message(home, 0))
    assert busy >= 4
    assert successes + busy == 8
    print(f"--wait 0: {successes} registrations held, {busy} refused as busy")


def _background(args: list[str], home: Path) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def go() -> None:
        result["done"] = run_cli(*args, home=home)
        result["at"] = time.monotonic()

    thread = threading.Thread(target=go)
    thread.start()
    return thread, result


def test_a_reader_holds_up_a_writer_only_while_it_runs(home: Path, tmp_path: Path) -> None:
    new_ledger(home, [DATASET])
    path = write_jsonl(tmp_path / "one.jsonl", [{"text": "one"}])
    reader = Ledger.open(home, read_only=True)  # a reader in the middle of its query
    try:
        thread, result = _background(
            ["register", str(path), "--dataset", DATASET, "--source", "scraped", "--wait", "30"],
            home,
        )
        time.sleep(1.0)
        assert thread.is_alive(), "the writer got in while a reader held the ledger"
    finally:
        reader.close()
    released = time.monotonic()
    thread.join(60)
    assert result["done"].returncode == 0, result["done"].stderr
    assert result["at"] - released < 5, "the writer waited on after the reader finished"


def test_ledger_busy_and_waiting_through_the_console_script(home: Path, tmp_path: Path) -> None:
    new_ledger(home, [DATASET])
    path = write_jsonl(tmp_path / "one.jsonl", [{"text": "one"}])
    writer: Ledger | None = Ledger.open(home)  # a writer in the middle of a registration
    try:
        waiting, result = _background(["verify", "--wait", "30"], home)
        done = run_cli(
            "register", str(path), "--dataset", DATASET, "--source", "scraped", "--wait", "0.3",
            home=home,
        )  # fmt: skip
        read = run_cli("verify", "--wait", "0.2", home=home)
        assert waiting.is_alive(), "a reader got in while a writer held the ledger"
    finally:
        assert writer is not None
        writer.close()
        writer = None
    released = time.monotonic()
    assert (done.returncode, done.stdout, done.stderr) == (1, "", _busy_message(home, 0.3))
    assert (read.returncode, read.stdout, read.stderr) == (1, "", _busy_message(home, 0.2))
    waiting.join(60)
    assert result["done"].returncode == 0, result["done"].stderr
    assert result["at"] - released < 5, "the reader waited on after the writer finished"
    assert raw_counts(home)["entries"] == SETUP_ENTRIES


# -- the same with real console-script processes, longer ----------------------------------
def _cli_writer(home: Path, files: list[Path], wait: float) -> list[dict[str, Any]]:
    out = []
    for path in files:
        done = run_cli(
            "register", str(path), "--dataset", DATASET, "--source", "scraped",
            "--wait", str(wait), "--json", home=home,
        )  # fmt: skip
        out.append(
            {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "crash": None}
        )
    return out


def _cli_reader(home: Path, stop: threading.Event) -> list[dict[str, Any]]:
    out = []
    i = 0
    while not stop.is_set():
        args = ["verify", "--json"] if i % 2 == 0 else ["log", "--json"]
        done = run_cli(*args, home=home)
        out.append(
            {"args": args, "code": done.returncode, "stdout": done.stdout,
             "stderr": done.stderr, "crash": None}
        )  # fmt: skip
        i += 1
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("writers", "each", "wait"), [(4, 10, 60.0), (8, 10, 0.5)])
def test_console_script_writers_and_readers(
    home: Path, tmp_path: Path, writers: int, each: int, wait: float
) -> None:
    new_ledger(home, [DATASET])
    files = _files(tmp_path / "files", writers, each)
    stop = threading.Event()
    with ThreadPoolExecutor(writers + 1) as pool:
        reading = pool.submit(_cli_reader, home, stop)
        writing = [pool.submit(_cli_writer, home, batch, wait) for batch in files]
        writes = [w for f in writing for w in f.result()]
        stop.set()
        reads = reading.result()
    successes = _check_ledger_after(home, writes, _busy_message(home, wait))
    _check_reads(reads)
    if wait >= 60:
        assert successes == writers * each
    print(
        f"{writers} console-script writers x {each}, --wait {wait:g}: {successes} held, "
        f"{writers * each - successes} busy; {len(reads)} reads meanwhile"
    )
    done = run_cli("verify", home=home)
    assert done.returncode == 0, done.stderr
