"""Verifiable by strangers (issue 16): ``key``, ``prove --entry``, ``consistency``,
``publish`` and ``prove --index``.

Every note and proof the ledger prints is checked by ``docs/verify_standalone.py``, run as
a separate process: it imports nothing from ``ledger/`` (a test pins its imports) and
implements signed notes, RFC 9162 proof checking and tlog-tiles from the specifications.
Tamper cases (flipped bit, wrong leaf, truncated path, another log's note, a note whose
root this ledger never had) must make it fail with the reason named.

The small world, built once per module:

    seq 1   ledger-created
    seq 2   consent-version-added   tos@1
    seq 3   dataset-created         support
    seq 4   batch-registered        tickets.jsonl: TICKETS, the record DUP at leaf 0 and 2
    seq 5   erasure-requested       alice
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization

from ledger import keys
from ledger.checkpoint import Checkpoint
from ledger.ledger import NOTE_FILE, Ledger

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "verify_standalone.py"

CONSENT = {
    "policy": "tos",
    "version": 1,
    "effective_from": "2025-01-01",
    "permits": ["train"],
    "retention_days": None,
    "prior_versions": {},
}
DUP = {"text": "Reset my password", "uid": "bob@example.com"}
TICKETS = [
    DUP,
    {"text": "My printer is on fire", "uid": "alice@example.com"},
    DUP,
    {"text": "Où est ma facture ?", "uid": "chloe@example.fr"},
]
SUBJECTS = ["alice@example.com", "bob@example.com", "chloe@example.fr"]


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(record)).hexdigest()


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("world")
    home = root / "home"
    with Ledger.init(home) as led:
        led.add_consent(CONSENT)
        led.create_dataset("support", owner="ops", context="internal", uses=["train"])
        batch = led.register(
            write_jsonl(root / "tickets.jsonl", TICKETS),
            dataset="support",
            source="first_party",
            consent="tos@1",
            subject_field="uid",
        )
        led.erase("alice@example.com", "DSR-1")
    return {"home": home, "batch": batch.batch_id, "batch_seq": batch.seq}


@pytest.fixture
def ids(world: dict[str, Any], home: Path) -> dict[str, Any]:
    """This test's copy of the world, in ``home``."""
    shutil.copytree(world["home"], home)
    return dict(world, home=home)


def run_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str], said: str) -> None:
    assert (result.returncode, result.stderr, result.stdout) == (0, "", f"OK: {said}\n")


def assert_fails(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"FAIL: {reason}\n")


def cli_json(cli: Any, *args: str) -> dict[str, Any]:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def save(path: Path, value: dict[str, Any] | str) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def flip(hex_text: str) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[0] ^= 1
    return raw.hex()


def verifier_key(cli: Any) -> str:
    return str(cli_json(cli, "key")["verifier_key"])


def sign(home: Path, size: int, root: bytes) -> str:
    """A note signed with this ledger's own key (as someone holding the home could)."""
    signer = keys.load_signer(home)
    return Checkpoint(f"provledger/{signer.public.key_id}", size, root).sign(signer)


# -- the standalone script stands alone -------------------------------------------------------
def test_the_standalone_script_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    assert roots - {"__future__", "cryptography"} <= set(sys.stdlib_module_names)
    assert "ledger" not in roots and "cli" not in roots


# -- key ------------------------------------------------------------------------------------
def test_key_prints_public_material_and_the_signed_note_verifier_key(ids: Any, cli: Any) -> None:
    home = ids["home"]
    info = cli_json(cli, "key")
    pem = (home / "signing.pub").read_text()
    raw = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    name = f"provledger/{key_id}"
    # C2SP signed-note: key id = SHA-256(name || 0x0A || 0x01 || key)[:4]
    note_id = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4].hex()
    encoded = base64.b64encode(b"\x01" + raw).decode()
    assert info == {
        "origin": name,
        "key_id": key_id,
        "public_key_pem": pem,
        "public_key_hex": raw.hex(),
        "public_key_base64": base64.b64encode(raw).decode(),
        "note_key_name": name,
        "note_key_id": note_id,
        "verifier_key": f"{name}+{note_id}+{encoded}",
    }
    text = cli("key")
    assert text.exit_code == 0
    assert text.stdout.splitlines()[:2] == [
        f"origin          {name}",
        f"verifier key    {info['verifier_key']}",
    ]
    secret = (home / "signing.key").read_text()
    for output in (text.stdout, json.dumps(info)):
        assert "PRIVATE" not in output
        assert secret.splitlines()[1] not in output


