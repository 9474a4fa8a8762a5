"""Ending a command on SIGINT or SIGTERM without leaving anything half done or half said.

``install`` (the CLI calls it first thing) replaces the default handlers. A signal then
raises ``Interrupted`` in the main thread at once, except inside a ``deferred`` block: the
store runs every DuckDB call in one (so DuckDB never sees a half-run statement or raises
"Query interrupted"), and an append runs its commit, CHECKPOINT and note rewrite in one (so
a commit is never followed by a rollback or a missing note). A signal that arrives inside
is remembered and raised when the outermost block ends. A second signal while the first
is being handled only sets the flag again: clean-up (rolling back, stopping the hashing
workers) is never cut short. Nor is a module import (an exception inside an extension
module's initialisation can abort the interpreter): a signal arriving during one is looked
at again every ``RETRY_SECONDS`` (SIGALRM) until the import is done.

Every append that commits is recorded (``committed``), so whoever catches ``Interrupted``
can say truthfully whether anything was written. Hashing workers ignore both signals
(``ignore_in_worker``); the process that owns them stops them.

Without ``install`` (the Python API) nothing changes: SIGINT raises KeyboardInterrupt as
usual and ``deferred`` only counts.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

__all__ = [
    "Interrupted",
    "blocked",
    "commits",
    "committed",
    "deferred",
    "finish",
    "hold",
    "ignore_in_worker",
    "install",
    "release",
]

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How soon a signal that arrived during an import is looked at again.
RETRY_SECONDS = 0.02


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` swallows it. ``exit_code`` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@dataclass
class _State:
    installed: bool = False
    raising: bool = False  # raise Interrupted from the handler (else only remember)
    held: int = 0  # depth of deferred blocks
    pending: int | None = None  # the first signal received
    raised: bool = False  # Interrupted was raised once already
    done: list[str] = field(default_factory=list)  # what committed, in words


_state = _State()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.pending is None:
        _state.pending = signum
    _try_raise(frame)


def _try_raise(frame: FrameType | None) -> None:
    if not _state.raising or _state.held or _state.raised or _state.pending is None:
        return
    if _importing(frame):
        # An exception inside a module's import can abort the interpreter (an extension
        # module's initialisation running Python code): look again once it is done.
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
        return
    _raise_pending()


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _retry(signum: int, frame: FrameType | None) -> None:
    _try_raise(frame)


def _raise_pending() -> None:
    if _state.pending is not None and not _state.raised:
        _state.raised = True
        raise Interrupted(_state.pending)


def install(*, early: bool = False) -> None:
    """Handle SIGINT and SIGTERM as described above, for the rest of this process. With
    ``early`` a signal is only remembered (for the start-up imports, where nobody could
    catch an exception); the second call raises one that came meanwhile."""
    _state.installed = True
    _state.raising = not early
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    signal.signal(signal.SIGALRM, _retry)
    _try_raise(sys._getframe())


@contextmanager
def deferred() -> Iterator[None]:
    """Run the block whole: a signal arriving inside is raised when the outermost block
    ends (also when it ends with another exception)."""
    _state.held += 1
    try:
        yield
    finally:
        _state.held -= 1
        if _state.held == 0:
            _raise_pending()


def hold() -> None:
    """Enter a deferred block that ends with ``release`` (for blocks that a ``with``
    statement cannot span)."""
    _state.held += 1


def release() -> None:
    """End a block started with ``hold``; raise a pending signal if it was the outermost."""
    _state.held -= 1
    if _state.held == 0:
        _raise_pending()


@contextmanager
def blocked() -> Iterator[None]:
    """Block both signals at the OS level while the block runs; processes forked inside
    start with them blocked, so they can ignore them before any can arrive. A signal sent
    meanwhile is delivered when the block ends."""
    if not _state.installed:
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def ignore_in_worker() -> None:
    """In a forked worker: ignore both signals (the parent decides), then unblock them."""
    for signum in (*SIGNALS, signal.SIGALRM):
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def committed(description: str) -> None:
    """Record that an append committed, in words ("batch b5 was committed (seq 5)")."""
    _state.done.append(description)


def commits() -> list[str]:
    """What committed in this process so far, oldest first."""
    return list(_state.done)


def finish() -> int | None:
    """Ignore both signals from now on (the command has done all it will do) and return
    the signal received but not yet raised, if any."""
    if _state.installed:
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        signal.setitimer(signal.ITIMER_REAL, 0)
    late = None if _state.raised else _state.pending
    _state.raising = False
    _state.raised = True
    return late
