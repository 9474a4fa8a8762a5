"""Tampering with the DuckDB file directly, as someone holding the file (but not the
signing key) could: ``provledger verify`` must fail and name the first bad seq, and a
ledger that lost its tail must be caught by the signed checkpoint kept beside it."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import keys
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint, parse_note
from ledger.errors import BehindCheckpoint, InputError
from ledger.ledger import DB_FILE, NOTE_FILE, Ledger
from ledger.merkle import leaf_hash, root_from_leaf_hashes
from ledger.migrations import guard_statements
from ledger.store import GENESIS_HASH, Store, entry_body_hash
from ledger.verify import verify_ledger

ENTRIES = 6  # ledger-created, then five checkpoint entries


def make_ledger(home: Path, checkpoints: int = ENTRIES - 1) -> None:
    with Ledger.init(home) as led:
        for _ in range(checkpoints):
            led.checkpoint()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: each test tampers with its own copy."""
    path = tmp_path_factory.mktemp("tamper-template") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PROVLEDGER_KEY_PASSPHRASE", raising=False)
        make_ledger(path)
    return path


@pytest.fixture
def built(home: Path, template: Path) -> Path:
    """A closed ledger of ENTRIES entries, with its checkpoint note in the home."""
    shutil.copytree(template, home)
    return home


