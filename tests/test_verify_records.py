"""verify covers every stored hash column of a batch, not only the record hashes under its
Merkle root: an edited content or subject hash (say, to slip past an erasure) is caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ledger.ledger import DB_FILE, Ledger
from ledger.migrations import guard_statements

CONSENT = {
    "policy": "tos",
    "version": 1,
    "effective_from": "2026-01-01",
    "permits": ["train"],
    "retention_days": None,
    "prior_versions": {},
}


@pytest.fixture
def registered(home: Path, tmp_path: Path) -> Path:
    data = tmp_path / "tickets.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": f"ticket {i}", "customer": f"c{i % 3}"}) + "\n" for i in range(6)
        )
    )
    with Ledger.init(home) as led:
        led.create_dataset("support", owner="ops", context="internal", uses=["train"])
        led.add_consent(CONSENT)
        led.register(
            data, dataset="support", source="first_party", consent="tos@1", subject_field="customer"
        )
    return home


def edit_records(home: Path, sql: str) -> None:
    con = duckdb.connect(str(home / DB_FILE))
    con.execute("DROP TRIGGER records_no_update ON records")
    con.execute(sql)
    con.execute(guard_statements("records")[0])  # put back, or the catalog check fails first
    con.close()


@pytest.mark.parametrize(
    ("column", "problem"),
    [
        ("content_hash", "batch b4: content hashes do not match its entry"),
        ("subject_hash", "batch b4: subject hashes do not match its entry"),
    ],
)
def test_an_edited_hash_column_fails_verify(
    cli: Any, registered: Path, column: str, problem: str
) -> None:
    assert cli("verify").exit_code == 0
    edit_records(registered, f"UPDATE records SET {column} = sha256('x')::BLOB WHERE ord = 2")
    result = cli("verify")
    assert result.exit_code == 1
    assert result.stderr == f"Error: verification failed at seq 4: {problem}\n"


def test_a_cleared_subject_hash_fails_verify(cli: Any, registered: Path) -> None:
    edit_records(registered, "UPDATE records SET subject_hash = NULL WHERE ord = 0")
    result = cli("verify")
    assert result.exit_code == 1
    assert "subject hashes do not match its entry" in result.stderr
