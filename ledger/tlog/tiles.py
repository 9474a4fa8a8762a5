"""The entry log as a static C2SP tlog-tiles directory (https://c2sp.org/tlog-tiles), for
any static web server to host and any tlog-tiles client to fetch and verify.

    checkpoint                        the latest signed note (the log's size and root)
    tile/<L>/<N>[.p/<W>]              hash tiles: 256 hashes of 32 bytes (fewer if partial)
    tile/entries/<N>[.p/<W>]          entry bundles: big-endian uint16 length-prefixed
                                      entries; each entry is the 32-byte entry hash
    entry-bodies/<N>[.p/<W>]          the same entries' canonical bodies, one per line

The log's leaf input is the entry hash (32 raw bytes), so the bundle entry is exactly
that: RFC 6962 hashing of a bundle entry (SHA-256(0x00 || entry)) gives the level-0 tile
hash, as the spec requires, and the tiles reproduce the root the notes sign. What was
signed is published beside them: line i of ``entry-bodies`` is the entry's canonical body
(RFC 8785 JSON of seq, kind, payload, prev_hash, key_id, recorded_at) and its SHA-256 is
bundle entry i. Payloads hold hashes, HMAC'd subject ids and registry metadata, never
record text or raw subject ids.

Publishing again into the same directory only adds files: a file already there must have
exactly the bytes it would be written with (full tiles never change), partial tiles of
earlier sizes stay for clients holding older checkpoints, and the checkpoint is replaced
last, so a reader never sees a checkpoint whose tiles are missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provledger.atomic import write_atomically
from provledger.errors import InputError, IntegrityError, RootMismatch
from provledger.tlog.checkpoint import parse_note
from provledger.tlog.entry_proofs import read_note
from provledger.tlog.merkle import leaf_hash, perfect_root, root_from_leaf_hashes

if TYPE_CHECKING:
    from provledger.ledger import Ledger

__all__ = [
    "CHECKPOINT_FILE",
    "TILE_WIDTH",
    "PublishResult",
    "bundle",
    "encode_index",
    "publish",
    "tile_files",
    "tile_path",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # hashes in a full tile, entries in a full bundle
CHECKPOINT_FILE = "checkpoint"
BODIES_DIR = "entry-bodies"


@dataclass(frozen=True)
class PublishResult:
    """What ``publish`` did: the published size and root, files added, files already there
    (byte-identical), and the directory's total size."""

    directory: str
    size: int
    root: str
    written: int
    unchanged: int
    files: int
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "size": self.size,
            "root": self.root,
            "written": self.written,
            "unchanged": self.unchanged,
            "files": self.files,
            "bytes": self.bytes,
        }


def encode_index(n: int) -> str:
    """A tile index as the spec's path: 3-digit groups, all but the last prefixed with x
    (1234067 -> x001/x234/067, 5 -> 005)."""
    groups = [n % 1000]
    n //= 1000
    while n:
        groups.append(n % 1000)
        n //= 1000
    groups.reverse()
    return "/".join([f"x{g:03d}" for g in groups[:-1]] + [f"{groups[-1]:03d}"])


def tile_path(level: int | str, n: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``; level ``entries`` gives an entry bundle's path."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(n)}{suffix}"


def bundle(entries: list[bytes]) -> bytes:
    """An entry bundle: each entry prefixed with its length as a big-endian uint16."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise ValueError("an entry bundle entry is at most 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def _chunks(items: list[Any]) -> list[tuple[int, int, list[Any]]]:
    """(tile index, width, items) for each full chunk of 256 and the partial rest."""
    out = []
    for n, start in enumerate(range(0, len(items), TILE_WIDTH)):
        part = items[start : start + TILE_WIDTH]
        out.append((n, len(part), part))
    return out


def tile_files(entry_hashes: list[bytes], bodies: list[bytes]) -> dict[str, bytes]:
    """Every hash tile, entry bundle and body bundle of the log with these entries, by
    path. Level l+1 holds the roots of the full tiles of level l; partial tiles are never
    hashed upwards."""
    files: dict[str, bytes] = {}
    for n, width, part in _chunks(entry_hashes):
        files[tile_path("entries", n, width)] = bundle(part)
    for n, width, part in _chunks(bodies):
        suffix = "" if width == TILE_WIDTH else f".p/{width}"
        files[f"{BODIES_DIR}/{encode_index(n)}{suffix}"] = b"".join(b + b"\n" for b in part)
    hashes = [leaf_hash(h) for h in entry_hashes]
    level = 0
    while hashes:
        full: list[bytes] = []
        for n, width, part in _chunks(hashes):
            files[tile_path(level, n, width)] = b"".join(part)
            if width == TILE_WIDTH:
                full.append(perfect_root(part))
        hashes = full
        level += 1
    return files


def _previous(led: Ledger, directory: Path) -> int:
    """The size of what ``directory`` already holds (0 for a new or empty one), after
    checking it is an earlier state of this very log."""
    if directory.exists() and not directory.is_dir():
        raise InputError("not a directory", file=directory)
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        if directory.exists() and any(directory.iterdir()):
            raise InputError(
                "directory is not empty and holds no published checkpoint: refusing to "
                "publish into it",
                file=directory,
            )
        return 0
    old = parse_note(path.read_text(encoding="utf-8"), led.public, source=str(path))
    if old.origin != led.origin:
        raise InputError(f"holds log '{old.origin}', not '{led.origin}'", file=path)
    count = led.store.entry_count()
    if old.size > count:
        raise InputError(
            f"holds {old.size} entries, more than this ledger's {count}: it was published "
            "from another copy of the ledger",
            file=path,
        )
    root = root_from_leaf_hashes(leaf_hash(h) for h in led.store.entry_hashes(old.size))
    if root != old.root:
        raise RootMismatch(
            f"{path}: the published log is not a prefix of this ledger's log", old.root, root
        )
    return old.size


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)


def publish(led: Ledger, directory: Path) -> PublishResult:
    """Write the log at the size of the latest stored note into ``directory`` as
    tlog-tiles, or extend an earlier publication of the same log.

    Raises InputError when the directory holds something else (another log, a longer log,
    files without a checkpoint), RootMismatch when it holds another history of this log,
    IntegrityError when a file already there has other bytes than it should.
    """
    note_text, source = led.stored_note()
    note = read_note(led, note_text, source)
    _previous(led, directory)
    entries = list(led.store.entries(until=note.size))
    files = tile_files([bytes.fromhex(e.entry_hash) for e in entries], [e.body() for e in entries])
    written = unchanged = 0
    path = directory
    try:
        for rel, data in files.items():
            path = directory / rel
            if path.exists():
                if path.read_bytes() != data:
                    raise IntegrityError(f"{path} already holds other bytes: refusing to change it")
                unchanged += 1
                continue
            _write_file(path, data)
            written += 1
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / CHECKPOINT_FILE
        if not path.exists() or path.read_text(encoding="utf-8") != note_text:
            write_atomically(path, note_text.encode("utf-8"))
            written += 1
        else:
            unchanged += 1
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", file=path) from None
    count = total = 0
    for root_dir, _dirs, names in os.walk(directory):
        for name in names:
            count += 1
            total += os.path.getsize(os.path.join(root_dir, name))
    return PublishResult(
        str(directory), note.size, note.root.hex(), written, unchanged, count, total
    )
