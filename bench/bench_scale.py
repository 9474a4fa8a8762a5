"""Registering beyond one process: the 1M-record Parquet file, locally and on engines.

The records are bench_register's 1M ~500-byte records, written as one Parquet file
(int64 and string columns, pyarrow's default row groups: a single group of 1M rows).

- ``local``: `provledger register FILE.parquet` before (one process reads and hashes the
  file, as before row ranges existed) and after (row ranges in worker processes); wall
  time and the peak RSS of the register process and any of its workers.
- ``ray``: the same file through `--engine ray` on a local Ray with 1 and 2 CPUs, and the
  fixed cost of starting Ray (`ray.init` to ready) and of a 1-record registration.
- ``spark``: local-mode Spark start-up and the `mapInArrow` example over the same file.

- ``lock``: the phases of one registration (hashing with the ledger closed, then the
  commit with the writer lock held); also printed by ``local``.
- ``shards``: the same phases registering into the ledger file and into Parquet hash
  shards (``--shards``), with the ledger file's and the shards' size on disk.
- ``ray-shards``: the same on Ray with 2 CPUs (the tasks write the shards); not run by
  default.

Run: `.venv/bin/python -m bench scale [local] [lock] [ray] [spark] [shards] [ray-shards]
[--runs N]`
(local, ray, spark and shards by default). Each figure is the median of ``--runs`` runs
(default 3), printed with the load average before each part: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.bench_register import (
    OUT,
    REGISTER_ARGS,
    fresh_home,
    make_file,
    provledger,
)

# Registers with the Parquet row ranges switched off: the path as it was before them.
ONE_PROCESS = (
    "import sys; from provledger.ingest import parquet_ranges; "
    "parquet_ranges.PARALLEL_MIN_ROWS = 1 << 62; "
    "from provledger.cli.main import run; sys.argv[0] = 'provledger'; run()"
)


def make_parquet(records: int) -> Path:
    """The JSONL bench file as Parquet (reused when already there)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = OUT / f"records-{records}.parquet"
    if path.exists():
        return path
    source = make_file(records)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("customer_id", pa.string()),
            ("created", pa.string()),
            ("text", pa.string()),
        ]
    )
    tmp = path.with_suffix(".tmp")
    with open(source, "rb") as fh, pq.ParquetWriter(tmp, schema) as writer:
        rows = []
        for line in fh:
            rows.append(orjson.loads(line))
            if len(rows) == 100_000:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    tmp.rename(path)
    return path


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, object]]:
    """Run ``cmd``; (seconds, peak RSS in MB of it or any descendant it waited for, its
    JSON output with ``cpu_s``: the CPU seconds of it and those descendants added)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{cmd} failed with exit code {proc.returncode}")
    result = orjson.loads(out)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, result


def register(
    file: Path, *prefix: str, extra: tuple[str, ...] = ()
) -> tuple[float, float, dict[str, object]]:
    home, env = fresh_home()
    try:
        cmd = [*(prefix or (provledger(),)), "register", str(file), *REGISTER_ARGS, *extra]
        return measured(cmd, env)
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


def load() -> str:
    """The load averages (1, 5, 15 min): what else the shared machine was doing."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def median_of(runs: int, run: Callable[[], Any]) -> list[Any]:
    return [run() for _ in range(runs)]


def bench_local(file: Path, runs: int) -> None:
    print(f"# local: {file.name}, {file.stat().st_size / 1e6:.0f} MB; {load()}")
    before = median_of(runs, lambda: register(file, sys.executable, "-c", ONE_PROCESS))
    after = median_of(runs, lambda: register(file))
    assert before[0][2]["merkle_root"] == after[0][2]["merkle_root"]
    for name, results in (("one process (before)", before), ("row ranges (after)", after)):
        secs = statistics.median(r[0] for r in results)
        rss = statistics.median(r[1] for r in results)
        cpu = statistics.median(r[2]["cpu_s"] for r in results)
        print(
            f"{name:24s} {secs:6.2f} s   CPU {cpu:6.2f} s   peak RSS {rss:5.0f} MB"
            f"   (median of {runs})"
        )
    ratio = statistics.median(r[0] for r in before) / statistics.median(r[0] for r in after)
    print(f"before / after: {ratio:.2f}x; same Merkle root: {after[0][2]['merkle_root']}")


