"""What `verify` passes is what every command reports: each attack of an insider holding the
ledger home (without the signing key, unless a test says so) is refused by the pre-check
every command runs, or named by `verify`.

Each test is one attack; docs/threat-model.md cites them by name.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provledger.errors import (
    BehindCheckpoint,
    CatalogError,
    HomeError,
    IntegrityError,
    KeyFileError,
)
from provledger.ledger import DB_FILE, LAST_VERIFY_FILE, NOTE_FILE, Ledger
from provledger.storage import store as store_module
from provledger.storage.migrations import LOOKUP_KEY_TABLES, guard_statements
from provledger.storage.store import GENESIS_HASH, entry_body_hash
from provledger.tlog import keys
from provledger.tlog.canonical import canonical_json
from provledger.tlog.checkpoint import Checkpoint, verifier_key
from provledger.tlog.merkle import leaf_hash, root_from_leaf_hashes

LICENSE = {
    "id": "corpus",
    "version": 1,
    "title": "Support corpus",
    "licensor": "Vendor",
    "grants": ["train"],
    "effective_from": "2024-01-01",
    "expires_on": None,
    "spdx": None,
    "document_sha256": None,
}
CONSENT = {
    "policy": "tos",
    "version": 1,
    "effective_from": "2024-01-01",
    "permits": ["train", "external_release"],
    "retention_days": None,
    "prior_versions": {},
}
# u1's record sits twice in the first-party batch (ords 0 and 2): one erasure covers both.
FIRST_PARTY = [
    {"text": "printer on fire", "uid": "u1"},
    {"text": "cannot log in", "uid": "u2"},
    {"text": "printer on fire", "uid": "u1"},
]
LICENSED = [{"text": "how do I reset"}, {"text": "refund please"}]
SCRAPED = [{"text": "forum post"}]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A ledger built once: license, consent, dataset (its uses exceed the license), a
    first-party, a licensed and a scraped batch, and one erasure of subject u1."""
    root = tmp_path_factory.mktemp("trust")
    home, data = root / "home", root / "data"
    data.mkdir()
    out: dict[str, Any] = {"home": home, "data": data}
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PROVLEDGER_KEY_PASSPHRASE", raising=False)
        mp.delenv(keys.SUBJECT_KEY_ENV, raising=False)
        with Ledger.init(home) as led:
            led.add_license(LICENSE)
            led.add_consent(CONSENT)
            led.create_dataset(
                "support", owner="ops", context="internal", uses=["train", "external_release"]
            )
            out["P"] = led.register(
                write_jsonl(data / "tickets.jsonl", FIRST_PARTY),
                dataset="support",
                source="first_party",
                consent="tos@1",
                subject_field="uid",
                sketches=False,
            )
            out["L"] = led.register(
                write_jsonl(data / "licensed.jsonl", LICENSED),
                dataset="support",
                source="licensed",
                license="corpus@1",
                sketches=False,
            )
            # Without sketches, as a ledger from before m005 holds its batches, so that
            # test_an_older_ledger_is_upgraded_and_the_upgrade_signed can roll it back.
            out["S"] = led.register(
                write_jsonl(data / "forum.jsonl", SCRAPED),
                dataset="support",
                source="scraped",
                sketches=False,
            )
            out["erasure"] = led.erase("u1", "DSR-1")
            out["entries"] = led.store.entry_count()
    return out


@pytest.fixture
def built(world: dict[str, Any], home: Path) -> Path:
    shutil.copytree(world["home"], home)
    return home


@contextmanager
def raw(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(home / DB_FILE))
    try:
        yield con
    finally:
        con.close()


def edit(home: Path, table: str, *sql: str) -> None:
    """Run ``sql`` on ``table`` with its guard triggers dropped, then put them back, as a
    careful tamperer would (a missing trigger fails the catalog check)."""
    with raw(home) as con:
        for event in ("update", "delete"):
            con.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event} ON {table}")
        for statement in sql:
            con.execute(statement)
        for statement in guard_statements(table):
            con.execute(statement)


