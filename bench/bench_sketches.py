"""Near-duplicate sketches: accuracy at controlled Jaccard, speed, and audit time.

- recall and false positives of the LSH banding over 12,000 pairs of realistic text
  (Zipf-distributed words, 60-140 per text) built at controlled similarity, bucketed by
  their exact word 5-gram Jaccard;
- the sketch's own cost per record on one core (bench-register-like ~420-byte tickets,
  and realistic texts of 120, 1-6 and 7-16 words);
- audit time on a ledger of N records with near-duplicates (``--audit N``, default 200k).

Run: `.venv/bin/python -m bench sketches [--pairs-per-level N] [--audit N]`; `--speed-only`
or `--audit-only` runs one part.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from provledger.ingest.hashing import normalised_utf8
from provledger.ledger import DB_FILE, Ledger
from provledger.similarity.near_duplicates import facts_unusable, near_contamination
from provledger.similarity.sketches import sketch_texts
from tests import sketch_reference as R

from .bench_register import WORDS


def accuracy(per_level: int) -> None:
    maker = R.TextMaker(2026)
    rng = random.Random(2026)
    a, b, j = [], [], []
    for m in (0, 1, 2, 3, 4, 6, 8, 12):
        for _ in range(per_level):
            words = maker.words(rng.randint(60, 140))
            x, y = " ".join(words).encode(), " ".join(maker.variant(words, m)).encode()
            a.append(x)
            b.append(y)
            j.append(R.jaccard(x, y))
    jac = np.array(j)
    near = (sketch_texts(a).bands == sketch_texts(b).bands).any(axis=1)
    print(f"# {len(a):,} pairs at controlled Jaccard (word 5-grams)")
    for lo, hi in ((0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.85), (0.85, 0.9),
                   (0.9, 0.95), (0.95, 1.0), (1.0, 1.01)):  # fmt: skip
        sel = (jac >= lo) & (jac < hi)
        if sel.any():
            theory = np.mean(1 - (1 - jac[sel] ** 10) ** 10)
            print(
                f"J in [{lo:.2f}, {hi:.2f}): {sel.sum():5d} pairs, flagged near "
                f"{near[sel].mean():.4f} (ideal MinHash LSH {theory:.4f})"
            )
    high, low = jac >= 0.85, jac <= 0.5
    print(f"recall at J >= 0.85: {near[high].mean():.4f} over {high.sum()} pairs (target >= 0.95)")
    print(
        f"false positives at J <= 0.5: {near[low].mean():.4f} over {low.sum()} pairs "
        "(target <= 0.01)"
    )


def speed() -> None:
    """CPU time of the sketch per record on one core (median of three runs): CPU time,
    since wall time on a shared machine measures the neighbours too."""
    tickets = []
    for i in range(50_000):
        words = " ".join(WORDS[(i * 7 + j * 13) % len(WORDS)] for j in range(52))
        tickets.append(normalised_utf8(f"Ticket {i}: {words}"[:420]))
    maker = R.TextMaker(3)
    prose = [" ".join(maker.words(120)).encode() for _ in range(20_000)]
    short = [" ".join(maker.words(1 + i % 6)).encode() for i in range(50_000)]
    medium = [" ".join(maker.words(7 + i % 10)).encode() for i in range(30_000)]
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, texts in (
        ("bench tickets (~420 B)", tickets),
        ("120-word prose", prose),
        ("1-6 word texts", short),
        ("7-16 word texts", medium),
    ):
        sketch_texts(texts[:100])
        runs = []
        for _ in range(3):
            start = time.process_time()
            sketch_texts(texts)
            runs.append((time.process_time() - start) / len(texts) * 1e6)
        print(f"sketch cost, {name}: {statistics.median(runs):.2f} us/record CPU on one core")


def build_audit_ledger(folder: Path, records: int) -> Path:
    """A ledger home in ``folder`` holding dataset d: ``records`` train records (one in ten
    a one-word variant of 2,000 shared 60-word texts, the rest 22-word texts of which
    those with the same i * 7 mod 32 share 16 of their 18 word 5-grams, so are near
    copies), one batch, and records / 100 test records near the shared texts."""
    maker = R.TextMaker(9)
    base = [" ".join(maker.words(60)) for _ in range(2000)]
    rng = random.Random(9)
    home = folder / "home"
    train, test = folder / "train.jsonl", folder / "test.jsonl"
    with open(train, "w") as fh:
        for i in range(records):
            text = (
                rng.choice(base) + f" v{i}"
                if i % 10 == 0
                else f"record {i} " + " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(20))
            )
            fh.write(json.dumps({"text": text}) + "\n")
    with open(test, "w") as fh:
        for i in range(records // 100):
            fh.write(json.dumps({"text": rng.choice(base) + f" t{i}"}) + "\n")
    with Ledger.init(home) as led:
        led.create_dataset("d", owner="b", context="internal", uses=["train"])
        led.register(train, dataset="d", source="scraped")
        led.register(test, dataset="d", source="scraped", split="test")
    train.unlink()
    test.unlink()
    (folder / "records").write_text(str(records))
    return home


def audit_time(records: int, keep: Path | None = None, runs: int = 1, full: bool = False) -> None:
    """Time ``audit d`` with near-duplicates (median of ``runs``), and the near-duplicate
    figures alone, on the ledger ``build_audit_ledger`` makes: in a temporary folder, or
    built once into ``keep`` and reused while it holds the same number of records. With
    ``full``, also the full near-duplicate queries once, and whether they agree."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        built = folder / "records"
        if keep is None or not built.exists() or built.read_text() != str(records):
            if keep is not None:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
            start = time.perf_counter()
            home = build_audit_ledger(folder, records)
            print(f"built the ledger in {time.perf_counter() - start:.1f} s: {home}")
        home = folder / "home"
        db = home / DB_FILE
        print(f"# database {db.stat().st_size / 1e9:.2f} GB; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
        times, near_times = [], []
        with Ledger.open(home, read_only=True) as led:
            for _ in range(runs):
                start = time.perf_counter()
                r = led.audit("d")
                times.append(time.perf_counter() - start)
            for _ in range(runs):
                start = time.perf_counter()
                near_contamination(led.store, "d", r.seq)
                near_times.append(time.perf_counter() - start)
            why = facts_unusable(led.store, "d", r.seq, 1)
            if full:
                start = time.perf_counter()
                same = near_contamination(led.store, "d", r.seq, precomputed=False)
                full_time = time.perf_counter() - start
        near = r.contamination.near
        how = "summed from the precomputed facts" if why is None else f"full queries: {why}"
        print(
            f"near-duplicate figures alone: median {statistics.median(near_times):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in near_times)}), {how}"
        )
        if full:
            print(
                f"near-duplicate figures by the full queries: {full_time:.2f} s, "
                f"{'the same figures' if same == near else 'DIFFERENT FIGURES'}"
            )
        print(
            f"audit of {records + records // 100:,} records with near-duplicates: median "
            f"{statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)}) "
            f"(near cross-split {near.cross_split_records:,}, near duplicates in train "
            f"{near.duplicate_records:,}); load average after "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_sketches")
    parser.add_argument("--pairs-per-level", type=int, default=1500)
    parser.add_argument("--audit", type=int, default=200_000, metavar="N")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="build the audit ledger once into DIR and reuse it"
    )
    parser.add_argument("--runs", type=int, default=1, help="audit runs (the median is shown)")
    parser.add_argument("--audit-only", action="store_true", help="skip accuracy and speed")
    parser.add_argument("--speed-only", action="store_true", help="skip accuracy and audit")
    parser.add_argument(
        "--full-near",
        action="store_true",
        help="also time the full near-duplicate queries (the fallback) once and compare",
    )
    args = parser.parse_args(argv)
    if args.audit_only and args.speed_only:
        parser.error("--audit-only and --speed-only exclude each other")
    if not args.audit_only and not args.speed_only:
        accuracy(args.pairs_per_level)
    if not args.audit_only:
        speed()
    if not args.speed_only:
        audit_time(args.audit, args.keep, args.runs, args.full_near)


if __name__ == "__main__":
    main()
