"""Registering batches (issue 3): formats, hashes, rules, bad input, parallel hashing,
inclusion proofs and Merkle-root verification, through the Python API and the CLI.

Every expected hash is computed here independently of ``ledger/``: record hashes with the
``rfc8785`` package, Merkle roots and proofs with a naive recursive RFC 9162 reference
(sections 2.1.1 and 2.1.3.1), content and subject hashes from their documented
definitions (docs/registration.md).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import hmac
import io
import json
import shutil
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785

from provledger.errors import Conflict, InputError, LedgerError, NotFound, RootMismatch
from provledger.ingest import register as ingest
from provledger.ledger import Ledger
from provledger.storage.migrations import guard_statements
from provledger.tlog.merkle_verify import verify_inclusion
from tests import rows
from tests.merkle_reference import rfc9162_root, sha256


# -- independent reference implementations --------------------------------------------------
def root_from_proof(leaf_input: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """Rebuild the root from an audit path by following RFC 9162 section 2.1.3.1's
    definition of PATH(m, D[n]) top-down (the path lists the leaf's sibling first)."""
    if size == 1:
        if path:
            raise ValueError("proof too long")
        return sha256(b"\x00" + leaf_input)
    if not path:
        raise ValueError("proof too short")
    k = 1
    while k * 2 < size:
        k *= 2
    *below, sibling = path
    if index < k:
        return sha256(b"\x01" + root_from_proof(leaf_input, index, k, below) + sibling)
    return sha256(b"\x01" + sibling + root_from_proof(leaf_input, index - k, size - k, below))


def record_hash(record: Any) -> bytes:
    return sha256(rfc8785.dumps(record))


def normalised_text(text: str) -> str:
    """docs/registration.md: NFKC, case-fold, whitespace runs to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalised_subject(subject: str) -> str:
    """docs/registration.md: NFKC, case-fold, trimmed."""
    return unicodedata.normalize("NFKC", subject).casefold().strip()


# -- sample data -----------------------------------------------------------------------------
# String values only, so JSONL, CSV and Parquet carry the same JSON objects. Seven records:
# not a power of two, so the Merkle tree has an unbalanced right edge.
RECORDS = [
    {"text": "My printer is on fire", "uid": "alice@example.com", "lang": "en"},
    {"text": "Reset   my PASSWORD please", "uid": "Bob@Example.com", "lang": "en"},
    {"text": "Où est ma facture ?", "uid": "chloe@example.fr", "lang": "fr"},
    {"text": "Refund, not a voucher", "uid": "alice@example.com", "lang": "en"},
    {"text": "Die App stürzt ab", "uid": "dora@example.de", "lang": "de"},
    {"text": 'A "quoted", comma-laden ticket', "uid": "erin@example.com", "lang": "en"},
    {"text": "Multi\nline\r\nticket", "uid": "frank@example.com", "lang": "en"},
]
EXPECTED_ROOT = rfc9162_root([record_hash(r) for r in RECORDS]).hex()


def jsonl_bytes(records: list[dict[str, Any]], *, eol: str = "\n", bom: bool = False) -> bytes:
    text = "".join(json.dumps(r, ensure_ascii=False) + eol for r in records)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def csv_bytes(records: list[dict[str, Any]], *, eol: str = "\n", bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator=eol)
    writer.writeheader()
    writer.writerows(records)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


LICENSE = {
    "id": "corpus",
    "version": 1,
    "title": "Support corpus",
    "licensor": "Acme Data",
    "grants": ["train"],
    "effective_from": "2025-01-01",
    "expires_on": None,
    "spdx": None,
    "document_sha256": None,
}
CONSENT = {
    "policy": "tos",
    "version": 1,
    "effective_from": "2025-01-01",
    "permits": ["train"],
    "retention_days": None,
    "prior_versions": {},
}
DATASETS = ("d", "e", "f", "g", "h")


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger home with datasets d..h, license corpus@1 and consent tos@1, built once per
    module and copied for each test (building it costs more than the test itself)."""
    path = tmp_path_factory.mktemp("template") / "home"
    with Ledger.init(path) as led:
        for name in DATASETS:
            led.create_dataset(name, owner="data-team", context="internal", uses=["train"])
        led.add_license(LICENSE)
        led.add_consent(CONSENT)
    return path


@pytest.fixture
def prepared(home: Path, template: Path) -> Path:
    """This test's ledger home (closed), holding the template's registries."""
    shutil.copytree(template, home)
    return home


@contextmanager
def opened(home: Path) -> Iterator[Ledger]:
    with Ledger.open(home) as led:
        yield led


def snapshot(home: Path) -> tuple[int, int, int, int, bytes]:
    """Entries, batches, records, parent links and the signed checkpoint note."""
    counts = rows.counts(home, "entries", "batches", "records", "batch_parents")
    return (*counts, (home / "checkpoint.note").read_bytes())  # type: ignore[return-value]


def stored_records(home: Path, seq: int) -> list[tuple[int, bytes, bytes, bytes | None]]:
    return rows.rows(
        home,
        "SELECT ord, record_hash, content_hash, subject_hash FROM records "
        "WHERE batch_seq = ? ORDER BY ord",
        [seq],
    )


def cli_flags(fields: dict[str, Any]) -> list[str]:
    """Python keywords of ``Ledger.register`` as ``provledger register`` flags."""
    flags: list[str] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            flags += [f"--{key.replace('_', '-')}", str(item)]
    return flags


def register_via(
    via: str, cli: Any, home: Path, data: Path, fields: dict[str, Any]
) -> tuple[int, str]:
    """Register through the API or the CLI; return (exit code, error message or '')."""
    if via == "api":
        with opened(home) as led:
            try:
                led.register(data, **fields)
            except LedgerError as exc:
                return 1, str(exc)
        return 0, ""
    result = cli("register", str(data), *cli_flags(fields))
    assert result.stdout == "" or result.exit_code == 0
    assert result.stderr.startswith("Error: ") or result.exit_code == 0, result.stderr
    return result.exit_code, result.stderr.removeprefix("Error: ").removesuffix("\n")


VIA = pytest.mark.parametrize("via", ["api", "cli"])


# -- formats and hashes ----------------------------------------------------------------------
def test_every_format_registers_with_the_same_root(prepared: Path, tmp_path: Path) -> None:
    gz = write(tmp_path / "tickets.jsonl.gz", gzip.compress(jsonl_bytes(RECORDS)))
    sources: list[tuple[Any, str]] = [
        (write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS)), "jsonl"),
        (gz, "jsonl.gz"),
        (write(tmp_path / "tickets.csv", csv_bytes(RECORDS)), "csv"),
        (write_parquet(tmp_path / "tickets.parquet", RECORDS), "parquet"),
        (pa.Table.from_pylist(RECORDS), "arrow"),
    ]
    with opened(prepared) as led:
        results = [
            led.register(data, dataset=dataset, source="scraped")
            for (data, _), dataset in zip(sources, DATASETS, strict=True)
        ]
    for result, (data, fmt) in zip(results, sources, strict=True):
        assert (result.format, result.records, result.merkle_root) == (fmt, 7, EXPECTED_ROOT)
        assert result.file == (str(data) if fmt != "arrow" else None)
    expected = [record_hash(r) for r in RECORDS]
    for result in results:
        assert [row[1] for row in stored_records(prepared, result.seq)] == expected


