"""Crashes: ``provledger register`` killed with SIGKILL at random moments, and a database
that falls behind its external checkpoint (a torn write-ahead log, an old copy put back).

Promises checked (docs/reliability.md):
- after any kill the ledger opens, ``verify`` passes, and the batch is wholly there or
  wholly absent, with no stray record rows;
- a write-ahead log holding committed appends is replayed on the next open;
- when the database holds fewer entries than the signed ``checkpoint.note`` beside it,
  every command refuses with an error naming that note, exit 1, and changes nothing.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from cli_process import (
    OPEN_WITHOUT_CHECKPOINT,
    new_ledger,
    note_size,
    raw_counts,
    reap_group,
    run_cli,
    start_cli,
    write_jsonl,
)

from provledger.errors import BehindCheckpoint, HomeError
from provledger.ledger import DB_FILE, NOTE_FILE, Ledger

WAL_FILE = DB_FILE + ".wal"
_WORDS = ["support", "ticket", "refund", "login", "error", "billing", "crash", "invoice"]


def _big_jsonl(path: Path, records: int, seed: int) -> Path:
    """A JSONL file of ``records`` distinct lines of about 800 bytes, the same for a seed."""
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(_WORDS) for _ in range(100)) for _ in range(256)]
    with open(path, "wb") as fh:
        for i in range(records):
            record = {"id": i, "text": f"{texts[i % 256]} #{i}", "meta": {"n": i, "seed": seed}}
            fh.write(orjson.dumps(record) + b"\n")
    return path


@pytest.fixture(scope="session")
def jsonl_18mb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_jsonl(tmp_path_factory.mktemp("crash") / "tickets-18mb.jsonl", 24_000, 1)


@pytest.fixture(scope="session")
def jsonl_48mb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_jsonl(tmp_path_factory.mktemp("crash") / "tickets-48mb.jsonl", 60_000, 2)


@dataclass
class KillFigures:
    """What a kill loop saw, for docs/reliability.md."""

    file_mb: float
    records: int
    startup_s: float | None = None
    full_run_s: float | None = None
    kills: int = 0
    finished_before_kill: int = 0
    absent: int = 0
    present: int = 0
    wal_left: int = 0  # a new WAL after the kill: it landed between commit and CHECKPOINT
    note_behind: int = 0  # committed, but killed before checkpoint.note was rewritten
    delays: list[float] = field(default_factory=list)
    mid_ingest_kills: int = 0

    def mid_ingest(self) -> int:
        """Kills that landed after start-up and before a full run would have ended."""
        return self.mid_ingest_kills

    def summary(self) -> str:
        timing = (
            f" (start-up {self.startup_s:.2f} s, full run {self.full_run_s:.2f} s; "
            f"{self.mid_ingest()} kills between the two)"
            if self.startup_s is not None and self.full_run_s is not None
            else ""
        )
        return (
            f"{self.kills} kills over a {self.file_mb:.0f} MB / {self.records}-record file"
            f"{timing}: batch absent {self.absent}, wholly present {self.present}, WAL left "
            f"behind {self.wal_left}, note behind {self.note_behind}, finished before the "
            f"kill {self.finished_before_kill}; delays {min(self.delays):.2f}-"
            f"{max(self.delays):.2f} s"
        )


def _register_args(path: Path, dataset: str) -> list[str]:
    return ["register", str(path), "--dataset", dataset, "--source", "scraped", "--json"]


def _check_after_kill(home: Path, dataset: str, records: int, roots: set[str]) -> bool:
    """The ledger opens and verifies; the batch is wholly there or absent, and every
    surviving batch of the file has the same Merkle root. Returns whether it is there."""
    with Ledger.open(home, read_only=True, wait=10) as led:
        report = led.verify()
        assert report.ok, f"verify failed at seq {report.first_bad_seq}: {report.problem}"
        store = led.store
        batches = store.rows(
            "SELECT seq, records, merkle_root FROM batches WHERE dataset = ?", [dataset]
        )
        assert len(batches) <= 1
        stray = store.row(
            "SELECT count(*) FROM records WHERE batch_seq NOT IN (SELECT seq FROM batches)"
        )
        assert stray == (0,), "record rows without their batch survived a kill"
        entries = store.entry_count()
        if not batches:
            return False
        seq, count, merkle_root = batches[0]
        assert count == records
        roots.add(merkle_root)
        assert len(roots) == 1, "two runs over the same file gave different Merkle roots"
        assert store.row("SELECT count(*) FROM records WHERE batch_seq = ?", [seq]) == (records,)
        assert seq == entries, "the batch entry must be the last one"
        return True


def _timed_run(args: list[str], home: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.monotonic()
    done = run_cli(*args, home=home)
    return time.monotonic() - began, done


def _kill_loop(
    home: Path,
    big: Path,
    records: int,
    kills: int,
    seed: int,
    delays: tuple[float, float],
    startup: float | None = None,
) -> KillFigures:
    """Start ``register`` over ``big`` and SIGKILL it after a seeded random delay drawn
    from ``delays``, until ``kills`` kills have landed; check the ledger after each.

    Load on the machine changes how long a run takes: when one finishes before its kill,
    the upper bound of the delays shrinks to that run's time, so later kills still land
    mid-ingest. A kill counts as mid-ingest when it came after ``startup`` (when given)
    and before the fastest full run seen so far."""
    figures = KillFigures(file_mb=big.stat().st_size / 1e6, records=records)
    figures.startup_s, figures.full_run_s = startup, delays[1]
    low, high = delays
    attempts = kills * 3
    new_ledger(home, [f"crash-{i}" for i in range(attempts)])
    roots: set[str] = set()
    rng = random.Random(seed)
    for attempt in range(attempts):
        if figures.kills == kills:
            break
        dataset = f"crash-{attempt}"
        entries_before = raw_counts(home)["entries"]
        wal_before = (home / WAL_FILE).exists()
        delay = rng.uniform(low, high)
        began = time.monotonic()
        proc = start_cli(*_register_args(big, dataset), home=home)
        try:
            returncode = proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            returncode = proc.wait()
        took = time.monotonic() - began
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        assert reap_group(proc.pid, timeout=5), "hashing workers outlived the killed process"
        if returncode == 0:
            figures.finished_before_kill += 1
            high = max(low + 0.05, min(high, took))
            figures.full_run_s = min(figures.full_run_s or took, took)
        else:
            assert returncode == -signal.SIGKILL, stderr
            figures.kills += 1
            figures.delays.append(delay)
            if startup is not None and startup < delay < high:
                figures.mid_ingest_kills += 1
        figures.wal_left += (home / WAL_FILE).exists() and not wal_before
        present = _check_after_kill(home, dataset, records, roots)
        figures.present += present
        figures.absent += not present
        assert raw_counts(home)["entries"] == entries_before + present
        figures.note_behind += present and note_size(home) < entries_before + 1
    assert figures.kills == kills, figures.summary()
    return figures


def test_register_killed_five_times_leaves_batch_whole_or_absent(
    home: Path, jsonl_18mb: Path
) -> None:
    figures = _kill_loop(home, jsonl_18mb, 24_000, kills=5, seed=7, delays=(0.25, 1.2))
    print(figures.summary())


@pytest.mark.slow
def test_register_killed_at_random_moments_25_times(home: Path, jsonl_48mb: Path) -> None:
    # Time the command failing before it reads a byte (start-up only) and a full run, and
    # draw the kill delays across that span, so the kills land mid-ingest.
    new_ledger(home, ["reference"])
    startup, _ = _timed_run(_register_args(jsonl_48mb, "no-such-dataset"), home)
    full_run, done = _timed_run(_register_args(jsonl_48mb, "reference"), home)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(home)

    figures = _kill_loop(
        home,
        jsonl_48mb,
        60_000,
        kills=25,
        seed=2026,
        delays=(startup, full_run),
        startup=startup,
    )
    print(figures.summary())
    assert figures.mid_ingest() >= 20, figures.summary()
    done = run_cli("verify", home=home)
    assert done.returncode == 0, done.stderr


# -- the database falling behind its external checkpoint ----------------------------------
# Registers small batches in a child process with DuckDB's CHECKPOINT suppressed, so each
# commit stays in the write-ahead log, then kills that process: the WAL is left holding
# acknowledged commits (the note beside the database was updated after each of them).
_APPEND_INTO_WAL = (
    OPEN_WITHOUT_CHECKPOINT
    + """
