"""Lineage, models, erasure, receipts, export and check (issue 5), through the Python API
and the CLI.

One small world is built once per module and copied for each test:

    seq  entry
    A    tickets_a.jsonl  first_party, dataset support: alice x2 (two spellings), bob, chloe
    .    model 'early' on support            (registered after A, before everything else)
    B    tickets_b.jsonl  first_party, dataset support: alice, dora
    S1   syn1.jsonl       synthetic, dataset support, derived from A
    S2   syn2.jsonl       synthetic, dataset eval, derived from S1   (two levels below A)
    F    forum.jsonl      scraped, dataset eval: holds a ticket's text, differently spelled
    .    model 'late' on support and eval

Expected record hashes are computed here with the ``rfc8785`` package, independently of
``ledger/``; subject hashes as HMAC-SHA256 of the documented normal form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import rfc8785

from provledger.errors import Conflict, InputError, NotFound
from provledger.ledger import DB_FILE, Ledger
from provledger.lineage import index as lineage_module
from provledger.lineage import lineage as lineage_queries
from provledger.lineage.results import LineageQuery
from provledger.vocabulary import Context, Source, Split

CONSENT = {
    "policy": "tos",
    "version": 1,
    "effective_from": "2025-01-01",
    "permits": ["train"],
    "retention_days": None,
    "prior_versions": {},
}
TICKETS_A = [
    {"text": "My printer is on fire", "uid": "alice@example.com", "n": 1},
    {"text": "Reset my password", "uid": "bob@example.com", "n": 2},
    {"text": "Refund, not a voucher", "uid": "Alice@Example.com ", "n": 3},
    {"text": "Où est ma facture ?", "uid": "chloe@example.fr", "n": 4},
]
TICKETS_B = [
    {"text": "App crashes on start", "uid": "alice@example.com", "n": 5},
    {"text": "Die App stürzt ab", "uid": "dora@example.de", "n": 6},
]
SYN1 = [{"text": "Synthetic: printer smoke", "seed": 1}, {"text": "Synthetic: refund", "seed": 3}]
SYN2 = [{"text": "Paraphrase: printer smoke"}]
FORUM = [
    {"text": "my  PRINTER is on   fire", "url": "https://forum.example/1"},
    {"text": "unrelated musings", "url": "https://forum.example/2"},
]
ALICE = "alice@example.com"


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(record)).hexdigest()


def subject_hash(key: bytes, subject: str) -> str:
    normal = unicodedata.normalize("NFKC", subject).casefold().strip()
    return hmac.new(key, normal.encode("utf-8"), hashlib.sha256).hexdigest()


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


# -- the world -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build the world once; returns its home, data folder and batch ids."""
    root = tmp_path_factory.mktemp("world")
    data = root / "data"
    data.mkdir()
    home = root / "home"
    ids: dict[str, Any] = {"home": home, "data": data}
    with Ledger.init(home) as led:
        led.add_consent(CONSENT)
        led.create_dataset("support", owner="support-ops", context="internal", uses=["train"])
        led.create_dataset("eval", owner="ml-eval", context="internal", uses=["evaluate"])
        first_party = {"source": "first_party", "consent": "tos@1", "subject_field": "uid"}
        ids["A"] = led.register(
            write_jsonl(data / "tickets_a.jsonl", TICKETS_A), dataset="support", **first_party
        ).batch_id
        ids["early"] = led.register_model("early", ["support"]).seq
        ids["B"] = led.register(
            write_jsonl(data / "tickets_b.jsonl", TICKETS_B), dataset="support", **first_party
        ).batch_id
        ids["S1"] = led.register(
            write_jsonl(data / "syn1.jsonl", SYN1),
            dataset="support",
            source="synthetic",
            generator="gen-1",
            derived_from=[ids["A"]],
        ).batch_id
        ids["S2"] = led.register(
            write_jsonl(data / "syn2.jsonl", SYN2),
            dataset="eval",
            source="synthetic",
            generator="gen-2",
            derived_from=[ids["S1"]],
        ).batch_id
        ids["F"] = led.register(
            write_jsonl(data / "forum.jsonl", FORUM), dataset="eval", source="scraped"
        ).batch_id
        ids["late"] = led.register_model("late", ["support", "eval"]).seq
    return ids


