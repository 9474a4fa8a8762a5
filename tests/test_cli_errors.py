"""Edge cases where a user's input once reached a traceback: each is one clean line on
stderr, exit code 1, and the ledger unchanged."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from provledger.ledger import Ledger


def entry_count(home: Path) -> int:
    with Ledger.open(home, read_only=True) as led:
        return led.store.entry_count()


def test_an_argument_that_is_not_utf8_is_refused(cli: Any, home: Path) -> None:
    assert cli("init").exit_code == 0
    bad = b"caf\xe9".decode("utf-8", "surrogateescape")
    for args in (["lineage", "--text", bad], ["model", "register", "m", "--dataset", bad]):
        result = cli(*args)
        assert result.exit_code == 1
        assert result.stderr == "Error: argument 'caf\ufffd' is not valid UTF-8 text\n"
    assert entry_count(home) == 1


def test_checkpoint_to_an_unwritable_file_records_nothing(
    cli: Any, home: Path, tmp_path: Path
) -> None:
    assert cli("init").exit_code == 0
    target = tmp_path / "missing" / "x.note"
    result = cli("checkpoint", "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {target}: cannot write it: No such file or directory; no checkpoint was recorded\n"
    )
    assert entry_count(home) == 1


def test_a_checkpoint_file_that_is_not_text(cli: Any, home: Path, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0
    note = tmp_path / "bad.note"
    note.write_bytes(b"\xff\xfe\x00")
    result = cli("verify", "--checkpoint", str(note))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {note}: not a signed checkpoint note (not UTF-8 text)\n"


def test_as_of_outside_the_calendar(cli: Any, home: Path) -> None:
    assert cli("init").exit_code == 0
    result = cli("audit", "d", "--as-of", "0001-01-01T00:00+01:00")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --as-of '0001-01-01T00:00+01:00' falls outside years 1-9999 in UTC\n"
    )


def test_a_damaged_gzip_stream(cli: Any, home: Path, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0
    assert (
        cli(
            "dataset", "create", "d", "--owner", "o", "--context", "internal", "--use", "train"
        ).exit_code
        == 0
    )
    data = bytearray(gzip.compress(b'{"text": "hello"}\n' * 2000))
    data[len(data) // 2 : len(data) // 2 + 8] = b"\x00" * 8  # corrupt the deflate stream
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(bytes(data))
    before = entry_count(home)
    result = cli("register", str(path), "--dataset", "d", "--source", "scraped")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}, line ")
    assert "cannot read" in result.stderr
    assert entry_count(home) == before
