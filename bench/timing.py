"""Timing helpers: run a command or a callable N times, keep every sample, report the
median. Wall-clock time from ``time.perf_counter``; samples are in seconds."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Target", "Timing", "interleaved", "measure", "run_once", "table"]

# A command line (run as a subprocess, output discarded) or a callable taking no arguments.
Target = Sequence[str] | Callable[[], object]


@dataclass(frozen=True)
class Timing:
    """Every sample of one measured target, in seconds, in the order taken."""

    label: str
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def median_ms(self) -> float:
        return self.median * 1000

    @property
    def min_ms(self) -> float:
        return min(self.samples) * 1000

    @property
    def max_ms(self) -> float:
        return max(self.samples) * 1000


def run_once(target: Target, env: Mapping[str, str] | None = None) -> float:
    """Seconds one run of ``target`` took. A command must exit 0 (CalledProcessError)."""
    if callable(target):
        start = time.perf_counter()
        target()
        return time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(
        list(target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        check=True,
    )
    return time.perf_counter() - start


def measure(
    target: Target,
    runs: int,
    *,
    warmup: int = 1,
    label: str = "",
    env: Mapping[str, str] | None = None,
) -> Timing:
    """Run ``target`` ``warmup`` times unmeasured, then ``runs`` times; return all samples."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    for _ in range(warmup):
        run_once(target, env)
    samples = tuple(run_once(target, env) for _ in range(runs))
    return Timing(label or _describe(target), samples)


def interleaved(
    targets: Mapping[str, Target],
    runs: int,
    *,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
) -> dict[str, Timing]:
    """Measure several targets round-robin (A, B, A, B, ...), so drift in the machine's
    load or clock speed lands on all of them alike rather than on whichever ran last."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    for _ in range(warmup):
        for target in targets.values():
            run_once(target, env)
    samples: dict[str, list[float]] = {label: [] for label in targets}
    for _ in range(runs):
        for label, target in targets.items():
            samples[label].append(run_once(target, env))
    return {label: Timing(label, tuple(values)) for label, values in samples.items()}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        first, *rest = row
        parts = [first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _describe(target: Target) -> str:
    if callable(target):
        return getattr(target, "__name__", repr(target))
    return " ".join(target)
