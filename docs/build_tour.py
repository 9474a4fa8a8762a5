"""Re-run the commands shown in the docs and rewrite their output, so it cannot drift.

    python docs/build_tour.py            # rewrite every document in DOCS in place
    python docs/build_tour.py --check    # exit 1 (with a diff) if a committed output is stale
    python docs/build_tour.py FILE.md    # just these files

A console block is executed when the line before its opening fence is ``<!-- run -->``:

    <!-- run -->
    ```console
    $ provledger init
    (output, rewritten by this script)
    ```

Lines starting with ``$ `` are commands (a trailing ``\\`` continues one on the next line);
everything else in the block is output and is replaced. Each document runs its blocks in
order in a fresh working folder holding a link to ``sample_datasets/`` and nothing else,
with the ledger home at ``./.provledger``. ``provledger`` runs in-process through the real
Typer app; ``cat`` and ``sha256sum`` are built in; nothing else is allowed.

What differs from run to run is normalised, so the check compares only what is stable:
the working folder disappears from paths, the signing key id reads ``<key-id>``,
times of the run read ``<time>`` (its date ``<date>``), an age in days measured
from today reads ``<age>``, signatures read ``<signature>``, and hex strings
that depend on the keys or the clock (entry hashes, subject hashes, log roots) read
``<hash>``. Record hashes, content hashes, Merkle roots and file digests are deterministic
and stay as they are.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    ROOT / "docs" / "tour.md",
    ROOT / "docs" / "registration.md",
    ROOT / "docs" / "lineage.md",
]
MARKER = "<!-- run -->"
HOME = ".provledger"
# Wide enough that tables do not wrap, fixed so the output does not depend on the terminal.
COLUMNS = "120"

HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12,64}(?![0-9A-Za-z])")
DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
# A date, optionally with a time: group 1 the date, group 2 the time part.
TIMESTAMP = re.compile(
    r"(?<!\d)(\d{4}-\d{2}-\d{2})"
    r"([T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
# Base64 of an Ed25519 signature (64 bytes) or longer, as in signed notes and receipts.
SIGNATURE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{80,}={0,2}")


@dataclass
class Step:
    command: str  # as written, continuation lines included
    output: str = ""


@dataclass
class Block:
    start: int  # index of the opening fence line
    end: int  # index of the closing fence line
    steps: list[Step]


def parse_blocks(lines: list[str]) -> Iterator[Block]:
    """Every console block preceded by the marker."""
    i = 0
    while i < len(lines):
        if lines[i].strip() == MARKER and i + 1 < len(lines) and lines[i + 1].startswith("```"):
            start = i + 1
            end = start + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            if end == len(lines):
                raise SystemExit(f"unclosed console block after line {i + 1}")
            steps: list[Step] = []
            j = start + 1
            while j < end:
                if lines[j].startswith("$ "):
                    command = [lines[j]]
                    while command[-1].endswith("\\") and j + 1 < end:
                        j += 1
                        command.append(lines[j])
                    steps.append(Step("\n".join(command)))
                j += 1
            yield Block(start, end, steps)
            i = end
        i += 1


def tree_nodes(leaves: list[bytes]) -> list[bytes]:
    """Every node hash of the RFC 9162 tree over ``leaves`` (leaf hashes), leaves included."""
    from ledger.merkle import node_hash

    if len(leaves) == 1:
        return list(leaves)
    k = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two below n
    left, right = tree_nodes(leaves[:k]), tree_nodes(leaves[k:])
    return [*left, *right, node_hash(left[-1], right[-1])]


class Runner:
    """Runs the documented commands in one fresh working folder."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        (workdir / "sample_datasets").symlink_to(ROOT / "sample_datasets")
        self.file_digests: set[str] = set()
        self.started = datetime.now(UTC)

    def run(self, command: str) -> str:
        argv = shlex.split(command[2:].replace("\\\n", " "))
        tool, args = argv[0], argv[1:]
        if tool == "provledger":
            return self._provledger(args)
        if tool == "cat":
            return "".join((self.workdir / a).read_text(encoding="utf-8") for a in args)
        if tool == "sha256sum":
            out = []
            for a in args:
                digest = hashlib.sha256((self.workdir / a).read_bytes()).hexdigest()
                self.file_digests.add(digest)
                out.append(f"{digest}  {a}\n")
            return "".join(out)
        raise SystemExit(f"docs/build_tour.py runs provledger, cat and sha256sum only: {command}")

    def _provledger(self, args: list[str]) -> str:
        from typer.testing import CliRunner

        from cli.main import app

        runner = CliRunner(env={"PROVLEDGER_HOME": None, "COLUMNS": COLUMNS, "NO_COLOR": "1"})
        cwd = Path.cwd()
        os.chdir(self.workdir)
        try:
            result = runner.invoke(app, args, catch_exceptions=False)
        finally:
            os.chdir(cwd)
        return result.output

    # -- normalising ---------------------------------------------------------------------
    def stable_hashes(self) -> set[str]:
        """Hashes that are the same on every run: record and content hashes, Merkle roots,
        license document digests, and digests of files shown with sha256sum."""
        stable = set(self.file_digests)
        if not (self.workdir / HOME).exists():
            return stable
        from ledger.ledger import Ledger
        from ledger.merkle import leaf_hash

        with Ledger.open(self.workdir / HOME, read_only=True) as led:
            store = led.store
            for (root,) in store.rows("SELECT merkle_root FROM batches"):
                stable.add(root)
            leaves: dict[int, list[bytes]] = {}
            for seq, rh, ch in store.rows(
                "SELECT batch_seq, record_hash, content_hash FROM records ORDER BY batch_seq, ord"
            ):
                stable.add(bytes(rh).hex())
                stable.add(bytes(ch).hex())
                leaves.setdefault(seq, []).append(leaf_hash(bytes(rh)))
            # Inclusion proofs print interior nodes of the batch trees: data-only too.
            for batch in leaves.values():
                stable.update(h.hex() for h in tree_nodes(batch))
            for (doc,) in store.rows(
                "SELECT document_sha256 FROM licenses WHERE document_sha256 IS NOT NULL"
            ):
                stable.add(doc)
        return stable

    def key_id(self) -> str | None:
        if not (self.workdir / HOME).exists():
            return None
        from ledger import keys

        return keys.load_public_key(self.workdir / HOME).key_id

    def normaliser(self):  # type: ignore[no-untyped-def]
        stable = self.stable_hashes()
        prefixes = {h[:n] for h in stable for n in range(12, 65)}
        key_id = self.key_id()
        # The days the run spanned (UTC, as the ledger records time): dates and times on
        # them were made by the run; collection dates in the sample are long past.
        today = {self.started.date(), datetime.now(UTC).date()}
        days = {d.isoformat() for d in today}
        work = str(self.workdir)

        def stamp(m: re.Match[str]) -> str:
            if m.group(1) not in days:
                return m.group(0)
            return "<time>" if m.group(2) else "<date>"

        def ages(line: str) -> str:
            # The audit's age in days of a collection date changes every day: the first
            # number after such a date on a table row is its age when it equals it.
            for m in DATE.finditer(line):
                age = (max(today) - date.fromisoformat(m.group(0))).days
                after = re.compile(rf"(?<![\d.,-]){age}(?![\d.,])( *)")
                hit = after.search(line, m.end())
                if hit and not DATE.search(line, m.end(), hit.start()):
                    width = len(hit.group(0))
                    line = line[: hit.start()] + "<age>".ljust(width) + line[hit.end() :]
            return line

        def normalise(text: str) -> str:
            text = text.replace(work + os.sep, "").replace(work, ".")
            if key_id:
                text = text.replace(key_id, "<key-id>")
            text = SIGNATURE.sub("<signature>", text)
            text = TIMESTAMP.sub(stamp, text)
            text = "\n".join(ages(line) for line in text.split("\n"))
            return HEX.sub(lambda m: m.group(0) if m.group(0) in prefixes else "<hash>", text)

        return normalise


def render(path: Path) -> str:
    """The document with every marked block's output freshly generated."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks = list(parse_blocks(lines))
    if not blocks:
        return "\n".join(lines)
    with tempfile.TemporaryDirectory(prefix="provledger-tour-") as tmp:
        runner = Runner(Path(tmp).resolve())
        for block in blocks:
            for step in block.steps:
                step.output = runner.run(step.command)
        normalise = runner.normaliser()
    for block in reversed(blocks):
        body: list[str] = []
        for step in block.steps:
            body.append(step.command)
            out = normalise(step.output).rstrip("\n")
            if out:
                body.extend(line.rstrip() for line in out.split("\n"))
        lines[block.start + 1 : block.end] = body
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [Path(a) for a in args if a != "--check"] or [p for p in DOCS if p.exists()]
    stale = 0
    for path in paths:
        old = path.read_text(encoding="utf-8")
        new = render(path)
        if new == old:
            continue
        if check:
            stale += 1
            name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
            sys.stdout.writelines(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    f"{name} (committed)",
                    f"{name} (fresh run)",
                )
            )
        else:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {path}")
    if stale:
        print(f"\n{stale} document(s) out of date: run docs/build_tour.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