def verify_fails(cli: Any, seq: int | None, problem: str) -> None:
    result = cli("verify")
    where = f" at seq {seq}" if seq is not None else ""
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == f"Error: verification failed{where}: {problem}\n"


def catalog_message(home: Path, differences: str) -> str:
    return (
        f"Error: the catalog of {home / DB_FILE} is not what the ledger's migrations create: "
        f"{differences}. Someone changed the database's schema; restore it from a backup and "
        "run 'provledger verify'\n"
    )


def read_commands(world: dict[str, Any], tmp_path: Path) -> list[list[str]]:
    """Every read command, each in a form that succeeds on the untouched ledger."""
    p = world["P"]
    return [
        ["audit", "support", "--json"],
        ["lineage", "--subject", "u2", "--json"],
        ["export", "support", "--output", str(tmp_path / "m.parquet"), "--json"],
        ["check", str(world["data"] / "licensed.jsonl"), "--dataset", "support", "--json"],
        ["prove", p.batch_id, _hash(FIRST_PARTY[1]), "--json"],
        ["log", "--json"],
    ]


def _hash(record: dict[str, Any]) -> str:
    import hashlib

    import rfc8785

    return hashlib.sha256(rfc8785.dumps(record)).hexdigest()


def test_every_read_runs_on_the_untouched_ledger(
    cli: Any, built: Path, world: dict[str, Any], tmp_path: Path
) -> None:
    assert cli("verify").exit_code == 0
    for command in read_commands(world, tmp_path):
        result = cli(*command)
        assert result.exit_code == 0, (command, result.output)


# -- 1. the catalog ------------------------------------------------------------------------
def test_a_shadowing_macro_is_refused_by_every_command(
    cli: Any, built: Path, world: dict[str, Any], tmp_path: Path
) -> None:
    audit = json.loads(cli("audit", "support", "--json").stdout)
    assert "LICENSE_SCOPE" in {f["code"] for f in audit["findings"]}
    with raw(built) as con:
        con.execute("CREATE MACRO list_contains(l, x) AS true")
        con.execute("CHECKPOINT")
    message = catalog_message(built, "extra macro list_contains")
    for command in [*read_commands(world, tmp_path), ["verify"], ["checkpoint"]]:
        result = cli(*command)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", message), command
    with pytest.raises(CatalogError):
        Ledger.open(built, read_only=True)


def test_a_view_in_place_of_batches_is_refused(cli: Any, built: Path) -> None:
    with raw(built) as con:
        con.execute("DROP TRIGGER batches_no_update ON batches")
        con.execute("DROP TRIGGER batches_no_delete ON batches")
        con.execute("ALTER TABLE batches RENAME TO kept_batches")
        con.execute(
            "CREATE VIEW batches AS SELECT * REPLACE ('licensed' AS source) FROM kept_batches"
        )
        con.execute("CHECKPOINT")
    message = catalog_message(
        built,
        "missing table batches; extra table kept_batches; missing trigger batches_no_delete; "
        "missing trigger batches_no_update; extra view batches",
    )
    for command in (["audit", "support", "--json"], ["verify", "--json"]):
        result = cli(*command)
        assert (result.exit_code, result.stderr) == (1, message), command


def test_a_changed_migration_record_is_refused(cli: Any, built: Path) -> None:
    with raw(built) as con:
        con.execute("DELETE FROM schema_migrations WHERE name = 'm002_append_only_guards'")
    result = cli("lineage", "--subject", "u2")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the schema migrations recorded in {built / DB_FILE} (m001_initial, "
        "m003_lineage_lookup_keys, m004_lookup_key_guards, m005_sketches, m006_near_facts) are "
        "not the ones this provledger applies, in order: someone changed schema_migrations\n"
    )


