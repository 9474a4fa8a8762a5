"""The read pre-check at 10M records: what every command pays, when it opens the ledger,
to learn that the catalog is what the migrations made and that the database is neither
behind nor beside its signed note (see ledger/precheck.py). Target: under 50 ms.

The ledger is the lineage bench's (100 batches of 100k records, built fast in SQL; see
bench/bench_lineage.py): the pre-check never reads ``records``, so what matters is that
the file is large and the log holds a realistic number of entries.

Reported (medians): the catalog check alone, the note check alone, both together (the
pre-check), and a whole ``Ledger.open(read_only=True)`` + close, which adds DuckDB's own
connect; the connect alone is shown for comparison.

Run: ``.venv/bin/python -m bench precheck [--records N] [--batches B] [--runs R]
[--home DIR]`` (with --home an existing bench ledger is reused).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.bench_lineage import build
from bench.timing import measure, table

TARGET_MS = 50.0


def main(argv: list[str] | None = None) -> None:
    import duckdb

    from ledger import keys
    from ledger.checkpoint import parse_note
    from ledger.ledger import DB_FILE, NOTE_FILE, Ledger
    from ledger.precheck import check_catalog, check_note
    from ledger.store import Store

    parser = argparse.ArgumentParser(prog="python -m bench precheck", description=__doc__)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each (30)")
    parser.add_argument("--home", type=Path, help="build here, or reuse the ledger there")
    args = parser.parse_args(argv)

    scratch = None
    home = args.home
    if home is None:
        scratch = Path(tempfile.mkdtemp(prefix="plbench-precheck-"))
        home = scratch / "home"
    try:
        if not (home / DB_FILE).exists():
            print(f"Building {args.records:,} records in {args.batches} batches at {home}")
            build(home, args.records, args.batches)
        public = keys.load_public_key(home)
        store = Store.open(home / DB_FILE, read_only=True)
        note_path = home / NOTE_FILE
        records = store.row("SELECT count(*) FROM records")[0]  # type: ignore[index]
        entries = store.entry_count()

        def catalog() -> None:
            check_catalog(store, public)

        def note() -> None:
            check_note(store, parse_note(note_path.read_text(), public), str(note_path))

        def both() -> None:
            catalog()
            note()

        def connect() -> None:
            duckdb.connect(str(home / DB_FILE), read_only=True).close()

        timings = [
            measure(catalog, args.runs, label="catalog check"),
            measure(note, args.runs, label="note check (behind / beside)"),
            measure(both, args.runs, label="pre-check (both)"),
        ]
        store.close()

        def open_close() -> None:
            Ledger.open(home, read_only=True).close()

        timings += [
            measure(connect, args.runs, label="duckdb.connect + close (for comparison)"),
            measure(open_close, args.runs, label="Ledger.open(read_only=True) + close"),
        ]
        print(f"Read pre-check at {records:,} records, {entries} entries ({args.runs} runs each)")
        print(
            table(
                ["what", "median ms", "min ms", "max ms"],
                [[t.label, t.median_ms, t.min_ms, t.max_ms] for t in timings],
            )
        )
        precheck = timings[2].median_ms
        verdict = "meets" if precheck < TARGET_MS else "MISSES"
        print(f"pre-check median {precheck:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
