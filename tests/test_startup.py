"""Start-up is a feature: showing help must not import the heavy libraries (DuckDB,
pyarrow, SQLModel and what it pulls in). Each case runs in a fresh interpreter, because
this test process has long since imported all of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from provledger.cli.main import app
from provledger.ledger import Ledger

# The standard export formats' libraries (and what they pull in) count as heavy too.
HEAVY = {
    *("duckdb", "pyarrow", "sqlmodel", "pydantic", "sqlalchemy", "numpy"),
    *("openlineage", "prov", "mlcroissant", "rdflib", "networkx", "pandas", "datasets"),
}
# Once a subcommand is parsed, typer (0.29) builds its parameter converters with pydantic,
# so that one is typer's cost, not ours; the rest must still wait for a command that uses them.
COMMAND_HEAVY = HEAVY - {"pydantic"}

# Invokes the real entry point as the console script does, with stdout captured, then
# reports the help text, the exit code and every module imported on the way.
SNIPPET = """
import contextlib, io, json, sys
sys.argv = ["provledger", *json.loads(sys.argv[1])]
out = io.StringIO()
code = None
with contextlib.redirect_stdout(out):
    from provledger.cli.main import run
    try:
        run()
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "help": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def imported_by(args: list[str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", SNIPPET, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def heavy_among(modules: object, heavy: set[str] = HEAVY) -> list[str]:
    assert isinstance(modules, list)
    return sorted(m for m in modules if m.split(".")[0] in heavy)


def test_root_help_imports_nothing_heavy() -> None:
    result = imported_by(["--help"])
    assert result["code"] == 0
    assert str(result["help"]).startswith("Usage: provledger [OPTIONS] COMMAND [ARGS]...")
    modules = result["modules"]
    assert "provledger.cli.main" in modules  # type: ignore[operator]
    assert heavy_among(modules) == []


def test_the_probe_sees_heavy_imports() -> None:
    # The check above must be able to fail: importing the ledger itself pulls in DuckDB.
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, provledger.ledger; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "duckdb" in proc.stdout


COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]

# Shows every command's help in turn in one fresh interpreter, reporting after each the
# modules imported so far. Modules only accumulate, so what one command's help would
# import on its own is among those reported after it: one process checks them all.
EVERY_HELP = """
import contextlib, io, json, sys
from provledger.cli.main import run
results = {}
for command in json.loads(sys.argv[1]):
    sys.argv = ["provledger", command, "--help"]
    out = io.StringIO()
    code = None
    with contextlib.redirect_stdout(out):
        try:
            run()
        except SystemExit as exc:
            code = exc.code
    results[command] = {"code": code, "help": out.getvalue(), "modules": sorted(sys.modules)}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def every_help() -> dict[str, dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-c", EVERY_HELP, json.dumps(COMMANDS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results: dict[str, dict[str, object]] = json.loads(proc.stdout)
    return results


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_imports_nothing_heavy(
    command: str, every_help: dict[str, dict[str, object]]
) -> None:
    result = every_help[command]
    assert result["code"] == 0
    assert f"Usage: provledger {command}" in str(result["help"])
    assert heavy_among(result["modules"], COMMAND_HEAVY) == []


def test_the_help_probe_sees_a_heavy_import() -> None:
    # The shared process must be able to fail: a command whose help loads DuckDB shows up.
    script = EVERY_HELP.replace(
        "from provledger.cli.main import run", "from provledger.cli.main import run\nimport duckdb"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(COMMANDS[:1])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(proc.stdout)[COMMANDS[0]]
    assert "duckdb" in heavy_among(result["modules"], COMMAND_HEAVY)


# Checks a batch's references as registration does and lists the registries, then builds
# one manifest model (a license add, refused on a read-only ledger after validation),
# reporting the modules imported after each step.
REFERENCE_CHECK = """
import json, sys
from provledger.registry import operations as registry
from provledger.errors import NotFound
from provledger.ledger import Ledger

with Ledger.open(sys.argv[1], read_only=True) as led:
    registry.require_dataset(led.store, "support")
    registry.require_license(led.store, "support-corpus@1")
    registry.require_consent(led.store, "support-tos@1")
    try:
        registry.require_license(led.store, "support-corpus@2")
    except NotFound as exc:
        refused = str(exc)
    registry.list_licenses(led.store)
    registry.list_consent(led.store)
    checked = sorted(sys.modules)
    try:
        led.add_license({"id": "x", "version": 1, "title": "X", "licensor": "X",
                         "grants": ["train"], "effective_from": "2025-01-01"})
    except Exception:
        pass
print(json.dumps({"refused": refused, "checked": checked, "built": sorted(sys.modules)}))
"""
MODEL_HEAVY = {"sqlmodel", "pydantic", "pydantic_core", "sqlalchemy"}


def test_checking_references_and_listing_import_no_models(home: Path) -> None:
    with Ledger.init(home) as led:
        led.add_license(
            {
                "id": "support-corpus",
                "version": 1,
                "title": "Support conversations",
                "licensor": "Acme Data Ltd",
                "grants": ["train"],
                "effective_from": "2025-01-01",
            }
        )
        led.add_consent(
            {"policy": "support-tos", "version": 1, "effective_from": "2024-01-01", "permits": []}
        )
        led.create_dataset("support", owner="qa", context="internal", uses=["train"])
    proc = subprocess.run(
        [sys.executable, "-c", REFERENCE_CHECK, str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(proc.stdout)
    assert result["refused"] == (
        "unknown license 'support-corpus@2' (recorded versions of 'support-corpus': 1): add it "
        "with 'provledger license add FILE.json'"
    )
    assert heavy_among(result["checked"], MODEL_HEAVY) == []
    # The probe can fail: building the model pulls SQLModel in.
    assert "sqlmodel" in heavy_among(result["built"], MODEL_HEAVY)