def test_the_script_checks_a_note_and_refuses_a_tampered_one_or_another_logs(
    ids: Any, cli: Any, tmp_path: Path
) -> None:
    vkey = verifier_key(cli)
    note = (ids["home"] / NOTE_FILE).read_text()
    root = base64.b64decode(note.split("\n")[2]).hex()
    assert_ok(
        run_script("note", save(tmp_path / "n", note), "--key", vkey),
        f"note signed by {vkey.split('+')[0]}: size 5, root {root}",
    )
    tampered = note.replace("\n5\n", "\n4\n", 1)
    assert_fails(
        run_script("note", save(tmp_path / "t", tampered), "--key", vkey),
        "note signature does not verify with the verifier key",
    )
    with Ledger.init(tmp_path / "other") as other:
        foreign = (other.home / NOTE_FILE).read_text()
        assert_fails(
            run_script("note", save(tmp_path / "f", foreign), "--key", vkey),
            f"note is from log '{other.origin}', not '{vkey.split('+')[0]}'",
        )


# -- record -> batch -> checkpoint -----------------------------------------------------------
def test_a_record_is_tied_to_the_signed_checkpoint_in_two_proofs(
    ids: Any, cli: Any, tmp_path: Path
) -> None:
    vkey = verifier_key(cli)
    rec = cli_json(cli, "prove", ids["batch"], record_hash(TICKETS[1]))
    entry = cli_json(cli, "prove", "--entry", str(ids["batch_seq"]))
    assert (entry["leaf_index"], entry["tree_size"]) == (3, 5)
    assert entry["note"] == (ids["home"] / NOTE_FILE).read_text()
    assert entry["entry"]["payload"]["merkle_root"] == rec["root"]
    rec_file, entry_file = save(tmp_path / "r.json", rec), save(tmp_path / "e.json", entry)
    batch = ids["batch"]
    said_record = (
        f"record {rec['record_hash']} is leaf 1 of 4 in batch {batch} (root {rec['root']})"
    )
    said_entry = (
        f"entry seq 4 (batch-registered) is in the log of size 5 signed by {vkey.split('+')[0]}"
    )
    assert_ok(run_script("record", rec_file), said_record)
    assert_ok(run_script("entry", entry_file, "--key", vkey), said_entry)
    assert_ok(
        run_script("entry", entry_file, "--key", vkey, "--record", rec_file),
        f"{said_record}; {said_entry}",
    )
    # a record proof of another batch root is not tied to this entry
    other = dict(rec, root=flip(rec["root"]))
    assert_fails(
        run_script("entry", entry_file, "--key", vkey, "--record", save(tmp_path / "o", other)),
        "record inclusion proof does not lead to the batch root",
    )


def test_the_script_refuses_tampered_record_proofs(ids: Any, cli: Any, tmp_path: Path) -> None:
    rec = cli_json(cli, "prove", ids["batch"], record_hash(TICKETS[1]))
    assert len(rec["path"]) == 2
    bad = "record inclusion proof does not lead to the batch root"
    for i in range(len(rec["path"])):
        path = list(rec["path"])
        path[i] = flip(path[i])
        assert_fails(run_script("record", save(tmp_path / "p", dict(rec, path=path))), bad)
    wrong_leaf = dict(rec, record_hash=record_hash(TICKETS[3]))
    assert_fails(run_script("record", save(tmp_path / "w", wrong_leaf)), bad)
    wrong_index = dict(rec, leaf_index=0)
    assert_fails(run_script("record", save(tmp_path / "i", wrong_index)), bad)
    truncated = dict(rec, path=rec["path"][:-1])
    assert_fails(
        run_script("record", save(tmp_path / "t", truncated)),
        "inclusion proof is shorter than the tree is deep",
    )
    extended = dict(rec, path=[*rec["path"], rec["path"][0]])
    assert_fails(
        run_script("record", save(tmp_path / "x", extended)),
        "inclusion proof is longer than the tree is deep",
    )