@pytest.fixture
def ids(world: dict[str, Any], home: Path) -> dict[str, Any]:
    """This test's copy of the world, in ``home`` (closed)."""
    shutil.copytree(world["home"], home)
    return world


@pytest.fixture
def led(ids: dict[str, Any], home: Path) -> Iterator[Ledger]:
    with Ledger.open(home) as opened:
        yield opened


def entry_count(led: Ledger) -> int:
    return led.store.entry_count()


# -- lineage ---------------------------------------------------------------------------------
def test_lineage_by_subject_reaches_records_batches_datasets_and_models(
    led: Ledger, ids: dict[str, Any]
) -> None:
    result = led.lineage(subject="  ALICE@example.COM").as_dict()
    a, b, s1, s2 = ids["A"], ids["B"], ids["S1"], ids["S2"]
    assert result["query"] == {"by": "subject", "hash": subject_hash(led.subject_key, ALICE)}
    assert [(r["batch_id"], r["ord"], r["record_hash"]) for r in result["records"]] == [
        (a, 0, record_hash(TICKETS_A[0])),
        (a, 2, record_hash(TICKETS_A[2])),
        (b, 0, record_hash(TICKETS_B[0])),
    ]
    assert [
        (x["batch_id"], x["dataset"], x["source"], x["relation"], x["records"])
        for x in result["batches"]
    ] == [
        (a, "support", "first_party", "direct", 2),
        (b, "support", "first_party", "direct", 1),
        (s1, "support", "synthetic", "derived", 0),
        (s2, "eval", "synthetic", "derived", 0),
    ]
    assert [(d["dataset"], d["owner"], d["batches"]) for d in result["datasets"]] == [
        ("eval", "ml-eval", [s2]),
        ("support", "support-ops", [a, b, s1]),
    ]
    assert [(m["name"], m["batches"]) for m in result["models"]] == [
        ("early", [a]),
        ("late", [a, b, s1, s2]),
    ]
    assert result["erased"] is False
    assert result["erasures"] == []


def test_lineage_results_carry_the_vocabulary(led: Ledger, ids: dict[str, Any]) -> None:
    found = led.lineage(subject=ALICE)
    batch = found.batches[0]
    assert (type(batch.source), type(batch.split)) == (Source, Split)
    assert (batch.source, batch.split) == (Source.first_party, Split.train)
    assert found.datasets[0].context is Context.internal
    assert found.query == LineageQuery(by="subject", hash=subject_hash(led.subject_key, ALICE))
    assert found.as_dict()["batches"][0]["source"] == "first_party"


def test_derived_batches_two_levels_deep(led: Ledger, ids: dict[str, Any]) -> None:
    batches = {b.batch_id: b for b in led.lineage(subject="chloe@example.fr").batches}
    assert list(batches) == [ids["A"], ids["S1"], ids["S2"]]
    assert (batches[ids["S1"]].relation, batches[ids["S1"]].depth) == ("derived", 1)
    assert (batches[ids["S2"]].relation, batches[ids["S2"]].depth) == ("derived", 2)
    assert batches[ids["S2"]].derived_from == [ids["S1"]]
    assert batches[ids["S2"]].file == str(ids["data"] / "syn2.jsonl")


def test_a_model_reaches_only_batches_registered_before_it(
    led: Ledger, ids: dict[str, Any]
) -> None:
    # dora is only in B, registered after 'early' and before 'late'.
    dora = led.lineage(subject="dora@example.de")
    assert [b.batch_id for b in dora.batches] == [ids["B"]]
    assert [(m.name, m.batches) for m in dora.models] == [("late", [ids["B"]])]
    # bob is in A, registered before both: 'early' reaches A but not S1, which came later.
    bob = led.lineage(subject="bob@example.com")
    assert [(m.name, m.batches) for m in bob.models] == [
        ("early", [ids["A"]]),
        ("late", [ids["A"], ids["S1"], ids["S2"]]),
    ]


