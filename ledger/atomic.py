"""Writing a file all at once: readers see the old file or the whole new one, never a
part, and a write that fails (no space, no permission) leaves no file behind.

``StagedFile`` splits the write in two, so that a caller can make sure a file can be
written before it records anything, and put it in place after: the data is written and
flushed to disk in a temporary file beside the target first (``StagedFile(path, data)``,
which raises OSError when it cannot), and renamed over the target by ``commit``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["StagedFile", "write_atomically"]


class StagedFile:
    """``data`` written to a temporary file beside ``path`` and flushed to disk. Raises
    OSError (``strerror`` set) when that fails; nothing is left behind then."""

    def __init__(self, path: str | os.PathLike[str], data: bytes) -> None:
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        self._tmp: Path | None = Path(tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            self.discard()
            raise

    def commit(self) -> None:
        """Rename the staged file over the target (OSError if that fails)."""
        if self._tmp is None:
            raise RuntimeError("staged file already committed or discarded")
        os.replace(self._tmp, self.path)
        self._tmp = None
        # The rename itself reaches the disk only once the folder is flushed too.
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def discard(self) -> None:
        """Remove the staged file unless it was committed."""
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a ``StagedFile``. Raises OSError; ``path`` is
    left as it was then."""
    staged = StagedFile(path, data)
    try:
        staged.commit()
    finally:
        staged.discard()
