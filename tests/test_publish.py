"""``provledger publish``: the log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles).

The tiles are checked against an RFC 6962 Merkle Tree Hash written here from the RFC's
definition and against ``docs/verify_standalone.py`` (run as a separate process), never
against ``provledger.tlog.merkle``. Known answers come from the spec's own examples (the path of
index 1234067, the tiles of trees of size 256 and 70,000).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from provledger.errors import InputError, IntegrityError
from provledger.ledger import Ledger
from provledger.tlog.tiles import bundle, encode_index, tile_files

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "verify_standalone.py"


# -- an RFC 6962 reference, from section 2.1 ---------------------------------------------------
def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaf_hashes: list[bytes]) -> bytes:
    n = len(leaf_hashes)
    if n == 0:
        return sha(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return sha(b"\x01" + mth(leaf_hashes[:k]) + mth(leaf_hashes[k:]))


def fake_log(size: int) -> tuple[list[bytes], list[bytes]]:
    """Entry hashes and bodies of a made-up log (body i hashes to entry hash i)."""
    bodies = [json.dumps({"seq": i + 1}).encode() for i in range(size)]
    return [sha(b) for b in bodies], bodies


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def run_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False
    )


def verifier_key(led: Ledger) -> str:
    return str(led.key_info().verifier_key)


# -- paths and bundles ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "path"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_tile_index_paths_follow_the_spec(n: int, path: str) -> None:
    assert encode_index(n) == path


def test_entry_bundles_are_uint16_length_prefixed() -> None:
    assert bundle([b"ab", b"", b"c"]) == b"\x00\x02ab\x00\x00\x00\x01c"
    with pytest.raises(ValueError, match="at most 65535 bytes"):
        bundle([bytes(65536)])


# -- the tiles of a tree, by the spec's examples -------------------------------------------------
def test_a_tree_of_256_is_one_full_tile_and_a_partial_tile_of_width_one_above() -> None:
    files = tile_files(*fake_log(256))
    assert sorted(files) == [
        "entry-bodies/000",
        "tile/0/000",
        "tile/1/000.p/1",
        "tile/entries/000",
    ]
    assert len(files["tile/0/000"]) == 8192
    assert files["tile/1/000.p/1"] == mth(
        [files["tile/0/000"][i : i + 32] for i in range(0, 8192, 32)]
    )


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    hashes, bodies = fake_log(70_000)
    files = tile_files(hashes, bodies)
    level0 = sorted(p for p in files if p.startswith("tile/0/"))
    assert len(level0) == 274 and "tile/0/273.p/112" in level0  # 273 full + width 112
    assert sorted(p for p in files if p.startswith("tile/1/")) == ["tile/1/000", "tile/1/001.p/17"]
    assert sorted(p for p in files if p.startswith("tile/2/")) == ["tile/2/000.p/1"]
    assert not any(p.startswith("tile/3/") for p in files)
    # level 0 holds the RFC 6962 leaf hashes of the bundle entries, which are the entry hashes
    leaves = [sha(b"\x00" + h) for h in hashes]
    assert files["tile/0/000"] == b"".join(leaves[:256])
    assert files["tile/entries/000"] == b"".join(b"\x00\x20" + h for h in hashes[:256])
    assert files["entry-bodies/000"] == b"".join(b + b"\n" for b in bodies[:256])
    # level 1 hash i = MTH of leaves [256 i, 256 (i + 1)); level 2 hash 0 = MTH of 65536 leaves
    level1 = files["tile/1/000"]
    assert [level1[32 * i : 32 * i + 32] for i in (0, 255)] == [
        mth(leaves[:256]),
        mth(leaves[255 * 256 : 256 * 256]),
    ]
    assert files["tile/2/000.p/1"] == mth(leaves[:65536])


@pytest.mark.parametrize("size", [1, 3, 255, 256, 257, 300, 511, 512, 700])
def test_the_tiles_reproduce_the_root(size: int) -> None:
    hashes, bodies = fake_log(size)
    files = tile_files(hashes, bodies)
    leaves = b"".join(files[p] for p in sorted(p for p in files if p.startswith("tile/0/")))
    assert mth([leaves[i : i + 32] for i in range(0, len(leaves), 32)]) == mth(
        [sha(b"\x00" + h) for h in hashes]
    )


def test_growing_the_log_never_changes_a_full_tile() -> None:
    hashes, bodies = fake_log(1100)
    sizes = [1, 200, 255, 256, 257, 511, 600, 1024, 1100]
    previous: dict[str, bytes] = {}
    for size in sizes:
        files = tile_files(hashes[:size], bodies[:size])
        for path, data in previous.items():
            if ".p/" not in path:
                assert files[path] == data, (size, path)
        previous = files


# -- publish through a real ledger ---------------------------------------------------------------
def test_publish_twice_extends_the_directory_and_the_script_recomputes_the_root(
    ledger: Ledger, tmp_path: Path, cli: Any
) -> None:
    out = tmp_path / "pub"
    for name in ("a", "b"):
        ledger.create_dataset(name, owner="ops", context="internal", uses=["train"])
    home, vkey = ledger.home, verifier_key(ledger)
    ledger.close()
    first = cli("publish", str(out), "--json")
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert {k: result[k] for k in ("size", "written", "unchanged", "files")} == {
        "size": 3,
        "written": 4,
        "unchanged": 0,
        "files": 4,
    }
    before = snapshot(out)
    assert sorted(before) == [
        "checkpoint",
        "entry-bodies/000.p/3",
        "tile/0/000.p/3",
        "tile/entries/000.p/3",
    ]
    assert result["bytes"] == sum(len(v) for v in before.values())
    said = "OK: 3 published entries and their tiles reproduce the signed root\n"
    assert run_script("tiles", out, "--key", vkey).stdout == said
    again = cli("publish", str(out))
    assert again.exit_code == 0
    assert again.stdout == (
        f"Published 3 entries to {out} (root {result['root']}): 0 files written, "
        f"4 unchanged; 4 files, {result['bytes']:,} bytes in all\n"
    )
    with Ledger.open(home) as led:
        led.create_dataset("c", owner="ops", context="internal", uses=["train"])
        grown = led.publish(out)
    assert (grown.size, grown.written, grown.unchanged) == (4, 4, 0)
    after = snapshot(out)
    assert {p: after[p] for p in before if p != "checkpoint"} == {
        p: v for p, v in before.items() if p != "checkpoint"
    }
    assert set(after) - set(before) == {
        "entry-bodies/000.p/4",
        "tile/0/000.p/4",
        "tile/entries/000.p/4",
    }
    assert after["checkpoint"] == (home / "checkpoint.note").read_bytes()
    assert run_script("tiles", out, "--key", vkey).stdout == said.replace("3", "4")


def test_publish_refuses_a_directory_it_did_not_write(ledger: Ledger, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "index.html").write_text("hello")
    with pytest.raises(InputError) as err:
        ledger.publish(stranger)
    assert str(err.value) == (
        f"{stranger}: directory is not empty and holds no published checkpoint: refusing to "
        "publish into it"
    )
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError) as err:
        ledger.publish(a_file)
    assert str(err.value) == f"{a_file}: not a directory"
    other_dir = tmp_path / "other-pub"
    with Ledger.init(tmp_path / "other") as other:
        other.publish(other_dir)
        other_origin = other.origin
    with pytest.raises(InputError) as err:
        ledger.publish(other_dir)
    assert str(err.value) == (
        f"{other_dir / 'checkpoint'}: checkpoint signature does not verify with this ledger's key"
    )
    assert other_origin != ledger.origin


def test_publish_refuses_a_longer_log_and_changed_files(
    ledger: Ledger, tmp_path: Path, home: Path
) -> None:
    out = tmp_path / "pub"
    copy = tmp_path / "copy"
    ledger.close()
    shutil.copytree(home, copy)
    with Ledger.open(copy) as led:
        led.create_dataset("a", owner="ops", context="internal", uses=["train"])
        led.publish(out)
    with Ledger.open(home) as led, pytest.raises(InputError) as err:
        led.publish(out)
    assert str(err.value) == (
        f"{out / 'checkpoint'}: holds 2 entries, more than this ledger's 1: it was published "
        "from another copy of the ledger"
    )
    with Ledger.open(copy) as led:
        tile = out / "tile/0/000.p/2"
        tile.write_bytes(bytes(64))
        with pytest.raises(IntegrityError) as integrity:
            led.publish(out)
    assert str(integrity.value) == f"{tile} already holds other bytes: refusing to change it"


def test_published_files_hold_no_record_text_and_no_subject_id(
    ledger: Ledger, tmp_path: Path
) -> None:
    tickets = [
        {"text": "My printer is on fire", "uid": "alice@example.com"},
        {"text": "Reset my password", "uid": "bob@example.com"},
    ]
    data = tmp_path / "t.jsonl"
    data.write_text("".join(json.dumps(t) + "\n" for t in tickets))
    ledger.add_consent(
        {
            "policy": "tos",
            "version": 1,
            "effective_from": "2025-01-01",
            "permits": ["train"],
            "retention_days": None,
            "prior_versions": {},
        }
    )
    ledger.create_dataset("support", owner="ops", context="internal", uses=["train"])
    ledger.register(
        data, dataset="support", source="first_party", consent="tos@1", subject_field="uid"
    )
    ledger.erase("alice@example.com", "DSR-1")
    out = tmp_path / "pub"
    ledger.publish(out)
    published = b"".join(snapshot(out).values())
    assert b"erasure-requested" in published and b"batch-registered" in published
    for t in tickets:
        for secret in (t["text"], t["uid"], t["uid"].split("@")[0]):
            assert secret.encode() not in published


@pytest.mark.slow
def test_publish_on_a_real_ledger_past_two_full_tiles_never_changes_one(
    ledger: Ledger, tmp_path: Path
) -> None:
    out, vkey = tmp_path / "pub", verifier_key(ledger)
    previous: dict[str, bytes] = {}
    for size in (200, 300, 600):
        while ledger.store.entry_count() < size:
            ledger.checkpoint()
        ledger.publish(out)
        files = snapshot(out)
        for path, data in previous.items():
            if path != "checkpoint":
                assert files[path] == data, path
        previous = files
        result = run_script("tiles", out, "--key", vkey)
        assert (
            result.stdout
            == f"OK: {size} published entries and their tiles reproduce the signed root\n"
        )
    assert "tile/0/001" in previous and "tile/1/000.p/2" in previous
    assert "tile/0/000.p/200" in previous  # partial tiles of earlier sizes stay