def test_a_lookup_sees_what_was_appended_since_the_last_one(
    led: Ledger, ids: dict[str, Any], tmp_path: Path
) -> None:
    before = led.lineage(subject="dora@example.de")
    assert [b.batch_id for b in before.batches] == [ids["B"]]
    derived = led.register(
        write_jsonl(tmp_path / "syn3.jsonl", [{"text": "Synthetic: App crash"}]),
        dataset="eval",
        source="synthetic",
        generator="gen-3",
        derived_from=[ids["B"]],
    ).batch_id
    led.register_model("later", ["eval"])
    led.erase("dora@example.de", "DSR-7")
    after = led.lineage(subject="dora@example.de")
    assert [(b.batch_id, b.relation) for b in after.batches] == [
        (ids["B"], "direct"),
        (derived, "derived"),
    ]
    assert [(m.name, m.batches) for m in after.models] == [
        ("late", [ids["B"]]),
        ("later", [derived]),
    ]
    assert after.erased and after.erasures[0].request_ref == "DSR-7"


def test_lineage_by_record_hash(led: Ledger, ids: dict[str, Any]) -> None:
    wanted = record_hash(TICKETS_B[1])
    for spelling in (wanted, wanted.upper(), f"  {wanted}\n"):
        result = led.lineage(record=spelling)
        assert [(r.batch_id, r.ord) for r in result.records] == [(ids["B"], 1)]
        assert result.query.as_dict() == {"by": "record", "hash": wanted}
    assert not led.lineage(record="00" * 32).found
    with pytest.raises(InputError, match="field 'record': expected a SHA-256 hash"):
        led.lineage(record="abc")


def test_lineage_by_text_is_normalised_like_content_hash(led: Ledger, ids: dict[str, Any]) -> None:
    result = led.lineage(text="My printer IS on fire ")
    assert [(r.batch_id, r.ord) for r in result.records] == [(ids["A"], 0), (ids["F"], 0)]
    assert result.query.hash == hashlib.sha256(b"my printer is on fire").hexdigest()
    relations = {b.batch_id: b.relation for b in result.batches}
    assert relations == {ids["A"]: "direct", ids["S1"]: "derived", ids["S2"]: "derived",
                         ids["F"]: "direct"}  # fmt: skip


def test_exactly_one_lookup_is_required(led: Ledger) -> None:
    with pytest.raises(InputError, match="exactly one"):
        led.lineage()
    with pytest.raises(InputError, match="exactly one"):
        led.lineage(subject=ALICE, text="x")
    with pytest.raises(InputError, match="field 'subject': the subject id is empty"):
        led.lineage(subject="   ")


def test_nothing_matching_is_an_empty_answer(led: Ledger, cli: Any) -> None:
    result = led.lineage(subject="nobody@example.com")
    assert (result.found, result.erased, result.records, result.models) == (False, False, [], [])
    led.close()
    out = cli("lineage", "--subject", "nobody@example.com")
    assert (out.exit_code, out.stdout) == (0, "No records match this subject.\n")
    out = cli("lineage", "--text", "never written", "--json")
    assert out.exit_code == 0
    doc = json.loads(out.stdout)
    assert {k: doc[k] for k in ("records", "batches", "datasets", "models", "erased")} == {
        "records": [],
        "batches": [],
        "datasets": [],
        "models": [],
        "erased": False,
    }


def test_record_lookups_check_the_full_hash_and_subject_lookups_eight_bytes(
    led: Ledger, ids: dict[str, Any]
) -> None:
    # Key rows as if other hashes shared their first bytes with the ones looked up, each
    # pointing at dora's record: the lookups must drop them.
    b_seq = int(ids["B"][1:])
    wanted = bytes.fromhex(record_hash(TICKETS_A[1]))
    bob = bytes.fromhex(subject_hash(led.subject_key, "bob@example.com"))
    led.store.execute(
        "INSERT INTO lookup_keys_recent VALUES (0, ?, ?, 1, NULL), (1, ?, ?, 1, ?)",
        [
            lineage_module.key_prefix(wanted),
            b_seq,
            lineage_module.key_prefix(bob),
            b_seq,
            lineage_module.key_prefix2(bob) ^ 1,
        ],
    )
    expected = [(ids["A"], 1)]
    assert [(r.batch_id, r.ord) for r in led.lineage(record=wanted.hex()).records] == expected
    assert [(r.batch_id, r.ord) for r in led.lineage(subject="bob@example.com").records] == (
        expected
    )


