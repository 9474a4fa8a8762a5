"""Registration speed, flatness, memory and size.

Generates JSONL files of ~500-byte records with a subject field (deterministic), then:
- times `openssl dgst -sha256` and `sha256sum` over the 1M-record file (the baselines),
  and `provledger register` of the same file into a fresh ledger (the whole process);
- cost per record from 100k to 1M records (10M with --full: a ~5 GB file);
- peak resident memory of the register process and its workers;
- bytes per stored record (database file size / records).
`--compare-sketches N` compares registration with and without near-duplicate sketches;
`--near-facts-cost N` times registration with and without the near-duplicate facts step,
in one process.

Run: `make bench` or `.venv/bin/python -m bench.bench_register [--full] [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

OUT = Path(__file__).resolve().parent / "out"
WORDS = [
    "refund",
    "order",
    "shipping",
    "account",
    "password",
    "reset",
    "invoice",
    "charge",
    "billing",
    "delayed",
    "package",
    "login",
    "error",
    "cancel",
    "subscription",
    "upgrade",
    "plan",
    "support",
    "agent",
    "ticket",
    "escalate",
    "broken",
    "screen",
    "payment",
    "card",
    "declined",
    "address",
    "update",
    "tracking",
    "number",
    "warranty",
    "replacement",
]


def make_file(records: int) -> Path:
    """A JSONL file of ``records`` ~500-byte records (reused when already there)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"records-{records}.jsonl"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        buf = []
        for i in range(records):
            words = " ".join(WORDS[(i * 7 + j * 13) % len(WORDS)] for j in range(52))
            buf.append(
                orjson.dumps(
                    {
                        "id": i,
                        "customer_id": f"cust-{i % 50_000:06d}",
                        "created": "2026-03-01T12:00:00Z",
                        "text": f"Ticket {i}: {words}"[:420],
                    }
                )
            )
            if len(buf) == 10_000:
                fh.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            fh.write(b"\n".join(buf) + b"\n")
    tmp.rename(path)
    return path


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    return timed_cpu(cmd, env)[0]


