"""Shared fixtures. Every test gets a fresh ledger home under tmp_path, and
PROVLEDGER_HOME points there, so no test can touch a real user's ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.ledger import Ledger


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ledger home for this test (not yet initialised)."""
    path = tmp_path / "home"
    monkeypatch.setenv("PROVLEDGER_HOME", str(path))
    monkeypatch.delenv("PROVLEDGER_KEY_PASSPHRASE", raising=False)
    return path


@pytest.fixture
def ledger(home: Path) -> Iterator[Ledger]:
    """An initialised, open ledger in ``home``."""
    with Ledger.init(home) as led:
        yield led


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner):  # type: ignore[no-untyped-def]
    """Invoke the real ``provledger`` entry point: ``cli("verify", "--json")``."""
    from cli.main import app

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=input)

    return invoke