def test_lookup_keys_match_their_sql_definition_and_survive_a_merge(
    led: Ledger, ids: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = led.store
    rows = store.rows("SELECT record_hash, subject_hash FROM records")
    keys = store.rows("SELECT kind, prefix, prefix2 FROM lookup_keys_recent ORDER BY ALL")
    prefix, prefix2 = lineage_module.key_prefix, lineage_module.key_prefix2
    expected = sorted(
        [(0, prefix(bytes(r)), None) for r, _ in rows]
        + [(1, prefix(bytes(s)), prefix2(bytes(s))) for _, s in rows if s is not None]
    )
    assert keys == expected
    # The sign bit is read the same way in SQL and Python.
    for blob in (b"\x80\x00\x00\x01\xff\xff\xff\xfe" * 4, bytes(range(32))):
        assert store.row("SELECT $h[1:4]::BIT::INTEGER, $h[5:8]::BIT::INTEGER", {"h": blob}) == (
            prefix(blob),
            prefix2(blob),
        )
    assert prefix(b"\x80\x00\x00\x01" + bytes(28)) == -(2**31) + 1
    before = [led.lineage(subject=s).as_dict() for s in (ALICE, "dora@example.de")]
    schema = dict(store.schema())
    store.execute("BEGIN")
    lineage_module.merge_keys(store)
    store.execute("COMMIT")
    assert store.row("SELECT count(*) FROM lookup_keys_recent") == (0,)
    assert store.rows("SELECT kind, prefix, prefix2 FROM lookup_keys ORDER BY ALL") == expected
    assert dict(store.schema()) == schema
    assert [led.lineage(subject=s).as_dict() for s in (ALICE, "dora@example.de")] == before
    # With very many hits a lookup reads the column whole; the answer is the same.
    monkeypatch.setattr(lineage_queries, "FETCH_ROW_BY_ROW", 0)
    assert [led.lineage(subject=s).as_dict() for s in (ALICE, "dora@example.de")] == before


def test_registration_merges_recent_keys_once_they_outgrow_the_sorted_ones(
    led: Ledger, ids: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lineage_module, "MERGE_MIN_KEYS", 1)
    records = led.store.row("SELECT count(*) FROM records")[0]  # type: ignore[index]
    led.register(
        write_jsonl(tmp_path / "more.jsonl", [{"text": "one more"}]),
        dataset="eval",
        source="scraped",
    )
    assert led.store.row("SELECT count(*) FROM lookup_keys_recent") == (0,)
    subjects = led.store.row("SELECT count(subject_hash) FROM records")[0]  # type: ignore[index]
    assert led.store.row("SELECT count(*) FROM lookup_keys") == (records + 1 + subjects,)
    assert [r.ord for r in led.lineage(subject=ALICE).records] == [0, 2, 0]
    assert led.lineage(text="One more").found


def test_the_migration_backfills_the_keys_registration_would_write(led: Ledger, home: Path) -> None:
    written = led.store.rows("SELECT * FROM lookup_keys_recent ORDER BY ALL")
    led.close()
    con = duckdb.connect(str(home / DB_FILE))
    con.execute("DROP TABLE lookup_keys; DROP TABLE lookup_keys_recent")
    # A ledger from before m003 (and so before m004, which guards the key tables, m005,
    # which adds the sketch tables, and m006, the near-duplicate facts).
    for table in (
        "record_sketches",
        "batch_profiles",
        "near_batches",
        "near_cross_split",
        "near_benchmark",
    ):
        for event in ("update", "delete"):
            con.execute(f"DROP TRIGGER {table}_no_{event} ON {table}")
        con.execute(f"DROP TABLE {table}")
    con.execute(
        "DELETE FROM schema_migrations WHERE name IN "
        "('m003_lineage_lookup_keys', 'm004_lookup_key_guards', 'm005_sketches', "
        "'m006_near_facts')"
    )
    con.close()
    with Ledger.open(home) as again:  # applies m003 to m006 again
        assert again.store.rows("SELECT * FROM lookup_keys ORDER BY ALL") == written
        assert again.lineage(subject=ALICE).found


# -- models ----------------------------------------------------------------------------------
def test_model_registration_rules(led: Ledger) -> None:
    before = entry_count(led)
    with pytest.raises(NotFound, match="unknown dataset 'nope'"):
        led.register_model("m1", ["support", "nope"])
    with pytest.raises(Conflict, match=r"model 'early' is already registered \(seq \d+\)"):
        led.register_model("early", ["support"])
    with pytest.raises(InputError, match="model name 'a b' may hold only"):
        led.register_model("a b", ["support"])
    with pytest.raises(InputError, match="at least one dataset"):
        led.register_model("m1", [])
    assert entry_count(led) == before
    model = led.register_model("m1", ["support", "support"])
    assert (model.datasets, model.as_of_seq) == (["support"], model.seq - 1)
    entry = led.entries()[-1]
    assert (entry.kind, entry.payload) == (
        "model-registered",
        {"name": "m1", "datasets": ["support"], "as_of_seq": model.seq - 1},
    )
    assert [m.name for m in led.models()] == ["early", "late", "m1"]


def test_model_cli(ids: dict[str, Any], cli: Any) -> None:
    out = cli("model", "register", "m2", "--dataset", "eval", "--dataset", "support")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("Registered model m2 at seq ")
    assert out.stdout.endswith(": trained on eval, support as the ledger stood at seq "
                               f"{int(out.stdout.split()[5][:-1]) - 1}\n")  # fmt: skip
    out = cli("model", "register", "m3", "--dataset", "missing")
    assert out.exit_code == 1
    assert out.stderr.startswith("Error: unknown dataset 'missing'")
    listed = json.loads(cli("model", "list", "--json").stdout)
    assert [(m["name"], m["datasets"]) for m in listed] == [
        ("early", ["support"]),
        ("late", ["eval", "support"]),
        ("m2", ["eval", "support"]),
    ]


# -- erasure ---------------------------------------------------------------------------------
def test_erase_records_an_entry_and_lineage_then_says_erased(
    led: Ledger, ids: dict[str, Any]
) -> None:
    result = led.erase("Alice@Example.com", "DSR-1")
    a, b = ids["A"], ids["B"]
    assert (result.records, result.batches, result.derived_batches, result.models) == (
        3,
        [a, b],
        [ids["S1"], ids["S2"]],
        ["early", "late"],
    )
    entry = led.entries()[-1]
    assert (entry.seq, entry.kind) == (result.seq, "erasure-requested")
    assert entry.payload == {
        "request_ref": "DSR-1",
        "subject_hash": subject_hash(led.subject_key, ALICE),
        "record_hashes": [
            record_hash(TICKETS_A[0]),
            record_hash(TICKETS_A[2]),
            record_hash(TICKETS_B[0]),
        ],
        "erased": [
            [a, 0, record_hash(TICKETS_A[0])],
            [a, 2, record_hash(TICKETS_A[2])],
            [b, 0, record_hash(TICKETS_B[0])],
        ],
        "same_text": entry.payload["same_text"],
        "same_text_erased": False,
        "batches": [a, b],
        "derived_batches": [ids["S1"], ids["S2"]],
        "models": ["early", "late"],
    }
    assert led.store.rows("SELECT seq, request_ref, records FROM erasures") == [
        (result.seq, "DSR-1", 3)
    ]
    assert led.store.rows("SELECT batch_seq, ord FROM erased_records ORDER BY ALL") == [
        (int(a[1:]), 0),
        (int(a[1:]), 2),
        (int(b[1:]), 0),
    ]
    after = led.lineage(subject=ALICE)
    assert after.erased is True
    assert [r.erased_by for r in after.records] == ["DSR-1"] * 3
    assert [(e.request_ref, e.seq) for e in after.erasures] == [("DSR-1", result.seq)]
    # A text lookup reaching an erased record and an active one is not 'erased'.
    text = led.lineage(text="my printer is on fire")
    assert [r.erased for r in text.records] == [True, False]
    assert text.erased is False


def test_the_same_request_twice_is_a_no_op(led: Ledger, home: Path, cli: Any) -> None:
    first = led.erase(ALICE, "DSR-1")
    count = entry_count(led)
    again = led.erase("ALICE@example.com", "DSR-1")
    assert again.already_recorded and not first.already_recorded
    assert (again.seq, again.entry_hash, again.record_hashes) == (
        first.seq,
        first.entry_hash,
        first.record_hashes,
    )
    assert entry_count(led) == count
    led.close()
    out = cli("erase", "--subject", ALICE, "--request", "DSR-1")
    assert (out.exit_code, out.stdout) == (
        0,
        f"Request DSR-1 was already recorded at seq {first.seq}; nothing changed.\n",
    )
    with Ledger.open(home, read_only=True) as check:
        assert entry_count(check) == count


def test_erasures_that_cannot_be_recorded_are_refused(led: Ledger, cli: Any) -> None:
    led.erase(ALICE, "DSR-1")
    count = entry_count(led)
    with pytest.raises(
        Conflict, match=r"'DSR-1' was already recorded at seq \d+ for another subject"
    ):
        led.erase("bob@example.com", "DSR-1")
    with pytest.raises(Conflict, match=r"already erased, by request 'DSR-1' \(seq \d+\)"):
        led.erase(ALICE, "DSR-2")
    with pytest.raises(InputError, match="field 'request'"):
        led.erase("bob@example.com", " DSR-3")
    with pytest.raises(NotFound, match="no records match this subject"):
        led.erase("nobody@example.com", "DSR-4")
    assert entry_count(led) == count
    led.close()
    out = cli("erase", "--subject", "nobody@example.com", "--request", "DSR-4")
    assert (out.exit_code, out.stdout, out.stderr) == (
        1,
        "",
        "Error: no records match this subject: nothing to erase (no entry was written)\n",
    )


def test_verify_passes_after_an_erasure_and_history_is_kept(led: Ledger, cli: Any) -> None:
    before = led.store.rows("SELECT * FROM records ORDER BY batch_seq, ord")
    led.erase(ALICE, "DSR-1")
    assert led.verify().ok
    assert led.store.rows("SELECT * FROM records ORDER BY batch_seq, ord") == before
    led.close()
    out = cli("verify")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("OK: ")


def test_the_raw_subject_id_is_never_stored(led: Ledger, home: Path, tmp_path: Path) -> None:
    led.erase(ALICE, "DSR-1")
    receipt = json.dumps(led.receipt("DSR-1"))
    lineage_json = json.dumps(led.lineage(subject=ALICE).as_dict())
    payloads = " ".join(json.dumps(e.payload) for e in led.entries())
    # Every text and blob cell of every table, as one string per table.
    cells = []
    for table, _ in led.store.schema():
        columns = [r[0] for r in led.store.rows(f"DESCRIBE {table}")]
        cast = ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in columns)
        cells.append(" ".join(r[0] for r in led.store.rows(f"SELECT concat_ws(' ', {cast}) "
                                                              f"FROM {table}")))  # fmt: skip
    led.close()
    stored = b"".join(p.read_bytes() for p in home.iterdir() if p.is_file())
    everything = " ".join([receipt, lineage_json, payloads, *cells]).casefold()
    # The probes can fail: other strings of the same ledger are found where they are.
    assert "support-ops" in everything and b"support-ops" in stored
    for spelling in ("alice@example.com", "Alice@Example.com"):
        assert spelling.casefold() not in everything
        assert spelling.encode() not in stored


