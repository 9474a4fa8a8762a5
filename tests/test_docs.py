"""The docs cannot drift: every command output shown in README.md and docs/lineage.md equals
a fresh run, and every CLI command and option is in README.md's generated CLI reference."""

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
README = ROOT / "README.md"
REFERENCE_HEADING = re.compile(r"^## CLI reference\s*$", re.MULTILINE)


@functools.cache
def load_build_tour() -> ModuleType:
    """docs/build_tour.py, which is a script rather than part of the package."""
    spec = importlib.util.spec_from_file_location("build_tour", ROOT / "docs" / "build_tour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("doc", ["README.md", "docs/lineage.md"])
def test_documented_output_matches_a_fresh_run(doc: str) -> None:
    path = ROOT / doc
    if not path.exists():
        pytest.skip(f"{doc} does not exist")
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


def test_tour_runs_commands_in_order_on_a_fresh_ledger() -> None:
    tour = README.read_text(encoding="utf-8")
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
    """README.md's '## CLI reference' section (up to the next '## ' heading)."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    match = REFERENCE_HEADING.search(text)
    if match is None:
        return ""
    rest = text[match.end() :]
    following = re.search(r"^## ", rest, re.MULTILINE)
    return rest[: following.start()] if following else rest


def test_every_command_is_in_the_readme_cli_reference() -> None:
    reference = cli_reference()
    assert reference, "README.md has no '## CLI reference' section"
    missing = [
        path for path in all_commands() if not re.search(re.escape(path) + r"(?![\w-])", reference)
    ]
    assert not missing, f"commands missing from README.md's CLI reference: {missing}"


def test_every_option_is_in_the_readme_cli_reference() -> None:
    reference = cli_reference()
    assert reference, "README.md has no '## CLI reference' section"
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
    assert not missing, f"options missing from README.md's CLI reference: {missing}"


def test_the_cli_reference_is_generated_from_the_current_commands() -> None:
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "docs" / "cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = README.read_text(encoding="utf-8")
    assert module.render(committed) == committed, "run 'python docs/cli_reference.py'"