def _in_process(engine: str, file: Path, cpus: int, shards: bool = False) -> dict[str, float]:
    """One registration through the Python API in this process, timed in phases: engine
    start-up, hashing (the ledger closed) and the commit (the writer lock held); with
    ``shards`` into Parquet hash shards."""
    from provledger import ledger as ledger_module
    from provledger.ledger import Ledger

    home, _ = fresh_home()
    reopened: list[float] = []
    real_open = ledger_module.Store.open

    def timed_open(*args: object, **kwargs: object) -> object:
        reopened.append(time.perf_counter())
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    ledger_module.Store.open = timed_open  # type: ignore[assignment,method-assign]
    out: dict[str, float] = {}
    try:
        start = time.perf_counter()
        data: object = file
        session = None
        if engine == "ray":
            import ray

            ray.init(
                num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR"
            )
        elif engine == "spark":
            from pyspark.sql import SparkSession

            os.environ["PYSPARK_PYTHON"] = sys.executable
            session = (
                SparkSession.builder.master(f"local[{cpus}]")
                .config("spark.ui.enabled", "false")
                .getOrCreate()
            )
            session.sparkContext.setLogLevel("ERROR")
            data = session.read.parquet(str(file))
        out["engine_start_s"] = time.perf_counter() - start
        with Ledger.open(home) as led:
            begin = time.perf_counter()
            kwargs: dict[str, Any] = {"engine": "ray"} if engine == "ray" else {}
            if shards:
                kwargs["shards"] = home.parent / "shards"
            result = led.register(
                data,
                dataset="bench",
                source="first_party",
                consent="bench-tos@1",
                subject_field="customer_id",
                **kwargs,
            )
            end = time.perf_counter()
        out["register_s"] = end - begin
        out["lock_held_s"] = end - reopened[-1] if len(reopened) > 1 else end - begin
        out["records"] = result.records
        with Ledger.open(home, read_only=True) as led:
            # A record in the middle of the batch (the last shard when there are shards).
            row = led.store.row(
                "SELECT record_hash FROM records WHERE batch_seq = ? AND ord = ?",
                [result.seq, result.records * 3 // 4],
            )
            assert row is not None
            lookups = []
            for _ in range(5):
                begin = time.perf_counter()
                led.lineage(record=bytes(row[0]).hex())
                lookups.append(time.perf_counter() - begin)
        out["lookup_ms"] = statistics.median(lookups) * 1000
        out["ledger_mb"] = (home / "ledger.duckdb").stat().st_size / 1e6
        folder = home.parent / "shards"
        out["shards_mb"] = (
            sum(f.stat().st_size for f in folder.iterdir()) / 1e6 if folder.exists() else 0.0
        )
        out["merkle_root"] = result.merkle_root  # type: ignore[assignment]
        stop = time.perf_counter()
        if engine == "ray":
            ray.shutdown()
        elif session is not None:
            session.stop()
        out["engine_stop_s"] = time.perf_counter() - stop
        return out
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


def phases(engine: str, file: Path, cpus: int = 2, shards: bool = False) -> dict[str, Any]:
    """``_in_process`` in a fresh interpreter (so each run starts cold)."""
    code = (
        "import json, sys; from pathlib import Path; from bench.bench_scale import _in_process; "
        "print(json.dumps(_in_process(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), "
        "sys.argv[4] == '1')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, engine, str(file), str(cpus), "1" if shards else "0"],
        check=True,
        capture_output=True,
        text=True,
    )
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def median_phases(runs: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The median of each figure over ``runs`` cold runs of ``phases``."""
    results = [phases(*args, **kwargs) for _ in range(runs)]
    out: dict[str, Any] = {"merkle_root": results[0]["merkle_root"]}
    assert all(r["merkle_root"] == out["merkle_root"] for r in results)
    for key, value in results[0].items():
        if isinstance(value, int | float):
            out[key] = statistics.median(r[key] for r in results)
    return out


def show(name: str, figures: dict[str, Any]) -> None:
    start, register = figures["engine_start_s"], figures["register_s"]
    print(
        f"{name:28s} start {start:6.2f} s  register {register:6.2f} s"
        f"  (lock held {figures['lock_held_s']:5.2f} s)  stop {figures['engine_stop_s']:5.2f} s"
        f"  ledger {figures['ledger_mb']:6.1f} MB  shards {figures['shards_mb']:6.1f} MB"
        f"  lineage --record {figures.get('lookup_ms', float('nan')):5.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_scale")
    parser.add_argument("parts", nargs="*", default=["local", "ray", "spark", "shards"])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs = args.runs
    file = make_parquet(args.records)
    one = make_parquet(1)
    if "local" in args.parts:
        bench_local(file, runs)
    if "lock" in args.parts or "local" in args.parts:
        print(f"\n# phases of one registration ({args.records:,} records); {load()}")
        show("local, row ranges", median_phases(runs, "local", file))
    if "shards" in args.parts:
        print(f"\n# ledger file vs hash shards ({args.records:,} records); {load()}")
        in_file = median_phases(runs, "local", file)
        in_shards = median_phases(runs, "local", file, shards=True)
        assert in_file["merkle_root"] == in_shards["merkle_root"]
        show("into the ledger file", in_file)
        show("into hash shards", in_shards)
    if "ray-shards" in args.parts:
        print(f"\n# Ray, ledger file vs hash shards ({args.records:,} records); {load()}")
        in_file = median_phases(runs, "ray", file, 2)
        in_shards = median_phases(runs, "ray", file, 2, shards=True)
        assert in_file["merkle_root"] == in_shards["merkle_root"]
        show("ray, into the ledger file", in_file)
        show("ray, into hash shards", in_shards)
    if "ray" in args.parts:
        print(f"\n# Ray (local cluster started in the process); {load()}")
        show("ray, 1 record, 2 CPUs", median_phases(runs, "ray", one, 2))
        base = median_phases(runs, "ray", file, 1)
        show("ray, 1 CPU", base)
        two = median_phases(runs, "ray", file, 2)
        show("ray, 2 CPUs", two)
        assert base["merkle_root"] == two["merkle_root"]
        print(f"1 CPU / 2 CPUs: {base['register_s'] / two['register_s']:.2f}x")
    if "spark" in args.parts:
        print(f"\n# Spark (local mode started in the process); {load()}")
        show("spark, 1 record, local[2]", median_phases(runs, "spark", one, 2))
        show("spark, local[2]", median_phases(runs, "spark", file, 2))


if __name__ == "__main__":
    main()
