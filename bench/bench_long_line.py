"""Peak memory of ``provledger register`` on a gzip file holding one long line.

    python -m bench long_line            # 16, 32 and 60 MB lines, then a 512 MB one (refused)
    python -m bench long_line 48 200     # these line sizes in MB (above 64 MiB: refused
                                         # unless --max-line-size is raised, see --raise)
    python -m bench long_line --raise 200

Each run is a fresh ledger and a separate process; its peak resident set size is the
child's ``ru_maxrss`` (what ``/usr/bin/time -v`` reports as "Maximum resident set size").
The baseline is the same command on a one-record file: what the interpreter, DuckDB and
pyarrow take whatever the input. Reported: peak, peak minus baseline, and that extra as
a multiple of the line.
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

from provledger.ledger import Ledger
from provledger.registry import operations as registry

PROVLEDGER = str(Path(sys.executable).with_name("provledger"))
MB = 10**6


def _gzip_line(path: Path, size: int) -> Path:
    """A gzip file of one JSON line {"text": "aaa..."} of about ``size`` bytes, written in
    pieces so this process never holds it."""
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(b'{"text": "')
        piece = b"a" * (1 << 20)
        left = size - 12
        while left > 0:
            fh.write(piece[: min(left, len(piece))])
            left -= len(piece)
        fh.write(b'"}\n')
    return path


def _peak_kb(args: list[str]) -> tuple[int, float, str]:
    """Run one command in a child process; its peak RSS in KiB, seconds, last stderr line."""
    pid = os.fork()
    if pid == 0:  # the child runs the command, so its rusage is its own
        os.execv(PROVLEDGER, [PROVLEDGER, *args])
    began = time.monotonic()
    _, status, usage = os.wait4(pid, 0)
    took = time.monotonic() - began
    return usage.ru_maxrss, took, f"exit {os.waitstatus_to_exitcode(status)}"


def _one(folder: Path, size_mb: float, raised: str | None) -> None:
    home = folder / f"home-{size_mb}"
    with Ledger.init(home) as led:
        registry.create_dataset(led, "bench", owner="bench", context="internal", uses=["train"])
    data = _gzip_line(folder / f"line-{size_mb}.jsonl.gz", int(size_mb * MB))
    args = ["register", str(data), "--dataset", "bench", "--source", "scraped", "--home", str(home)]
    if raised:
        args += ["--max-line-size", raised]
    peak, took, outcome = _peak_kb(args)
    baseline = _baseline(folder)
    extra = max(0, peak - baseline) * 1024
    print(
        f"{size_mb:>6.0f} MB line ({data.stat().st_size / 1e6:.1f} MB gzip): peak "
        f"{peak / 1024:7.0f} MiB, over baseline {extra / 2**20:7.0f} MiB = "
        f"{extra / (size_mb * MB):4.1f}x the line; {took:5.1f} s; {outcome}",
        flush=True,
    )
    data.unlink()


_BASE: list[int] = []


def _baseline(folder: Path) -> int:
    if not _BASE:
        home = folder / "home-base"
        with Ledger.init(home) as led:
            registry.create_dataset(led, "bench", owner="b", context="internal", uses=["train"])
        one = folder / "one.jsonl.gz"
        one.write_bytes(gzip.compress(b'{"text": "a"}\n'))
        peak, _, _ = _peak_kb(
            ["register", str(one), "--dataset", "bench", "--source", "scraped", "--home", str(home)]
        )
        _BASE.append(peak)
        print(f"baseline (one short record): peak {peak / 1024:.0f} MiB", flush=True)
    return _BASE[0]


def main(argv: list[str] | None = None) -> None:
    args = list(argv or [])
    raised = None
    if "--raise" in args:
        at = args.index("--raise")
        raised = "1GiB"
        del args[at]
    sizes = [float(a) for a in args] or [16, 32, 60, 512]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _baseline(folder)
        for size in sizes:
            _one(folder, size, raised)


if __name__ == "__main__":
    main(sys.argv[1:])
