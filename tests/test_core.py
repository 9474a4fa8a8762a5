"""The ledger core through the library and through the real CLI: init, key files and
passphrases, log, verify, checkpoint, the append-only guards and schema migrations."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from provledger.errors import HomeError, KeyFileError
from provledger.ledger import DB_FILE, NOTE_FILE, Ledger
from provledger.storage.migrations import APPEND_ONLY_TABLES, LOOKUP_KEY_TABLES
from provledger.storage.store import GENESIS_HASH
from provledger.tlog import keys
from provledger.tlog.checkpoint import parse_note, verifier_key

PASSPHRASE_ENV = "PROVLEDGER_KEY_PASSPHRASE"
VERIFY_KEYS = {
    "ok",
    "entries",
    "batches",
    "records",
    "checkpoints",
    "root",
    "first_bad_seq",
    "problem",
    "restored_note_at",
}
ENTRY_KEYS = {
    "seq",
    "kind",
    "payload",
    "prev_hash",
    "entry_hash",
    "signature",
    "key_id",
    "recorded_at",
}


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return {}


@pytest.fixture
def make_ledger(
    templates: dict[int, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., None]:
    """``make_ledger(home, checkpoints=0)``: an initialised ledger with ``checkpoints``
    checkpoint entries after the first, closed so the CLI can open it. Each shape is built
    once per session and copied (keys included) into the test's home."""

    def make(home: Path, checkpoints: int = 0) -> None:
        if checkpoints not in templates:
            path = tmp_path_factory.mktemp("core-template") / "home"
            with Ledger.init(path) as led:
                for _ in range(checkpoints):
                    led.checkpoint()
            templates[checkpoints] = path
        shutil.copytree(templates[checkpoints], home)

    return make


def entry_count(home: Path) -> int:
    with Ledger.open(home, read_only=True) as led:
        return led.store.entry_count()


def snapshot(home: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file in home with its bytes, mtime and mode."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns, stat.S_IMODE(p.stat().st_mode))
        for p in sorted(home.iterdir())
    }


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- init -----------------------------------------------------------------------------------


def test_init_creates_the_home(cli: Any, home: Path) -> None:
    result = cli("init")
    assert result.exit_code == 0, result.output
    key_id = keys.load_public_key(home).key_id
    assert result.stdout == f"Initialised ledger at {home} (signing key {key_id})\n"
    assert result.stderr == ""
    names = {p.name for p in home.iterdir()}
    assert {DB_FILE, "signing.key", "signing.pub", "subject.key", NOTE_FILE} <= names
    assert mode(home / "signing.key") == 0o600
    assert mode(home / "subject.key") == 0o600
    assert mode(home) & 0o077 == 0
    assert len((home / "subject.key").read_bytes()) == 32
    pem = (home / "signing.key").read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert b"ENCRYPTED" not in pem


def test_init_json(cli: Any, home: Path) -> None:
    result = cli("init", "--json")
    assert result.exit_code == 0, result.output
    public = keys.load_public_key(home)
    key_id = public.key_id
    assert json.loads(result.stdout) == {
        "home": str(home),
        "key_id": key_id,
        "origin": f"provledger/{key_id}",
        "verifier_key": verifier_key(f"provledger/{key_id}", public),
    }
    # The C2SP verifier key: name+keyid+base64(0x01 || key), keyid = SHA-256(name || 0x0A
    # || 0x01 || key)[:4], computed here from its definition.
    name, key_hex, blob = json.loads(result.stdout)["verifier_key"].split("+", 2)
    assert base64.b64decode(blob) == b"\x01" + public.raw
    digest = hashlib.sha256(name.encode() + b"\n\x01" + public.raw).digest()
    assert bytes.fromhex(key_hex) == digest[:4]


def test_init_through_the_library_writes_the_first_entry(home: Path) -> None:
    with Ledger.init(home) as led:
        (entry,) = led.entries()
        assert entry.seq == 1
        assert entry.kind == "ledger-created"
        assert entry.prev_hash == GENESIS_HASH
        assert entry.key_id == led.public.key_id
        assert entry.payload["public_key"] == led.public.raw.hex()
        assert entry.payload["origin"] == led.origin == f"provledger/{led.public.key_id}"
        assert led.verify().ok