# -- receipts --------------------------------------------------------------------------------
def test_a_receipt_names_what_must_be_rebuilt_and_verifies(
    led: Ledger, ids: dict[str, Any]
) -> None:
    erasure = led.erase(ALICE, "DSR-1")
    doc = led.receipt("DSR-1")
    assert doc == led.receipt("DSR-1")  # deterministic: Ed25519 and rows that never change
    assert (doc["request_ref"], doc["seq"], doc["entry_hash"], doc["records"]) == (
        "DSR-1",
        erasure.seq,
        erasure.entry_hash,
        3,
    )
    assert [(b["batch_id"], b["file"], b["records_erased"]) for b in doc["batches"]] == [
        (ids["A"], str(ids["data"] / "tickets_a.jsonl"), 2),
        (ids["B"], str(ids["data"] / "tickets_b.jsonl"), 1),
    ]
    assert [(b["batch_id"], b["derived_from"]) for b in doc["derived_batches"]] == [
        (ids["S1"], [ids["A"]]),
        (ids["S2"], [ids["S1"]]),
    ]
    assert [m["name"] for m in doc["models"]] == ["early", "late"]
    assert doc["rebuild"] == {
        "datasets": ["eval", "support"],
        "batches": [ids["A"], ids["B"], ids["S1"], ids["S2"]],
        "models": ["early", "late"],
    }
    body = {k: v for k, v in doc.items() if k != "signature"}
    assert led.public.verify(bytes.fromhex(doc["signature"]), rfc8785.dumps(body))
    check = led.verify_receipt(json.dumps(doc, indent=1))
    assert (check.ok, check.request_ref, check.seq) == (True, "DSR-1", erasure.seq)


