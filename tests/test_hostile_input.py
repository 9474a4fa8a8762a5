"""Hostile input: record files and manifests built to break the ledger.

The promise (docs/reliability.md): every input either registers correctly (the stored
record hashes equal those of an independent reference: Python's json module, the csv
module and the ``rfc8785`` package) or is refused with provledger's own ``LedgerError``
and a message; never another exception, never a partial write.

Property tests run a modest number of examples in ``make test``; the ``slow`` copies run
ten times as many. ``tests/fuzz/`` holds an atheris harness for longer fuzzing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provledger.errors import InputError, LedgerError
from provledger.ingest.hashing import normalise_text
from provledger.ingest.limits import ReadLimits
from provledger.ledger import Ledger
from provledger.registry import operations as registry

BOM = b"\xef\xbb\xbf"
DATASET = "fuzz"
TABLES = ("entries", "batches", "records", "licenses", "consent_versions", "dataset_states")

# How many inputs each kind of test tried in this session (printed at the end with -s).
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_inputs_tried() -> Iterator[None]:
    yield
    if TRIED:
        print(f"\ninputs tried: {sum(TRIED.values())} ({dict(sorted(TRIED.items()))})")


def _settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _counts(led: Ledger) -> dict[str, int]:
    return {t: led.store.row(f"SELECT count(*) FROM {t}")[0] for t in TABLES}  # type: ignore[index]


class Bench:
    """One ledger for many examples; each example writes a fresh file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.led = Ledger.init(folder / "home")
        registry.create_dataset(self.led, DATASET, owner="qa", context="internal", uses=["train"])
        self._names = itertools.count()

    def file(self, suffix: str, data: bytes) -> Path:
        path = self.folder / f"input-{next(self._names)}{suffix}"
        path.write_bytes(data)
        return path

    def register(self, path: Path, kind: str, **fields: Any) -> Any:
        """Register ``path``; return the result, or the LedgerError after checking it
        changed nothing. Any other exception propagates and fails the test."""
        TRIED[kind] += 1
        before = _counts(self.led)
        fields = {"dataset": DATASET, "source": "scraped", **fields}
        try:
            result = self.led.register(path, **fields)
        except LedgerError as exc:
            assert str(exc).strip(), "an error without a message"
            assert _counts(self.led) == before, f"a refused input changed the ledger: {exc}"
            if isinstance(exc, InputError) and exc.file is not None:
                assert exc.file == str(path)
            return exc
        after = _counts(self.led)
        assert after["entries"] == before["entries"] + 1
        assert after["batches"] == before["batches"] + 1
        assert after["records"] == before["records"] + result.records
        return result

    def stored(self, seq: int) -> list[tuple[bytes, bytes]]:
        return [
            (bytes(r[0]), bytes(r[1]))
            for r in self.led.store.rows(
                "SELECT record_hash, content_hash FROM records WHERE batch_seq = ? ORDER BY ord",
                [seq],
            )
        ]

    def close(self) -> None:
        report = self.led.verify()
        assert report.ok, report.problem
        self.led.close()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    b = Bench(tmp_path)
    yield b
    b.close()


