"""Key and schema faults met by the command a data engineer actually runs: ``register``.

Each fault (wrong or missing passphrase, missing, damaged, mismatched or too-open key file,
a database from a newer provledger) gives one ``Error: ...`` line, exit 1, and writes
nothing: not an entry, not a record, not the checkpoint note. Reading commands need only
the public key and keep working where they can. Loose permissions on a secret key file
are refused, not warned about (documented in ledger/tlog/keys.py and docs/reliability.md).
``tests/test_core.py`` covers the same faults through ``checkpoint`` and ``verify``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cli_process import cli_env, new_ledger, raw_counts, run_cli, write_jsonl

from provledger.ledger import DB_FILE, NOTE_FILE, Ledger

PASSPHRASE_ENV = "PROVLEDGER_KEY_PASSPHRASE"
RIGHT = "correct horse battery staple"
WRONG = "Tr0ub4dor&3"


def _snapshot(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir())}


def _damage_signing_key(home: Path) -> str:
    (home / "signing.key").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    return (
        f"cannot decrypt signing key {home / 'signing.key'}: wrong passphrase in "
        f"{PASSPHRASE_ENV}, or the file is damaged"
    )


def _foreign_signing_key(home: Path) -> str:
    other = home.parent / "other-ledger"
    Ledger.init(other).close()
    shutil.copy2(other / "signing.key", home / "signing.key")
    return f"{home}: signing.key and signing.pub do not match"


def _loose(name: str, mode: int) -> Callable[[Path], str]:
    def spoil(home: Path) -> str:
        path = home / name
        path.chmod(mode)
        return (
            f"key file {path} has mode {mode:04o}; it must be readable by its owner only "
            f"(chmod 600 {path})"
        )

    return spoil


def _missing(name: str) -> Callable[[Path], str]:
    def spoil(home: Path) -> str:
        (home / name).unlink()
        what = "public key" if name == "signing.pub" else "key file"
        return f"{what} {home / name} is missing"

    return spoil


def _newer_schema(home: Path) -> str:
    con = duckdb.connect(str(home / DB_FILE))
    con.execute("INSERT INTO schema_migrations (name) VALUES ('m999_from_the_future')")
    con.close()
    return (
        f"ledger database {home / DB_FILE} has schema migrations this provledger does not "
        "know (m999_from_the_future): it was written by a newer version; upgrade provledger"
    )


FAULTS: dict[str, Callable[[Path], str]] = {
    "signing key missing": _missing("signing.key"),
    "public key missing": _missing("signing.pub"),
    "subject key missing": _missing("subject.key"),
    "signing key damaged": _damage_signing_key,
    "signing key from another ledger": _foreign_signing_key,
    "signing key mode 0644": _loose("signing.key", 0o644),
    "subject key mode 0640": _loose("subject.key", 0o640),
    "database from a newer provledger": _newer_schema,
}
# Faults that leave reading commands working: they need neither secret key.
READABLE = {
    "signing key missing",
    "subject key missing",
    "signing key damaged",
    "signing key from another ledger",
    "signing key mode 0644",
    "subject key mode 0640",
}


def _first_party_args(path: Path) -> list[str]:
    return [
        "register", str(path), "--dataset", "reliability", "--source", "first_party",
        "--consent", "reliability-tos@1", "--subject-field", "customer",
    ]  # fmt: skip


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_register_refuses_a_key_or_schema_fault_and_writes_nothing(
    cli: Any, home: Path, tmp_path: Path, fault: str
) -> None:
    new_ledger(home, consent=True)
    data = write_jsonl(tmp_path / "tickets.jsonl", [{"customer": "C-1", "text": "hello"}])
    message = FAULTS[fault](home)
    before = _snapshot(home)

    done = cli(*_first_party_args(data), "--home", str(home))

    assert (done.exit_code, done.stdout) == (1, ""), done.output
    assert done.stderr == f"Error: {message}\n"
    assert _snapshot(home) == before, "a refused command changed the ledger home"
    read = cli("verify", "--home", str(home))
    if fault in READABLE:
        assert read.exit_code == 0, read.output
    else:
        assert (read.exit_code, read.stderr) == (1, f"Error: {message}\n")


# One case through a real process (exit status, stderr); test_core.py has the others.
@pytest.mark.parametrize(
    ("at_init", "later"),
    [
        (RIGHT, WRONG),
        pytest.param(RIGHT, None, marks=pytest.mark.slow),
        pytest.param(None, RIGHT, marks=pytest.mark.slow),
    ],
)
def test_passphrase_faults_through_the_console_script(
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    at_init: str | None,
    later: str | None,
) -> None:
    if at_init is not None:
        monkeypatch.setenv(PASSPHRASE_ENV, at_init)
    new_ledger(home, consent=True)
    data = write_jsonl(tmp_path / "tickets.jsonl", [{"customer": "C-1", "text": "hello"}])
    before = _snapshot(home)
    key = home / "signing.key"
    expected = {
        (RIGHT, WRONG): f"cannot decrypt signing key {key}: wrong passphrase in {PASSPHRASE_ENV}, "
        "or the file is damaged",
        (RIGHT, None): f"signing key {key} is encrypted: set {PASSPHRASE_ENV}",
        (None, RIGHT): f"signing key {key} is not encrypted: unset {PASSPHRASE_ENV}",
    }[(at_init, later)]
    env = cli_env(**({PASSPHRASE_ENV: later} if later is not None else {}))

    done = run_cli(*_first_party_args(data), home=home, env=env)

    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"Error: {expected}\n")
    assert WRONG not in done.stderr and RIGHT not in done.stderr
    assert _snapshot(home) == before
    assert raw_counts(home)["batches"] == 0
    assert (home / NOTE_FILE).exists()