home, dataset, *files = sys.argv[1:]
led = open_without_checkpoint(home)
wal = os.path.join(home, "ledger.duckdb.wal")
for path in files:
    batch = led.register(path, dataset=dataset, source="scraped").batch_id
    print(batch, os.path.getsize(wal), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
)


@dataclass(frozen=True)
class WalHome:
    """A ledger home whose WAL holds three acknowledged registrations (seqs 3-5)."""

    home: Path
    ends: list[int]  # the WAL's length after each of the three commits

    def copy(self, to: Path) -> Path:
        shutil.copytree(self.home, to)
        return to


@pytest.fixture(scope="module")
def wal_home(tmp_path_factory: pytest.TempPathFactory) -> WalHome:
    folder = tmp_path_factory.mktemp("wal")
    home = folder / "home"
    new_ledger(home)
    files = [
        write_jsonl(
            folder / f"small-{i}.jsonl",
            ({"id": j, "text": f"batch {i} record {j}"} for j in range(200)),
        )
        for i in range(3)
    ]
    done = subprocess.run(
        [sys.executable, "-c", _APPEND_INTO_WAL, str(home), "reliability", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    ends = [int(line.split()[1]) for line in done.stdout.splitlines()]
    assert len(ends) == 3
    assert (home / WAL_FILE).stat().st_size == ends[-1]
    assert note_size(home) == 5  # ledger-created, dataset-created, three batches
    return WalHome(home, ends)


def test_wal_with_committed_appends_is_replayed(wal_home: WalHome, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    home = wal_home.copy(tmp_path / "copy")

    done = cli("verify", "--home", str(home))

    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("OK: 5 entries, 3 batches, 600 records")


def _behind_message(home: Path, have: int, want: int) -> str:
    return (
        f"Error: ledger database holds {have} entries but the signed checkpoint "
        f"{home / NOTE_FILE} records {want}: acknowledged commits were lost (for example a "
        "torn write-ahead log). Refusing to continue on the shorter ledger; restore the "
        "database from a backup and run 'provledger verify'\n"
    )


def _expect_behind(cli, home: Path, command: list[str], have: int, want: int) -> None:  # type: ignore[no-untyped-def]
    done = cli(*command, "--home", str(home))
    assert done.exit_code == 1, (command, done.output)
    assert done.stderr == _behind_message(home, have, want)
    assert done.stdout == ""


@pytest.mark.parametrize("cut", ["1 byte", "half the last commit", "the last two commits"])
def test_torn_wal_is_refused_against_the_external_checkpoint(
    wal_home: WalHome,
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    cut: str,
) -> None:
    home = wal_home.copy(tmp_path / "copy")
    ends = wal_home.ends
    keep, lost = {
        "1 byte": (ends[2] - 1, 1),
        "half the last commit": ((ends[1] + ends[2]) // 2, 1),
        "the last two commits": (ends[0], 2),
    }[cut]
    with open(home / WAL_FILE, "r+b") as fh:
        fh.truncate(keep)

    # DuckDB replays the WAL up to the torn commit and drops the rest without a word.
    counts = raw_counts(home)
    assert counts["entries"] == 5 - lost
    # Every command, reading or writing, is refused and names the note.
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"text": "after the loss"}])
    for command in (
        ["verify"],
        ["log", "--json"],
        ["checkpoint"],
        _register_args(extra, "reliability"),
        ["verify"],  # still refused after a writing open folded the WAL into the file
    ):
        _expect_behind(cli, home, command, 5 - lost, 5)
    assert raw_counts(home) == counts
    assert note_size(home) == 5
    assert not [p.name for p in home.iterdir() if p.name.endswith(".tmp")]  # no stray note


@pytest.mark.parametrize("where", ["file header", "an entry's length", "inside a commit"])
def test_corrupt_wal_is_refused_never_read_past(
    wal_home: WalHome,
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    where: str,
) -> None:
    home = wal_home.copy(tmp_path / "copy")
    ends = wal_home.ends
    position = {
        "file header": 0,
        "an entry's length": ends[0] + 4,  # the first entry of the second commit
        "inside a commit": (ends[0] + ends[1]) // 2,
    }[where]
    with open(home / WAL_FILE, "r+b") as fh:
        fh.seek(position)
        byte = fh.read(1)
        fh.seek(position)
        fh.write(bytes([byte[0] ^ 0xFF]))

    done = cli("verify", "--home", str(home))

    # DuckDB either stops reading at the damage (then the ledger is behind its note) or
    # refuses the WAL outright; either way no command runs on the damaged ledger.
    assert done.exit_code == 1
    refused_by_duckdb = done.stderr.startswith(
        f"Error: cannot open ledger database {home / DB_FILE}: "
    ) and ("Corrupt WAL file" in done.stderr or "Failure while replaying WAL" in done.stderr)
    behind = done.stderr.startswith("Error: ledger database holds ") and (
        f"the signed checkpoint {home / NOTE_FILE} records 5" in done.stderr
    )
    assert refused_by_duckdb or behind, done.stderr


def test_old_copy_of_the_database_put_back_is_refused(
    home: Path,
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    new_ledger(home)
    files = [write_jsonl(tmp_path / f"b{i}.jsonl", [{"text": f"batch {i}"}]) for i in range(3)]
    with Ledger.open(home) as led:
        led.register(files[0], dataset="reliability", source="scraped")
    shutil.copy2(home / DB_FILE, tmp_path / "backup.duckdb")
    with Ledger.open(home) as led:
        for path in files[1:]:
            led.register(path, dataset="reliability", source="scraped")
    assert not (home / WAL_FILE).exists(), "every append ends with a CHECKPOINT"

    shutil.copy2(tmp_path / "backup.duckdb", home / DB_FILE)

    for command in (["verify"], ["log"], _register_args(files[2], "reliability")):
        _expect_behind(cli, home, command, 3, 5)
    assert raw_counts(home)["entries"] == 3


@pytest.mark.slow
def test_every_byte_flip_in_the_wal_is_refused(wal_home: WalHome, tmp_path: Path) -> None:
    """Flip each byte near the start and the commit boundaries, and every 97th elsewhere:
    DuckDB either refuses the log or silently stops early, and then the note catches it."""
    ends, size = wal_home.ends, wal_home.ends[-1]
    positions = {*range(128), *range(0, size, 97), size - 1}
    for end in ends[:2]:
        positions.update(range(end - 64, end + 64))
    outcomes: dict[str, int] = {}
    for position in sorted(positions):
        home = wal_home.copy(tmp_path / f"flip-{position}")
        with open(home / WAL_FILE, "r+b") as fh:
            fh.seek(position)
            byte = fh.read(1)
            fh.seek(position)
            fh.write(bytes([byte[0] ^ 0xFF]))
        try:
            Ledger.open(home, read_only=True).close()
            outcome = "opened"
        except BehindCheckpoint:
            outcome = "behind the note"
        except HomeError as exc:
            assert "WAL" in str(exc) or "Corrupt" in str(exc), str(exc)
            outcome = "refused by DuckDB"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        shutil.rmtree(home)
    print(f"{len(positions)} single-byte flips of the WAL: {outcomes}")
    assert "opened" not in outcomes