@contextmanager
def tampering(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A raw connection to the ledger file with the entries guard triggers dropped, and put
    back afterwards as a careful tamperer would (a missing trigger fails the catalog check)."""
    con = duckdb.connect(str(home / DB_FILE))
    try:
        con.execute("DROP TRIGGER entries_no_update ON entries")
        con.execute("DROP TRIGGER entries_no_delete ON entries")
        yield con
        for statement in guard_statements("entries"):
            con.execute(statement)
    finally:
        con.close()


def rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT seq, kind, payload, prev_hash, entry_hash, signature, key_id, recorded_at "
        "FROM entries ORDER BY seq"
    ).fetchall()


def assert_verify_fails(cli: Any, seq: int, problem: str) -> None:
    """`verify` exits 1 naming seq and problem, in text and in --json."""
    result = cli("verify")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: verification failed at seq {seq}: {problem}\n"
    result = cli("verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_bad_seq"] == seq
    assert report["problem"] == problem


def behind_message(home: Path, count: int, size: int) -> str:
    return (
        f"ledger database holds {count} entries but the signed checkpoint {home / NOTE_FILE} "
        f"records {size}: acknowledged commits were lost (for example a torn write-ahead "
        "log). Refusing to continue on the shorter ledger; restore the database from a "
        "backup and run 'provledger verify'"
    )


def test_an_untouched_ledger_verifies(cli: Any, built: Path) -> None:
    # The baseline every tamper case departs from, including the trigger-dropping helper.
    with tampering(built):
        pass
    result = cli("verify", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["entries"] == ENTRIES


# -- one column of one middle entry changed -------------------------------------------------


def _flip_hex(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


@pytest.mark.parametrize(
    ("column", "change", "problem"),
    [
        (
            "payload",
            lambda p: p.replace('"size":2', '"size":1'),
            "entry_hash does not match the entry's contents",
        ),
        ("payload", lambda p: p.replace(":", ": "), "payload is not in canonical form"),
        (
            "payload",
            lambda p: p.replace('"size":2', '"size":9007199254740993'),
            "payload cannot be canonicalised",
        ),
        ("payload", lambda p: p[:-1], "payload is not JSON"),
        ("kind", lambda k: "dataset-created", "entry_hash does not match the entry's contents"),
        (
            "recorded_at",
            lambda t: t.replace("T", "T0")[:-1] + "Z",
            "entry_hash does not match the entry's contents",
        ),
        ("key_id", _flip_hex, "entry_hash does not match the entry's contents"),
        ("entry_hash", _flip_hex, "entry_hash does not match the entry's contents"),
        ("prev_hash", _flip_hex, "prev_hash does not match the previous entry's hash"),
        ("signature", _flip_hex, "signature does not verify with the ledger's public key"),
    ],
    ids=[
        "payload",
        "payload-not-canonical",
        "payload-big-integer",
        "payload-not-json",
        "kind",
        "recorded_at",
        "key_id",
        "entry_hash",
        "prev_hash",
        "signature",
    ],
)
def test_a_modified_middle_entry(
    cli: Any, built: Path, column: str, change: Any, problem: str
) -> None:
    with tampering(built) as con:
        (old,) = con.execute(f"SELECT {column} FROM entries WHERE seq = 3").fetchone()
        new = change(old)
        assert new != old
        con.execute(f"UPDATE entries SET {column} = ? WHERE seq = 3", [new])
    assert_verify_fails(cli, 3, problem)


def test_a_deleted_middle_row(cli: Any, built: Path) -> None:
    with tampering(built) as con:
        con.execute("DELETE FROM entries WHERE seq = 3")
    # With the note in the home, the shorter ledger is refused before anything runs.
    result = cli("verify")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {behind_message(built, ENTRIES - 1, ENTRIES)}\n"
    # Whoever can edit the file can delete the note too: the chain alone still names seq 3.
    (built / NOTE_FILE).unlink()
    assert_verify_fails(cli, 3, "entry seq 3 is missing (found seq 4 in its place)")


def test_two_swapped_rows(cli: Any, built: Path) -> None:
    with tampering(built) as con:
        con.execute("UPDATE entries SET seq = -3 WHERE seq = 3")
        con.execute("UPDATE entries SET seq = 3 WHERE seq = 4")
        con.execute("UPDATE entries SET seq = 4 WHERE seq = -3")
        assert [r[0] for r in rows(con)] == list(range(1, ENTRIES + 1))
    assert_verify_fails(cli, 3, "prev_hash does not match the previous entry's hash")


def test_a_tail_cut_with_its_checkpoint_entries(cli: Any, built: Path, tmp_path: Path) -> None:
    saved = tmp_path / "handed-out.note"
    saved.write_text((built / NOTE_FILE).read_text())
    with tampering(built) as con:
        cut = con.execute("SELECT kind FROM entries WHERE seq > 3").fetchall()
        assert cut == [("checkpoint",)] * (ENTRIES - 3)
        con.execute("DELETE FROM entries WHERE seq > 3")
        assert [r[1] for r in rows(con)] == ["ledger-created", "checkpoint", "checkpoint"]
    # What is left is a perfectly good chain: its own checkpoint entries agree with it.
    store = Store.open(built / DB_FILE, read_only=True)
    try:
        report = verify_ledger(store, keys.load_public_key(built), [])
        assert report.ok, report.problem
        assert report.entries == 3
        # Only the note kept outside the database tells: it records 6 entries.
        report = verify_ledger(
            store, keys.load_public_key(built), [("note", _note_of(built / NOTE_FILE))]
        )
    finally:
        store.close()
    assert report.ok is False
    assert report.first_bad_seq == 4
    assert report.problem == (
        "note records 6 entries but the database holds only 3: the ledger lost entries it "
        "had acknowledged"
    )
    # Every command refuses to run on the shorter ledger.
    message = behind_message(built, 3, ENTRIES)
    for command in (["verify"], ["verify", "--json"], ["log"], ["checkpoint"]):
        result = cli(*command)
        assert result.exit_code == 1, command
        assert result.stderr == f"Error: {message}\n"
    with pytest.raises(BehindCheckpoint) as info:
        Ledger.open(built, read_only=True)
    assert str(info.value) == message
    assert info.value.seq == 4
    # A note handed out earlier catches it too, even after the one in the home is removed.
    (built / NOTE_FILE).unlink()
    result = cli("verify", "--checkpoint", str(saved), "--json")
    assert result.exit_code == 1
    report_json = json.loads(result.stdout)
    assert (report_json["ok"], report_json["first_bad_seq"]) == (False, 4)
    assert result.stderr == (
        f"Error: verification failed at seq 4: {saved} records 6 entries but the database "
        "holds only 3: the ledger lost entries it had acknowledged\n"
    )


def _note_of(path: Path) -> Checkpoint:
    return parse_note(path.read_text(), keys.load_public_key(path.parent))


def _rebuild_from(
    con: duckdb.DuckDBPyConnection, start: int, sign: Any, key_id: str | None = None
) -> None:
    """Rewrite entries from ``start`` on: a new payload at ``start``, then every hash and
    prev link recomputed correctly, checkpoint entries' roots recomputed over the new
    hashes, and each entry signed with ``sign``."""
    old = rows(con)
    hashes: list[bytes] = [bytes.fromhex(r[4]) for r in old[: start - 1]]
    prev = old[start - 2][4] if start > 1 else GENESIS_HASH
    con.execute("DELETE FROM entries WHERE seq >= ?", [start])
    for seq, kind, payload_text, _, _, _, old_key_id, recorded_at in old[start - 1 :]:
        payload = json.loads(payload_text)
        if seq == start:
            payload = {"size": 0, "root": root_from_leaf_hashes([]).hex(), "forged": True}
        elif kind == "checkpoint":
            size = payload["size"]
            payload["root"] = root_from_leaf_hashes(leaf_hash(h) for h in hashes[:size]).hex()
        kid = key_id or old_key_id
        digest = entry_body_hash(seq, kind, payload, prev, kid, recorded_at)
        con.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                seq,
                kind,
                canonical_json(payload).decode(),
                prev,
                digest.hex(),
                sign(digest).hex(),
                kid,
                recorded_at,
            ],
        )
        hashes.append(digest)
        prev = digest.hex()


def test_a_chain_rebuilt_without_the_signing_key(cli: Any, built: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    with tampering(built) as con:
        _rebuild_from(con, 3, forger.sign)
    # Every hash and link was recomputed, so the first failure is the signature at seq 3.
    assert_verify_fails(cli, 3, "signature does not verify with the ledger's public key")


def test_a_chain_rebuilt_under_another_key_id(cli: Any, built: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    forged_id = keys.PublicKey(forger.public_key()).key_id
    with tampering(built) as con:
        _rebuild_from(con, 3, forger.sign, key_id=forged_id)
    assert_verify_fails(cli, 3, f"signed by unknown key {forged_id}")


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        (3, "consistency proof does not lead to the old root"),
        # A power of two: the old root is the proof's first node, so the new root differs.
        (4, "consistency proof does not lead to the new root"),
        (ENTRIES, "same size, different roots"),
    ],
)
def test_history_rewritten_with_the_real_key_is_caught_by_a_saved_checkpoint(
    cli: Any, built: Path, tmp_path: Path, size: int, reason: str
) -> None:
    # Someone holding the signing key can rewrite history so that it verifies on its own;
    # only a checkpoint handed out earlier can show it. The fork keeps the length, so no
    # count check helps either.
    signer = keys.load_signer(built)
    saved = tmp_path / "handed-out.note"
    with Ledger.open(built, read_only=True) as led:
        saved.write_text(led.current_checkpoint(size).sign(signer))
    with tampering(built) as con:
        _rebuild_from(con, 2, signer.sign)
    with Ledger.open(built, verifying=True) as led:
        # The forger re-signs the note in the home as well.
        (built / NOTE_FILE).write_text(led.current_checkpoint().sign(signer))
        assert led.verify().ok
    result = cli("verify", "--checkpoint", str(saved), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    # One root cannot say which entry inside the checkpointed prefix changed.
    assert report["first_bad_seq"] is None
    problem = f"{saved} is not a prefix of this ledger: {reason}"
    assert report["problem"] == problem
    assert result.stderr.startswith("Error: verification failed")
    assert result.stderr.endswith(f": {problem}\n")


# -- checkpoint notes that must not be accepted ---------------------------------------------


def test_a_note_from_a_different_ledger(cli: Any, built: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-home"
    make_ledger(other, checkpoints=1)
    foreign = tmp_path / "foreign.note"
    foreign.write_text((other / NOTE_FILE).read_text())
    result = cli("verify", "--checkpoint", str(foreign))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {foreign}: checkpoint signature does not verify with this ledger's key\n"
    )
    # The same bytes in the home's own note slot are refused just as firmly.
    (built / NOTE_FILE).write_text(foreign.read_text())
    result = cli("log")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {built / NOTE_FILE}: checkpoint signature does not verify with this ledger's key\n"
    )


def _tampered_notes(note: str) -> dict[str, str]:
    origin, size, root, blank, signature, end = note.split("\n")
    assert (blank, end) == ("", "")
    other_root = base64.b64encode(bytes(32)).decode()
    return {
        "size": "\n".join([origin, str(int(size) - 1), root, "", signature, ""]),
        "bigger-size": "\n".join([origin, str(int(size) + 1), root, "", signature, ""]),
        "root": "\n".join([origin, size, other_root, "", signature, ""]),
        "origin": "\n".join([origin + "x", size, root, "", signature, ""]),
        "signature": "\n".join([origin, size, root, "", signature[:-6] + "AAAAA=", ""]),
    }


@pytest.mark.parametrize("field", ["size", "bigger-size", "root", "origin", "signature"])
def test_a_note_with_a_tampered_field(cli: Any, built: Path, tmp_path: Path, field: str) -> None:
    path = tmp_path / "tampered.note"
    path.write_text(_tampered_notes((built / NOTE_FILE).read_text())[field])
    result = cli("verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: checkpoint signature does not verify with this ledger's key\n"
    )
    with Ledger.open(built, read_only=True) as led, pytest.raises(InputError) as info:
        led.verify(path.read_text(), source=str(path))
    assert info.value.file == str(path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a signed checkpoint note"),
        ("provledger/x\n3\n", "not a signed checkpoint note"),
        ("provledger/x\nthree\nAAAA\n\n— sig\n", "checkpoint size or root is malformed"),
        ("provledger/x\n3\nnot base64!\n\n— sig\n", "checkpoint size or root is malformed"),
        ("provledger/x\n-1\n" + "A" * 43 + "=\n\n— sig\n", "checkpoint size or root is malformed"),
        ("provledger/x\n3\nAAAA\n\n— sig\n", "checkpoint size or root is malformed"),
    ],
    ids=["empty", "no-signature-block", "size", "root-encoding", "negative-size", "short-root"],
)
def test_a_malformed_note(cli: Any, built: Path, tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.note"
    path.write_text(text)
    result = cli("verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: {reason}\n"


def test_a_correct_note_of_a_longer_ledger_is_not_accepted_as_a_prefix(
    cli: Any, built: Path, tmp_path: Path
) -> None:
    # A validly signed note for a size beyond this ledger (say, a restored older backup):
    # verify names the first entry the database lacks.
    signer = keys.load_signer(built)
    with Ledger.open(built, read_only=True) as led:
        origin = led.origin
    note = Checkpoint(origin, ENTRIES + 2, bytes(32)).sign(signer)
    path = tmp_path / "future.note"
    path.write_text(note)
    result = cli("verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: verification failed at seq {ENTRIES + 1}: {path} records {ENTRIES + 2} "
        f"entries but the database holds only {ENTRIES}: the ledger lost entries it had "
        "acknowledged\n"
    )
