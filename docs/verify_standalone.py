#!/usr/bin/env python3
"""Check provledger's notes and proofs without provledger: Python's standard library and
the `cryptography` package (for Ed25519) only, written from the public definitions
(C2SP signed-note and tlog-checkpoint, RFC 9162 sections 2.1.3.2 and 2.1.4.2, C2SP
tlog-tiles). See docs/verify-without-provledger.md.

    python verify_standalone.py note NOTE --key VKEY
    python verify_standalone.py record PROOF.json
    python verify_standalone.py entry ENTRY_PROOF.json --key VKEY [--record PROOF.json]
    python verify_standalone.py consistency OLD_NOTE NEW_NOTE PROOF.json --key VKEY
    python verify_standalone.py tiles DIR --key VKEY

VKEY is the verifier key string `provledger key` prints (name+keyid+base64 key), or a
file holding it. Each check prints one line starting with OK and exits 0, or prints
FAIL: <reason> to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Failed(Exception):
    """A check did not hold; the message says which."""


# -- RFC 9162 section 2.1: the Merkle tree hash ----------------------------------------------
def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hash_leaf(leaf_input: bytes) -> bytes:
    return sha256(b"\x00" + leaf_input)


def hash_children(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves, by the RFC's recursive definition."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hash_children(mth(leaves[:k]), mth(leaves[k:]))


def root_from_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root an audit path leads to."""
    if not 0 <= index < size:
        raise Failed(f"leaf index {index} is outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Failed("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failed("inclusion proof is shorter than the tree is deep")
    return r


def check_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2."""
    if old_size > new_size:
        raise Failed("the old tree is larger than the new one")
    if old_size == new_size:
        if path or old_root != new_root:
            raise Failed("trees of equal size must have equal roots and an empty proof")
        return
    if old_size == 0:
        if path:
            raise Failed("a proof from the empty tree must be empty")
        return
    if not path:
        raise Failed("consistency proof is empty")
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Failed("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failed("consistency proof is shorter than needed")
    if fr != old_root:
        raise Failed("consistency proof does not lead to the old root")
    if sr != new_root:
        raise Failed("consistency proof does not lead to the new root")


def hex32(value: object, what: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        raise Failed(f"{what} is not hex") from None
    if len(raw) != 32:
        raise Failed(f"{what} is not 32 bytes")
    return raw


# -- C2SP signed-note and tlog-checkpoint ----------------------------------------------------
class Verifier:
    """A signed-note verifier key: <name>+<hex key id>+<base64(0x01 || Ed25519 key)>."""

    def __init__(self, text: str) -> None:
        name, _, rest = text.strip().partition("+")
        key_id, _, key_b64 = rest.partition("+")
        try:
            blob = base64.b64decode(key_b64, validate=True)
        except ValueError:
            raise Failed("verifier key: the key is not base64") from None
        if not name or len(key_id) != 8 or len(blob) != 33 or blob[0] != 1:
            raise Failed("verifier key: expected <name>+<8 hex digits>+<base64 Ed25519 key>")
        self.name = name
        self.key_id = bytes.fromhex(key_id)
        self.raw = blob[1:]
        if sha256(name.encode() + b"\n\x01" + self.raw)[:4] != self.key_id:
            raise Failed("verifier key: the key id does not match the name and key")
        self.key = Ed25519PublicKey.from_public_bytes(self.raw)

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def check_note(text: str, verifier: Verifier) -> tuple[int, bytes]:
    """The (size, root) of a checkpoint note signed by ``verifier``'s key."""
    body, sep, signatures = text.partition("\n\n")
    if not sep or not text.endswith("\n"):
        raise Failed("not a signed note")
    body += "\n"
    lines = body.split("\n")
    if lines[0] != verifier.name:
        raise Failed(f"note is from log '{lines[0]}', not '{verifier.name}'")
    signed = False
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or parts[1] != verifier.name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if blob[:4] == verifier.key_id and verifier.verifies(blob[4:], body.encode()):
            signed = True
    if not signed:
        raise Failed("note signature does not verify with the verifier key")
    if len(lines) < 4 or not lines[1].isdigit():
        raise Failed("checkpoint body is malformed")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Failed("checkpoint root is not 32 bytes")
    return int(lines[1]), root


# -- the checks ------------------------------------------------------------------------------
def verify_record(proof: dict) -> str:
    """A record's inclusion in its batch (the output of `provledger prove BATCH HASH --json`)."""
    leaf = hash_leaf(hex32(proof["record_hash"], "record_hash"))
    path = [hex32(p, "path element") for p in proof["path"]]
    root = root_from_inclusion(leaf, proof["leaf_index"], proof["tree_size"], path)
    if root != hex32(proof["root"], "root"):
        raise Failed("record inclusion proof does not lead to the batch root")
    return (
        f"record {proof['record_hash']} is leaf {proof['leaf_index']} of "
        f"{proof['tree_size']} in batch {proof['batch_id']} (root {proof['root']})"
    )


def verify_entry(proof: dict, verifier: Verifier, record: dict | None = None) -> str:
    """An entry's inclusion in the signed checkpoint (`provledger prove --entry SEQ --json`);
    with ``record``, also that the entry is the batch the record proof names."""
    size, note_root = check_note(proof["note"], verifier)
    if proof["tree_size"] != size or hex32(proof["root"], "root") != note_root:
        raise Failed("the proof's size or root is not the note's")
    entry, canonical = proof["entry"], proof["canonical_entry"].encode("utf-8")
    digest = sha256(canonical)
    if digest != hex32(entry["entry_hash"], "entry_hash"):
        raise Failed("the entry hash is not the SHA-256 of the canonical entry")
    body = json.loads(canonical)
    for name in ("seq", "kind", "payload", "prev_hash", "key_id", "recorded_at"):
        if body.get(name) != entry.get(name):
            raise Failed(f"the entry's {name} is not what its canonical body says")
    if not verifier.verifies(bytes.fromhex(entry["signature"]), digest):
        raise Failed("the entry's signature does not verify with the verifier key")
    if proof["leaf_index"] != body["seq"] - 1:
        raise Failed("entry seq N must be leaf index N - 1")
    path = [hex32(p, "path element") for p in proof["path"]]
    if root_from_inclusion(hash_leaf(digest), proof["leaf_index"], size, path) != note_root:
        raise Failed("entry inclusion proof does not lead to the note's root")
    said = (
        f"entry seq {body['seq']} ({body['kind']}) is in the log of size {size} "
        f"signed by {verifier.name}"
    )
    if record is not None:
        said = verify_record(record) + "; " + said
        payload = body["payload"]
        if body["kind"] != "batch-registered" or payload.get("batch_id") != record["batch_id"]:
            raise Failed(f"entry seq {body['seq']} does not register batch {record['batch_id']}")
        if payload.get("merkle_root") != record["root"]:
            raise Failed("the batch root in the signed entry is not the record proof's root")
    return said


def verify_consistency(old_text: str, new_text: str, proof: dict, verifier: Verifier) -> str:
    old_size, old_root = check_note(old_text, verifier)
    new_size, new_root = check_note(new_text, verifier)
    if (proof["old_size"], proof["new_size"]) != (old_size, new_size):
        raise Failed("the proof's sizes are not the notes' sizes")
    path = [hex32(p, "path element") for p in proof["path"]]
    check_consistency(old_size, new_size, old_root, new_root, path)
    return f"the log of size {old_size} is a prefix of the log of size {new_size}"


def tile_path(level: str, n: int, width: int) -> str:
    """C2SP tlog-tiles: tile/<L>/<N>[.p/<W>], N in 3-digit groups, all but the last x-prefixed."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.insert(0, f"x{n % 1000:03d}")
        n //= 1000
    return f"tile/{level}/{'/'.join(groups)}" + ("" if width == 256 else f".p/{width}")


def read(directory: Path, rel: str) -> bytes:
    try:
        return (directory / rel).read_bytes()
    except FileNotFoundError:
        raise Failed(f"{rel} is missing") from None


def verify_tiles(directory: Path, verifier: Verifier) -> str:
    """Recompute the checkpoint's root from the published entry bundles and hash tiles."""
    size, root = check_note(read(directory, "checkpoint").decode("utf-8"), verifier)
    leaves: list[bytes] = []
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        data, entries = read(directory, tile_path("entries", n, width)), []
        while data:
            length = int.from_bytes(data[:2], "big")
            entries.append(data[2 : 2 + length])
            data = data[2 + length :]
        if len(entries) != width:
            raise Failed(f"entry bundle {n} holds {len(entries)} entries, not {width}")
        bodies = read(directory, tile_path("x", n, width).replace("tile/x/", "entry-bodies/"))
        lines = bodies.split(b"\n")[:-1]
        if [sha256(line) for line in lines] != entries:
            raise Failed(f"entry-bodies {n}: a body does not hash to its bundle entry")
        leaves += [hash_leaf(e) for e in entries]
    level_hashes, level = leaves, 0
    while level_hashes:
        upper = []
        for n in range((len(level_hashes) + 255) // 256):
            part = level_hashes[n * 256 : n * 256 + 256]
            if read(directory, tile_path(str(level), n, len(part))) != b"".join(part):
                raise Failed(f"tile {level}/{n} does not hold the hashes the entries give")
            if len(part) == 256:
                upper.append(mth(part))
        level_hashes, level = upper, level + 1
    if mth(leaves) != root:
        raise Failed("the published entries do not reproduce the checkpoint's root")
    return f"{size} published entries and their tiles reproduce the signed root"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="check", required=True)
    note = sub.add_parser("note", help="check a checkpoint note's signature")
    note.add_argument("note", type=Path)
    record = sub.add_parser("record", help="check `prove BATCH HASH --json` output")
    record.add_argument("proof", type=Path)
    entry = sub.add_parser("entry", help="check `prove --entry SEQ --json` output")
    entry.add_argument("proof", type=Path)
    entry.add_argument("--record", type=Path, help="and a record proof of that batch")
    cons = sub.add_parser("consistency", help="check `consistency --json` output")
    cons.add_argument("old_note", type=Path)
    cons.add_argument("new_note", type=Path)
    cons.add_argument("proof", type=Path)
    tiles = sub.add_parser("tiles", help="recompute the root from a `publish` directory")
    tiles.add_argument("directory", type=Path)
    for p in (note, entry, cons, tiles):
        p.add_argument("--key", required=True, help="verifier key string, or a file with it")
    args = parser.parse_args(argv)
    try:
        verifier = None
        if getattr(args, "key", None) is not None:
            key_file = Path(args.key)
            text = key_file.read_text() if key_file.is_file() else args.key
            verifier = Verifier(text)
        if args.check == "note":
            size, root = check_note(args.note.read_text(encoding="utf-8"), verifier)
            said = f"note signed by {verifier.name}: size {size}, root {root.hex()}"
        elif args.check == "record":
            said = verify_record(json.loads(args.proof.read_text()))
        elif args.check == "entry":
            extra = json.loads(args.record.read_text()) if args.record else None
            said = verify_entry(json.loads(args.proof.read_text()), verifier, extra)
        elif args.check == "consistency":
            said = verify_consistency(
                args.old_note.read_text(encoding="utf-8"),
                args.new_note.read_text(encoding="utf-8"),
                json.loads(args.proof.read_text()),
                verifier,
            )
        else:
            said = verify_tiles(args.directory, verifier)
    except (Failed, KeyError, TypeError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, Failed) else f"malformed input ({exc!r})"
        print(f"FAIL: {reason}", file=sys.stderr)
        return 1
    print(f"OK: {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