def test_the_script_refuses_tampered_entry_proofs(ids: Any, cli: Any, tmp_path: Path) -> None:
    vkey = verifier_key(cli)
    proof = cli_json(cli, "prove", "--entry", "2")
    assert (proof["leaf_index"], len(proof["path"])) == (1, 3)

    def check(value: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return run_script("entry", save(tmp_path / "e.json", value), "--key", vkey)

    assert_ok(
        check(proof),
        f"entry seq 2 (consent-version-added) is in the log of size 5 "
        f"signed by {vkey.split('+')[0]}",
    )
    bad = "entry inclusion proof does not lead to the note's root"
    for i in range(3):
        path = list(proof["path"])
        path[i] = flip(path[i])
        assert_fails(check(dict(proof, path=path)), bad)
    assert_fails(
        check(dict(proof, path=proof["path"][:2])),
        "inclusion proof is shorter than the tree is deep",
    )
    # the wrong leaf: another entry's body and hash put in its place
    other = cli_json(cli, "prove", "--entry", "3")
    swapped = dict(proof, entry=other["entry"], canonical_entry=other["canonical_entry"])
    assert_fails(check(swapped), "entry seq N must be leaf index N - 1")
    assert_fails(check(dict(swapped, leaf_index=2)), bad)
    # a changed payload no longer hashes to the entry hash
    body = proof["canonical_entry"].replace('"permits":["train"]', '"permits":["commercial"]')
    assert body != proof["canonical_entry"]
    assert_fails(
        check(dict(proof, canonical_entry=body)),
        "the entry hash is not the SHA-256 of the canonical entry",
    )
    # a root that is not the note's
    assert_fails(
        check(dict(proof, root=flip(proof["root"]))), "the proof's size or root is not the note's"
    )
    # a note of another log
    with Ledger.init(tmp_path / "other") as led:
        foreign = (led.home / NOTE_FILE).read_text()
        assert_fails(
            check(dict(proof, note=foreign)),
            f"note is from log '{led.origin}', not '{vkey.split('+')[0]}'",
        )


def test_prove_entry_text_output(ids: Any, cli: Any) -> None:
    proof = cli_json(cli, "prove", "--entry", "2")
    text = cli("prove", "--entry", "2")
    assert text.exit_code == 0
    assert text.stdout == (
        "entry       seq 2 (consent-version-added)\n"
        f"entry hash  {proof['entry']['entry_hash']}\n"
        "leaf index  1 of 5\n"
        f"root        {proof['root']}\n"
        + "".join(f"path[{i}]     {p}\n" for i, p in enumerate(proof["path"]))
        + f"canonical   {proof['canonical_entry']}\n"
        + "checkpoint:\n"
        + proof["note"]
    )


# -- prove --entry errors ----------------------------------------------------------------------
def test_prove_entry_against_a_saved_checkpoint_and_its_errors(
    ids: Any, cli: Any, tmp_path: Path
) -> None:
    home = ids["home"]
    saved = tmp_path / "five.note"
    assert cli("checkpoint", "-o", str(saved)).exit_code == 0  # size 5; the entry is seq 6
    proof = cli_json(cli, "prove", "--entry", "5", "--checkpoint", str(saved))
    assert (proof["tree_size"], proof["note"]) == (5, saved.read_text())

    def error(*args: str) -> str:
        result = cli("prove", *args)
        assert result.exit_code == 1, result.output
        return str(result.stderr)

    assert error("--entry", "6", "--checkpoint", str(saved)) == (
        f"Error: {saved}: entry seq 6 is not covered by the note, which covers seq 1 to 5; "
        "use a later checkpoint\n"
    )
    assert error("--entry", "7") == "Error: no entry with seq 7 (this ledger holds seq 1 to 6)\n"
    with Ledger.init(tmp_path / "other") as other:
        foreign = save(tmp_path / "foreign.note", (other.home / NOTE_FILE).read_text())
        origin = other.origin
    with Ledger.open(home) as led:
        mine = led.origin
        root = led.current_checkpoint().root
    assert error("--entry", "1", "--checkpoint", str(foreign)) == (
        f"Error: {foreign}: note is from log '{origin}', not from this ledger's log '{mine}'\n"
    )
    tampered = save(tmp_path / "t.note", saved.read_text().replace("\n5\n", "\n4\n"))
    assert error("--entry", "1", "--checkpoint", str(tampered)) == (
        f"Error: {tampered}: checkpoint signature does not verify with this ledger's key\n"
    )
    beyond = save(tmp_path / "beyond.note", sign(home, 9, root))
    assert error("--entry", "1", "--checkpoint", str(beyond)) == (
        f"Error: {beyond}: note records 9 entries but this ledger holds only 6\n"
    )
    forged = save(tmp_path / "forged.note", sign(home, 6, bytes(32)))
    assert error("--entry", "1", "--checkpoint", str(forged)) == (
        f"Error: {forged}: the note's root does not match this ledger's log at size 6 "
        "(the log was rewritten since the note was signed)\n"
    )
    assert error("--entry", "1", ids["batch"]) == (
        "Error: give either --entry SEQ or BATCH_ID RECORD_HASH, not both\n"
    )
    assert error("--checkpoint", str(saved)) == "Error: --checkpoint goes with --entry SEQ\n"
    assert error() == "Error: give BATCH_ID RECORD_HASH, or --entry SEQ\n"


def test_a_note_from_checkpoint_covers_the_entries_before_its_own_entry(ids: Any, cli: Any) -> None:
    made = cli_json(cli, "checkpoint")
    log = json.loads(cli("log", "--json").stdout)
    assert log[-1]["kind"] == "checkpoint"
    assert made["size"] == log[-1]["seq"] - 1 == 5
    # the note kept beside the database is rewritten after every append, own entry included
    stored = cli_json(cli, "prove", "--entry", str(log[-1]["seq"]))
    assert stored["tree_size"] == log[-1]["seq"] == 6


# -- consistency --------------------------------------------------------------------------------
def test_consistency_across_a_checkpoint_never_published(
    ids: Any, cli: Any, tmp_path: Path
) -> None:
    vkey = verifier_key(cli)
    old = tmp_path / "old.note"
    assert cli("checkpoint", "-o", str(old)).exit_code == 0  # size 5
    with Ledger.open(ids["home"]) as led:
        led.checkpoint()  # a note of size 6 nobody keeps
        for name in ("a", "b", "c"):
            led.create_dataset(name, owner="ops", context="internal", uses=["train"])
    new = tmp_path / "new.note"
    assert cli("checkpoint", "-o", str(new)).exit_code == 0  # size 10
    proof = cli_json(cli, "consistency", str(old), str(new))
    assert (proof["old_size"], proof["new_size"]) == (5, 10)
    proof_file = save(tmp_path / "c.json", proof)
    said = "the log of size 5 is a prefix of the log of size 10"
    assert_ok(run_script("consistency", old, new, proof_file, "--key", vkey), said)

    def check(value: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return run_script("consistency", old, new, save(tmp_path / "x", value), "--key", vkey)

    for i in range(len(proof["path"])):
        path = list(proof["path"])
        path[i] = flip(path[i])
        result = check(dict(proof, path=path))
        assert result.returncode == 1
        assert result.stderr in (
            "FAIL: consistency proof does not lead to the old root\n",
            "FAIL: consistency proof does not lead to the new root\n",
        )
    assert_fails(
        check(dict(proof, path=proof["path"][:-1])), "consistency proof is shorter than needed"
    )
    assert_fails(check(dict(proof, old_size=6)), "the proof's sizes are not the notes' sizes")
    # the notes the other way round
    result = cli("consistency", str(new), str(old))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {new}: the old note (10 entries) is larger than the new note {old} "
        "(5 entries): give the older note first\n",
    )
    with Ledger.init(tmp_path / "other") as other:
        foreign = save(tmp_path / "foreign.note", (other.home / NOTE_FILE).read_text())
        result = cli("consistency", str(foreign), str(new))
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {foreign}: note is from log '{other.origin}'")


def test_consistency_text_output(ids: Any, cli: Any, tmp_path: Path) -> None:
    old = tmp_path / "old.note"
    assert cli("checkpoint", "-o", str(old)).exit_code == 0
    proof = cli_json(cli, "consistency", str(old), str(ids["home"] / NOTE_FILE))
    text = cli("consistency", str(old), str(ids["home"] / NOTE_FILE))
    assert text.exit_code == 0
    assert text.stdout == (
        f"log         {proof['origin']}\n"
        f"old         size 5, root {proof['old_root']}\n"
        f"new         size 6, root {proof['new_root']}\n"
        + "".join(f"path[{i}]     {p}\n" for i, p in enumerate(proof["path"]))
    )


# -- prove --index ------------------------------------------------------------------------------
def test_prove_a_record_that_occurs_twice_at_either_index(
    ids: Any, cli: Any, tmp_path: Path
) -> None:
    dup = record_hash(DUP)
    first = cli_json(cli, "prove", ids["batch"], dup)
    assert (first["leaf_index"], first["occurrences"]) == (0, [0, 2])
    second = cli_json(cli, "prove", ids["batch"], dup, "--index", "2")
    assert (second["leaf_index"], second["occurrences"]) == (2, [0, 2])
    assert second["path"] != first["path"]
    for proof in (first, second):
        result = run_script("record", save(tmp_path / "p.json", proof))
        assert result.returncode == 0, result.stderr
    text = cli("prove", ids["batch"], dup)
    assert "occurs at   leaf index 0, 2 (choose one with --index)\n" in text.stdout
    wrong = cli("prove", ids["batch"], dup, "--index", "1")
    assert (wrong.exit_code, wrong.stderr) == (
        1,
        f"Error: batch {ids['batch']} does not hold record {dup} at leaf index 1; "
        "it holds it at leaf index 0, 2\n",
    )