def test_record_hash_is_sha256_of_rfc8785_whatever_the_json_spelling(
    prepared: Path, tmp_path: Path
) -> None:
    # Raw lines: spacing, escapes, floats, large integers, and keys whose UTF-16 order
    # differs from code-point order (an astral emoji sorts before U+FB01 in RFC 8785).
    lines = [
        r'{"text":"plain","n":1}',
        r'{ "text" : "spaced" , "b": [true, false, null], "o": {"z": 1, "a": {"y": [1.5, 2]}} }',
        r'{"text":"floats","f":[0.1, 1.0, 1e21, 1e-7, -0.0, 123456789.125, 5e-324]}',
        r'{"text":"\u00fcn\u00efc\u00f6d\u00e9 \ud83d\ude00","é":1,"😀":2,"ﬁ":3,"a":4}',
        r'{"text":"quote \" inside","k\"ey":"v\\"}',
        r'{"text":"ints","max":9007199254740991,"min":-9007199254740991}',
        r'{"text":"control \u0001\t\n/\\ chars","url":"a\/b"}',
        r'{"text":"colons: a:b","x:y":"1:2"}',
    ]
    path = write(tmp_path / "tricky.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    with opened(prepared) as led:
        result = led.register(path, dataset="d", source="scraped")
    expected = [record_hash(json.loads(line)) for line in lines]
    assert [row[1] for row in stored_records(prepared, result.seq)] == expected
    assert result.merkle_root == rfc9162_root(expected).hex()


def test_content_hash_is_sha256_of_the_normalised_text(prepared: Path, tmp_path: Path) -> None:
    # (text, its normal form written out by hand from the documented rule)
    cases = [
        ("  Hello\tWORLD\n", "hello world"),
        ("ﬁle Straße", "file strasse"),  # NFKC ligature, case-folded sharp s
        ("Ａｂｃ\u00a0\u2003def", "abc def"),  # fullwidth letters, no-break and em spaces
        ("Ünïcode  ", "ünïcode"),
        ("Ω\u0301", "ώ"),  # a combining accent composes under NFKC
        ("", ""),
    ]
    records = [{"text": text, "n": str(i)} for i, (text, _) in enumerate(cases)]
    path = write(tmp_path / "texts.jsonl", jsonl_bytes(records))
    with opened(prepared) as led:
        result = led.register(path, dataset="d", source="scraped")
    stored = [row[2] for row in stored_records(prepared, result.seq)]
    assert stored == [sha256(normal.encode("utf-8")) for _, normal in cases]
    assert stored == [sha256(normalised_text(t).encode("utf-8")) for t, _ in cases]


def test_text_field_names_the_content(prepared: Path, tmp_path: Path) -> None:
    records = [{"body": "Same Words", "text": "a"}, {"body": "same   words", "text": "b"}]
    path = write(tmp_path / "body.jsonl", jsonl_bytes(records))
    with opened(prepared) as led:
        result = led.register(path, dataset="d", source="scraped", text_field="body")
    stored = [row[2] for row in stored_records(prepared, result.seq)]
    assert stored == [sha256(b"same words")] * 2


def test_subject_hash_is_hmac_of_the_normalised_id_and_the_raw_id_is_not_stored(
    prepared: Path, tmp_path: Path
) -> None:
    records = [
        {"text": "zebra-lorem one", "uid": "  Zelda.Marker-9313@Example.ORG "},
        {"text": "zebra-lorem two", "uid": "zelda.marker-9313@example.org"},
        {"text": "zebra-lorem three", "uid": "ＢＯＢ-Marker-5521"},  # fullwidth: NFKC
        {"text": "zebra-lorem four", "uid": 4242424242},  # integer ids are keyed as text
    ]
    origin = "https://origin.example/control-marker-7731"
    path = write(tmp_path / "subjects.jsonl", jsonl_bytes(records))
    with opened(prepared) as led:
        result = led.register(
            path,
            dataset="d",
            source="first_party",
            consent="tos@1",
            subject_field="uid",
            origin=origin,
        )
    key = (prepared / "subject.key").read_bytes()
    assert len(key) == 32
    ids = ["zelda.marker-9313@example.org"] * 2 + ["bob-marker-5521", "4242424242"]
    expected = [hmac.new(key, i.encode("utf-8"), hashlib.sha256).digest() for i in ids]
    stored = [row[3] for row in stored_records(prepared, result.seq)]
    assert stored == expected
    assert stored == [
        hmac.new(key, normalised_subject(str(r["uid"])).encode(), hashlib.sha256).digest()
        for r in records
    ]
    # Neither raw nor normalised ids, nor record text, reach any file of the ledger home;
    # the origin URI (which is stored) shows the scan would find them.
    blobs = {p.name: p.read_bytes() for p in prepared.rglob("*") if p.is_file()}
    assert origin.encode() in blobs["ledger.duckdb"]
    for needle in (b"Zelda.Marker", b"zelda.marker", b"Marker-5521", b"marker-5521"):
        assert not any(needle in blob for blob in blobs.values()), needle
    assert not any(b"zebra-lorem" in blob for blob in blobs.values())
    assert not any("ＢＯＢ".encode() in blob for blob in blobs.values())


@pytest.mark.parametrize(
    ("name", "encode"),
    [("tickets.jsonl", jsonl_bytes), ("tickets.csv", csv_bytes)],
)
def test_bom_and_crlf_hash_the_same_as_without(
    prepared: Path, tmp_path: Path, name: str, encode: Any
) -> None:
    plain = write(tmp_path / f"plain-{name}", encode(RECORDS))
    dressed = write(tmp_path / f"bom-crlf-{name}", encode(RECORDS, eol="\r\n", bom=True))
    assert dressed.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in dressed.read_bytes()
    with opened(prepared) as led:
        a = led.register(plain, dataset="d", source="scraped", subject_field="uid")
        b = led.register(dressed, dataset="e", source="scraped", subject_field="uid")
    assert a.merkle_root == b.merkle_root == EXPECTED_ROOT
    assert stored_records(prepared, a.seq) == stored_records(prepared, b.seq)


def test_blank_lines_are_skipped_but_counted(prepared: Path, tmp_path: Path) -> None:
    data = b"\n" + jsonl_bytes(RECORDS[:3]) + b"  \n\t\n" + jsonl_bytes(RECORDS[3:])
    path = write(tmp_path / "gaps.jsonl", data + b"\n")
    with opened(prepared) as led:
        assert led.register(path, dataset="d", source="scraped").merkle_root == EXPECTED_ROOT
    bad = write(tmp_path / "gaps-bad.jsonl", b"\n\n" + jsonl_bytes(RECORDS[:1]) + b"\n{oops\n")
    with opened(prepared) as led, pytest.raises(InputError) as caught:
        led.register(bad, dataset="e", source="scraped")
    assert caught.value.line == 5


def test_file_without_final_newline(prepared: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "tail.jsonl", jsonl_bytes(RECORDS).rstrip(b"\n"))
    with opened(prepared) as led:
        assert led.register(path, dataset="d", source="scraped").merkle_root == EXPECTED_ROOT


# -- the registration rules --------------------------------------------------------------------
# (id, keywords on top of dataset=d source=scraped, exact message, error class). Each case
# is valid but for the one rule it breaks, so it would register without that rule.
RULES = [
    (
        "first_party-without-consent",
        {"source": "first_party", "subject_field": "uid"},
        "field 'consent': a first_party batch needs --consent POLICY@VERSION",
        InputError,
    ),
    (
        "first_party-without-subject-field",
        {"source": "first_party", "consent": "tos@1"},
        "field 'subject_field': a first_party batch needs --subject-field naming the data "
        "subject id column",
        InputError,
    ),
    (
        "first_party-unknown-consent-version",
        {"source": "first_party", "consent": "tos@2", "subject_field": "uid"},
        "unknown consent version 'tos@2' (recorded versions of 'tos': 1): add it with "
        "'provledger consent add FILE.json'",
        NotFound,
    ),
    (
        "first_party-unknown-consent-policy",
        {"source": "first_party", "consent": "privacy@1", "subject_field": "uid"},
        "unknown consent version 'privacy@1': add it with 'provledger consent add FILE.json'",
        NotFound,
    ),
    (
        "licensed-without-license",
        {"source": "licensed"},
        "field 'license': a licensed batch needs --license ID@VERSION",
        InputError,
    ),
    (
        "licensed-unknown-license",
        {"source": "licensed", "license": "corpus@2"},
        "unknown license 'corpus@2' (recorded versions of 'corpus': 1): add it with "
        "'provledger license add FILE.json'",
        NotFound,
    ),
    (
        "licensed-malformed-license",
        {"source": "licensed", "license": "corpus"},
        "field 'license': malformed license reference 'corpus': expected ID@VERSION, "
        "e.g. 'support-corpus@1'",
        InputError,
    ),
    (
        "synthetic-without-generator",
        {"source": "synthetic"},
        "field 'generator': a synthetic batch needs --generator describing what produced it",
        InputError,
    ),
    (
        "unknown-derived-from",
        {"source": "synthetic", "generator": "gen-v1", "derived_from": ["b999"]},
        "unknown batch 'b999' in --derived-from",
        NotFound,
    ),
    (
        "unknown-dataset",
        {"dataset": "nope"},
        "unknown dataset 'nope': create it with 'provledger dataset create nope --owner WHO "
        "--context CONTEXT --use USE'",
        NotFound,
    ),
    (
        "unknown-source",
        {"source": "crawled"},
        "field 'source': unknown source 'crawled' (expected one of scraped, licensed, "
        "first_party, synthetic)",
        InputError,
    ),
    (
        "unknown-split",
        {"split": "dev"},
        "field 'split': unknown split 'dev' (expected one of train, validation, test, "
        "reference, benchmark)",
        InputError,
    ),
    (
        "negative-cost",
        {"cost": -0.01},
        "field 'cost': cost must not be negative",
        InputError,
    ),
    (
        "nan-cost",
        {"cost": float("nan")},
        "field 'cost': cost must be a finite number, got nan",
        InputError,
    ),
    (
        "bad-collected-at",
        {"collected_at": "last tuesday"},
        "field 'collected_at': 'last tuesday' is not an ISO-8601 date or time",
        InputError,
    ),
]


@VIA
@pytest.mark.parametrize(
    ("fields", "message", "error"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rule_refuses_and_changes_nothing(
    via: str,
    fields: dict[str, Any],
    message: str,
    error: type[Exception],
    prepared: Path,
    tmp_path: Path,
    cli: Any,
) -> None:
    path = write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS))
    before = snapshot(prepared)
    if via == "api":
        with opened(prepared) as led, pytest.raises(error) as caught:
            led.register(path, **{"dataset": "d", "source": "scraped", **fields})
        assert str(caught.value) == message
    else:
        base = cli_flags({"dataset": "d", "source": "scraped"})
        result = cli("register", str(path), *base, *cli_flags(fields))
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")
    assert snapshot(prepared) == before


@VIA
def test_each_source_registers_when_its_rules_are_met(
    via: str, prepared: Path, tmp_path: Path, cli: Any
) -> None:
    """The positive side of every rule above: the same batches, given what they need."""
    path = write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS))
    ok = [
        ("d", {"source": "first_party", "consent": "tos@1", "subject_field": "uid"}),
        ("e", {"source": "licensed", "license": "corpus@1", "cost": 0}),
        ("f", {"source": "synthetic", "generator": "gen-v1", "derived_from": ["b9"]}),
        ("g", {"source": "scraped", "split": "test", "collected_at": "2026-03-01T10:00+02:00"}),
    ]
    for dataset, fields in ok:
        code, error = register_via(via, cli, prepared, path, {"dataset": dataset, **fields})
        assert (code, error) == (0, "")
    with Ledger.open(prepared, read_only=True) as led:
        rows = led.store.rows(
            "SELECT batch_id, dataset, source, license, consent, split, cost, generator, "
            "CAST(collected_at AS VARCHAR) FROM batches ORDER BY seq"
        )
        parents = led.store.rows("SELECT batch_id, parent_id FROM batch_parents")
    assert rows == [
        ("b9", "d", "first_party", None, "tos@1", "train", None, None, None),
        ("b10", "e", "licensed", "corpus@1", None, "train", 0.0, None, None),
        ("b11", "f", "synthetic", None, None, "train", None, "gen-v1", None),
        ("b12", "g", "scraped", None, None, "test", None, None, "2026-03-01 08:00:00"),
    ]
    assert parents == [("b11", "b9")]


