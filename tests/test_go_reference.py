"""The standards' own reference code checks what provledger publishes: Go's
``golang.org/x/mod/sumdb/note`` (C2SP signed notes: the verifier key string and the note
signatures) and ``golang.org/x/mod/sumdb/tlog`` (RFC 6962 inclusion and consistency
proofs, tile paths, and tiles authenticated up to a tree's root), driven by
``tests/go_reference/main.go``.

Needs a Go toolchain and the x/mod sources in a GOPATH (Debian:
``apt-get install golang-go golang-golang-x-mod-dev``, or ``make go-reference``); the
module is skipped without them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from provledger.ledger import NOTE_FILE, Ledger
from provledger.tlog import keys
from provledger.tlog.checkpoint import Checkpoint
from provledger.tlog.merkle import leaf_hash, root_from_leaf_hashes
from provledger.tlog.tiles import tile_files


def record_hash(record: Any) -> bytes:
    """SHA-256 of the record's RFC 8785 form, from the definition."""
    return hashlib.sha256(rfc8785.dumps(record)).digest()


GOPATH = Path(os.environ.get("PROVLEDGER_GOPATH", "/usr/share/gocode"))
SOURCE = Path(__file__).resolve().parent / "go_reference"
GO = shutil.which("go")

pytestmark = pytest.mark.skipif(
    GO is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir(),
    reason="needs Go and golang.org/x/mod in GOPATH (apt-get install golang-go "
    "golang-golang-x-mod-dev)",
)

TICKETS = [
    {"text": "Reset my password", "uid": "bob@example.com"},
    {"text": "My printer is on fire", "uid": "alice@example.com"},
    {"text": "Reset my password", "uid": "bob@example.com"},
    {"text": "Où est ma facture ?", "uid": "chloe@example.fr"},
    {"text": "Refund, not a voucher", "uid": "dora@example.de"},
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("go") / "go_reference"
    env = dict(os.environ, GO111MODULE="off", GOPATH=str(GOPATH), GOFLAGS="")
    env.setdefault("GOCACHE", str(tmp_path_factory.mktemp("gocache")))
    assert GO is not None
    subprocess.run([GO, "build", "-o", str(binary), "."], cwd=SOURCE, env=env, check=True)
    return binary


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A ledger with a batch, two saved notes five entries apart, and its published tiles."""
    root = tmp_path_factory.mktemp("world")
    data = root / "t.jsonl"
    data.write_text("".join(json.dumps(t) + "\n" for t in TICKETS), encoding="utf-8")
    with Ledger.init(root / "home") as led:
        led.create_dataset("support", owner="ops", context="internal", uses=["train"])
        batch = led.register(data, dataset="support", source="scraped")
        (root / "old.note").write_text(led.checkpoint())
        for name in ("a", "b", "c", "d"):
            led.create_dataset(name, owner="ops", context="internal", uses=["train"])
        (root / "new.note").write_text(led.checkpoint())
        return {
            "root": root,
            "vkey": led.key_info().verifier_key,
            "record": led.prove(batch.batch_id, record_hash(TICKETS[3]).hex()).as_dict(),
            "entry": led.prove_entry(batch.seq).as_dict(),
            "consistency": led.prove_consistency(
                (root / "old.note").read_text(),
                (root / "new.note").read_text(),
                old_source="old",
                new_source="new",
            ).as_dict(),
            "note": (led.home / NOTE_FILE).read_text(),
            "published": led.publish(root / "pub"),
        }


def check(binary: Path, *args: str | Path) -> str:
    result = subprocess.run(
        [str(binary), *map(str, args)], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


def save(path: Path, value: Any) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def flip(hex_text: str) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[-1] ^= 0x80
    return raw.hex()


def test_the_verifier_key_opens_the_note(reference: Path, world: Any, tmp_path: Path) -> None:
    assert check(reference, "note", world["vkey"], save(tmp_path / "n", world["note"])) == "OK"
    tampered = world["note"].replace("\n", "\n1", 1)
    assert check(reference, "note", world["vkey"], save(tmp_path / "t", tampered)).startswith(
        "FAIL"
    )


def test_record_entry_and_consistency_proofs(reference: Path, world: Any, tmp_path: Path) -> None:
    root, vkey = world["root"], world["vkey"]
    record, entry, cons = world["record"], world["entry"], world["consistency"]
    assert cons["new_size"] - cons["old_size"] == 5 and cons["path"]
    assert check(reference, "record", save(tmp_path / "r", record)) == "OK"
    assert check(reference, "entry", vkey, save(tmp_path / "e", entry)) == "OK"
    old, new = root / "old.note", root / "new.note"
    assert check(reference, "consistency", vkey, old, new, save(tmp_path / "c", cons)) == "OK"
    failed = "FAIL: invalid transparency proof"
    for i in range(len(record["path"])):
        path = list(record["path"])
        path[i] = flip(path[i])
        assert check(reference, "record", save(tmp_path / "r", dict(record, path=path))) == failed
    truncated = dict(entry, path=entry["path"][:-1])
    assert check(reference, "entry", vkey, save(tmp_path / "e", truncated)) == failed
    bad = dict(cons, path=[flip(cons["path"][0]), *cons["path"][1:]])
    assert check(reference, "consistency", vkey, old, new, save(tmp_path / "c", bad)) == failed


def test_the_published_directory_is_read_by_the_reference_tile_reader(
    reference: Path, world: Any
) -> None:
    pub = world["root"] / "pub"
    assert world["published"].size == 9
    assert check(reference, "tiles", world["vkey"], pub) == "OK"
    tile = pub / "tile/0/000.p/9"
    tile.write_bytes(bytes(len(tile.read_bytes())))
    assert check(reference, "tiles", world["vkey"], pub).startswith("FAIL")


def test_a_log_of_70000_entries_as_the_reference_reads_tiles(
    reference: Path, ledger: Ledger, tmp_path: Path
) -> None:
    """Past one full level-1 tile: tile paths, partial tiles at three levels, and the
    level-1 and level-2 hashes, all read back by the reference."""
    size = 70_000
    entries = [i.to_bytes(32, "big") for i in range(size)]
    bodies = [b"{}"] * size  # tile_files pairs them; the reference reads hashes only
    pub = tmp_path / "pub"
    for rel, data in tile_files(entries, bodies).items():
        path = pub / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    signer = keys.load_signer(ledger.home)
    root = root_from_leaf_hashes(leaf_hash(e) for e in entries)
    save(pub / "checkpoint", Checkpoint(ledger.origin, size, root).sign(signer))
    assert (pub / "tile/2/000.p/1").exists()
    assert check(reference, "tiles", ledger.key_info().verifier_key, pub) == "OK"
