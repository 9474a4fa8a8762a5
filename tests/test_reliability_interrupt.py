"""Interruptions: SIGINT and SIGTERM sent to the real ``provledger`` process at seeded
random moments during ``register`` (the worker-process path for large JSONL and the
in-process path), ``erase`` and ``checkpoint`` (DESIGN.md invariant 9, issue 11 point 7).

After every signal: the command ended (within the wait below, never hanging), with exit
code 130 for SIGINT or 143 for SIGTERM and exactly one line on stderr that tells the
truth, or with exit 0 and its normal output when it had finished before the signal; no
process of its group survives; ``verify`` passes; and what the line says matches the
ledger (the batch, erasure or checkpoint entry is wholly there, or not at all).

SIGINT goes to the whole process group, as Ctrl-C in a terminal sends it; SIGTERM to the
main process only, as ``kill`` does. Figures for docs/erasure-and-limits.md are printed
with ``-s``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from cli_process import PROVLEDGER, cli_env, new_ledger, reap_group, write_jsonl

from provledger.ledger import Ledger

# Long enough to tell a hang from a slow machine; the measured figures are far below.
EXIT_WAIT = 10.0
# Python itself starts before the command can install its handlers: signals are drawn
# after this, so they reach the command (see docs/erasure-and-limits.md).
EARLIEST = 0.15
# Above provledger.ingest.register.PARALLEL_MIN_BYTES: hashed by workers.
PARALLEL_FILE_BYTES = 17 << 20


@dataclass
class Figures:
    """What a loop of signals saw."""

    signals: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    exit_seconds: list[float] = field(default_factory=list)

    def summary(self) -> str:
        worst = max(self.exit_seconds, default=0.0)
        return f"{self.signals} signals: {dict(self.outcomes)}; slowest exit {worst:.2f} s"


def _jsonl(path: Path, size: int) -> Path:
    """Distinct records of about 700 bytes up to ``size`` bytes."""
    count = size // 700 + 1
    return write_jsonl(
        path, ({"id": i, "text": f"ticket {i} " + "printer on fire " * 40} for i in range(count))
    )


def _send(
    args: list[str], home: Path, delay: float, signum: int
) -> tuple[int, str, str, float, int]:
    """Start ``provledger ARGS``; after ``delay`` s send ``signum`` (SIGINT to the group,
    SIGTERM to the process). Returns (exit code, stdout, stderr, seconds from signal to
    exit, pgid); asserts the command ended and left no process behind."""
    proc = subprocess.Popen(
        [PROVLEDGER, *args, "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        start_new_session=True,
    )
    time.sleep(delay)
    sent = time.monotonic()
    try:
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
    except ProcessLookupError:
        pass
    try:
        out, err = proc.communicate(timeout=EXIT_WAIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{args[0]} did not end within {EXIT_WAIT} s of {signal.Signals(signum).name}")
    took = time.monotonic() - sent
    assert reap_group(proc.pid, timeout=2), f"a process of {args[0]} outlived it"
    return proc.returncode, out.decode(), err.decode(), took, proc.pid


def _interrupted(rc: int, signum: int, err: str) -> str:
    """The one line of an interrupted command, after checking the exit code."""
    assert rc == 128 + signum, (rc, err)
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err
    return err[:-1]


def _verify(home: Path) -> Ledger:
    led = Ledger.open(home, read_only=True, wait=10)
    report = led.verify()
    assert report.ok, f"verify failed at seq {report.first_bad_seq}: {report.problem}"
    return led


def _pick(rng: random.Random, i: int) -> int:
    return (signal.SIGINT, signal.SIGTERM)[(i + rng.randrange(2)) % 2]


def _register_loop(home: Path, data: Path, runs: int, seed: int, high: float) -> Figures:
    """Register ``data`` into a fresh dataset per run, each interrupted at a random
    moment in [EARLIEST, 1.05 * high], every other one in [0.8 * high, 1.05 * high]."""
    with data.open("rb") as fh:
        records = sum(1 for _ in fh)
    new_ledger(home, [f"d{i}" for i in range(runs)])
    rng = random.Random(seed)
    figures = Figures()
    for i in range(runs):
        dataset, signum = f"d{i}", _pick(rng, i)
        args = ["register", str(data), "--dataset", dataset, "--source", "scraped", "--json"]
        # Every other signal aims at the end of the run, where the commit happens.
        low = EARLIEST if i % 2 == 0 else max(EARLIEST, 0.8 * high)
        rc, out, err, took, _ = _send(args, home, rng.uniform(low, 1.05 * high), signum)
        figures.signals += 1
        with _verify(home) as led:
            rows = led.store.rows(
                "SELECT batch_id, seq, records FROM batches WHERE dataset = ?", [dataset]
            )
            stray = led.store.row(
                "SELECT count(*) FROM records WHERE batch_seq NOT IN (SELECT seq FROM batches)"
            )
            assert stray == (0,), "record rows without their batch"
            last = led.store.entry_count()
        if rc == 0:
            assert orjson.loads(out)["records"] == records
            figures.outcomes["finished first"] += 1
            continue
        figures.exit_seconds.append(took)
        line = _interrupted(rc, signum, err)
        if rows:
            batch_id, seq, count = rows[0]
            assert count == records
            assert seq == last
            assert line == f"interrupted after batch {batch_id} was committed (seq {seq})"
            figures.outcomes["committed"] += 1
        else:
            assert line == "interrupted: nothing was registered"
            figures.outcomes["nothing"] += 1
    return figures


def _subjects_ledger(home: Path, tmp: Path, subjects: int) -> None:
    new_ledger(home, consent=True)
    data = write_jsonl(
        tmp / "subjects.jsonl",
        ({"text": f"ticket of {i}", "uid": f"user-{i}"} for i in range(subjects)),
    )
    with Ledger.open(home) as led:
        led.register(
            data,
            dataset="reliability",
            source="first_party",
            consent="reliability-tos@1",
            subject_field="uid",
        )


def _erase_loop(home: Path, runs: int, seed: int, high: float) -> Figures:
    rng = random.Random(seed)
    figures = Figures()
    for i in range(runs):
        signum, ref = _pick(rng, i), f"DSR-{i}"
        args = ["erase", "--subject", f"user-{i}", "--request", ref]
        rc, out, err, took, _ = _send(args, home, rng.uniform(EARLIEST, high), signum)
        figures.signals += 1
        with _verify(home) as led:
            row = led.store.row("SELECT seq FROM erasures WHERE request_ref = ?", [ref])
        if rc == 0:
            assert out.startswith(f"Erasure {ref} recorded at seq ")
            figures.outcomes["finished first"] += 1
            continue
        figures.exit_seconds.append(took)
        line = _interrupted(rc, signum, err)
        if row is not None:
            assert line == f"interrupted after erasure {ref} was committed at seq {row[0]}"
            figures.outcomes["committed"] += 1
        else:
            assert line == "interrupted: nothing was erased"
            figures.outcomes["nothing"] += 1
    return figures


def _checkpoint_loop(home: Path, tmp: Path, runs: int, seed: int, high: float) -> Figures:
    rng = random.Random(seed)
    figures = Figures()
    for i in range(runs):
        signum, note = _pick(rng, i), tmp / f"note-{i}.txt"
        with Ledger.open(home, read_only=True) as led:
            before = led.store.entry_count()
        args = ["checkpoint", "--output", str(note)]
        rc, _, err, took, _ = _send(args, home, rng.uniform(EARLIEST, high), signum)
        figures.signals += 1
        with _verify(home) as led:
            after = led.store.entry_count()
            kind = led.store.row("SELECT kind FROM entries WHERE seq = ?", [after])
        assert after in (before, before + 1)
        leftovers = [p.name for p in tmp.glob(f".note-{i}.txt*")]
        assert not leftovers, f"temporary note files left behind: {leftovers}"
        if rc == 0:
            assert after == before + 1 and note.is_file()
            figures.outcomes["finished first"] += 1
            continue
        figures.exit_seconds.append(took)
        line = _interrupted(rc, signum, err)
        if after == before + 1:
            assert kind == ("checkpoint",)
            assert line == f"interrupted after checkpoint entry seq {after} was recorded"
            assert note.is_file(), "the entry was recorded without its note file"
            figures.outcomes["committed"] += 1
        else:
            assert line == "interrupted: nothing was recorded"
            assert not note.exists()
            figures.outcomes["nothing"] += 1
    return figures


def _full_run(args: list[str], home: Path) -> float:
    began = time.monotonic()
    done = subprocess.run(
        [PROVLEDGER, *args, "--home", str(home)], capture_output=True, env=cli_env(), check=False
    )
    assert done.returncode == 0, done.stderr
    return time.monotonic() - began


def _timed(setup: Callable[[Path], list[str]], tmp: Path) -> float:
    """How long one uninterrupted run takes on this machine now."""
    home = tmp / "timing-home"
    args = setup(home)
    return _full_run(args, home)


@pytest.fixture(scope="module")
def parallel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _jsonl(tmp_path_factory.mktemp("interrupt") / "tickets.jsonl", PARALLEL_FILE_BYTES)


def _register_timing(data: Path) -> Callable[[Path], list[str]]:
    def setup(home: Path) -> list[str]:
        new_ledger(home, ["timing"])
        return ["register", str(data), "--dataset", "timing", "--source", "scraped"]

    return setup


# -- make test: 6 signals ------------------------------------------------------------------
def test_register_interrupted_with_workers(parallel_file: Path, tmp_path: Path) -> None:
    high = _timed(_register_timing(parallel_file), tmp_path)
    figures = _register_loop(tmp_path / "home", parallel_file, 3, seed=11, high=high)
    print(f"\nregister, {parallel_file.stat().st_size >> 20} MB: {figures.summary()}")
    assert figures.signals == 3


def test_register_interrupted_in_process(tmp_path: Path) -> None:
    small = _jsonl(tmp_path / "small.jsonl", 2 << 20)  # below the worker threshold
    high = _timed(_register_timing(small), tmp_path)
    figures = _register_loop(tmp_path / "home", small, 1, seed=12, high=high)
    assert figures.signals == 1


def test_erase_and_checkpoint_interrupted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _subjects_ledger(home, tmp_path, 10)
    erase_high = _full_run(["erase", "--subject", "user-9", "--request", "warm-up"], home)
    erased = _erase_loop(home, 1, seed=13, high=erase_high)
    note_high = _full_run(["checkpoint", "--output", str(tmp_path / "warm.txt")], home)
    checkpoints = _checkpoint_loop(home, tmp_path, 1, seed=14, high=note_high)
    assert erased.signals + checkpoints.signals == 2


def test_a_signal_during_start_up_imports_is_reported_once_the_command_runs(
    tmp_path: Path,
) -> None:
    """A signal that lands while the command is still importing is remembered and ends
    the command as soon as it can say what happened, with the same one line."""
    new_ledger(tmp_path / "home")
    code = (
        "import os, signal, sys\n"
        "sys.argv = ['provledger', 'checkpoint', '--home', sys.argv[1]]\n"
        "import cli\n"  # early handlers, as the console script gets them
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "from provledger.cli.main import run\n"
        "run()\n"
    )
    python = str(Path(PROVLEDGER).with_name("python"))
    done = subprocess.run(
        [python, "-c", code, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=False,
    )
    assert (done.returncode, done.stderr) == (143, "interrupted: nothing was recorded\n")
    with _verify(tmp_path / "home") as led:
        assert led.store.row("SELECT count(*) FROM entries WHERE kind = 'checkpoint'") == (0,)


def test_a_signal_during_an_import_waits_for_the_import_to_finish(tmp_path: Path) -> None:
    """An exception raised inside an import can abort the interpreter (seen: an extension
    module's initialisation). A signal arriving during one is raised just after it."""
    (tmp_path / "slow_module.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "time.sleep(0.2)\n"
        "COMPLETE = True\n"
    )
    code = (
        "import sys, time\n"
        "from ledger import interrupts\n"
        "interrupts.install()\n"
        "try:\n"
        "    import slow_module\n"
        "    time.sleep(2)\n"
        "    print('not interrupted')\n"
        "except interrupts.Interrupted as exc:\n"
        "    print('complete' if sys.modules['slow_module'].COMPLETE else '?', exc.exit_code)\n"
    )
    python = str(Path(PROVLEDGER).with_name("python"))
    done = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(PYTHONPATH=str(tmp_path)),
        check=False,
        timeout=30,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "complete 130\n", "")


# -- make test-slow: 60 signals ------------------------------------------------------------
@pytest.mark.slow
def test_register_interrupted_forty_times(parallel_file: Path, tmp_path: Path) -> None:
    high = _timed(_register_timing(parallel_file), tmp_path)
    figures = _register_loop(tmp_path / "home", parallel_file, 40, seed=21, high=high)
    print(f"\nregister, {parallel_file.stat().st_size >> 20} MB: {figures.summary()}")
    assert figures.signals == 40
    assert figures.outcomes["nothing"], figures.summary()


@pytest.mark.slow
def test_erase_and_checkpoint_interrupted_twenty_times(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _subjects_ledger(home, tmp_path, 20)
    erase_high = _full_run(["erase", "--subject", "user-19", "--request", "warm-up"], home)
    erased = _erase_loop(home, 10, seed=22, high=erase_high)
    note_high = _full_run(["checkpoint", "--output", str(tmp_path / "warm.txt")], home)
    checkpoints = _checkpoint_loop(home, tmp_path, 10, seed=23, high=note_high)
    print(f"\nerase: {erased.summary()}\ncheckpoint: {checkpoints.summary()}")
    assert erased.signals + checkpoints.signals == 20