@VIA
def test_same_content_twice_to_a_dataset_is_refused_naming_the_earlier_batch(
    via: str, prepared: Path, tmp_path: Path, cli: Any
) -> None:
    path = write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS))
    again = write(tmp_path / "tickets-again.csv", csv_bytes(RECORDS))  # same records, as CSV
    fields = {"dataset": "d", "source": "scraped"}
    assert register_via(via, cli, prepared, path, fields) == (0, "")
    before = snapshot(prepared)
    message = (
        "this content is already registered to dataset 'd' as batch b9 "
        f"(same Merkle root {EXPECTED_ROOT[:16]}…); nothing was registered"
    )
    for data in (path, again):
        assert register_via(via, cli, prepared, data, fields) == (1, message)
        assert snapshot(prepared) == before
    # Other datasets may hold the same content.
    assert register_via(via, cli, prepared, path, {**fields, "dataset": "e"}) == (0, "")


def test_duplicate_content_is_a_conflict(prepared: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS))
    with opened(prepared) as led:
        led.register(path, dataset="d", source="scraped")
        with pytest.raises(Conflict):
            led.register(pa.Table.from_pylist(RECORDS), dataset="d", source="scraped")


# -- bad input ---------------------------------------------------------------------------------
def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _truncated_gz() -> bytes:
    data = _gz(jsonl_bytes([{"text": f"ticket {i}", "n": str(i)} for i in range(2000)]))
    return data[: len(data) // 2]


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _damaged_parquet() -> bytes:
    table = pa.table({"text": [f"ticket number {i} " * 8 for i in range(20000)]})
    data = bytearray(_parquet(table))
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes(b ^ 0xFF for b in data[middle : middle + 4000])
    return bytes(data)


def _csv_with_bad_utf8_deep() -> bytes:
    head = "text,id\n" + "".join(f"ticket {i},{i}\n" for i in range(3000))
    return head.encode() + b"caf\xe9 latin-1,3000\n" + b"fine,3001\n"


FP = {"source": "first_party", "consent": "tos@1", "subject_field": "uid"}
A = b'{"text":"a","uid":"u1"}\n'
# (id, file name, bytes (None: no file), extra keywords, expected message, exact or prefix).
# "{path}" stands for the file's path as given.
BAD_INPUT = [
    ("malformed-json", "t.jsonl", A + A.replace(b"a", b"b") + b'{"text": "c",}\n', {},
     "{path}, line 3: malformed JSON: ", "prefix"),
    ("missing-text", "t.jsonl", A + b"\n" + A.replace(b"a", b"b") + b'{"body":"c"}\n', {},
     "{path}, line 4, field 'text': text field is missing", "exact"),
    ("text-not-a-string", "t.jsonl", A + b'{"text":5}\n', {},
     "{path}, line 2, field 'text': text field is not a string", "exact"),
    ("missing-custom-text-field", "t.jsonl", A, {"text_field": "body"},
     "{path}, line 1, field 'body': text field is missing", "exact"),
    ("not-an-object", "t.jsonl", A + b'["text", "b"]\n', {},
     "{path}, line 2: record is not a JSON object", "exact"),
    ("scalar-line", "t.jsonl", A + b'"just text"\n', {},
     "{path}, line 2: record is not a JSON object", "exact"),
    ("invalid-utf8", "t.jsonl", A + b'{"text":"caf\xe9"}\n', {},
     "{path}, line 2: malformed JSON: str is not valid UTF-8", "prefix"),
    ("missing-subject", "t.jsonl", A + b'{"text":"b"}\n', FP,
     "{path}, line 2, field 'uid': subject field is missing or empty", "exact"),
    ("empty-subject", "t.jsonl", A + b'{"text":"b","uid":""}\n', FP,
     "{path}, line 2, field 'uid': subject field is missing or empty", "exact"),
    ("subject-not-an-id", "t.jsonl", A + b'{"text":"b","uid":["u"]}\n', FP,
     "{path}, line 2, field 'uid': subject id must be a string or integer", "exact"),
    ("empty-file", "t.jsonl", b"", {}, "{path}: no records: the file is empty", "exact"),
    ("only-blank-lines", "t.jsonl", b"\n  \n\r\n\t\n", {},
     "{path}: no records: the file is empty", "exact"),
    ("nan", "t.jsonl", A + b'{"text":"b","x":NaN}\n', {},
     "{path}, line 2: malformed JSON: ", "prefix"),
    ("infinity", "t.jsonl", A + b'{"text":"b","x":Infinity}\n', {},
     "{path}, line 2: malformed JSON: ", "prefix"),
    ("duplicate-keys", "t.jsonl", A + b'{"text":"b","n":1,"text":"c"}\n', {},
     "{path}, line 2, field 'text': duplicate key 'text'", "exact"),
    ("duplicate-nested-keys", "t.jsonl", A + b'{"text":"b","o":{"k":"x:y","k":2}}\n', {},
     "{path}, line 2, field 'k': duplicate key 'k'", "exact"),
    ("integer-beyond-2-53", "t.jsonl", A + b'{"text":"b","n":9007199254740993}\n', {},
     "{path}, line 2: integer 9007199254740993 is outside +-(2**53 - 1) and is not exactly "
     "an IEEE-754 double as RFC 8785 writes one, so other JCS tools would hash a different "
     "number: store it as a string (for example a CSV column, or a JSON string) to keep "
     "every digit", "exact"),
    ("no-such-file", "missing.jsonl", None, {}, "{path}: no such file", "exact"),
    ("unknown-file-type", "t.txt", A, {},
     "{path}: unknown file type: expected .jsonl, .ndjson, .jsonl.gz, .ndjson.gz, .csv, "
     ".csv.gz, .json (an array of objects), .parquet, .pq, or a folder of .parquet/.pq "
     "shards",
     "exact"),
    ("gz-malformed-line", "t.jsonl.gz", _gz(A + b"\n" + b"{nope\n"), {},
     "{path}, line 3: malformed JSON: ", "prefix"),
    ("gz-truncated", "t.jsonl.gz", _truncated_gz(), {},
     "{path}, line ", "prefix"),
    ("gz-not-gzip", "t.jsonl.gz", A, {},
     "{path}, line 1: cannot read: Not a gzipped file (b'{\"')", "exact"),
    ("csv-ragged-row", "t.csv", b"text,uid\na,u1\nb,u2,extra\n", {},
     "{path}, line 3: row has 3 cells, the header has 2", "exact"),
    ("csv-ragged-after-multiline-cell", "t.csv", b'text,uid\n"a\nb\nc",u1\nd\n', {},
     "{path}, line 5: row has 1 cells, the header has 2", "exact"),
    ("csv-duplicate-header", "t.csv", b"text,text\na,b\n", {},
     "{path}, line 1: duplicate column names in the header", "exact"),
    ("csv-bad-quote", "t.csv", b'text,uid\na,u1\n"b"x,u2\n', {},
     "{path}, line 3: malformed CSV: ", "prefix"),
    ("csv-invalid-utf8", "t.csv", _csv_with_bad_utf8_deep(), {},
     "{path}, line 3002: invalid UTF-8 (invalid continuation byte)", "exact"),
    ("csv-missing-text", "t.csv", b"body,uid\na,u1\n", {},
     "{path}, line 2, field 'text': text field is missing", "exact"),
    ("csv-header-only", "t.csv", b"text,uid\n", {}, "{path}: no records: the file is empty",
     "exact"),
    ("parquet-truncated", "t.parquet", _parquet(pa.table({"text": ["a", "b"]}))[:-30], {},
     "{path}: not a readable Parquet file (", "prefix"),
    ("parquet-not-parquet", "t.parquet", A, {},
     "{path}: not a readable Parquet file (", "prefix"),
    ("parquet-damaged-pages", "t.parquet", _damaged_parquet(), {},
     "{path}: Parquet data is damaged (", "prefix"),
    ("parquet-null-text", "t.parquet", _parquet(pa.table({"text": ["a", None, "c"]})), {},
     "{path}, line 2, field 'text': text field is missing", "exact"),
    ("parquet-nan", "t.parquet",
     _parquet(pa.table({"text": ["a", "b", "c"], "x": [1.0, 2.0, float("nan")]})), {},
     "{path}, line 3: NaN and Infinity have no JSON representation", "exact"),
    ("parquet-nanoseconds", "t.parquet",
     _parquet(pa.table({"text": ["a", "b"], "at": pa.array([0, 1], pa.timestamp("ns"))})), {},
     "{path}, line 2: cannot map a value to JSON: ", "prefix"),
]  # fmt: skip


@VIA
@pytest.mark.parametrize(
    ("name", "data", "fields", "message", "match"),
    [c[1:] for c in BAD_INPUT],
    ids=[c[0] for c in BAD_INPUT],
)
def test_bad_input_is_refused_and_changes_nothing(
    via: str,
    name: str,
    data: bytes | None,
    fields: dict[str, Any],
    message: str,
    match: str,
    prepared: Path,
    tmp_path: Path,
    cli: Any,
) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    before = snapshot(prepared)
    code, error = register_via(
        via, cli, prepared, path, {"dataset": "d", "source": "scraped", **fields}
    )
    expected = message.replace("{path}", str(path))
    assert code == 1
    if match == "exact":
        assert error == expected
    else:
        assert error.startswith(expected), error
        assert "\n" not in error
    assert snapshot(prepared) == before


def test_input_errors_carry_file_line_and_field(prepared: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", A + b'{"text":"b"}\n')
    with opened(prepared) as led, pytest.raises(InputError) as caught:
        led.register(path, dataset="d", **FP)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 2, "uid")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"body": ["a"]}), "<arrow table>, line 1, field 'text': text field is missing"),
        (
            pa.table({"text": pa.array([], pa.string())}),
            "<arrow table>: no records: the file is empty",
        ),
        (
            42,
            "expected a file path, a pyarrow Table or RecordBatchReader, a pandas DataFrame, "
            "a Hugging Face datasets.Dataset, or an iterable of dicts",
        ),
        (
            {"text": "a"},
            "expected a file path, a pyarrow Table or RecordBatchReader, a "
            "pandas DataFrame, a Hugging Face datasets.Dataset, or an iterable of dicts",
        ),
    ],
    ids=["missing-text", "empty", "not-an-input", "one-dict"],
)
def test_bad_arrow_input(prepared: Path, table: Any, message: str) -> None:
    before = snapshot(prepared)
    with opened(prepared) as led, pytest.raises(InputError) as caught:
        led.register(table, dataset="d", source="scraped")
    assert str(caught.value) == message
    assert snapshot(prepared) == before


