"""verify compares every projection table that audits and lineage read with the signed
entries that wrote it: a row inserted, changed or dropped behind the ledger is caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from provledger.demo import run_demo
from provledger.ledger import DB_FILE
from provledger.storage.migrations import guard_statements


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo") / "home"
    run_demo(home)
    return home


@pytest.fixture
def built(demo_home: Path, home: Path) -> Path:
    import shutil

    shutil.copytree(demo_home, home)
    return home


def tamper(home: Path, table: str, sql: str) -> None:
    con = duckdb.connect(str(home / DB_FILE))
    for event in ("update", "delete"):
        con.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event} ON {table}")
    con.execute(sql)
    for statement in guard_statements(table):  # put back, or the catalog check fails first
        con.execute(statement)
    con.close()


def test_the_worked_example_verifies(cli: Any, built: Path) -> None:
    assert cli("verify").exit_code == 0


@pytest.mark.parametrize(
    ("table", "sql", "seq", "problem"),
    [
        # Erasing every record of a dataset by inserting rows, with no erasure entry: the
        # audit would count 0 records. Caught at the erasure entry whose rows grew.
        (
            "erased_records",
            "INSERT INTO erased_records SELECT 18, batch_seq, ord, record_hash FROM records",
            18,
            "erased_records rows do not match the entry that wrote them",
        ),
        (
            "erased_records",
            "INSERT INTO erased_records SELECT 99, batch_seq, ord, record_hash FROM records",
            99,
            "erased_records holds rows that no erasure-requested entry wrote",
        ),
        (
            "batches",
            "UPDATE batches SET source = 'licensed' WHERE batch_id = 'b6'",
            6,
            "batches rows do not match the entry that wrote them",
        ),
        (
            "licenses",
            "UPDATE licenses SET grants = ['train', 'evaluate', 'external_release']",
            2,
            "licenses rows do not match the entry that wrote them",
        ),
        (
            "consent_versions",
            "DELETE FROM consent_versions WHERE version = 1",
            3,
            "consent_versions rows do not match the entry that wrote them",
        ),
        (
            "dataset_states",
            "UPDATE dataset_states SET context = 'internal'",
            5,
            "dataset_states rows do not match the entry that wrote them",
        ),
        (
            "model_datasets",
            "DELETE FROM model_datasets",
            17,
            "model_datasets rows do not match the entry that wrote them",
        ),
    ],
)
def test_a_projection_edited_behind_the_ledger_fails_verify(
    cli: Any, built: Path, table: str, sql: str, seq: int, problem: str
) -> None:
    tamper(built, table, sql)
    result = cli("verify")
    assert result.exit_code == 1
    assert result.stderr == f"Error: verification failed at seq {seq}: {problem}\n"
