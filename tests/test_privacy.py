"""No personal data in the ledger: after first-party data is registered (JSONL, CSV and
Parquet, and with committed appends still sitting in the write-ahead log), neither the raw
subject ids nor any record text appear in any file of the ledger home, byte for byte, nor
in any column of any table (which also covers anything DuckDB stores compressed).

A positive control shows the scan can see text the ledger does store (a dataset owner).
"""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cli_process import OPEN_WITHOUT_CHECKPOINT, new_ledger, write_jsonl

from provledger.ledger import DB_FILE, Ledger
from provledger.registry import operations as registry

OWNER_MARKER = "owner-marker-7f3a9c"


def _people(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    first = ["Amelie", "Bjorn", "Chiara", "Dmitri", "Esther", "Farouk", "Greta", "Hiroshi"]
    last = ["Lindqvist", "Okonkwo", "Marchetti", "Petrov", "Haddad", "Nakamura", "Duarte"]
    out = []
    for i in range(count):
        name = f"{rng.choice(first)}.{rng.choice(last)}{seed}{i}"
        out.append(
            {
                "customer": f"{name}@example.org",
                "account": f"ACCT-{rng.randrange(10**9, 10**10)}",
                "text": f"My card ending {rng.randrange(1000, 9999)} was charged twice, "
                f"ticket {seed}-{i}, please refund {name}",
            }
        )
    return out


def _needles(records: list[dict[str, Any]]) -> set[bytes]:
    """Every raw subject id and record text, as stored in UTF-8, and the subject ids in
    the normal form the ledger keys them in (lower case)."""
    out: set[bytes] = set()
    for r in records:
        for value in (r["customer"], r["customer"].lower(), r["account"], r["text"]):
            out.add(value.encode("utf-8"))
        # a distinctive slice too, in case a text were stored cut or split
        out.add(r["text"][-30:].encode("utf-8"))
    return out


def _scan_files(home: Path, needles: set[bytes]) -> list[tuple[str, bytes]]:
    found = []
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [(path.name, n) for n in needles if n in data]
    return found


def _scan_tables(home: Path, needles: set[bytes]) -> list[tuple[str, bytes]]:
    """Every value of every column of every table, as text or bytes, searched."""
    found = []
    with Ledger.open(home, read_only=True) as led:
        store = led.store
        for (table,) in store.rows("SELECT table_name FROM duckdb_tables() WHERE NOT internal"):
            values = [v for row in store.rows(f'SELECT * FROM "{table}"') for v in row]
            blob = b"\x00".join(
                bytes(v) if isinstance(v, bytes | bytearray | memoryview) else str(v).encode()
                for v in values
            )
            found += [(table, n) for n in needles if n in blob]
    return found


def _first_party(led: Ledger, path: Path, subject: str = "customer") -> None:
    led.register(
        path,
        dataset="reliability",
        source="first_party",
        consent="reliability-tos@1",
        subject_field=subject,
    )


def test_no_subject_id_or_record_text_reaches_the_ledger_home(home: Path, tmp_path: Path) -> None:
    new_ledger(home, consent=True)
    people = _people(1, 60)
    jsonl = write_jsonl(tmp_path / "tickets.jsonl", people[:20])
    with open(tmp_path / "tickets.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["customer", "account", "text"])
        writer.writeheader()
        writer.writerows(people[20:40])
    parquet = tmp_path / "tickets.parquet"
    pq.write_table(pa.Table.from_pylist(people[40:]), parquet)
    with Ledger.open(home) as led:
        registry.create_dataset(
            led, "controls", owner=OWNER_MARKER, context="internal", uses=["train"]
        )
        _first_party(led, jsonl)
        _first_party(led, tmp_path / "tickets.csv", subject="account")
        _first_party(led, parquet)
        stored = led.store.row("SELECT count(*), count(subject_hash) FROM records")
    assert stored == (60, 60)
    needles = _needles(people)

    assert _scan_files(home, needles) == []
    assert _scan_tables(home, needles) == []
    # The control: the same scans do find text the ledger keeps.
    assert _scan_files(home, {OWNER_MARKER.encode()})
    assert _scan_tables(home, {OWNER_MARKER.encode()})
    # ... and the raw data is in the source files, so the needles are right.
    assert _scan_files(tmp_path, {n for n in needles if b"@" in n}) != []


# Registers with DuckDB's CHECKPOINT suppressed and dies, so the appends stay in the WAL.
_INTO_WAL = (
    OPEN_WITHOUT_CHECKPOINT
    + """
led = open_without_checkpoint(sys.argv[1])
led.register(sys.argv[2], dataset="reliability", source="first_party",
             consent="reliability-tos@1", subject_field="customer")
os.kill(os.getpid(), signal.SIGKILL)
"""
)


def test_no_subject_id_or_record_text_in_the_write_ahead_log(home: Path, tmp_path: Path) -> None:
    new_ledger(home, consent=True)
    people = _people(2, 40)
    jsonl = write_jsonl(tmp_path / "tickets.jsonl", people)
    done = subprocess.run(
        [sys.executable, "-c", _INTO_WAL, str(home), str(jsonl)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    wal = home / (DB_FILE + ".wal")
    assert wal.stat().st_size > 40 * 32, "the WAL should hold the batch's record hashes"
    needles = _needles(people)

    assert _scan_files(home, needles) == []
    assert _scan_tables(home, needles) == []  # replays the WAL, then looks again