def tampered(doc: dict[str, Any], change: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    if change == "record-hash":
        doc["record_hashes"][0] = "0" * 64
    elif change == "model-dropped":
        doc["models"] = doc["models"][:1]
    elif change == "signature-bit":
        sig = bytearray.fromhex(doc["signature"])
        sig[0] ^= 1
        doc["signature"] = sig.hex()
    elif change == "seq":
        doc["seq"] -= 1
    return doc


@pytest.mark.parametrize("change", ["record-hash", "model-dropped", "signature-bit", "seq"])
def test_a_tampered_receipt_fails(led: Ledger, change: str, tmp_path: Path, cli: Any) -> None:
    led.erase(ALICE, "DSR-1")
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(tampered(led.receipt("DSR-1"), change)), "utf-8")
    led.close()
    out = cli("verify-receipt", str(path))
    assert (out.exit_code, out.stdout) == (1, "")
    assert out.stderr == (
        f"Error: {path}: receipt signature does not verify with this ledger's key: the "
        "receipt was changed after it was signed\n"
    )


def test_a_receipt_from_another_ledger_fails(led: Ledger, tmp_path: Path) -> None:
    led.erase(ALICE, "DSR-1")
    doc = led.receipt("DSR-1")
    with (
        Ledger.init(tmp_path / "other") as other,
        pytest.raises(InputError, match=f"signed by key {led.public.key_id}, not this"),
    ):
        other.verify_receipt(doc)
    with pytest.raises(InputError, match="not a provledger erasure receipt"):
        led.verify_receipt("[]")
    with pytest.raises(InputError, match="not a JSON receipt"):
        led.verify_receipt("{")


