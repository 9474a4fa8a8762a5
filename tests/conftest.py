"""Shared fixtures. Every test gets a fresh ledger home under tmp_path, and
PROVLEDGER_HOME points there, so no test can touch a real user's ledger.

Initialising a ledger (keys, schema, first entry) costs more than most tests, so
``initialised_home`` builds one per session (per worker under pytest-xdist) and each test
gets its own copy: same keys and first entry, a separate database file.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.testing
from typer.testing import CliRunner

from provledger.ledger import Ledger

# typer's CliRunner turns the Typer app into a click command on every invoke (about 60 ms,
# a tenth of the suite's time); the command is the same each time, so build it once. A
# console-script run builds it once per process anyway.
typer.testing._get_command = functools.cache(typer.testing._get_command)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ledger home for this test (not yet initialised)."""
    path = tmp_path / "home"
    monkeypatch.setenv("PROVLEDGER_HOME", str(path))
    monkeypatch.delenv("PROVLEDGER_KEY_PASSPHRASE", raising=False)
    return path


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised, closed ledger home, built once per session: copy, never open."""
    path = tmp_path_factory.mktemp("template") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PROVLEDGER_KEY_PASSPHRASE", raising=False)
        Ledger.init(path).close()
    return path


@pytest.fixture
def initialised_home(home: Path, template_home: Path) -> Path:
    """``home`` holding a copy of a just-initialised ledger (closed, key modes kept)."""
    shutil.copytree(template_home, home)
    return home


@pytest.fixture
def ledger(initialised_home: Path) -> Iterator[Ledger]:
    """An initialised, open ledger in ``home``."""
    with Ledger.open(initialised_home) as led:
        yield led


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner):  # type: ignore[no-untyped-def]
    """Invoke the real ``provledger`` entry point: ``cli("verify", "--json")``."""
    from provledger.cli.main import app

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=input)

    return invoke
