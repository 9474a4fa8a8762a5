"""Worker processes that hash for a registration: the policy every pool follows.

A worker ignores SIGINT and SIGTERM (the registering process decides what they mean and
stops its workers itself, see ``provledger.interrupts``) and ends when the process that
started it dies, so no worker outlives a registration however it ends.
"""

from __future__ import annotations

import os
import threading
import time

from provledger import interrupts

__all__ = ["exit_with_parent"]


def exit_with_parent(parent: int) -> None:
    """Worker initialiser: end this worker when the process that started it dies.

    A registering process killed outright (SIGKILL, the OOM killer) never shuts its pool
    down, and a forked worker holds the write end of its own task pipe, so it would wait
    for work forever. A daemon thread notices the new parent id and exits instead.
    ``parent`` is the registering process's id, taken before the fork: read here, it
    would be the new parent's when the registering process died between fork and call.
    """
    # The registering process decides what a SIGINT or SIGTERM means and stops us itself.
    interrupts.ignore_in_worker()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
