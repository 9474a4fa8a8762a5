"""Full-audit speed on large datasets (target: under 1 s for 10M records).

Builds a ledger holding one dataset of N records in ten batches (scraped, licensed,
first-party under a superseded and a current consent version, synthetic from a
first-party seed, and a test split), then times ``Ledger.audit`` through the Python API:
one warm-up, then the median of ``--runs`` runs (5 by default). The time of the one query
that reads the records table (contamination and duplicates) is shown beside it, with the
median CPU seconds of an audit (all DuckDB threads) and the load average: other work on
the machine moves the wall-clock figures a lot, CPU time much less.

BENCH-ONLY SHORTCUT: batches are written straight into the projection tables with DuckDB
(``records`` rows from ``range()`` with ``sha256()`` hashes), each under a real signed
'batch-registered' entry, but without reading a file, canonical hashing or building the
Merkle root (the entry's root is 64 zeros). It takes seconds instead of minutes, and the
audit reads exactly the tables registration writes; ``provledger verify`` would reject
these batches, so never point it at a real ledger.

The last 1% of records, in the test-split batch, repeat the content of the first 1%
(train), so duplicate_records and cross_split_records are each N/100: the run checks the
audit counted that.

Run: ``.venv/bin/python -m bench.bench_audit [--records N ...] [--runs 5]``
(or ``python -m bench audit``). Defaults: 1M and 10M records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from provledger.audit import CONTAMINATION, audit
from provledger.ledger import Ledger

DATASET = "bench"
BATCHES = 10
# (source, split, license, consent, derived-from batch index) per batch index.
LAYOUT = [
    ("scraped", "train", None, None, None),
    ("scraped", "train", None, None, None),
    ("licensed", "train", "corpus@1", None, None),
    ("licensed", "train", "corpus@1", None, None),
    ("first_party", "train", None, "tos@1", None),
    ("first_party", "train", None, "tos@2", None),
    ("first_party", "train", None, "tos@2", None),
    ("synthetic", "train", None, None, 5),
    ("synthetic", "train", None, None, 7),
    ("first_party", "test", None, "tos@2", None),
]

# Rows g = first .. first+n-1 of the dataset; record i of the dataset has record hash
# sha256('r' || g). Rows with g >= distinct (the last 1%) take the content hash of row
# g - distinct, a train record: duplicates that are also cross-split leaks.
INSERT_RECORDS = """
    INSERT INTO records
    SELECT $seq::INTEGER, (g - $first)::INTEGER, h,
           CASE WHEN g >= $distinct THEN unhex(sha256(concat('r', g - $distinct))) ELSE h END,
           NULL
    FROM (SELECT g, unhex(sha256(concat('r', g))) AS h FROM range($first, $first + $n) t(g))
"""
INSERT_BATCH = "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_PARENT = "INSERT INTO batch_parents VALUES (?, ?, ?)"


def build(home: Path, records: int) -> float:
    """Create a ledger in ``home`` with one dataset of ``records`` records; seconds taken."""
    start = time.perf_counter()
    with Ledger.init(home) as led:
        led.add_license(
            {
                "id": "corpus",
                "version": 1,
                "title": "Bench corpus",
                "licensor": "Bench Ltd",
                "grants": ["train", "evaluate"],
                "effective_from": "2025-01-01",
                "expires_on": None,
                "spdx": None,
                "document_sha256": "0" * 64,
            }
        )
        for version, effective, prior in (
            (1, "2024-01-01", {}),
            (2, "2025-06-01", {"1": "revoked"}),
        ):
            led.add_consent(
                {
                    "policy": "tos",
                    "version": version,
                    "effective_from": effective,
                    "permits": ["train", "evaluate", "external_release"],
                    "retention_days": 730,
                    "prior_versions": prior,
                }
            )
        led.create_dataset(
            DATASET, owner="bench", context="customer_facing", uses=["train", "external_release"]
        )
        store = led.store
        per_batch = records // BATCHES
        distinct = records - records // 100
        ids: list[str] = []
        first = 0
        for index, (source, split, lic, consent, parent) in enumerate(LAYOUT):
            n = per_batch if index < BATCHES - 1 else records - first
            with store.appending(led.signer) as app:
                batch_id = f"b{app.seq}"
                store.execute(
                    INSERT_RECORDS,
                    {"seq": app.seq, "first": first, "n": n, "distinct": distinct},
                )
                store.execute(
                    INSERT_BATCH,
                    [
                        app.seq,
                        batch_id,
                        DATASET,
                        source,
                        lic,
                        consent,
                        f"bench://{source}/{index}",
                        f"2025-{7 + index % 5:02d}-01T00:00:00",
                        split,
                        1000.0 * (index + 1),
                        "bench-gen" if source == "synthetic" else None,
                        None,
                        "bench",
                        "text",
                        None,
                        n,
                        "0" * 64,
                    ],
                )
                if parent is not None:
                    store.execute(INSERT_PARENT, [app.seq, batch_id, ids[parent]])
                app.write_entry(
                    "batch-registered",
                    {"batch_id": batch_id, "dataset": DATASET, "records": n, "bench": True},
                )
            ids.append(batch_id)
            first += n
    return time.perf_counter() - start


def measure(home: Path, records: int, runs: int) -> dict[str, float]:
    """Median seconds of a full audit and of its records query, after one warm-up."""
    with Ledger.open(home, read_only=True) as led:
        first = time.perf_counter()
        report = led.audit(DATASET)
        cold = time.perf_counter() - first
        expected = records // 100
        assert report.records == records, report.records
        assert report.contamination.duplicate_records == expected
        assert report.contamination.cross_split_records == expected
        samples = []
        cpu = []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            audit(led.store, DATASET)
            samples.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        query = []
        params = {"dataset": DATASET, "cut": report.seq}
        for _ in range(runs):
            start = time.perf_counter()
            led.store.dicts(CONTAMINATION, params)
            query.append(time.perf_counter() - start)
    return {
        "first": cold,
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "records_query": statistics.median(query),
        "cpu": statistics.median(cpu),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_audit", description=__doc__)
    parser.add_argument(
        "--records",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="dataset sizes to build and audit (default: 1M and 10M)",
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs per size")
    args = parser.parse_args(argv)
    print(
        f"Full audit through the Python API: median of {args.runs} runs after one warm-up "
        "(target: under 1 s at 10M records)"
    )
    print(
        f"{'records':>12}  {'build s':>8}  {'first s':>8}  {'median s':>9}  {'min s':>6}  "
        f"{'max s':>6}  {'records query s':>15}  {'cpu s':>6}  {'load avg':>8}"
    )
    for records in args.records:
        folder = Path(tempfile.mkdtemp(prefix="provledger-bench-audit-"))
        try:
            built = build(folder / "home", records)
            m = measure(folder / "home", records, args.runs)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(
            f"{records:>12,}  {built:>8.1f}  {m['first']:>8.3f}  {m['median']:>9.3f}  "
            f"{m['min']:>6.3f}  {m['max']:>6.3f}  {m['records_query']:>15.3f}  "
            f"{m['cpu']:>6.3f}  {os.getloadavg()[0]:>8.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