# -- the reference: what a correct registration stores ------------------------------------
class Refused(Exception):
    """The reference implementation refuses this input too."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise Refused("duplicate key")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise Refused(name)


def _reference_hash(record: Any, text_field: str = "text") -> tuple[bytes, bytes]:
    if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
        raise Refused("not an object with a text field")
    try:
        canonical = rfc8785.dumps(record)
        content = normalise_text(record[text_field]).encode("utf-8")
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError) as exc:
        raise Refused(str(exc)) from None
    return hashlib.sha256(canonical).digest(), hashlib.sha256(content).digest()


def reference_jsonl(data: bytes) -> list[tuple[bytes, bytes]]:
    """Record and content hashes of a JSONL file, by the json module and rfc8785."""
    lines = data.split(b"\n")
    out = []
    for number, line in enumerate(lines):
        if number == 0 and line.startswith(BOM):
            line = line[len(BOM) :]
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        try:
            value = json.loads(
                line.decode("utf-8"),
                object_pairs_hook=_refuse_duplicates,
                parse_constant=_refuse_constant,
            )
        except (ValueError, RecursionError) as exc:
            raise Refused(str(exc)) from None
        if _has_bad_number(value):
            raise Refused("number outside what JCS represents")
        out.append(_reference_hash(value))
    return out


def _has_bad_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > 2**53 - 1
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_bad_number(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_bad_number(v) for v in value)
    return False


def reference_csv(data: bytes) -> list[tuple[bytes, bytes]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(str(exc)) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise Refused(str(exc)) from None
    if not rows:
        raise Refused("empty")
    header, out = rows[0], []
    if len(set(header)) != len(header):
        raise Refused("duplicate header")
    for row in rows[1:]:
        if not row:
            continue
        if len(row) != len(header):
            raise Refused("ragged")
        out.append(_reference_hash(dict(zip(header, row, strict=True))))
    return out


def _check_against(bench: Bench, outcome: Any, reference: Callable[[], Any]) -> None:
    """A registration must store exactly the reference hashes; a refusal is fine when the
    reference refuses too or the ledger names a reason (checked by Bench.register)."""
    try:
        expected = reference()
    except Refused:
        expected = None
    if isinstance(outcome, LedgerError):
        if expected:  # the reference accepts the file: only a duplicate may be refused
            assert "already registered" in str(outcome), outcome
        return
    assert expected is not None, "the ledger registered a file the reference refuses"
    assert bench.stored(outcome.seq) == expected


# -- JSONL ----------------------------------------------------------------------------------
_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_records = st.builds(
    lambda text, extra: {**extra, "text": text},
    st.text(),
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "text"), _json_values, max_size=4),
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    """Valid records written every legal way: ASCII or UTF-8 escapes, any spacing, LF or
    CRLF, blank lines, a BOM, with or without a final newline."""
    records = draw(st.lists(_records, min_size=1, max_size=6))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines = []
    for record in records:
        text = json.dumps(
            record,
            ensure_ascii=draw(st.booleans()),
            indent=None,
            separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : ")])),
            sort_keys=draw(st.booleans()),
        )
        lines.append(text.encode("utf-8"))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from([b"", b"   ", b"\t"])))
    data = ending.join(lines) + (ending if draw(st.booleans()) else b"")
    return (BOM if draw(st.booleans()) else b"") + data


# Ways to spoil one line of a JSONL file.
_SPOILERS: dict[str, Callable[[bytes], bytes]] = {
    "invalid utf-8": lambda line: line[:-1] + b"\xff\xfe" + line[-1:],
    "overlong utf-8": lambda line: line.replace(b'"text"', b'"t\xc0\xafext"', 1),
    "lone surrogate": lambda line: line.replace(b'"text":', b'"x":"\\ud800","text":', 1),
    "NaN": lambda line: line[:-1] + b', "n": NaN}',
    "Infinity": lambda line: line[:-1] + b', "n": -Infinity}',
    "1e400": lambda line: line[:-1] + b', "n": 1e400}',
    "big integer": lambda line: line[:-1] + b', "n": 9007199254740993}',
    "duplicate key": lambda line: line[:-1] + b', "text": "again"}',
    "escaped duplicate": lambda line: line[:-1] + b', "t\\u0065xt": "again"}',
    "deep nesting": lambda line: line[:-1] + b', "n": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "cut short": lambda line: line[: len(line) // 2],
    "not an object": lambda line: b"[" + line + b"]",
    "text not a string": lambda line: line.replace(b'"text":', b'"text": 1, "_":', 1),
    "NUL byte": lambda line: line[:-1] + b', "n": "\x00"}',
    "trailing garbage": lambda line: line + b" }",
    "BOM mid-file": lambda line: BOM + line,
    "comment": lambda line: b"// " + line,
    "single quotes": lambda line: line.replace(b'"', b"'"),
}


@st.composite
def spoiled_jsonl_files(draw: st.DrawFn) -> tuple[bytes, str]:
    data = draw(jsonl_files())
    lines = data.split(b"\n")
    candidates = [i for i, line in enumerate(lines) if line.strip(b"\r\t ").endswith(b"}")]
    spoiler = draw(st.sampled_from(sorted(_SPOILERS)))
    if candidates:
        i = draw(st.sampled_from(candidates))
        line = lines[i].rstrip(b"\r")
        lines[i] = _SPOILERS[spoiler](line) + (b"\r" if lines[i].endswith(b"\r") else b"")
    return b"\n".join(lines), spoiler


def _valid_jsonl(bench: Bench, data: bytes) -> None:
    path = bench.file(".jsonl", data)
    outcome = bench.register(path, "jsonl: valid")
    if isinstance(outcome, LedgerError):
        assert "already registered" in str(outcome), outcome  # hypothesis repeated a file
        return
    assert bench.stored(outcome.seq) == reference_jsonl(data)


def _spoiled_jsonl(bench: Bench, case: tuple[bytes, str]) -> None:
    data, spoiler = case
    path = bench.file(".jsonl", data)
    outcome = bench.register(path, f"jsonl: {spoiler}")
    _check_against(bench, outcome, lambda: reference_jsonl(data))


def _random_bytes(bench: Bench, data: bytes, suffix: str) -> None:
    path = bench.file(suffix, data)
    outcome = bench.register(path, f"random bytes {suffix}")
    reference = reference_jsonl if suffix == ".jsonl" else reference_csv
    _check_against(bench, outcome, lambda: reference(data))


@given(data=jsonl_files())
@_settings(40)
def test_valid_jsonl_registers_with_the_reference_hashes(bench: Bench, data: bytes) -> None:
    _valid_jsonl(bench, data)


@given(case=spoiled_jsonl_files())
@_settings(100)
def test_spoiled_jsonl_registers_correctly_or_is_refused(
    bench: Bench, case: tuple[bytes, str]
) -> None:
    _spoiled_jsonl(bench, case)


@given(data=st.binary(max_size=300), suffix=st.sampled_from([".jsonl", ".csv"]))
@_settings(60)
def test_random_bytes_register_correctly_or_are_refused(
    bench: Bench, data: bytes, suffix: str
) -> None:
    _random_bytes(bench, data, suffix)


@pytest.mark.slow
@given(data=jsonl_files())
@_settings(600)
def test_valid_jsonl_soak(bench: Bench, data: bytes) -> None:
    _valid_jsonl(bench, data)


@pytest.mark.slow
@given(case=spoiled_jsonl_files())
@_settings(1500)
def test_spoiled_jsonl_soak(bench: Bench, case: tuple[bytes, str]) -> None:
    _spoiled_jsonl(bench, case)


@pytest.mark.slow
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".jsonl", ".csv"]))
@_settings(1000)
def test_random_bytes_soak(bench: Bench, data: bytes, suffix: str) -> None:
    _random_bytes(bench, data, suffix)


# -- CSV ------------------------------------------------------------------------------------
_cells = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """A CSV written by the csv module (quotes, commas, newlines in cells), then maybe
    spoiled: ragged rows, invalid UTF-8, a stray quote, a duplicate header, a BOM, CRLF."""
    extra = draw(st.lists(st.text(min_size=1, max_size=6), max_size=3, unique=True))
    header = ["text", *[h for h in extra if h != "text"]]
    rows = draw(st.lists(st.lists(_cells, min_size=len(header), max_size=len(header)), max_size=5))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    spoil = draw(
        st.sampled_from(
            [
                "none",
                "BOM",
                "ragged row",
                "invalid utf-8",
                "stray quote",
                "duplicate header",
                "empty",
            ]
        )
    )
    if spoil == "BOM":
        data = BOM + data
    elif spoil == "ragged row":
        data += b"only-one-cell\n" if len(header) > 1 else b"a,b\n"
    elif spoil == "invalid utf-8":
        data += b"\xc3\x28" + b"," * (len(header) - 1) + b"\n"
    elif spoil == "stray quote":
        data += b'a"b' + b"," * (len(header) - 1) + b"\n"
    elif spoil == "duplicate header":
        data = b"text,text\n" + data
    elif spoil == "empty":
        data = b""
    return data, spoil


def _csv(bench: Bench, case: tuple[bytes, str]) -> None:
    data, spoil = case
    path = bench.file(".csv", data)
    outcome = bench.register(path, f"csv: {spoil}")
    _check_against(bench, outcome, lambda: reference_csv(data))


@given(case=csv_files())
@_settings(60)
def test_csv_registers_with_the_reference_hashes_or_is_refused(
    bench: Bench, case: tuple[bytes, str]
) -> None:
    _csv(bench, case)


@pytest.mark.slow
@given(case=csv_files())
@_settings(1000)
def test_csv_soak(bench: Bench, case: tuple[bytes, str]) -> None:
    _csv(bench, case)


# -- Parquet ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def parquet_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    table = pa.table(
        {
            "text": [f"row {i} ünïcode" for i in range(300)],
            "n": list(range(300)),
            "tags": [["a", "b"][: i % 3] for i in range(300)],
        }
    )
    path = tmp_path_factory.mktemp("parquet") / "ok.parquet"
    pq.write_table(table, path, row_group_size=100)
    return path.read_bytes()


def _damaged_parquet(bench: Bench, data: bytes, how: str) -> None:
    path = bench.file(".parquet", data)
    outcome = bench.register(path, f"parquet: {how}")
    if not isinstance(outcome, LedgerError):
        # Damage the format cannot see (no page checksums) reads as other values; whatever
        # was read is registered consistently, and verify (at teardown) checks its root.
        assert outcome.records == bench.stored(outcome.seq).__len__()


@given(cut=st.integers(1, 2000))
@_settings(20)
def test_truncated_parquet_is_refused(bench: Bench, parquet_bytes: bytes, cut: int) -> None:
    _damaged_parquet(bench, parquet_bytes[: max(0, len(parquet_bytes) - cut)], "truncated")


@given(
    flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 255)), min_size=1, max_size=4)
)
@_settings(40)
def test_bit_flipped_parquet_registers_consistently_or_is_refused(
    bench: Bench, parquet_bytes: bytes, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(parquet_bytes)
    for position, mask in flips:
        data[position % len(data)] ^= mask
    _damaged_parquet(bench, bytes(data), "bytes flipped")


# -- the named cases of the issue ------------------------------------------------------------
def _jsonl_record(text: str = "hello") -> bytes:
    return json.dumps({"id": 1, "text": text}).encode()


def test_bom_and_crlf_hash_like_plain_lf(bench: Bench) -> None:
    plain = _jsonl_record("one") + b"\n" + _jsonl_record("two") + b"\n"
    result = bench.register(bench.file(".jsonl", plain), "named")
    variant = BOM + plain.replace(b"\n", b"\r\n")
    other = Ledger.init(bench.folder / "other")
    try:
        registry.create_dataset(other, DATASET, owner="qa", context="internal", uses=["train"])
        again = other.register(bench.file(".jsonl", variant), dataset=DATASET, source="scraped")
    finally:
        other.close()
    assert again.merkle_root == result.merkle_root


@pytest.mark.parametrize(
    ("suffix", "data", "message"),
    [
        (".jsonl", b'{"text": "caf\xe9"}\n', "line 1: malformed JSON"),
        (".csv", b"text\ncaf\xe9\n", "line 2: invalid UTF-8"),
        (".jsonl", b'{"text": "x", "n": NaN}\n', "line 1: "),
        (".jsonl", b'{"text": "x", "n": Infinity}\n', "line 1: "),
        (".jsonl", b'{"text": "x", "text": "y"}\n', "line 1, field 'text': duplicate key 'text'"),
        (".jsonl", b'{"text": "x", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "line 1: "),
        (".jsonl", b"", "no records"),
        (".csv", b"", "no records"),
        (".jsonl", b"\n\n  \r\n", "no records"),
        (".csv", b"text,n\na,1\nb\n", "line 3: row has 1 cells, the header has 2"),
        (".csv", b"text,n\na,1,2\n", "line 2: row has 3 cells, the header has 2"),
        (".parquet", b"", "not a readable Parquet file"),
        (".parquet", b"PAR1garbagePAR1", "not a readable Parquet file"),
    ],
    ids=[
        "invalid-utf8-jsonl",
        "invalid-utf8-csv",
        "nan",
        "infinity",
        "duplicate-key",
        "100000-nested-arrays",
        "zero-byte-jsonl",
        "zero-byte-csv",
        "blank-lines-only",
        "ragged-short-row",
        "ragged-long-row",
        "zero-byte-parquet",
        "garbage-parquet",
    ],
)
def test_named_hostile_files_are_refused_with_a_located_message(
    bench: Bench, suffix: str, data: bytes, message: str
) -> None:
    path = bench.file(suffix, data)
    outcome = bench.register(path, "named")
    assert isinstance(outcome, InputError), outcome
    assert str(outcome).startswith(f"{path}"), str(outcome)
    assert message in str(outcome), str(outcome)


def test_parquet_with_a_truncated_footer_is_refused(bench: Bench, parquet_bytes: bytes) -> None:
    # The footer is the file's last bytes: metadata, its 4-byte length and "PAR1".
    for cut in (1, 4, 8, 100):
        path = bench.file(".parquet", parquet_bytes[:-cut])
        outcome = bench.register(path, "named")
        assert isinstance(outcome, InputError), outcome
        assert str(outcome).startswith(f"{path}: not a readable Parquet file"), str(outcome)


def _one_line_of(size: int) -> bytes:
    return b'{"text": "' + b"a" * size + b'"}\n'


def test_a_10_mb_single_line_registers(bench: Bench) -> None:
    data = _one_line_of(10_000_000)
    result = bench.register(bench.file(".jsonl", data), "named")
    assert result.records == 1
    assert bench.stored(result.seq) == reference_jsonl(data)


@pytest.mark.slow
def test_a_100_mb_single_line_registers_with_the_line_limit_raised(bench: Bench) -> None:
    data = _one_line_of(100_000_000)
    refused = bench.register(bench.file(".jsonl", data), "named")
    assert str(refused).endswith(
        "line 1: line is longer than the limit of 64 MiB (raise it with --max-line-size)"
    )
    result = bench.register(
        bench.file(".jsonl", data), "named", limits=ReadLimits(max_line=128 << 20)
    )
    assert result.records == 1
    assert bench.stored(result.seq) == reference_jsonl(data)


def test_paths_with_dot_dot(bench: Bench, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = bench.file(".jsonl", _jsonl_record("through dot dot") + b"\n")
    roundabout = tmp_path / "sub" / ".." / path.name
    result = bench.register(roundabout, "named")
    assert result.records == 1
    entry = bench.led.entries()[-1]
    assert entry.payload["file"] == path.name  # the entry names the file, not the route
    missing = bench.register(tmp_path / "sub" / ".." / ".." / "nowhere.jsonl", "named")
    assert isinstance(missing, InputError)
    assert str(missing).endswith("nowhere.jsonl: no such file")


# -- names, manifests and arguments: stored literally or refused, never executed ----------
SQL_ATTEMPTS = [
    "x'; DROP TABLE entries; --",
    'x"; DELETE FROM records; --',
    "'); UPDATE entries SET kind = 'x'; --",
    "x' OR '1'='1",
    "a;b",
    "\\'; SELECT 1; --",
    "$1",
    "?",
    "Robert'); DROP TABLE batches;--",
]


def _tables_intact(led: Ledger) -> None:
    names = {r[0] for r in led.store.rows("SELECT table_name FROM duckdb_tables()")}
    assert set(TABLES) <= names
    assert led.verify().ok


@pytest.mark.parametrize("attempt", SQL_ATTEMPTS)
def test_sql_in_names_is_refused_and_in_free_text_is_stored_literally(
    bench: Bench, attempt: str
) -> None:
    led = bench.led
    before = _counts(led)
    with pytest.raises(InputError, match="field 'name': expected only letters"):
        registry.create_dataset(led, attempt, owner="qa", context="internal", uses=["train"])
    with pytest.raises(InputError):
        led.register(bench.file(".jsonl", _jsonl_record()), dataset=DATASET, source="licensed",
                     license=f"{attempt}@1")  # fmt: skip
    with pytest.raises(InputError, match="field 'id'"):
        registry.add_license(led, _license(id=attempt))
    assert _counts(led) == before
    # Free text is data: kept byte for byte.
    created = registry.create_dataset(
        led, f"d{next(bench._names)}", owner=attempt, context="internal", uses=["train"]
    )
    assert created.owner == attempt
    lic = registry.add_license(led, _license(title=attempt, licensor=attempt))
    assert (lic.title, lic.licensor) == (attempt, attempt)
    result = led.register(
        bench.file(".jsonl", _jsonl_record(attempt)),
        dataset=DATASET,
        source="synthetic",
        origin=attempt,
        generator=attempt,
    )
    row = led.store.row("SELECT origin, generator FROM batches WHERE seq = ?", [result.seq])
    assert row == (attempt, attempt)
    _tables_intact(led)


_version = itertools.count(1)


def _license(**override: Any) -> dict[str, Any]:
    manifest = {
        "id": "fuzz-license",
        "version": next(_version),
        "title": "Fuzz corpus",
        "licensor": "Example",
        "grants": ["train"],
        "effective_from": "2025-01-01",
        "expires_on": None,
        "spdx": None,
        "document_sha256": None,
    }
    return manifest | override


_manifest_values = st.one_of(
    _json_values,
    st.sampled_from(
        [*SQL_ATTEMPTS, "2025-02-30", "0000-01-01", "9999-12-31", "1e400", "-1", 2**63, -1, 0]
    ),
)


@st.composite
def license_manifests(draw: st.DrawFn) -> bytes:
    """A license manifest with some fields replaced, removed or added, as file bytes,
    sometimes with a duplicate key, NaN, a BOM or invalid UTF-8 spliced in."""
    manifest: dict[str, Any] = _license(version=draw(st.integers(1, 10**6)))
    for key in draw(st.lists(st.sampled_from(sorted(manifest)), max_size=3)):
        if draw(st.booleans()):
            manifest[key] = draw(_manifest_values)
        else:
            manifest.pop(key, None)
    if draw(st.booleans()):
        manifest[draw(st.text(max_size=6))] = draw(_manifest_values)
    text = json.dumps(manifest, allow_nan=True).encode("utf-8")
    splice = draw(st.sampled_from(["none", "duplicate", "NaN", "BOM", "invalid utf-8", "cut"]))
    if splice == "duplicate":
        text = text[:-1] + b', "id": "again"}'
    elif splice == "NaN":
        text = text[:-1] + b', "x": NaN}'
    elif splice == "BOM":
        text = BOM + text
    elif splice == "invalid utf-8":
        text = text.replace(b'"title"', b'"t\xffitle"')
    elif splice == "cut":
        text = text[: len(text) // 2]
    return text


def _manifest(bench: Bench, data: bytes) -> None:
    TRIED["license manifest"] += 1
    path = bench.file(".json", data)
    before = _counts(bench.led)
    try:
        lic = registry.add_license(bench.led, path)
    except LedgerError as exc:
        assert str(exc).strip()
        assert _counts(bench.led) == before
        return
    after = _counts(bench.led)
    assert (after["entries"], after["licenses"]) == (before["entries"] + 1, before["licenses"] + 1)
    stored = {r.license: r for r in registry.list_licenses(bench.led.store)}[lic.license]
    sent = json.loads(data)
    for key in ("id", "version", "title", "licensor", "grants"):
        assert getattr(stored, key) == sent[key]


@given(data=license_manifests())
@_settings(80)
def test_license_manifests_are_recorded_faithfully_or_refused(bench: Bench, data: bytes) -> None:
    _manifest(bench, data)


@pytest.mark.slow
@given(data=license_manifests())
@_settings(1200)
def test_license_manifest_soak(bench: Bench, data: bytes) -> None:
    _manifest(bench, data)


@given(name=st.text(max_size=20), owner=st.text(max_size=20))
@_settings(60)
def test_dataset_names_and_owners_are_stored_literally_or_refused(
    bench: Bench, name: str, owner: str
) -> None:
    TRIED["dataset name"] += 1
    before = _counts(bench.led)
    try:
        created = registry.create_dataset(
            bench.led, name, owner=owner, context="internal", uses=["train"]
        )
    except LedgerError as exc:
        assert str(exc).strip()
        assert _counts(bench.led) == before
        return
    assert (created.dataset, created.owner) == (name, owner)


@given(
    field=st.sampled_from(["origin", "generator", "collected_at", "text_field", "split", "cost"]),
    value=st.one_of(st.text(max_size=30), st.floats(), st.sampled_from(SQL_ATTEMPTS)),
)
@_settings(50)
def test_register_arguments_are_stored_literally_or_refused(
    bench: Bench, field: str, value: Any
) -> None:
    if field == "cost" and isinstance(value, str):
        value = len(value) - 3.5
    if field != "cost" and not isinstance(value, str):
        value = str(value)
    path = bench.file(".jsonl", json.dumps({"text": f"arg {next(bench._names)}"}).encode())
    outcome = bench.register(
        path, "register argument", **{"source": "synthetic", "generator": "g", field: value}
    )
    if isinstance(outcome, LedgerError):
        return
    if field in ("origin", "generator"):
        row = bench.led.store.row(f"SELECT {field} FROM batches WHERE seq = ?", [outcome.seq])
        assert row == (value,)


def _cost_message(cost: float) -> str:
    if not math.isfinite(cost):
        return f"field 'cost': cost must be a finite number, got {cost}"
    return f"field 'cost': cost must be below 2**53, got {cost:g}"


@pytest.mark.parametrize("cost", [1e16, 2.0**53, 1e17, 1e300, math.inf, math.nan])
def test_a_cost_json_cannot_round_trip_is_refused(bench: Bench, cost: float) -> None:
    # 1e16 would be written as the digits 10000000000000000, which parse back as an integer
    # beyond 2**53 - 1: the entry could never be verified again.
    path = bench.file(".jsonl", _jsonl_record(f"cost {cost}") + b"\n")
    outcome = bench.register(path, "named", cost=cost)
    assert isinstance(outcome, InputError)
    assert str(outcome) == _cost_message(cost)


def test_arguments_python_cannot_encode_are_refused(bench: Bench) -> None:
    # Invalid UTF-8 in argv reaches Python as lone surrogates ('\udcff').
    path = bench.file(".jsonl", _jsonl_record() + b"\n")
    for field in ("dataset", "origin", "generator", "license", "subject_field"):
        outcome = bench.register(path, "named", **{field: "x\udcff"})
        assert isinstance(outcome, InputError), (field, outcome)
        assert str(outcome) == f"field '{field}': 'x\\udcff' is not valid UTF-8 text"
    odd = bench.folder / "odd-\udcff.jsonl"
    shutil.copy(path, odd)
    outcome = bench.register(odd, "named")
    assert isinstance(outcome, InputError)
    assert "is not valid UTF-8 text" in str(outcome)


# -- through the command line: exit 1, "Error: ..." and no traceback ----------------------
def test_cli_reports_hostile_files_in_one_line(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with Ledger.init(home) as led:
        registry.create_dataset(led, DATASET, owner="qa", context="internal", uses=["train"])
    deep = tmp_path / "deep.jsonl"
    deep.write_bytes(b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n")
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes(b"text,n\na\n")
    torn = tmp_path / "torn.parquet"
    torn.write_bytes(b"PAR1")
    for path in (deep, ragged, torn):
        done = cli("register", str(path), "--dataset", DATASET, "--source", "scraped")
        assert done.exit_code == 1, done.output
        assert done.stderr.startswith(f"Error: {path}"), done.stderr
        assert done.stderr.count("\n") == 1
        assert "Traceback" not in done.output
    for cost in ("nan", "inf", "1e16"):
        args = ["register", str(deep), "--dataset", DATASET, "--source", "scraped"]
        done = cli(*args, "--cost", cost)
        assert (done.exit_code, done.stderr) == (1, f"Error: {_cost_message(float(cost))}\n")