# -- the parallel path -------------------------------------------------------------------------
class CountingPool(ProcessPoolExecutor):
    started = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        CountingPool.started += 1
        super().__init__(*args, **kwargs)


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> type[CountingPool]:
    """Send JSONL files over 256 KiB through worker processes, in 96 KiB ranges."""
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 256 << 10)
    monkeypatch.setattr(ingest, "RANGE_BYTES", 96 << 10)
    monkeypatch.setattr(ingest, "ProcessPoolExecutor", CountingPool)
    CountingPool.started = 0
    return CountingPool


def big_lines(n: int = 13000) -> list[bytes]:
    """About 2 MB of JSONL lines with subject ids."""
    return [
        b'{"text":"ticket %d: the quick brown fox jumps over the lazy dog, again and again",'
        b'"uid":"user-%d@example.com","n":%d,"pad":"%s"}' % (i, i % 97, i, b"x" * (i % 50))
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "shape",
    ["plain", "bom-crlf-blank-lines-no-final-newline"],
)
def test_parallel_hashing_matches_serial(
    shape: str, prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = big_lines()
    if shape == "plain":
        data = b"\n".join(lines) + b"\n"
    else:  # blank lines shift the workers' record counts: the slow fold must take over
        lines[100:100] = [b"", b"   "]
        lines[7000:7000] = [b""]
        data = b"\xef\xbb\xbf" + b"\r\n".join(lines)
    path = write(tmp_path / "big.jsonl", data)
    assert len(data) > 2_000_000
    fields = {"source": "scraped", "subject_field": "uid"}
    with opened(prepared) as led:
        serial = led.register(path, dataset="d", **fields)
    with opened(prepared) as led:
        monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 256 << 10)
        monkeypatch.setattr(ingest, "RANGE_BYTES", 96 << 10)
        monkeypatch.setattr(ingest, "ProcessPoolExecutor", CountingPool)
        CountingPool.started = 0
        par = led.register(path, dataset="e", **fields)
        assert CountingPool.started == 1
    assert par.records == serial.records == 13000
    assert par.merkle_root == serial.merkle_root
    assert stored_records(prepared, par.seq) == stored_records(prepared, serial.seq)
    leaves = [json.loads(line) for line in lines if line.strip()]
    assert par.merkle_root == rfc9162_root([record_hash(r) for r in leaves]).hex()


