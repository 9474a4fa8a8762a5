"""An erasure erases the record wherever it is (DESIGN.md invariant 8, issue 11 point 6).

The same record (same record hash) is registered in three places: a first-party batch
that names the subject field, a licensed batch that does not, and the first-party file
again in another dataset. Erasing the subject must reach all three copies, and lineage,
erase, the receipt, export, check and the audit's ERASURE_PENDING must agree on that one
set. A record with the same text but another record hash is listed for review and erased
only with ``--include-same-text``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import rfc8785

from provledger.ledger import DB_FILE, Ledger
from provledger.storage.migrations import guard_statements

CONSENT = {
    "policy": "tos",
    "version": 1,
    "effective_from": "2025-01-01",
    "permits": ["train"],
    "retention_days": None,
    "prior_versions": {},
}
LICENSE = {
    "id": "corpus",
    "version": 1,
    "title": "Support corpus",
    "licensor": "Vendor",
    "grants": ["train"],
    "effective_from": "2025-01-01",
    "expires_on": None,
    "spdx": None,
    "document_sha256": None,
}
ALICE_TICKET = {"text": "My printer is on fire", "uid": "alice@example.com"}
TICKETS = [ALICE_TICKET, {"text": "Reset my password", "uid": "bob@example.com"}]
# The licensed corpus holds alice's ticket verbatim (second row) and was registered
# without a subject field.
CORPUS = [{"text": "Where is my parcel", "uid": "x@example.com"}, ALICE_TICKET]
# A forum post with alice's text, spelled differently: another record hash, same text.
FORUM = [{"text": "my PRINTER   is on fire", "url": "https://forum.example/1"}]


def rh(record: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(record)).hexdigest()


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture
def world(home: Path, tmp_path: Path) -> dict[str, Any]:
    files = {
        "tickets": jsonl(tmp_path / "tickets.jsonl", TICKETS),
        "corpus": jsonl(tmp_path / "corpus.jsonl", CORPUS),
        "forum": jsonl(tmp_path / "forum.jsonl", FORUM),
    }
    with Ledger.init(home) as led:
        led.add_consent(CONSENT)
        led.add_license(LICENSE)
        led.create_dataset("support", owner="ops", context="internal", uses=["train"])
        led.create_dataset("other", owner="lab", context="internal", uses=["train"])
        first_party = {"source": "first_party", "consent": "tos@1", "subject_field": "uid"}
        ids = {
            "fp": led.register(files["tickets"], dataset="support", **first_party).batch_id,
            "lic": led.register(
                files["corpus"], dataset="support", source="licensed", license="corpus@1"
            ).batch_id,
            "fp2": led.register(files["tickets"], dataset="other", **first_party).batch_id,
            "forum": led.register(files["forum"], dataset="other", source="scraped").batch_id,
        }
    return {"ids": ids, "files": files}


def test_erase_reaches_every_copy_and_every_command_agrees(
    world: dict[str, Any], cli: Any, tmp_path: Path
) -> None:
    ids, files = world["ids"], world["files"]
    alice = rh(ALICE_TICKET)
    # The one set: alice's ticket in the first-party batch, the licensed batch (no subject
    # field) and the same file registered into the other dataset.
    expected = [(ids["fp"], 0), (ids["lic"], 1), (ids["fp2"], 0)]
    same_text = [(ids["forum"], 0)]

    before = json.loads(cli("lineage", "--subject", "alice@example.com", "--json").stdout)
    assert [(r["batch_id"], r["ord"]) for r in before["records"]] == expected
    assert [r["matched_by"] for r in before["records"]] == ["subject", "record_hash", "subject"]
    assert [(r["batch_id"], r["ord"]) for r in before["same_text"]] == same_text
    assert [d["dataset"] for d in before["datasets"]] == ["other", "support"]

    receipt_path = tmp_path / "r.json"
    out = cli("erase", "--subject", "alice@example.com", "--request", "DSR-1",
              "--receipt", str(receipt_path), "--json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    erasure = json.loads(out.stdout)
    assert erasure["records"] == 3
    assert erasure["record_hashes"] == [alice]
    assert erasure["batches"] == [ids["fp"], ids["lic"], ids["fp2"]]
    assert [(r["batch_id"], r["ord"]) for r in erasure["same_text"]] == same_text
    assert erasure["same_text_erased"] is False

    receipt = json.loads(receipt_path.read_text("utf-8"))
    assert [(r["batch_id"], r["ord"]) for r in receipt["erased"]] == expected
    assert {r["record_hash"] for r in receipt["erased"]} == {alice}
    assert receipt["records"] == 3
    assert [(r["batch_id"], r["ord"]) for r in receipt["same_text"]["records"]] == same_text
    assert receipt["same_text"]["erased"] is False
    assert [(b["batch_id"], b["records_erased"]) for b in receipt["batches"]] == [
        (ids["fp"], 1), (ids["lic"], 1), (ids["fp2"], 1)
    ]  # fmt: skip
    assert cli("verify-receipt", str(receipt_path)).exit_code == 0

    after = json.loads(cli("lineage", "--subject", "alice@example.com", "--json").stdout)
    assert [(r["batch_id"], r["ord"], r["erased"]) for r in after["records"]] == [
        (b, o, True) for b, o in expected
    ]
    assert after["erased"] is True
    by_record = json.loads(cli("lineage", "--record", alice, "--json").stdout)
    assert [(r["batch_id"], r["ord"]) for r in by_record["records"]] == expected
    assert by_record["erased"] is True
    # The text lookup also reaches the forum post: its copy is a different record, still
    # active, so the text is only partly erased; the three copies are erased.
    by_text = json.loads(cli("lineage", "--text", "my printer is on fire", "--json").stdout)
    assert sorted((r["batch_id"], r["ord"], r["erased"]) for r in by_text["records"]) == sorted(
        [(b, o, True) for b, o in expected] + [(ids["forum"], 0, False)]
    )

    for dataset, left_out, kept in (("support", 2, 2), ("other", 1, 2)):
        path = tmp_path / f"{dataset}.parquet"
        out = cli("export", dataset, "--output", str(path), "--json")
        assert json.loads(out.stdout)["erased_left_out"] == left_out
        hashes = pq.read_table(path).column("record_hash").to_pylist()
        assert alice not in hashes
        assert len(hashes) == kept

    # check: each file that held a copy still holds the erased record, in either dataset.
    for name, dataset, line in (("corpus", "support", 2), ("tickets", "other", 1)):
        out = cli("check", str(files[name]), "--dataset", dataset)
        assert out.exit_code == 1
        assert out.stderr == (
            f"Error: {files[name]} still holds 1 erased records: line {line} (DSR-1)\n"
        )

    for dataset, count in (("support", 2), ("other", 1)):
        report = json.loads(cli("audit", dataset, "--format", "json").stdout)
        assert report["erasure"]["erased_records"] == count
        pending = [f for f in report["findings"] if f["code"] == "ERASURE_PENDING"]
        assert [f["records"] for f in pending] == [count]

    assert cli("verify").exit_code == 0


def test_erase_names_same_text_records_and_erases_them_only_when_asked(
    world: dict[str, Any], cli: Any, home: Path
) -> None:
    ids = world["ids"]
    out = cli("erase", "--subject", "alice@example.com", "--request", "DSR-1")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.splitlines()[-1] == (
        f"Same text, other record hash: 1 record ({ids['forum']}:0), not erased; review "
        "them, and erase them too with --include-same-text."
    )
    forum = json.loads(cli("lineage", "--record", rh(FORUM[0]), "--json").stdout)
    assert forum["erased"] is False
    # A second request with the flag reaches what is left: the forum post.
    out = cli("erase", "--subject", "alice@example.com", "--request", "DSR-2",
              "--include-same-text", "--json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["records"], doc["record_hashes"], doc["same_text_erased"]) == (
        1, [rh(FORUM[0])], True
    )  # fmt: skip
    forum = json.loads(cli("lineage", "--record", rh(FORUM[0]), "--json").stdout)
    assert forum["erased"] is True
    assert cli("verify").exit_code == 0


def test_with_the_flag_one_request_erases_copies_and_same_text(
    world: dict[str, Any], cli: Any
) -> None:
    ids = world["ids"]
    out = cli("erase", "--subject", "alice@example.com", "--request", "DSR-1",
              "--include-same-text", "--json")  # fmt: skip
    doc = json.loads(out.stdout)
    assert doc["records"] == 4
    assert doc["batches"] == [ids["fp"], ids["lic"], ids["fp2"], ids["forum"]]
    text = json.loads(cli("lineage", "--text", "My printer is on fire", "--json").stdout)
    assert text["erased"] is True
    assert cli("verify").exit_code == 0


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        # Re-point the licensed copy's erased row at the first-party copy: the licensed copy
        # would come back in export while the hash still matches.
        (
            "UPDATE erased_records SET batch_seq = (SELECT seq FROM batches "
            "WHERE batch_id = '{fp}'), ord = 0 WHERE batch_seq = (SELECT seq FROM batches "
            "WHERE batch_id = '{lic}')",
            "erased_records rows do not match the entry that wrote them",
        ),
        # Point a row at a batch that does not exist.
        (
            "UPDATE erased_records SET batch_seq = 999 WHERE batch_seq = (SELECT seq FROM "
            "batches WHERE batch_id = '{lic}')",
            "erased_records names a record not stored with that hash",
        ),
    ],
)
def test_verify_checks_which_rows_an_erasure_erased(
    world: dict[str, Any], cli: Any, home: Path, sql: str, problem: str
) -> None:
    out = cli("erase", "--subject", "alice@example.com", "--request", "DSR-1", "--json")
    seq = json.loads(out.stdout)["seq"]
    con = duckdb.connect(str(home / DB_FILE))
    for event in ("update", "delete"):
        con.execute(f"DROP TRIGGER IF EXISTS erased_records_no_{event} ON erased_records")
    con.execute(sql.format(**world["ids"]))
    for statement in guard_statements("erased_records"):  # or the catalog check fails first
        con.execute(statement)
    con.close()
    out = cli("verify")
    assert out.exit_code == 1
    assert out.stderr == f"Error: verification failed at seq {seq}: {problem}\n"
