"""Size and time of `provledger publish` (the log as C2SP tlog-tiles).

- the worked example (`provledger demo`);
- a ledger of 1M records (the ~500-byte records of bench_register) registered as one
  batch, and the same records registered as --batches files (100 by default).

The log has one entry per event (batch, dataset, license, ...), not per record, so the
published directory grows with the number of entries, never with the number of records.

Run: `.venv/bin/python -m bench publish [--records N] [--batches K]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.bench_register import make_file
from ledger.demo import run_demo
from ledger.ledger import Ledger
from ledger.tiles import PublishResult


def _parts(directory: Path) -> str:
    sizes: dict[str, int] = {}
    for root, _dirs, names in os.walk(directory):
        rel = Path(root).relative_to(directory).parts
        group = "/".join(rel[:2]) if rel[:1] == ("tile",) else (rel[0] if rel else ".")
        for name in names:
            sizes[group] = sizes.get(group, 0) + os.path.getsize(os.path.join(root, name))
    return ", ".join(f"{k} {v:,} B" for k, v in sorted(sizes.items()))


def _report(label: str, result: PublishResult, seconds: float, records: int) -> None:
    print(
        f"{label}: {records:,} records, {result.size:,} entries -> {result.files} files, "
        f"{result.bytes:,} bytes ({seconds * 1000:.0f} ms)"
    )
    print(f"    {_parts(Path(result.directory))}")


def _publish(home: Path, out: Path) -> tuple[PublishResult, float]:
    with Ledger.open(home, read_only=True) as led:
        start = time.perf_counter()
        result = led.publish(out)
        return result, time.perf_counter() - start


def _register(home: Path, files: list[Path]) -> int:
    records = 0
    with Ledger.init(home) as led:
        led.create_dataset("bench", owner="bench", context="internal", uses=["train"])
        for path in files:
            records += led.register(path, dataset="bench", source="scraped").records
    return records


def _split(path: Path, parts: int, folder: Path) -> list[Path]:
    lines = path.read_bytes().splitlines(keepends=True)
    step = -(-len(lines) // parts)
    out = []
    for i in range(parts):
        part = folder / f"part-{i:04d}.jsonl"
        part.write_bytes(b"".join(lines[i * step : (i + 1) * step]))
        out.append(part)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        demo = run_demo(root / "demo")
        records = sum(r.records for r in demo.batches.values())
        _report("worked example", *_publish(demo.home, root / "demo-pub"), records)

        source = make_file(args.records)
        count = _register(root / "one", [source])
        _report("one batch", *_publish(root / "one", root / "one-pub"), count)

        (root / "parts").mkdir()
        files = _split(source, args.batches, root / "parts")
        count = _register(root / "many", files)
        _report(f"{args.batches} batches", *_publish(root / "many", root / "many-pub"), count)


if __name__ == "__main__":
    main()