def test_init_on_an_existing_home_refuses_and_changes_nothing(
    cli: Any, home: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home, checkpoints=1)
    before = snapshot(home)
    result = cli("init")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {home} already exists and is not empty: refusing to initialise over it "
        "(nothing was changed)\n"
    )
    assert snapshot(home) == before
    with pytest.raises(HomeError, match="already exists and is not empty") as info:
        Ledger.init(home)
    assert info.value.home == home
    assert snapshot(home) == before


def test_init_refuses_a_folder_with_other_files(cli: Any, home: Path) -> None:
    home.mkdir()
    (home / "notes.txt").write_text("mine\n")
    result = cli("init")
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.stderr
    assert [p.name for p in home.iterdir()] == ["notes.txt"]
    assert (home / "notes.txt").read_text() == "mine\n"


def test_init_accepts_an_empty_existing_folder(cli: Any, home: Path) -> None:
    home.mkdir()
    assert cli("init").exit_code == 0
    assert entry_count(home) == 1


def test_home_option_overrides_the_environment(cli: Any, home: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    assert cli("init", "--home", str(other)).exit_code == 0
    assert (other / DB_FILE).exists()
    assert not home.exists()


def test_commands_without_a_ledger_say_how_to_make_one(cli: Any, home: Path) -> None:
    for command in ("verify", "log", "checkpoint"):
        result = cli(command)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: no ledger at {home}: run 'provledger init' (or pass --home / set "
            "PROVLEDGER_HOME)\n"
        )


# -- passphrases and key files --------------------------------------------------------------


def test_passphrase_at_init_encrypts_the_signing_key(
    cli: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    assert cli("init").exit_code == 0
    pem = (home / "signing.key").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert mode(home / "signing.key") == 0o600
    result = cli("checkpoint")
    assert result.exit_code == 0, result.output
    assert entry_count(home) == 2


def test_wrong_passphrase_is_refused_clearly(
    cli: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    assert cli("init").exit_code == 0
    monkeypatch.setenv(PASSPHRASE_ENV, "Tr0ub4dor&3")
    result = cli("checkpoint")
    assert result.exit_code == 1
    assert result.stdout == ""
    path = home / "signing.key"
    assert result.stderr == (
        f"Error: cannot decrypt signing key {path}: wrong passphrase in {PASSPHRASE_ENV}, "
        "or the file is damaged\n"
    )
    assert "Tr0ub4dor" not in result.output
    assert entry_count(home) == 1


def test_missing_passphrase_says_the_key_is_encrypted(
    cli: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    assert cli("init").exit_code == 0
    monkeypatch.delenv(PASSPHRASE_ENV)
    result = cli("checkpoint")
    assert result.exit_code == 1
    path = home / "signing.key"
    assert result.stderr == f"Error: signing key {path} is encrypted: set {PASSPHRASE_ENV}\n"
    assert entry_count(home) == 1
    # Reading and verifying need only the public key.
    assert cli("verify").exit_code == 0
    assert cli("log").exit_code == 0


def test_passphrase_for_an_unencrypted_key_is_refused(
    cli: Any,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_ledger: Callable[..., None],
) -> None:
    make_ledger(home)
    monkeypatch.setenv(PASSPHRASE_ENV, "something")
    result = cli("checkpoint")
    assert result.exit_code == 1
    path = home / "signing.key"
    assert result.stderr == f"Error: signing key {path} is not encrypted: unset {PASSPHRASE_ENV}\n"


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o660])
def test_a_signing_key_others_can_read_is_refused(
    cli: Any, home: Path, loose: int, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home)
    path = home / "signing.key"
    path.chmod(loose)
    result = cli("checkpoint")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: key file {path} has mode {loose:04o}; it must be readable by its owner only "
        f"(chmod 600 {path})\n"
    )
    assert entry_count(home) == 1
    path.chmod(0o600)
    assert cli("checkpoint").exit_code == 0


def test_a_subject_key_others_can_read_is_refused(
    home: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home)
    path = home / "subject.key"
    path.chmod(0o644)
    with Ledger.open(home) as led, pytest.raises(KeyFileError, match="has mode 0644") as info:
        _ = led.subject_key
    assert info.value.path == path
    path.chmod(0o600)
    with Ledger.open(home) as led:
        assert led.subject_key == path.read_bytes()


def test_missing_and_damaged_key_files(
    cli: Any, home: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home)
    (home / "signing.key").unlink()
    result = cli("checkpoint")
    assert result.exit_code == 1
    assert result.stderr == f"Error: key file {home / 'signing.key'} is missing\n"
    (home / "signing.pub").write_text("not a key\n")
    result = cli("verify")
    assert result.exit_code == 1
    assert result.stderr == f"Error: public key {home / 'signing.pub'} is damaged\n"


def test_signer_repr_keeps_the_key_out_of_logs(
    home: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home)
    signer = keys.load_signer(home)
    assert repr(signer) == f"Signer(key_id={signer.public.key_id})"


# -- verify, log, checkpoint ----------------------------------------------------------------


def test_verify_a_good_ledger(cli: Any, home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home, checkpoints=2)
    with Ledger.open(home, read_only=True) as led:
        root = led.current_checkpoint().root.hex()
    result = cli("verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"OK: 3 entries, 0 batches, 0 records; log root {root}\n"
        f"OK: consistent with checkpoint {home / NOTE_FILE} (size 3)\n"
    )
    assert result.stderr == ""


def test_verify_json(cli: Any, home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home, checkpoints=2)
    result = cli("verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == VERIFY_KEYS
    assert report["ok"] is True
    assert report["entries"] == 3
    assert (report["batches"], report["records"]) == (0, 0)
    assert report["first_bad_seq"] is None
    assert report["problem"] is None
    assert report["checkpoints"] == [
        {"source": str(home / NOTE_FILE), "size": 3, "root": report["root"], "consistent": True}
    ]


def test_log_json(cli: Any, home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home, checkpoints=2)
    result = cli("log", "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert [e["kind"] for e in entries] == ["ledger-created", "checkpoint", "checkpoint"]
    assert all(set(e) == ENTRY_KEYS for e in entries)
    prev = GENESIS_HASH
    for entry in entries:
        assert entry["prev_hash"] == prev
        prev = entry["entry_hash"]
    assert entries[1]["payload"] == {"size": 1, "root": entries[1]["payload"]["root"]}
    assert entries[2]["payload"]["size"] == 2
    assert [e["recorded_at"] for e in entries] == sorted(e["recorded_at"] for e in entries)


def test_log_text(cli: Any, home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home, checkpoints=1)
    result = cli("log")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0:3:2] == ["1", "ledger-created"]
    assert lines[1].split()[0:3:2] == ["2", "checkpoint"]


def test_checkpoint_prints_a_signed_note(
    cli: Any, home: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home)
    result = cli("checkpoint")
    assert result.exit_code == 0, result.output
    public = keys.load_public_key(home)
    note = parse_note(result.stdout, public)
    assert note.origin == f"provledger/{public.key_id}"
    assert note.size == 1
    assert result.stdout.startswith(f"provledger/{public.key_id}\n1\n")
    assert entry_count(home) == 2


def test_checkpoint_output_then_verify_checkpoint(
    cli: Any, home: Path, tmp_path: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home, checkpoints=1)
    saved = tmp_path / "saved.note"
    result = cli("checkpoint", "--output", str(saved))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Checkpoint written to {saved}\n"
    assert result.stdout == ""
    assert parse_note(saved.read_text(), keys.load_public_key(home)).size == 2
    for _ in range(3):
        assert cli("checkpoint").exit_code == 0
    result = cli("verify", "--checkpoint", str(saved))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        f"OK: consistent with checkpoint {home / NOTE_FILE} (size 6)",
        f"OK: consistent with checkpoint {saved} (size 2)",
    ]
    report = json.loads(cli("verify", "--checkpoint", str(saved), "--json").stdout)
    assert [(c["source"], c["size"]) for c in report["checkpoints"]] == [
        (str(home / NOTE_FILE), 6),
        (str(saved), 2),
    ]


def test_verify_checkpoint_that_cannot_be_read(
    cli: Any, home: Path, tmp_path: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home)
    missing = tmp_path / "missing.note"
    result = cli("verify", "--checkpoint", str(missing))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot read checkpoint {missing}: No such file or directory\n"


def test_the_note_in_the_home_follows_every_append(home: Path) -> None:
    with Ledger.init(home) as led:
        public = led.public
        for size in (1, 2, 3):
            note = parse_note((home / NOTE_FILE).read_text(), public)
            assert note.size == size
            assert note == led.current_checkpoint()
            led.checkpoint()


# -- append-only guards and schema ----------------------------------------------------------


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_update_and_delete_are_refused_by_triggers(
    home: Path, table: str, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home, checkpoints=1)
    with Ledger.open(home) as led:
        before = led.store.raw_entries()
        column = led.store.rows(f"DESCRIBE {table}")[0][0]
        with pytest.raises(duckdb.Error, match=f"ledger is append-only: UPDATE on {table} refused"):
            led.store.execute(f"UPDATE {table} SET {column} = {column}")
        with pytest.raises(duckdb.Error, match=f"ledger is append-only: DELETE on {table} refused"):
            led.store.execute(f"DELETE FROM {table}")
        assert led.store.raw_entries() == before
        assert led.verify().ok


def test_entry_rows_survive_a_refused_update(home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home, checkpoints=2)
    with Ledger.open(home) as led:
        before = led.store.raw_entries()
        with pytest.raises(duckdb.Error, match="append-only"):
            led.store.execute("UPDATE entries SET payload = '{}' WHERE seq = 2")
        with pytest.raises(duckdb.Error, match="append-only"):
            led.store.execute("DELETE FROM entries WHERE seq = 3")
    with Ledger.open(home, read_only=True) as led:
        assert led.store.raw_entries() == before


def test_migrations_are_recorded(home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home)
    with Ledger.open(home, read_only=True) as led:
        names = [r[0] for r in led.store.rows("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [
        "m001_initial",
        "m002_append_only_guards",
        "m003_lineage_lookup_keys",
        "m004_lookup_key_guards",
        "m005_sketches",
        "m006_near_facts",
    ]


def test_schema_is_pinned(home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home)
    with Ledger.open(home, read_only=True) as led:
        tables = [name for name, _ in led.store.schema()]
        entry_columns = [(r[0], r[1]) for r in led.store.rows("DESCRIBE entries")]
        triggers = {r[0] for r in led.store.rows("SELECT trigger_name FROM duckdb_triggers()")}
    assert tables == [
        "batch_parents",
        "batch_profiles",
        "batches",
        "consent_versions",
        "dataset_states",
        "entries",
        "erased_records",
        "erasures",
        "guard_sink",
        "licenses",
        "lookup_keys",
        "lookup_keys_recent",
        "model_datasets",
        "models",
        "near_batches",
        "near_benchmark",
        "near_cross_split",
        "record_sketches",
        "records",
        "schema_migrations",
    ]
    assert entry_columns == [
        ("seq", "BIGINT"),
        ("kind", "VARCHAR"),
        ("payload", "VARCHAR"),
        ("prev_hash", "VARCHAR"),
        ("entry_hash", "VARCHAR"),
        ("signature", "VARCHAR"),
        ("key_id", "VARCHAR"),
        ("recorded_at", "VARCHAR"),
    ]
    guarded = APPEND_ONLY_TABLES + LOOKUP_KEY_TABLES
    assert triggers == {f"{t}_no_{e}" for t in guarded for e in ("update", "delete")}


def test_a_database_from_a_newer_provledger_is_refused(
    cli: Any, home: Path, make_ledger: Callable[..., None]
) -> None:
    make_ledger(home)
    db = home / DB_FILE
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_migrations (name) VALUES ('m999_from_the_future')")
    con.close()
    message = (
        f"ledger database {db} has schema migrations this provledger does not know "
        "(m999_from_the_future): it was written by a newer version; upgrade provledger"
    )
    for read_only in (True, False):
        with pytest.raises(HomeError) as info:
            Ledger.open(home, read_only=read_only)
        assert str(info.value) == message
    for command in ("verify", "checkpoint"):
        result = cli(command)
        assert result.exit_code == 1
        assert result.stderr == f"Error: {message}\n"


def test_key_files_are_never_in_the_database(home: Path, make_ledger: Callable[..., None]) -> None:
    make_ledger(home, checkpoints=1)
    data = (home / DB_FILE).read_bytes()
    assert (home / "subject.key").read_bytes() not in data
    private = keys.load_signer(home).key.private_bytes_raw()
    assert private not in data
    assert private.hex().encode() not in data
    assert os.environ.get(PASSPHRASE_ENV) is None


def test_checkpoint_json_names_size_and_root(cli: Any, home: Path) -> None:
    assert cli("init").exit_code == 0
    result = cli("checkpoint", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["size"] == 1  # the log before the checkpoint entry: just ledger-created
    with Ledger.open(home, read_only=True) as led:
        assert doc["root"] == led.current_checkpoint(1).root.hex()
        assert doc["origin"] == led.origin
        assert led.store.entry_count() == 2
    assert doc["note"].startswith(f"{doc['origin']}\n1\n")


def test_version(cli: Any) -> None:
    from importlib.metadata import version

    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"provledger {version('provledger')}\n"