def test_erase_and_verify_receipt_cli(ids: dict[str, Any], tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "dsr.json"
    out = cli("erase", "--subject", "-", "--request", "DSR-9", "--receipt", str(path),
              input=ALICE + "\n")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    seq = json.loads(path.read_text("utf-8"))["seq"]
    a, b, s1, s2 = ids["A"], ids["B"], ids["S1"], ids["S2"]
    assert out.stdout == (
        f"Erasure DSR-9 recorded at seq {seq}: 3 records in 2 batches ({a}, {b}).\n"
        f"Rebuild or review: derived batches {s1}, {s2}; models early, late.\n"
        f"Same text, other record hash: 1 record ({ids['F']}:0), not erased; review them, "
        "and erase them too with --include-same-text.\n"
        f"Receipt written to {path}\n"
    )
    assert ALICE not in out.stdout
    out = cli("verify-receipt", str(path))
    assert out.exit_code == 0, out.stderr
    entry_hash = json.loads(path.read_text("utf-8"))["entry_hash"]
    assert out.stdout.startswith("OK: receipt for request DSR-9 is signed by this ledger's key ")
    assert out.stdout.endswith(f" and matches entry seq {seq} ({entry_hash})\n")
    out = cli("verify-receipt", str(tmp_path / "missing.json"))
    assert (out.exit_code, out.stderr.startswith("Error: cannot read ")) == (1, True)


def test_lineage_cli_json_and_text(ids: dict[str, Any], cli: Any) -> None:
    cli("erase", "--subject", "dora@example.de", "--request", "DSR-5")
    out = cli("lineage", "--subject", "dora@example.de", "--json")
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["records"] == [
        {
            "batch_id": ids["B"],
            "ord": 1,
            "record_hash": record_hash(TICKETS_B[1]),
            "erased": True,
            "erased_by": "DSR-5",
            "matched_by": "subject",
        }
    ]
    assert [(b["batch_id"], b["relation"], b["records"]) for b in doc["batches"]] == [
        (ids["B"], "direct", 1)
    ]
    assert (doc["erased"], [m["name"] for m in doc["models"]]) == (True, ["late"])
    assert "dora" not in out.stdout
    text = cli("lineage", "--subject", "dora@example.de").stdout
    assert text.startswith("1 record matches this subject, in 1 batch; reached: 0 derived ")
    assert f"  {ids['B']}:1  {record_hash(TICKETS_B[1])}  erased by DSR-5\n" in text
    assert text.endswith("Erased: yes, by request DSR-5 (seq " + str(doc["erasures"][0]["seq"])
                         + ")\n")  # fmt: skip


# -- export and check ------------------------------------------------------------------------
def test_export_leaves_erased_records_out(led: Ledger, tmp_path: Path, cli: Any) -> None:
    led.erase(ALICE, "DSR-1")
    result = led.export("support", tmp_path / "support.parquet")
    assert (result.records, result.erased_left_out) == (5, 3)
    table = pq.read_table(tmp_path / "support.parquet")
    assert table.column_names == ["batch_id", "record_hash", "content_hash"]
    exported = table.column("record_hash").to_pylist()
    active = [TICKETS_A[1], TICKETS_A[3], TICKETS_B[1], *SYN1]
    assert exported == [record_hash(r) for r in active]
    assert table.column("content_hash").to_pylist()[0] == (
        hashlib.sha256(b"reset my password").hexdigest()
    )
    with pytest.raises(NotFound, match="unknown dataset 'nope'"):
        led.export("nope", tmp_path / "x.parquet")
    led.close()
    out = cli("export", "eval", "--output", str(tmp_path / "eval.parquet"))
    assert (out.exit_code, out.stdout) == (
        0,
        f"Wrote 3 active records of dataset eval to {tmp_path / 'eval.parquet'} "
        "(0 erased records left out)\n",
    )


def test_check_finds_erased_records_in_a_rebuilt_file(
    led: Ledger, ids: dict[str, Any], tmp_path: Path, cli: Any
) -> None:
    led.erase(ALICE, "DSR-1")
    stale = ids["data"] / "tickets_a.jsonl"
    result = led.check(stale, "support")
    assert (result.ok, result.records, result.erased_records) == (False, 4, 3)
    assert [(f.line, f.request_ref) for f in result.found] == [(1, "DSR-1"), (3, "DSR-1")]
    clean = write_jsonl(tmp_path / "rebuilt.jsonl", [TICKETS_A[1], TICKETS_A[3], *TICKETS_B[1:]])
    assert led.check(clean, "support").ok
    led.close()
    out = cli("check", str(stale), "--dataset", "support")
    assert (out.exit_code, out.stdout, out.stderr) == (
        1,
        "",
        f"Error: {stale} still holds 2 erased records: line 1 (DSR-1), line 3 (DSR-1)\n",
    )
    out = cli("check", str(clean), "--dataset", "support")
    assert (out.exit_code, out.stdout) == (
        0,
        f"OK: {clean} holds none of the 3 erased records in the ledger (3 records checked)\n",
    )
    out = cli("check", str(tmp_path / "nope.jsonl"), "--dataset", "support")
    assert (out.exit_code, out.stderr) == (1, f"Error: {tmp_path / 'nope.jsonl'}: no such file\n")
