"""Running the installed ``provledger`` console script as a real process, for the
reliability tests (crashes, concurrent writers, key errors): a process can be killed, can
hold the DuckDB file lock, and exits with a real status, which ``CliRunner`` cannot show.

Ledgers are set up through the library (``Ledger.init`` and ``registry``) so the tests do
not depend on the output format of the setup commands.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from provledger.ledger import DB_FILE, NOTE_FILE, Ledger
from provledger.registry import operations as registry
from provledger.storage.store import Store

# The start of a child-process script (python -c) that opens a ledger whose DuckDB
# CHECKPOINTs are suppressed, so every commit stays in the write-ahead log until the child
# kills itself: ``led = open_without_checkpoint(home)``.
OPEN_WITHOUT_CHECKPOINT = """
import os, signal, sys
from provledger.ledger import Ledger

class NoCheckpoint:
    def __init__(self, con):
        self._con = con
    def execute(self, sql, *args):
        if sql.strip().upper() == "CHECKPOINT":
            return self._con.execute("SELECT 1")
        return self._con.execute(sql, *args)
    def __getattr__(self, name):
        return getattr(self._con, name)

def open_without_checkpoint(home):
    led = Ledger.open(home)
    led.store._con.execute("SET wal_autocheckpoint = '1GB'")
    led.store._con = NoCheckpoint(led.store._con)
    return led
"""

# The console script installed next to the interpreter running the tests.
PROVLEDGER = str(Path(sys.executable).with_name("provledger"))


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no inherited passphrase, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PROVLEDGER_KEY_PASSPHRASE"}
    env.update(extra)
    return env


def run_cli(
    *args: str, home: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``provledger ARGS --home HOME`` to completion."""
    return subprocess.run(
        [PROVLEDGER, *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
        check=False,
    )


def start_cli(*args: str, home: Path) -> subprocess.Popen[bytes]:
    """Start ``provledger ARGS --home HOME`` in its own process group (so any worker
    processes it forks can be found and cleaned up by the group id)."""
    return subprocess.Popen(
        [PROVLEDGER, *args, "--home", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
        start_new_session=True,
    )


def group_alive(pgid: int) -> bool:
    """True while any process of the group ``pgid`` is still running (zombies, exited
    and waiting for whoever adopted them to reap them, do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ')'
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def reap_group(pgid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` s for every process of group ``pgid`` to exit by itself;
    SIGKILL the stragglers after that. Returns True when none had to be killed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return True
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return False


def new_ledger(
    home: Path, datasets: Iterable[str] = ("reliability",), *, consent: bool = False
) -> None:
    """Initialise a ledger at ``home`` with the named datasets (and, when asked, the
    consent policy ``reliability-tos@1``), then close it."""
    with Ledger.init(home) as led:
        for name in datasets:
            registry.create_dataset(led, name, owner="qa", context="internal", uses=["train"])
        if consent:
            registry.add_consent(
                led,
                {
                    "policy": "reliability-tos",
                    "version": 1,
                    "effective_from": "2025-01-01",
                    "permits": ["train"],
                    "retention_days": None,
                    "prior_versions": {},
                },
            )


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    with open(path, "wb") as fh:
        for record in records:
            fh.write(orjson.dumps(record) + b"\n")
    return path


def raw_counts(home: Path) -> dict[str, int]:
    """Rows in the ledger's tables, read straight from the database file (bypassing the
    checks ``Ledger.open`` makes, so it also works on a ledger that is refused)."""
    store = Store.open(home / DB_FILE, read_only=True, wait=30)
    try:
        return {
            table: int(store.row(f"SELECT count(*) FROM {table}")[0])  # type: ignore[index]
            for table in ("entries", "batches", "records", "dataset_states")
        }
    finally:
        store.close()


def note_size(home: Path) -> int:
    """The log size recorded by the signed checkpoint note kept in the home."""
    from provledger.tlog.checkpoint import parse_note
    from provledger.tlog.keys import load_public_key

    text = (home / NOTE_FILE).read_text(encoding="utf-8")
    return parse_note(text, load_public_key(home), source=NOTE_FILE).size