@pytest.mark.parametrize(
    ("at", "bad", "fields", "expected"),
    [
        (1, b'{"text": "oops"', {}, "line 2: malformed JSON: "),
        (9876, b'{"text": "oops"', {}, "line 9877: malformed JSON: "),
        (12999, b'{"text":"last","text":"again"}', {}, "line 13000, field 'text': duplicate key"),
        (8191, b'{"text": "no subject"}', FP, "line 8192, field 'uid': subject field is missing"),
    ],
    ids=["second-line", "deep", "last-line", "deep-missing-subject"],
)
def test_parallel_errors_name_the_absolute_line(
    at: int,
    bad: bytes,
    fields: dict[str, Any],
    expected: str,
    parallel: type[CountingPool],
    prepared: Path,
    tmp_path: Path,
) -> None:
    lines = big_lines()
    lines[at] = bad
    path = write(tmp_path / "big.jsonl", b"\n".join(lines) + b"\n")
    before = snapshot(prepared)
    with opened(prepared) as led, pytest.raises(InputError) as caught:
        led.register(path, **{"dataset": "d", "source": "scraped", **fields})
    assert str(caught.value).startswith(f"{path}, {expected}"), str(caught.value)
    assert parallel.started == 1
    assert snapshot(prepared) == before


def test_parallel_error_line_counts_blank_lines_and_crlf(
    parallel: type[CountingPool], prepared: Path, tmp_path: Path
) -> None:
    lines = big_lines()
    lines[500:500] = [b""] * 3  # physical lines 501-503 are blank
    lines[10000] = b"[1, 2]"
    path = write(tmp_path / "big.jsonl", b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")
    with opened(prepared) as led, pytest.raises(InputError) as caught:
        led.register(path, dataset="d", source="scraped")
    assert str(caught.value) == f"{path}, line 10001: record is not a JSON object"
    assert parallel.started == 1


# -- progress ----------------------------------------------------------------------------------
def _progress_of(led: Ledger, data: Any, dataset: str) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    led.register(
        data, dataset=dataset, source="scraped", progress=lambda d, t: calls.append((d, t))
    )
    return calls


def test_progress_reports_increasing_done_values(
    prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = big_lines(20000)  # more than two reader chunks
    path = write(tmp_path / "big.jsonl", b"\n".join(lines) + b"\n")
    size = path.stat().st_size
    table = pa.Table.from_pylist([json.loads(line) for line in lines])
    with opened(prepared) as led:
        serial = _progress_of(led, path, "d")
        arrow = _progress_of(led, table, "e")
        monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 256 << 10)
        monkeypatch.setattr(ingest, "RANGE_BYTES", 256 << 10)
        parallel = _progress_of(led, path, "f")
    for calls, total in ((serial, size), (arrow, 20000), (parallel, size)):
        done = [d for d, _ in calls]
        assert len(done) >= 3
        assert done == sorted(set(done)), "done must strictly increase"
        assert {t for _, t in calls} == {total}
        assert done[-1] == total


# -- register --json, prove --------------------------------------------------------------------
def test_register_json_output(prepared: Path, tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS))
    result = cli("register", str(path), "--dataset", "d", "--source", "scraped", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    out = json.loads(result.stdout)
    assert {k: out[k] for k in ("batch_id", "dataset", "source", "records", "merkle_root")} == {
        "batch_id": "b9",
        "dataset": "d",
        "source": "scraped",
        "records": 7,
        "merkle_root": EXPECTED_ROOT,
    }
    assert out["seq"] == 9 == snapshot(prepared)[0]


def test_register_text_output(prepared: Path, tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "tickets.csv", csv_bytes(RECORDS))
    result = cli("register", str(path), "--dataset", "d", "--source", "scraped", "--split", "test")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"Registered 7 records from {path} as batch b9 (scraped, test) in dataset d; "
        f"Merkle root {EXPECTED_ROOT} (seq 9)\n"
    )


