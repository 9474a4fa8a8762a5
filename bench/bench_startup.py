"""Start-up: whole-process wall time of ``provledger --help`` against ``python -c pass``.

Both run as fresh processes, interleaved, 15 times each by default; the table shows the
medians in milliseconds and the ratio. The target is ``provledger --help`` under 150 ms:
the CLI must not import DuckDB, pyarrow or SQLModel before a command needs them.

Run: ``.venv/bin/python -m bench startup [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.timing import interleaved, table

TARGET_MS = 150.0


def provledger_script() -> Path:
    """The ``provledger`` console script installed next to this interpreter."""
    path = Path(sys.executable).parent / "provledger"
    if not path.exists():
        raise SystemExit(f"no provledger script at {path}: install the project (make test)")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (15)")
    args = parser.parse_args(argv)

    python = "python -c pass"
    cli = "provledger --help"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    timings = interleaved(
        {python: [sys.executable, "-c", "pass"], cli: [str(provledger_script()), "--help"]},
        args.runs,
        warmup=2,
        env=env,
    )
    base, ours = timings[python], timings[cli]
    print(f"Start-up: whole-process wall time, {args.runs} runs each, interleaved")
    print(
        table(
            ["command", "median ms", "min ms", "max ms"],
            [[t.label, t.median_ms, t.min_ms, t.max_ms] for t in (base, ours)],
        )
    )
    ratio = ours.median / base.median
    verdict = "within" if ours.median_ms < TARGET_MS else "OVER"
    print()
    print(f"ratio {cli} / {python}: {ratio:.1f}x")
    print(f"overhead over a bare interpreter: {ours.median_ms - base.median_ms:.1f} ms")
    print(f"target {cli} < {TARGET_MS:.0f} ms: {verdict} ({ours.median_ms:.1f} ms)")


if __name__ == "__main__":
    main()