# -- 2. columns reads depend on --------------------------------------------------------------
def test_a_repointed_erased_record_is_named_by_verify(
    cli: Any, built: Path, world: dict[str, Any], tmp_path: Path
) -> None:
    p, seq = world["P"], world["erasure"].seq
    before = json.loads(
        cli("export", "support", "--output", str(tmp_path / "a.pq"), "--json").stdout
    )
    # Both erased rows now name ord 2: the copy at ord 0 is active again in every export.
    edit(built, "erased_records", f"UPDATE erased_records SET ord = 2 WHERE batch_seq = {p.seq}")
    after = json.loads(
        cli("export", "support", "--output", str(tmp_path / "b.pq"), "--json").stdout
    )
    assert after["records"] == before["records"] + 1
    verify_fails(cli, seq, "erased_records rows do not match the entry that wrote them")


def test_a_changed_file_name_is_named_by_verify(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    seq = world["L"].seq
    edit(built, "batches", f"UPDATE batches SET file_name = '/elsewhere/x.jsonl' WHERE seq = {seq}")
    verify_fails(cli, seq, "batches file name or format does not match its entry")


def test_a_changed_file_format_is_named_by_verify(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    seq = world["L"].seq
    edit(built, "batches", f"UPDATE batches SET file_format = 'csv' WHERE seq = {seq}")
    verify_fails(cli, seq, "batches file name or format does not match its entry")


def test_a_changed_record_order_is_named_by_verify(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    s = world["S"]
    # The order stays the same, so the Merkle root still checks out; lineage reads ord.
    edit(built, "records", f"UPDATE records SET ord = 7 WHERE batch_seq = {s.seq}")
    verify_fails(cli, s.seq, f"batch {s.batch_id}: record order is broken at position 0 (ord 7)")


def test_emptied_lookup_keys_are_named_by_verify(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    found = json.loads(cli("lineage", "--subject", "u2", "--json").stdout)
    assert len(found["records"]) == 1
    for table in LOOKUP_KEY_TABLES:
        edit(built, table, f"DELETE FROM {table}")
    # The lie the keys tell (erase reads the records themselves and would disagree).
    assert json.loads(cli("lineage", "--subject", "u2", "--json").stdout)["records"] == []
    verify_fails(cli, world["P"].seq, "lineage lookup keys do not match the records they index")


def test_redirected_lookup_keys_are_named_by_verify(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    p, lic = world["P"], world["L"]
    for table in LOOKUP_KEY_TABLES:
        edit(
            built,
            table,
            f"UPDATE {table} SET batch_seq = {lic.seq}, ord = 1 "
            f"WHERE kind = 1 AND batch_seq = {p.seq} AND ord = 1",
        )
    shown = json.loads(cli("lineage", "--subject", "u2", "--json").stdout)
    assert [b["batch_id"] for b in shown["batches"]] == [lic.batch_id]  # the wrong batch
    verify_fails(cli, p.seq, "lineage lookup keys do not match the records they index")


def test_the_lookup_keys_are_guarded(built: Path) -> None:
    with raw(built) as con:
        for table in LOOKUP_KEY_TABLES:
            with pytest.raises(duckdb.Error, match=f"append-only: DELETE on {table} refused"):
                con.execute(f"DELETE FROM {table}")


# -- 3. the note -----------------------------------------------------------------------------
def test_a_tail_cut_together_with_the_note_is_refused(
    cli: Any, built: Path, world: dict[str, Any], tmp_path: Path
) -> None:
    n = world["entries"]  # the erasure: its rows go too, as a careful tamperer would do
    edit(built, "entries", f"DELETE FROM entries WHERE seq = {n}")
    edit(built, "erasures", f"DELETE FROM erasures WHERE seq = {n}")
    edit(built, "erased_records", f"DELETE FROM erased_records WHERE seq = {n}")
    (built / NOTE_FILE).unlink()
    message = (
        f"Error: ledger holds {world['entries'] - 1} entries but its signed checkpoint note "
        f"{built / NOTE_FILE} is missing, so a shortened ledger could not be told from a whole "
        "one. Put the note back (or check against one kept elsewhere: 'provledger verify "
        "--checkpoint FILE'); to restore it on purpose, run 'provledger verify "
        "--restore-note', which verifies everything first and records the restore\n"
    )
    for command in [*read_commands(world, tmp_path), ["checkpoint"]]:
        result = cli(*command)
        assert (result.exit_code, result.stderr) == (1, message), command
    assert not (built / NOTE_FILE).exists()  # nothing signed a note for the shorter ledger
    verify_fails(
        cli,
        None,
        f"the signed checkpoint note {built / NOTE_FILE} is missing, so a shortened ledger "
        "cannot be told from a whole one; verify against a note kept elsewhere "
        "(--checkpoint FILE), and to restore the note on purpose run 'provledger verify "
        "--restore-note'",
    )


def test_a_note_restored_on_purpose_is_recorded(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    (built / NOTE_FILE).unlink()
    result = cli("verify", "--restore-note")
    assert result.exit_code == 0, result.output
    n = world["entries"]
    assert result.stdout.splitlines()[-1] == (
        f"Restored the checkpoint note (recorded at seq {n + 1})"
    )
    with Ledger.open(built, read_only=True) as led:
        entry = led.entries()[-1]
    assert (entry.seq, entry.kind, entry.payload["size"]) == (n + 1, "note-restored", n)
    assert cli("verify").exit_code == 0
    assert cli("audit", "support").exit_code == 0


def test_a_database_beside_its_note_is_refused(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    # A payload changed and every hash after it recomputed, without the key: the chain
    # holds together, the signatures do not, and the note's root differs.
    with raw(built) as con:
        n = world["entries"]
        con.execute("DROP TRIGGER entries_no_update ON entries")
        con.execute(f"UPDATE entries SET entry_hash = repeat('0', 64) WHERE seq = {n}")
        con.execute(guard_statements("entries")[0])
    result = cli("audit", "support", "--json")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the first {n} entries of the ledger database do not match the signed "
        f"checkpoint {built / NOTE_FILE}: the log was rewritten. Restore the database from a "
        "backup and run 'provledger verify'\n"
    )


# -- 4. keys ---------------------------------------------------------------------------------
def _resign_everything(home: Path) -> None:
    """Re-sign the whole chain with a fresh key and replace the key files: what someone
    holding the home can do without the signing key."""
    forger = Ed25519PrivateKey.generate()
    public = keys.PublicKey(forger.public_key())
    with raw(home) as con:
        old = con.execute(
            "SELECT seq, kind, payload, recorded_at FROM entries ORDER BY seq"
        ).fetchall()
        con.execute("DROP TRIGGER entries_no_delete ON entries")
        con.execute("DELETE FROM entries")
        prev, hashes = GENESIS_HASH, []
        for seq, kind, payload_text, recorded_at in old:
            payload = json.loads(payload_text)
            if kind == "ledger-created":
                payload |= {"public_key": public.raw.hex(), "key_id": public.key_id}
                payload["origin"] = f"provledger/{public.key_id}"
            if kind == "checkpoint":
                size = payload["size"]
                payload["root"] = root_from_leaf_hashes(leaf_hash(h) for h in hashes[:size]).hex()
            digest = entry_body_hash(seq, kind, payload, prev, public.key_id, recorded_at)
            con.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, kind, canonical_json(payload).decode(), prev, digest.hex(),
                 forger.sign(digest).hex(), public.key_id, recorded_at],
            )  # fmt: skip
            prev, hashes = digest.hex(), [*hashes, digest]
        for statement in guard_statements("entries")[1:]:
            con.execute(statement)
    (home / "signing.key").write_bytes(
        forger.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (home / "signing.pub").write_bytes(
        public.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    root = root_from_leaf_hashes(leaf_hash(h) for h in hashes)
    note = Checkpoint(f"provledger/{public.key_id}", len(hashes), root)
    (home / NOTE_FILE).write_text(note.sign(keys.Signer(forger)))


def test_a_rekeyed_ledger_is_refused_by_a_pinned_key(cli: Any, built: Path, tmp_path: Path) -> None:
    pinned = tmp_path / "ledger.pub"
    shutil.copy(built / "signing.pub", pinned)
    real = keys.load_public_key(built)
    vkey = verifier_key(f"provledger/{real.key_id}", real)
    receipt = tmp_path / "receipt.json"
    assert (
        cli("erase", "--subject", "u2", "--request", "DSR-2", "--receipt", str(receipt)).exit_code
        == 0
    )
    assert cli("verify", "--pubkey", str(pinned)).exit_code == 0
    assert cli("verify", "--vkey", vkey).exit_code == 0
    _resign_everything(built)
    # Without a pin the forgery verifies: tamper-evidence needs something kept elsewhere.
    assert cli("verify").exit_code == 0
    forged = keys.load_public_key(built).key_id
    message = (
        f"Error: the ledger at {built} is signed with key {forged}, not the pinned key "
        f"{real.key_id}: its key files were replaced, or this is another ledger\n"
    )
    for pin in (["--pubkey", str(pinned)], ["--vkey", vkey]):
        result = cli("verify", *pin)
        assert (result.exit_code, result.stderr) == (1, message), pin
        result = cli("verify-receipt", str(receipt), *pin)
        assert (result.exit_code, result.stderr) == (1, message), pin


def test_a_malformed_verifier_key_is_refused(cli: Any, built: Path) -> None:
    result = cli("verify", "--vkey", "provledger+00000000+AAAA")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: field 'vkey': not an Ed25519 verifier key (name+keyid+base64 of 0x01 and the "
        "32-byte key)\n"
    )


def test_a_replaced_subject_key_is_refused(cli: Any, built: Path) -> None:
    path = built / "subject.key"
    path.chmod(0o600)
    path.write_bytes(os.urandom(32))
    message = (
        f"Error: subject key {path} is not the key this ledger was created with (its key "
        "check value differs): with it, subject look-ups and erasures would match nothing. "
        "Restore the original subject key from its backup\n"
    )
    for command in (
        ["lineage", "--subject", "u2"],
        ["erase", "--subject", "u2", "--request", "DSR-9"],
    ):
        result = cli(*command)
        assert (result.exit_code, result.stderr) == (1, message), command


def test_the_subject_key_can_live_outside_the_home(
    cli: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "vault" / "subject.key"
    outside.parent.mkdir()
    monkeypatch.setenv(keys.SUBJECT_KEY_ENV, str(outside))
    assert cli("init").exit_code == 0
    assert not (home / "subject.key").exists()
    assert stat.S_IMODE(outside.stat().st_mode) == 0o600
    data = write_jsonl(tmp_path / "t.jsonl", FIRST_PARTY)
    assert cli("consent", "add", str(write_consent(tmp_path))).exit_code == 0
    assert cli("dataset", "create", "d", "--owner", "o", "--context", "internal",
               "--use", "train").exit_code == 0  # fmt: skip
    assert cli("register", str(data), "--dataset", "d", "--source", "first_party",
               "--consent", "tos@1", "--subject-field", "uid").exit_code == 0  # fmt: skip
    found = json.loads(cli("lineage", "--subject", "u1", "--json").stdout)
    assert len(found["records"]) == 2
    monkeypatch.delenv(keys.SUBJECT_KEY_ENV)
    result = cli("lineage", "--subject", "u1")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: key file {home / 'subject.key'} is missing\n",
    )


def write_consent(tmp_path: Path) -> Path:
    path = tmp_path / "consent.json"
    path.write_text(json.dumps(CONSENT))
    return path


# -- 5. verified reads -------------------------------------------------------------------------
def test_read_json_says_what_was_checked(
    cli: Any, built: Path, world: dict[str, Any], tmp_path: Path
) -> None:
    n = world["entries"]
    head = json.loads(cli("log", "--json").stdout)[-1]["entry_hash"]
    for command in read_commands(world, tmp_path)[:5]:
        checked = json.loads(cli(*command).stdout)["checked"]
        assert checked["checked_through_seq"] == n, command
        assert checked["head_hash"] == head
        assert checked["note_size"] == n
        assert checked["last_full_verify"] is None  # this copy was never verified
    assert cli("verify").exit_code == 0
    record = json.loads((built / LAST_VERIFY_FILE).read_text())
    assert record["seq"] == n
    checked = json.loads(cli("audit", "support", "--json").stdout)["checked"]
    assert checked["last_full_verify"] == {
        "at": record["at"],
        "seq": n,
        "matches_log": True,
        "covers_head": True,
    }
    assert cli("erase", "--subject", "u2", "--request", "DSR-2").exit_code == 0
    checked = json.loads(cli("audit", "support", "--json").stdout)["checked"]
    assert checked["checked_through_seq"] == n + 1
    assert (checked["last_full_verify"]["seq"], checked["last_full_verify"]["covers_head"]) == (
        n,
        False,
    )


# -- 6. bounds ---------------------------------------------------------------------------------
def test_a_future_stamp_is_flagged_and_blocks_appends(
    cli: Any, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = datetime

    class Fast(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return real(2099, 1, 1, tzinfo=UTC)

    with Ledger.open(built) as led:
        monkeypatch.setattr(store_module, "datetime", Fast)
        entry = led.create_dataset("later", owner="o", context="internal", uses=["train"])
        monkeypatch.setattr(store_module, "datetime", real)
    seq = entry.seq
    result = cli("verify")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: verification failed at seq {seq}: recorded_at 2099-01-01T00:00:00.000000Z is "
        "in the future (the clock now reads "
    )
    result = cli("dataset", "create", "other", "--owner", "o", "--context", "internal",
                 "--use", "train")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: the last entry (seq {seq}) is stamped 2099-01-01T00:00:00.000000Z, more than "
        "5 minutes after this machine's clock ("
    )
    with Ledger.open(built, read_only=True) as led:
        assert led.store.entry_count() == seq  # nothing was appended


def test_a_stamp_earlier_than_the_previous_is_flagged(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    signer = keys.load_signer(built)
    n = world["entries"]
    with raw(built) as con:
        prev = con.execute(f"SELECT entry_hash FROM entries WHERE seq = {n}").fetchone()[0]
        payload = {"size": 0, "root": root_from_leaf_hashes([]).hex()}
        at = "2000-01-01T00:00:00.000000Z"
        digest = entry_body_hash(n + 1, "checkpoint", payload, prev, signer.public.key_id, at)
        con.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [n + 1, "checkpoint", canonical_json(payload).decode(), prev, digest.hex(),
             signer.sign(digest).hex(), signer.public.key_id, at],
        )  # fmt: skip
    with Ledger.open(built, verifying=True) as led:
        report = led.verify()
    assert (report.ok, report.first_bad_seq) == (False, n + 1)
    assert report.problem is not None
    assert report.problem.startswith(f"recorded_at {at} is earlier than the previous entry's")


def test_the_home_is_private(cli: Any, home: Path, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    home.chmod(0o770)
    result = cli("log")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: ledger home {home} has mode 0770: group or others may write it, and whoever "
        f"can write it can replace its keys and database (chmod 700 {home})\n",
    )
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    result = cli("init", "--home", str(shared))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: ledger home {shared} has mode 0777: group or others may write it, and whoever "
        f"can write it can replace its keys and database (chmod 700 {shared})\n",
    )
    assert list(shared.iterdir()) == []


def test_the_new_refusals_are_integrity_errors_the_api_exports() -> None:
    import provledger

    # Callers catching IntegrityError (or LedgerError) see the catalog refusal too.
    assert provledger.CatalogError is CatalogError
    assert CatalogError.__mro__[1] is IntegrityError
    assert BehindCheckpoint.__mro__[1] is IntegrityError
    assert issubclass(KeyFileError, provledger.LedgerError)
    assert issubclass(HomeError, provledger.LedgerError)


# -- what the ledger cannot hide (docs/threat-model.md) ---------------------------------------
def test_a_low_entropy_record_is_recovered_from_its_hash_by_guessing(
    cli: Any, built: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "manifest.parquet"
    assert cli("export", "support", "--output", str(out)).exit_code == 0
    exported = set(pq.read_table(out).column("record_hash").to_pylist())
    # Record hashes are unkeyed: whoever can list the likely records finds which are in.
    guesses = [{"text": t, "uid": f"u{i}"} for t in ("cannot log in", "hi") for i in range(5)]
    assert [g for g in guesses if _hash(g) in exported] == [FIRST_PARTY[1]]


def test_the_subject_hash_is_enumerable_only_with_the_subject_key(
    cli: Any, built: Path, tmp_path: Path
) -> None:
    import hashlib
    import hmac

    receipt = tmp_path / "r.json"
    assert (
        cli("erase", "--subject", "u2", "--request", "R2", "--receipt", str(receipt)).exit_code == 0
    )
    target = json.loads(receipt.read_text())["subject_hash"]
    candidates = [f"u{i}" for i in range(100)]

    def enumerate_with(key: bytes) -> list[str]:
        return [
            c for c in candidates if hmac.new(key, c.encode(), hashlib.sha256).hexdigest() == target
        ]

    assert enumerate_with((built / "subject.key").read_bytes()) == ["u2"]
    assert enumerate_with(os.urandom(32)) == []


@pytest.mark.parametrize("doc", ["docs/threat-model.md", "docs/integrity.md"])
def test_every_test_the_docs_cite_exists(doc: str) -> None:
    import re

    root = Path(__file__).resolve().parent
    defined = set(
        re.findall(r"^def (test_\w+)", "".join(p.read_text() for p in root.glob("test_*.py")), re.M)
    )
    text = (root.parent / doc).read_text()
    cited = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    cited -= {p.stem for p in root.glob("test_*.py")}  # file names
    assert cited and cited <= defined, sorted(cited - defined)


def test_an_older_ledger_is_upgraded_and_the_upgrade_signed(
    cli: Any, built: Path, world: dict[str, Any]
) -> None:
    # As a ledger from before m004 looks: no lookup-key guards, no sketch tables (m005) and
    # no near-duplicate facts (m006), no such migration recorded.
    newer = (
        "record_sketches",
        "batch_profiles",
        "near_batches",
        "near_cross_split",
        "near_benchmark",
    )
    with raw(built) as con:
        for table in (*LOOKUP_KEY_TABLES, *newer):
            for event in ("update", "delete"):
                con.execute(f"DROP TRIGGER {table}_no_{event} ON {table}")
        for table in newer:
            con.execute(f"DROP TABLE {table}")
        con.execute(
            "DELETE FROM schema_migrations "
            "WHERE name IN ('m004_lookup_key_guards', 'm005_sketches', 'm006_near_facts')"
        )
    result = cli("audit", "support")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: ledger database {built / DB_FILE} needs a schema upgrade: run any writing "
        "command (for example 'provledger checkpoint') once\n"
    )
    assert cli("checkpoint").exit_code == 0
    n = world["entries"]
    with Ledger.open(built, read_only=True) as led:
        upgrade = led.store.entry(n + 1)
        assert upgrade is not None
        assert led.checked is not None
        catalog = led.checked.catalog
        key_check = keys.subject_key_check(led.subject_key)
    assert upgrade.kind == "schema-migrated"
    assert upgrade.payload["migrations"] == [
        "m004_lookup_key_guards",
        "m005_sketches",
        "m006_near_facts",
    ]
    assert upgrade.payload["catalog"] == catalog
    assert upgrade.payload["subject_key_check"] == key_check
    assert len(upgrade.payload["unsigned_digest"]) == 64
    assert cli("verify").exit_code == 0
    assert cli("audit", "support").exit_code == 0