def test_every_record_has_a_proof_an_independent_verifier_accepts(
    prepared: Path, tmp_path: Path
) -> None:
    path = write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS))
    with opened(prepared) as led:
        batch = led.register(path, dataset="d", source="scraped")
        proofs = [led.prove(batch.batch_id, record_hash(r).hex()) for r in RECORDS]
    root = bytes.fromhex(EXPECTED_ROOT)
    for index, (record, proof) in enumerate(zip(RECORDS, proofs, strict=True)):
        leaf_input = record_hash(record)
        path_bytes = [bytes.fromhex(p) for p in proof.path]
        assert (proof.leaf_index, proof.tree_size, proof.root) == (index, 7, EXPECTED_ROOT)
        assert root_from_proof(leaf_input, index, 7, path_bytes) == root
        verify_inclusion(sha256(b"\x00" + leaf_input), index, 7, path_bytes, root)
        # Tampered: a flipped bit in the path, or the wrong index, fails both verifiers.
        flipped = [bytes([path_bytes[0][0] ^ 1]) + path_bytes[0][1:], *path_bytes[1:]]
        assert root_from_proof(leaf_input, index, 7, flipped) != root
        with pytest.raises(RootMismatch):
            verify_inclusion(sha256(b"\x00" + leaf_input), index, 7, flipped, root)
        other = (index + 1) % 7
        with pytest.raises(LedgerError):
            verify_inclusion(sha256(b"\x00" + leaf_input), other, 7, path_bytes, root)


