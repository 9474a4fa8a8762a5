"""The docs cannot drift: every command output shown in README.md and docs/ (the documents
docs/build_tour.py runs) equals a fresh run, and every CLI command and option is in the
generated docs/cli-reference.md."""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "cli-reference.md"
# The documents whose console blocks docs/build_tour.py runs (a test keeps this in step).
RUN_DOCS = ["README.md", "docs/tour.md", "docs/registration.md", "docs/lineage.md"]


@functools.cache
def load_build_tour() -> ModuleType:
    """docs/build_tour.py, which is a script rather than part of the package."""
    spec = importlib.util.spec_from_file_location("build_tour", ROOT / "docs" / "build_tour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_every_document_with_run_blocks_is_rebuilt() -> None:
    assert [str(p.relative_to(ROOT)) for p in load_build_tour().DOCS] == RUN_DOCS


@pytest.mark.parametrize("doc", RUN_DOCS)
def test_documented_output_matches_a_fresh_run(doc: str) -> None:
    path = ROOT / doc
    committed = path.read_text(encoding="utf-8")
    fresh = load_build_tour().render(path)
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            f"{doc} (committed)",
            f"{doc} (fresh run)",
        )
    )
    assert not diff, f"{doc} is out of date; run 'python docs/build_tour.py'\n{diff}"


@pytest.mark.parametrize("doc", ["README.md", "docs/tour.md"])
def test_tour_runs_commands_in_order_on_a_fresh_ledger(doc: str) -> None:
    tour = (ROOT / doc).read_text(encoding="utf-8")
    blocks = list(load_build_tour().parse_blocks(tour.split("\n")))
    commands = [step.command for block in blocks for step in block.steps]
    assert commands[0] == "$ provledger init"
    for verb in ("register", "audit", "lineage", "erase", "verify"):
        assert any(c.startswith(f"$ provledger {verb} ") or c == f"$ provledger {verb}"
                   for c in commands), verb  # fmt: skip


def all_commands() -> dict[str, Any]:
    """'provledger X' (or 'provledger X Y' in a group) -> its command, for every command."""
    from cli.main import app

    root = typer.main.get_command(app)
    found: dict[str, Any] = {}

    def walk(command: Any, prefix: str) -> None:
        if hasattr(command, "commands"):  # a group
            for name, sub in command.commands.items():
                walk(sub, f"{prefix} {name}")
        else:
            found[prefix] = command

    walk(root, "provledger")
    return found


def cli_reference() -> str:
    """docs/cli-reference.md ('' when it is missing)."""
    return REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""


def test_every_command_is_in_the_cli_reference() -> None:
    reference = cli_reference()
    assert reference, "docs/cli-reference.md is missing"
    missing = [
        path for path in all_commands() if not re.search(re.escape(path) + r"(?![\w-])", reference)
    ]
    assert not missing, f"commands missing from docs/cli-reference.md: {missing}"


def test_every_option_is_in_the_cli_reference() -> None:
    reference = cli_reference()
    assert reference, "docs/cli-reference.md is missing"
    missing = []
    for path, command in all_commands().items():
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if (
                    opt.startswith("--")
                    and opt != "--help"
                    and not re.search(re.escape(opt) + r"(?![\w-])", reference)
                ):
                    missing.append(f"{path} {opt}")
    assert not missing, f"options missing from docs/cli-reference.md: {missing}"


def test_the_cli_reference_is_generated_from_the_current_commands() -> None:
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "docs" / "cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = REFERENCE.read_text(encoding="utf-8")
    assert module.render(committed) == committed, "run 'python docs/cli_reference.py'"
