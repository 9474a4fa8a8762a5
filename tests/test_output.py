"""What people read: counts, plurals and fractions written one way everywhere (see
ledger/wording.py), tables at full width when piped, aligned listings, and help whose
placeholders are words."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from provledger.ledger import Ledger
from provledger.wording import cell, certainty, count, percent, plural


# -- the rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "noun", "expected"),
    [
        (0, "record", "0 records"),
        (1, "record", "1 record"),
        (2, "record", "2 records"),
        (7659, "record", "7,659 records"),
        (1, "batch", "1 batch"),
        (3, "batch", "3 batches"),
        (2, "derived batch", "2 derived batches"),
        (1, "entry", "1 entry"),
        (16, "entry", "16 entries"),
        (2, "key", "2 keys"),
        (2, "request", "2 requests"),
        (1234567, "first-party record", "1,234,567 first-party records"),
    ],
)
def test_plural(n: int, noun: str, expected: str) -> None:
    assert plural(n, noun) == expected


def test_count_has_separators() -> None:
    assert [count(n) for n in (0, 999, 1000, 7659, 10_000_000)] == [
        "0",
        "999",
        "1,000",
        "7,659",
        "10,000,000",
    ]


@pytest.mark.parametrize(
    ("share", "decimals", "expected"),
    [
        (0.0, 0, "0%"),
        (1.0, 0, "100%"),
        (0.176, 0, "18%"),
        (0.176, 1, "17.6%"),
        (0.004, 0, "<1%"),  # 1 record of 250 is not 0%
        (0.0004, 1, "<0.1%"),
        (0.996, 0, ">99%"),  # 249 of 250 is not 100%
        (0.9996, 1, ">99.9%"),
        (0.995, 1, "99.5%"),
    ],
)
def test_percent_never_shows_an_end_it_has_not_reached(
    share: float, decimals: int, expected: str
) -> None:
    assert percent(share, decimals) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1.0, 2, "1.00"),
        (0.0, 2, "0.00"),
        (0.875, 2, "0.88"),
        (0.996, 2, "0.99"),  # records are unknown: never 1.00
        (0.999999, 4, "0.9999"),
        (0.003, 2, "0.01"),  # some provenance: never 0.00
        (0.875, 4, "0.8750"),
    ],
)
def test_certainty_never_shows_an_end_it_has_not_reached(
    value: float, decimals: int, expected: str
) -> None:
    assert certainty(value, decimals) == expected


def test_cell() -> None:
    assert [cell(None), cell([]), cell(["b1", "b2"]), cell(3)] == ["-", "-", "b1, b2", "3"]


# -- through the command line ------------------------------------------------------------
CONTRACT = b"the signed contract"
LICENSE = {
    "id": "corpus",
    "version": 1,
    "title": "Support corpus",
    "licensor": "Acme Data",
    "grants": ["train"],
    "effective_from": "2025-01-01",
    "document_sha256": hashlib.sha256(CONTRACT).hexdigest(),
}


def jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


@pytest.fixture
def almost_provable(ledger: Ledger, tmp_path: Path) -> Ledger:
    """249 provable licensed records and 1 synthetic record with no seed (unknown): a
    certainty of 249/250 = 0.996 and a provable share of 99.6%."""
    ledger.add_license(LICENSE)
    ledger.create_dataset(
        "d", owner="qa", context="customer_facing", uses=["train", "external_release"]
    )
    ledger.register(
        jsonl(tmp_path / "licensed.jsonl", [f"ticket {i}" for i in range(249)]),
        dataset="d",
        source="licensed",
        license="corpus@1",
        collected_at="2025-06-01",
    )
    ledger.register(
        jsonl(tmp_path / "synthetic.jsonl", ["made up"]),
        dataset="d",
        source="synthetic",
        generator="sim 1",
        collected_at="2025-06-02",
    )
    ledger.close()
    return ledger


def test_audit_never_rounds_a_certainty_to_one_while_records_are_unknown(
    almost_provable: Ledger, cli: Any
) -> None:
    result = cli("audit", "d")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2] == "250 active records · provenance certainty 0.99 · findings: 1 high, 1 medium"
    assert "Provenance certainty 0.9960 (provable 249, documented 0, unknown 1)" in result.stdout
    recommendation = " ".join(
        line.split("│")[3].strip() for line in lines if "LEAD_WITH_PROVABLE" in line
    )
    assert "(now >99% of records)" in recommendation
    assert "(now 0%)" in recommendation  # no scraped records at all: a true 0%


def test_audit_piped_is_not_wrapped_mid_word(
    almost_provable: Ledger, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CliRunner's stdout is not a terminal, like a pipe: tables take their natural width
    # even though the terminal width (COLUMNS) says 80.
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("audit", "d")
    assert result.exit_code == 0, result.output
    report = json.loads(cli("audit", "d", "--json").stdout)
    lines = result.stdout.splitlines()
    for finding in report["findings"]:
        assert any(finding["message"] in line for line in lines), finding["message"]
    header = next(line for line in lines if "not permitted" in line)
    assert "noncompliant" in header.split("┃")[8]
    assert any(len(line) > 80 for line in lines)


def test_log_aligns_every_column(almost_provable: Ledger, cli: Any) -> None:
    with Ledger.open(almost_provable.home, read_only=True) as led:
        entries = led.entries()
    result = cli("log")
    assert result.exit_code == 0, result.output
    expected = [
        f"{e.seq:>6}  {e.recorded_at}  {e.kind:<16}  {subject:<8}  {e.entry_hash[:16]}"
        for e, subject in zip(entries, ["-", "corpus@1", "d", "b4", "b5"], strict=True)
    ]
    assert result.stdout.splitlines() == expected
    # The first entry, which has no subject, has its hash in the hash column too.
    assert {line.rindex(" ") for line in result.stdout.splitlines()} == {len(expected[0]) - 17}


def test_verify_and_erase_write_counts_in_the_singular_and_plural(
    ledger: Ledger, cli: Any, tmp_path: Path
) -> None:
    ledger.create_dataset("d", owner="qa", context="internal", uses=["train"])
    ledger.add_consent(
        {"policy": "tos", "version": 1, "effective_from": "2025-01-01", "permits": ["train"]}
    )
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a", "uid": "u1"}\n{"text": "b", "uid": "u2"}\n', encoding="utf-8")
    ledger.register(path, dataset="d", source="first_party", consent="tos@1", subject_field="uid")
    ledger.close()
    verified = cli("verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.splitlines()[0].startswith("OK: 4 entries, 1 batch, 2 records; ")
    erased = cli("erase", "--subject", "u1", "--request", "R-1")
    assert erased.exit_code == 0, erased.output
    assert (
        erased.stdout.splitlines()[0] == "Erasure R-1 recorded at seq 5: 1 record in 1 batch (b4)."
    )
    found = cli("lineage", "--subject", "u2")
    assert found.stdout.splitlines()[0] == (
        "1 record matches this subject, in 1 batch; reached: 0 derived batches, 1 dataset, "
        "0 models."
    )


def test_model_list_has_a_header(almost_provable: Ledger, cli: Any) -> None:
    assert cli("model", "list").stdout == "No models registered.\n"
    assert cli("model", "register", "router-7", "--dataset", "d").exit_code == 0
    with Ledger.open(almost_provable.home, read_only=True) as led:
        (model,) = led.models()
    result = cli("model", "list")
    assert result.exit_code == 0, result.output
    when = model.recorded_at
    assert result.stdout.splitlines() == [
        f"   seq  {'recorded at':<{len(when)}}  model     datasets",
        f"     6  {when}  router-7  d",
    ]


# -- help --------------------------------------------------------------------------------
def every_command() -> list[list[str]]:
    from provledger.cli.main import app

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(typer.main.get_command(app), [])
    return sorted(found)


@pytest.mark.parametrize("command", every_command(), ids=" ".join)
def test_help_placeholders_are_words(cli: Any, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    usage = result.stdout.splitlines()[0]
    assert not re.search(r"[{}<>]", usage), usage
    assert not re.search(r"<[a-z\[\]| ]+>", result.stdout), result.stdout
    # A parameter's name in capitals is a word only if it is one word: COLLECTED_AT is not.
    assert not re.search(r"--[a-z-]+ [A-Z]+_[A-Z_]+", result.stdout), result.stdout


def test_register_help_names_its_placeholders(cli: Any) -> None:
    help_text = cli("register", "--help").stdout
    assert help_text.startswith("Usage: provledger register [OPTIONS] FILE\n")
    assert "\n  FILE  JSONL (.jsonl, .jsonl.gz), CSV (.csv, .csv.gz), a JSON array (.json),\n" in (
        help_text
    )
    for option in ("--dataset DATASET", "--derived-from BATCH", "--home DIR", "--shards DIR"):
        assert f"  {option}  " in help_text, option
    assert "--wait SECONDS" in help_text
    audit_help = cli("audit", "--help").stdout
    assert "-f, --format table|json|markdown|html" in audit_help
    assert cli("license", "add", "--help").stdout.startswith(
        "Usage: provledger license add [OPTIONS] FILE.json\n"
    )