def test_prove_json_output(prepared: Path, tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "tickets.jsonl", jsonl_bytes(RECORDS))
    assert cli("register", str(path), "--dataset", "d", "--source", "scraped").exit_code == 0
    leaf_input = record_hash(RECORDS[5])
    result = cli("prove", "b9", leaf_input.hex().upper(), "--json")  # any hex case is accepted
    assert (result.exit_code, result.stderr) == (0, "")
    proof = json.loads(result.stdout)
    assert set(proof) == {
        *("batch_id", "record_hash", "leaf_index", "tree_size", "path", "root"),
        "occurrences",
        "checked",  # what the pre-check established (docs/integrity.md)
    }
    assert proof["occurrences"] == [5]
    assert proof["batch_id"] == "b9"
    assert proof["record_hash"] == leaf_input.hex()
    assert (proof["leaf_index"], proof["tree_size"], proof["root"]) == (5, 7, EXPECTED_ROOT)
    assert all(p == p.lower() and len(p) == 64 for p in proof["path"])
    path_bytes = [bytes.fromhex(p) for p in proof["path"]]
    root = bytes.fromhex(proof["root"])
    assert root_from_proof(leaf_input, 5, 7, path_bytes) == root
    verify_inclusion(sha256(b"\x00" + leaf_input), 5, 7, path_bytes, root)