def timed_cpu(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a command: the CPU time, user and system, of the
    process and every child it waited for (a registration's hashing workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def provledger() -> str:
    return str(Path(sys.executable).with_name("provledger"))


def register_once(path: Path, sketches: bool = True) -> tuple[float, int, int, float]:
    """Fresh ledger, register ``path`` (with or without near-duplicate sketches);
    (seconds, database bytes, records, CPU seconds of the register process and its
    workers)."""
    home, env = fresh_home()
    try:
        seconds, cpu = timed_cpu(
            [
                provledger(),
                "register",
                str(path),
                *REGISTER_ARGS,
                *([] if sketches else ["--no-sketches"]),
            ],
            env,
        )
        db = home / "ledger.duckdb"
        size = db.stat().st_size
        wal = db.with_name(db.name + ".wal")
        if wal.exists():
            size += wal.stat().st_size
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        count = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
        con.close()
        return seconds, size, count, cpu
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


def fresh_home() -> tuple[Path, dict[str, str]]:
    """An initialised ledger home with dataset ``bench`` and consent ``bench-tos@1``."""
    home = Path(tempfile.mkdtemp(prefix="plbench-")) / "home"
    env = dict(os.environ, PROVLEDGER_HOME=str(home))
    env.pop("PROVLEDGER_KEY_PASSPHRASE", None)
    exe = provledger()
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "env": env}
    subprocess.run([exe, "init"], **quiet)  # type: ignore[call-overload]
    subprocess.run(  # type: ignore[call-overload]
        [
            exe,
            "dataset",
            "create",
            "bench",
            "--owner",
            "b",
            "--context",
            "internal",
            "--use",
            "train",
        ],
        **quiet,
    )
    subprocess.run([exe, "consent", "add", str(consent_manifest())], **quiet)  # type: ignore[call-overload]
    return home, env


REGISTER_ARGS = [
    "--dataset",
    "bench",
    "--source",
    "first_party",
    "--consent",
    "bench-tos@1",
    "--subject-field",
    "customer_id",
    "--json",
]


def consent_manifest() -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / "bench-consent.json"
    path.write_bytes(
        orjson.dumps(
            {
                "policy": "bench-tos",
                "version": 1,
                "effective_from": "2026-01-01",
                "permits": ["train"],
                "retention_days": None,
                "prior_versions": {},
            }
        )
    )
    return path


def peak_child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def compare_sketches(records: int, runs: int) -> None:
    """Registration with and without sketches, interleaved on one file: wall time, CPU
    time (what a loaded machine makes wall time track) and size."""
    path = make_file(records)
    print(f"# register {records:,} records with and without sketches, {runs} runs each")
    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    timing: dict[bool, list[float]] = {True: [], False: []}
    cpus: dict[bool, list[float]] = {True: [], False: []}
    sizes: dict[bool, float] = {}
    for _ in range(runs):
        for sketches in (False, True):
            secs, size, count, cpu = register_once(path, sketches)
            timing[sketches].append(secs)
            cpus[sketches].append(cpu)
            sizes[sketches] = size / count
    without, with_ = (statistics.median(timing[k]) for k in (False, True))
    cpu_without, cpu_with = (statistics.median(cpus[k]) for k in (False, True))
    for name, key in (("without", False), ("with", True)):
        runs_text = ", ".join(f"{x:.2f}" for x in timing[key])
        print(
            f"{name:7s} sketches  median {statistics.median(timing[key]):7.2f} s wall "
            f"({runs_text})  {statistics.median(cpus[key]):7.2f} s CPU  "
            f"{sizes[key]:6.1f} B/record stored"
        )
    print(
        f"ratio with/without {with_ / without:5.2f}x wall (target <= 1.5x), "
        f"{cpu_with / cpu_without:5.2f}x CPU; extra {sizes[True] - sizes[False]:5.1f} "
        "B/record (target <= 40)"
    )
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def near_facts_cost(records: int, runs: int) -> None:
    """Registration with the near-duplicate facts step and with it skipped, interleaved in
    this one process (fresh ledger each time, the local engine, sketches on): the only
    difference is the step (``provledger.similarity.near_facts.write_near_facts``)."""
    import provledger.ingest.register as register_module
    from provledger.ledger import Ledger

    path = make_file(records)
    real = register_module.write_near_facts
    spent: list[tuple[float, float]] = []

    def timed(*args: object, **kwargs: object) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        real(*args, **kwargs)  # type: ignore[arg-type]
        spent.append((time.perf_counter() - wall, time.process_time() - cpu))

    def cpu_now() -> float:
        own, kids = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    print(f"# near facts at registration, {records:,} records, {runs} runs each, interleaved")
    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    try:
        for _ in range(runs):
            for facts in (False, True):
                register_module.write_near_facts = timed if facts else (lambda *a, **k: None)  # type: ignore[assignment]
                folder = Path(tempfile.mkdtemp(prefix="plbench-"))
                try:
                    with Ledger.init(folder / "home") as led:
                        led.create_dataset("bench", owner="b", context="internal", uses=["train"])
                        led.add_consent(orjson.loads(consent_manifest().read_bytes()))
                        wall, cpu = time.perf_counter(), cpu_now()
                        led.register(
                            path,
                            dataset="bench",
                            source="first_party",
                            consent="bench-tos@1",
                            subject_field="customer_id",
                        )
                        results[facts].append((time.perf_counter() - wall, cpu_now() - cpu))
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        register_module.write_near_facts = real
    medians = {
        k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
        for k, v in results.items()
    }
    for facts in (False, True):
        name = "with the facts" if facts else "facts skipped"
        print(f"{name:15s} median {medians[facts][0]:6.2f} s wall {medians[facts][1]:6.2f} s CPU")
    step = (statistics.median(s[0] for s in spent), statistics.median(s[1] for s in spent))
    print(
        f"with/without {medians[True][0] / medians[False][0]:.3f}x wall, "
        f"{medians[True][1] / medians[False][1]:.3f}x CPU (target < 1.03); the step alone "
        f"{step[0]:.3f} s wall, {step[1]:.3f} s CPU"
    )
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_register")
    parser.add_argument("--full", action="store_true", help="also run 10M records (~5 GB)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--compare-sketches",
        type=int,
        metavar="RECORDS",
        help="only compare registration with and without sketches at this many records",
    )
    parser.add_argument(
        "--near-facts-cost",
        type=int,
        metavar="RECORDS",
        help="only time registration with and without the near-duplicate facts step",
    )
    args = parser.parse_args(argv)
    if args.near_facts_cost:
        near_facts_cost(args.near_facts_cost, args.runs)
        return
    if args.compare_sketches:
        compare_sketches(args.compare_sketches, args.runs)
        return

    sizes = [100_000, 1_000_000] + ([10_000_000] if args.full else [])
    files = {n: make_file(n) for n in sizes}
    big = files[1_000_000]
    mb = big.stat().st_size / 1e6
    print(f"# register: 1M records, {mb:.0f} MB, {os.cpu_count()} cores, {args.runs} runs each")

    openssl, sha256sum, register = [], [], []
    for _ in range(args.runs):  # interleaved, so load on a shared machine hits all alike
        openssl.append(timed(["openssl", "dgst", "-sha256", str(big)]))
        sha256sum.append(timed(["sha256sum", str(big)]))
        register.append(register_once(big)[0])
    o, s, r = (statistics.median(x) for x in (openssl, sha256sum, register))
    print(f"openssl dgst -sha256   median {o:7.3f} s")
    print(f"sha256sum              median {s:7.3f} s")
    print(
        f"provledger register    median {r:7.3f} s   "
        f"(runs: {', '.join(f'{x:.2f}' for x in register)})"
    )
    print(f"ratio register/openssl   {r / o:5.2f}x   (target <= 4x)")
    print(f"ratio register/sha256sum {r / s:5.2f}x")

    # A one-record file costs what every registration pays once: start-up, opening the
    # ledger, the entry and the final CHECKPOINT. Per-record cost is taken net of it.
    one = make_file(1)
    fixed = statistics.median(register_once(one)[0] for _ in range(max(args.runs, 3)))
    print("\n# cost per record (median of runs), net of the fixed cost, and size")
    print(f"fixed cost (1-record file): {fixed:.2f} s")
    base = None
    for n, path in files.items():
        runs = [register_once(path) for _ in range(args.runs if n < 10_000_000 else 1)]
        secs = statistics.median(x[0] for x in runs)
        size, count = runs[0][1], runs[0][2]
        per = (secs - fixed) / n * 1e6
        base = base or per
        print(
            f"{n:>10,} records  {secs:7.2f} s  {secs / n * 1e6:6.2f} us/record gross  "
            f"{per:6.2f} net ({per / base:4.2f}x of 100k)  {size / count:6.1f} B/record stored"
        )
    print(
        f"\npeak RSS of any register process or worker: {peak_child_rss_mb():.0f} MB (target < 500)"
    )


if __name__ == "__main__":
    main()