def test_prove_refuses_clearly(prepared: Path, tmp_path: Path, cli: Any) -> None:
    first = write(tmp_path / "a.jsonl", jsonl_bytes(RECORDS[:3]))
    second = write(tmp_path / "b.jsonl", jsonl_bytes(RECORDS[3:]))
    for path in (first, second):
        assert cli("register", str(path), "--dataset", "d", "--source", "scraped").exit_code == 0
    elsewhere = record_hash(RECORDS[4]).hex()  # registered, but in b10
    cases = [
        (("b99", record_hash(RECORDS[0]).hex()), "unknown batch 'b99'"),
        (("b9", elsewhere), f"batch b9 holds no record with hash {elsewhere}"),
        (("b9", "zz"), "field 'record_hash': expected a SHA-256 hash as 64 hex digits"),
        (("b9", elsewhere[:62]), "field 'record_hash': expected a SHA-256 hash as 64 hex digits"),
        (("b9", elsewhere + "00"), "field 'record_hash': expected a SHA-256 hash as 64 hex digits"),
    ]
    for args, message in cases:
        result = cli("prove", *args, "--json")
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")


# -- verify recomputes batch Merkle roots -------------------------------------------------------
@pytest.mark.parametrize("tamper", ["changed-record-hash", "deleted-record", "swapped-order"])
def test_verify_names_the_batch_whose_records_were_tampered(
    tamper: str, prepared: Path, tmp_path: Path, cli: Any
) -> None:
    with opened(prepared) as led:
        led.register(
            write(tmp_path / "a.jsonl", jsonl_bytes(RECORDS[:3])), dataset="d", source="scraped"
        )
        led.register(
            write(tmp_path / "b.jsonl", jsonl_bytes(RECORDS)), dataset="d", source="scraped"
        )
    assert cli("verify").exit_code == 0
    con = duckdb.connect(str(prepared / "ledger.duckdb"))
    try:
        with pytest.raises(duckdb.Error, match="append-only"):  # the guard rail holds first
            con.execute("UPDATE records SET ord = ord WHERE batch_seq = 10")
        if tamper == "changed-record-hash":
            con.execute("DROP TRIGGER records_no_update ON records")
            con.execute(
                "UPDATE records SET record_hash = ? WHERE batch_seq = 10 AND ord = 3",
                [sha256(b"forged")],
            )
            problem = "batch b10: record hashes do not match its Merkle root"
        elif tamper == "deleted-record":
            con.execute("DROP TRIGGER records_no_delete ON records")
            con.execute("DELETE FROM records WHERE batch_seq = 10 AND ord = 6")
            problem = "batch b10 holds 6 records, its entry says 7"
        else:
            con.execute("DROP TRIGGER records_no_update ON records")
            con.execute(
                "UPDATE records SET ord = CASE ord WHEN 1 THEN 2 ELSE 1 END "
                "WHERE batch_seq = 10 AND ord IN (1, 2)"
            )
            problem = "batch b10: record hashes do not match its Merkle root"
        con.execute("DROP TRIGGER IF EXISTS records_no_update ON records")
        con.execute("DROP TRIGGER IF EXISTS records_no_delete ON records")
        for statement in guard_statements("records"):  # or the catalog check fails first
            con.execute(statement)
    finally:
        con.close()
    result = cli("verify")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: verification failed at seq 10: {problem}\n"
    result = cli("verify", "--json")
    report = json.loads(result.stdout)
    assert (result.exit_code, report["ok"], report["first_bad_seq"]) == (1, False, 10)


def test_the_api_takes_the_obvious_python_types_and_never_changes_the_spec(
    prepared: Path, tmp_path: Path
) -> None:
    """One batch id as a string is one parent (not its characters); a date or datetime is
    a collection time; the caller's BatchSpec is left as it was given."""
    from datetime import UTC, date, datetime

    data = write(tmp_path / "a.jsonl", jsonl_bytes([{"text": "one"}, {"text": "two"}]))
    child = write(tmp_path / "b.jsonl", jsonl_bytes([{"text": "three"}]))
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    spec = ingest.BatchSpec(dataset="d", source="scraped", collected_at=when)
    assert spec.collected_at == "2026-03-01T12:30:00+00:00"
    with opened(prepared) as led:
        first = led.register(data, spec)
        second = led.register(
            child,
            dataset="d",
            source="scraped",
            derived_from=first.batch_id,
            collected_at=date(2026, 3, 2),
        )
        batches = led.store.rows("SELECT batch_id, collected_at FROM batches ORDER BY seq")
        parents = led.store.rows("SELECT batch_id, parent_id FROM batch_parents")
    assert spec.collected_at == "2026-03-01T12:30:00+00:00"  # not rewritten in place
    assert [(b, str(c)) for b, c in batches] == [
        (first.batch_id, "2026-03-01 12:30:00"),
        (second.batch_id, "2026-03-02 00:00:00"),
    ]
    assert parents == [(second.batch_id, first.batch_id)]
    assert ingest.BatchSpec(dataset="d", source="x", derived_from="b3").derived_from == ["b3"]
    assert ingest.BatchSpec(dataset="d", source="x", languages="en").languages == ["en"]
