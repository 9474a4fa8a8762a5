"""Near duplicates, reference and benchmark batches, distribution match and synthetic
collapse, through the ledger and the command line, on samples counted by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

from provledger.exports.reports import render
from provledger.ingest.hashing import normalised_utf8
from provledger.ledger import DB_FILE, Ledger
from provledger.similarity.sketch_tables import profile_array
from provledger.storage.migrations import guard_statements
from tests import sketch_reference as R

MAKER = R.TextMaker(99)
A = " ".join(MAKER.words(40))
B = " ".join(MAKER.words(40))
C = " ".join(MAKER.words(40))
A_NEAR = A + " extra"  # 36 of A's 37 5-grams: J = 36/37
A_NEAR2 = A.rsplit(" ", 1)[0] + " changed"  # J = 35/37
B_NEAR = "opening " + B  # J = 36/37


def _jsonl(path: Path, *texts: str) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


def _near(x: str, y: str) -> bool:
    """By the reference implementation: do x and y share a band key?"""
    kx, ky = R.band_keys(normalised_utf8(x)), R.band_keys(normalised_utf8(y))
    return any(a == b for a, b in zip(kx, ky, strict=True))


def test_the_hand_counted_pairs_are_what_the_sample_says() -> None:
    for x, y in ((A, A_NEAR), (A, A_NEAR2), (A_NEAR, A_NEAR2), (B, B_NEAR)):
        assert R.jaccard(normalised_utf8(x), normalised_utf8(y)) >= 0.9
        assert _near(x, y)
    for x, y in ((A, B), (A, C), (B, C), (A_NEAR, B), (C, B_NEAR)):
        assert R.jaccard(normalised_utf8(x), normalised_utf8(y)) < 0.1
        assert not _near(x, y)


def register_near_sample(ledger: Ledger, tmp_path: Path) -> None:
    """Dataset s: train b3 = [A, A, A_NEAR2, B]; test b4 = [A_NEAR, B, C]; reference b5
    = [C, C]; dataset evals: benchmark b7 = [B_NEAR]."""
    ledger.create_dataset("s", owner="me", context="internal", uses=["train"])
    ledger.register(_jsonl(tmp_path / "t.jsonl", A, A, A_NEAR2, B), dataset="s", source="scraped")
    ledger.register(
        _jsonl(tmp_path / "q.jsonl", A_NEAR, B, C), dataset="s", source="scraped", split="test"
    )
    ledger.register(
        _jsonl(tmp_path / "r.jsonl", C, C), dataset="s", source="scraped", split="reference"
    )
    ledger.create_dataset("evals", owner="me", context="internal", uses=["evaluate"])
    ledger.register(
        _jsonl(tmp_path / "e.jsonl", B_NEAR), dataset="evals", source="scraped", split="benchmark"
    )


@pytest.fixture
def near(ledger: Ledger, tmp_path: Path) -> Ledger:
    """The ledger of ``register_near_sample``."""
    register_near_sample(ledger, tmp_path)
    return ledger


def test_near_duplicate_contamination_by_hand(near: Ledger) -> None:
    r = near.audit("s")
    # Reference batch b5 is not training data: 7 records, not 9; C in the reference is no
    # duplicate of the test split's C.
    assert r.records == 7
    assert r.blend["scraped"].batches == 2
    c = r.contamination
    # Exact: A twice in train (1 duplicate), B in train and test (1 duplicate, 1 cross-split).
    assert (c.cross_split_records, c.duplicate_records) == (1, 2)
    # Near: test A_NEAR (near A, A_NEAR2) and B (exact) -> 2. Within train: the second A and
    # A_NEAR2 have an earlier near copy -> 2. Train B is near benchmark B_NEAR -> 1.
    assert c.near_cross_split_records == 2
    n = c.near.model_dump()
    assert n["threshold"] == 0.8 and n["min_bands"] == 1
    assert n["sketched_records"] == 7 and n["unsketched_batches"] == []
    assert n["cross_split_batches"] == [{"batch_id": "b4", "records": 2, "others": ["b3"]}]
    assert n["duplicate_records"] == 2
    assert n["duplicate_batches"] == [{"batch_id": "b3", "records": 2, "others": ["b3"]}]
    assert n["benchmark_records"] == 1
    assert n["benchmark_batches"] == [{"batch_id": "b3", "records": 1, "others": ["b7"]}]
    found = [(f.code, f.records, f.message) for f in r.findings]
    assert (
        "NEAR_DUPLICATE_CONTAMINATION",
        1,
        "1 validation/test record beyond exact copies has a near copy (estimated Jaccard >= "
        "0.8) in the train split: b4 (2) near b3; deduplicate before you split",
    ) in found
    assert (
        "NEAR_DUPLICATE_CONTAMINATION",
        1,
        "1 train record has a near copy in a registered benchmark: b3 (1) near b7; scores on "
        "that benchmark overstate quality",
    ) in found
    assert [f.code for f in r.findings].count("CONTAMINATION") == 1


def test_benchmark_contamination_per_model_through_its_datasets(
    near: Ledger, tmp_path: Path
) -> None:
    # After the fixture: model old trained on s (reaches train b3 = [A, A, A_NEAR2, B]);
    # then a late train batch of s = [A]; dataset web, train = [B, A_NEAR, C]; benchmark
    # [A] in evals (after model old: it still counts, the model's data holds its texts);
    # model new trained on s and web.
    near.register_model("old", ["s"])
    late = near.register(_jsonl(tmp_path / "l.jsonl", A), dataset="s", source="scraped")
    near.create_dataset("web", owner="me", context="internal", uses=["train"])
    web = near.register(_jsonl(tmp_path / "w.jsonl", B, A_NEAR, C), dataset="web", source="scraped")
    bench_a = near.register(
        _jsonl(tmp_path / "ba.jsonl", A), dataset="evals", source="scraped", split="benchmark"
    )
    near.register_model("new", ["s", "web"])
    late_id, web_id, bench_id = late.batch_id, web.batch_id, bench_a.batch_id

    def models(dataset: str, threshold: float = 0.8) -> list[dict[str, Any]]:
        r = near.audit(dataset, near_threshold=threshold)
        return r.contamination.near.model_dump()["models"]

    # old: b3 only. Near benchmark [A]: A, A, A_NEAR2 -> 3; near b7 = [B_NEAR]: B -> 1.
    # new: b3, the late batch and web. Near [A]: A, A, A_NEAR2, A (late), A_NEAR (web) -> 5;
    # near [B_NEAR]: B (b3), B (web) -> 2. Seven records in all.
    old = {
        "model": "old",
        "datasets": ["s"],
        "records": 4,
        "benchmarks": sorted(
            [
                {"batch_id": bench_id, "records": 3, "others": ["b3"]},
                {"batch_id": "b7", "records": 1, "others": ["b3"]},
            ],
            key=lambda b: b["batch_id"],
        ),
    }
    new = {
        "model": "new",
        "datasets": ["s", "web"],
        "records": 7,
        "benchmarks": sorted(
            [
                {"batch_id": bench_id, "records": 5, "others": sorted(["b3", late_id, web_id])},
                {"batch_id": "b7", "records": 2, "others": sorted(["b3", web_id])},
            ],
            key=lambda b: b["batch_id"],
        ),
    }
    assert models("s") == [old, new]
    assert models("web") == [new]  # old was not trained on web
    first, second = sorted([bench_id, "b7"])
    n_old, n_new = {bench_id: 3, "b7": 1}, {bench_id: 5, "b7": 2}
    sentence = (
        "Models trained on it whose training data is near a registered benchmark (records "
        f"near each benchmark batch): old 4 train records ({first} {n_old[first]}, {second} "
        f"{n_old[second]}) through s; new 7 train records ({first} {n_new[first]}, {second} "
        f"{n_new[second]}) through s, web."
    )
    report = near.audit("s")
    for fmt in ("table", "markdown", "html"):
        assert sentence in render(report, fmt, width=2000), fmt
    # At 1.0 only exact copies: the two A of b3, and the late A for new.
    exact = [(m["model"], m["records"], m["benchmarks"]) for m in models("s", 1.0)]
    assert exact == [
        ("old", 2, [{"batch_id": bench_id, "records": 2, "others": ["b3"]}]),
        ("new", 3, [{"batch_id": bench_id, "records": 3, "others": sorted(["b3", late_id])}]),
    ]


def test_a_higher_threshold_needs_more_shared_bands(near: Ledger) -> None:
    # At 1.0 all ten band keys must agree: only exact copies (B) remain near.
    r = near.audit("s", near_threshold=1.0)
    assert r.contamination.near.min_bands == 10
    assert r.contamination.near_cross_split_records == 1
    assert r.contamination.near.duplicate_records == 1


def train_with_subjects_and_a_near_test(ledger: Ledger, tmp_path: Path) -> None:
    """Dataset s: a first-party train batch of A (subject c1) and B (c2), then a test batch
    of A_NEAR: one near cross-split record, whose train copy c1's erasure takes away."""
    ledger.create_dataset("s", owner="me", context="internal", uses=["train"])
    ledger.add_consent(
        {"policy": "tos", "version": 1, "effective_from": "2026-01-01", "permits": ["train"]}
    )
    rows = [{"text": A, "customer": "c1"}, {"text": B, "customer": "c2"}]
    path = tmp_path / "fp.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ledger.register(
        path, dataset="s", source="first_party", consent="tos@1", subject_field="customer"
    )
    ledger.register(
        _jsonl(tmp_path / "q.jsonl", A_NEAR), dataset="s", source="scraped", split="test"
    )


def test_an_erased_train_record_is_no_longer_a_near_copy(ledger: Ledger, tmp_path: Path) -> None:
    train_with_subjects_and_a_near_test(ledger, tmp_path)
    assert ledger.audit("s").contamination.near_cross_split_records == 1
    ledger.erase("c1", "REQ-1")
    assert ledger.audit("s").contamination.near_cross_split_records == 0


def test_lineage_near_finds_near_copies(cli: Any, near: Ledger) -> None:
    exact = near.lineage(text=A)
    assert [(r.batch_id, r.ord) for r in exact.records] == [("b3", 0), ("b3", 1)]
    found = near.lineage(text=A, near=True)
    assert found.query.near is True
    assert [(r.batch_id, r.ord) for r in found.records] == [
        ("b3", 0),
        ("b3", 1),
        ("b3", 2),
        ("b4", 0),
    ]
    near.store.close()
    result = cli("lineage", "--text", A_NEAR, "--near")
    assert result.exit_code == 0
    assert result.stdout.startswith("4 records match this text or a near copy, in 2 batches;")
    result = cli("lineage", "--subject", "x", "--near")
    assert result.exit_code == 1
    assert result.stderr == "Error: --near finds near copies of a text: use it with --text\n"


def test_audit_near_threshold_is_checked(cli: Any, near: Ledger) -> None:
    near.store.close()
    result = cli("audit", "s", "--near-threshold", "0")
    assert result.exit_code == 1
    assert result.stderr == "Error: --near-threshold must be above 0 and at most 1, got 0\n"


# -- verify covers the sketches ---------------------------------------------------------------
def tamper_guarded_table(home: Path, table: str, sql: str) -> None:
    """Run ``sql`` on a guarded ledger table as an insider would: drop its guard triggers,
    change it, put the guards back (or the catalog check refuses before verify looks)."""
    con = duckdb.connect(str(home / DB_FILE))
    for event in ("update", "delete"):
        con.execute(f"DROP TRIGGER {table}_no_{event} ON {table}")
    con.execute(sql)
    for statement in guard_statements(table):  # or the catalog check refuses first
        con.execute(statement)
    con.close()


@pytest.mark.parametrize(
    ("table", "sql", "problem"),
    [
        (
            "record_sketches",
            "UPDATE record_sketches SET b3 = b3 + 1 WHERE ord = 1",
            "batch b3: record sketches do not match its entry",
        ),
        (
            "record_sketches",
            "DELETE FROM record_sketches WHERE ord = 2",
            "batch b3: record sketches do not match its entry",
        ),
        (
            "record_sketches",
            "UPDATE record_sketches SET ord = 1 WHERE ord = 2",
            "record_sketches rows are not exactly one per record",
        ),
        (
            "record_sketches",
            "INSERT INTO record_sketches SELECT 99, ord, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9 "
            "FROM record_sketches WHERE ord = 0",
            "record_sketches holds rows that no batch entry signed",
        ),
        (
            "batch_profiles",
            "UPDATE batch_profiles SET features = features + 1",
            "batch b3: n-gram profile does not match its entry",
        ),
    ],
)
def test_tampered_sketches_fail_verify(
    cli: Any, home: Path, tmp_path: Path, table: str, sql: str, problem: str
) -> None:
    with Ledger.init(home) as led:
        led.create_dataset("s", owner="me", context="internal", uses=["train"])
        led.register(_jsonl(tmp_path / "t.jsonl", A, B, C), dataset="s", source="scraped")
    assert cli("verify").exit_code == 0
    tamper_guarded_table(home, table, sql)
    result = cli("verify")
    assert result.exit_code == 1
    seq = 99 if "no batch entry" in problem else 3
    assert result.stderr == f"Error: verification failed at seq {seq}: {problem}\n"


def test_without_sketches_nothing_is_stored_and_exact_copies_still_count(
    cli: Any, ledger: Ledger, tmp_path: Path
) -> None:
    ledger.create_dataset("s", owner="me", context="internal", uses=["train"])
    ledger.register(
        _jsonl(tmp_path / "t.jsonl", A, B), dataset="s", source="scraped", sketches=False
    )
    ledger.register(
        _jsonl(tmp_path / "q.jsonl", A_NEAR, B), dataset="s", source="scraped", split="test"
    )
    assert ledger.store.row("SELECT count(*) FROM record_sketches WHERE batch_seq = 3") == (0,)
    assert ledger.store.entry(3).payload.get("sketch") is None  # type: ignore[union-attr]
    near = ledger.audit("s").contamination.near
    assert near.unsketched_batches == ["b3"]
    assert near.cross_split_records == 1  # B, by content hash; A_NEAR has no train sketch
    ledger.store.close()
    assert cli("verify").exit_code == 0


# -- distribution match -------------------------------------------------------------------------
def _naive_match(p: list[int], q: list[int]) -> float:
    sp, sq = sum(p), sum(q)
    jsd = 0.0
    for x, y in zip(p, q, strict=True):
        a, b = x / sp, y / sq
        m = (a + b) / 2
        jsd += (a * math.log2(a / m) if a else 0) / 2 + (b * math.log2(b / m) if b else 0) / 2
    return round(1 - jsd, 4)


def test_distribution_match_by_source_and_batch(ledger: Ledger, tmp_path: Path) -> None:
    prod = R.TextMaker(5)
    far = R.TextMaker(6)  # another vocabulary altogether
    texts = [" ".join(prod.words(30)) for _ in range(300)]
    ledger.create_dataset("s", owner="me", context="internal", uses=["train"])
    ledger.register(
        _jsonl(tmp_path / "fp.jsonl", *texts[:150]), dataset="s", source="licensed",
        license=_license(ledger),
    )  # fmt: skip
    ledger.register(
        _jsonl(tmp_path / "sc.jsonl", *[" ".join(far.words(30)) for _ in range(150)]),
        dataset="s",
        source="scraped",
    )
    ref = _jsonl(tmp_path / "ref.jsonl", *texts[150:])
    before = ledger.audit("s")
    assert before.distribution.reference is None
    assert before.distribution.by_source["licensed"].match is None
    ledger.register(ref, dataset="s", source="scraped", split="reference")
    r = ledger.audit("s")
    d = r.distribution
    assert d.reference == "b6"
    # The reference changes no other figure.
    assert r.records == before.records == 300
    assert r.blend == before.blend and r.cost == before.cost
    profiles = {
        row[0]: [int(x) for x in profile_array(bytes(row[1]))]
        for row in ledger.store.rows("SELECT seq, counts FROM batch_profiles")
    }
    blend = [x + y for x, y in zip(profiles[4], profiles[5], strict=True)]
    assert d.by_source["licensed"].match == _naive_match(profiles[4], profiles[6])
    assert d.by_source["scraped"].match == _naive_match(profiles[5], profiles[6])
    assert d.blend.match == _naive_match(blend, profiles[6])
    assert d.by_source["synthetic"].match is None
    assert [(b.batch_id, b.match) for b in d.batches] == [
        ("b4", d.by_source["licensed"].match),
        ("b5", d.by_source["scraped"].match),
    ]
    covered = sum(q for p, q in zip(profiles[4], profiles[6], strict=True) if p)
    assert d.by_source["licensed"].coverage == round(covered / sum(profiles[6]), 4)
    # Same vocabulary against another one, 150 records of 30 words each (about 0.78 and
    # 0.62 here; the figure grows with sample size, see the docs).
    assert d.by_source["licensed"].match > d.by_source["scraped"].match + 0.1  # type: ignore[operator]
    assert d.drift is None
    # A newer reference from a third vocabulary: the blend matches it worse -> drift.
    moved = R.TextMaker(7)
    ledger.register(
        _jsonl(tmp_path / "ref2.jsonl", *[" ".join(moved.words(30)) for _ in range(150)]),
        dataset="s",
        source="scraped",
        split="reference",
    )
    d2 = ledger.audit("s")
    drift = d2.distribution.drift
    assert drift is not None and drift.drifted
    assert (drift.previous_reference, drift.newest_reference) == ("b6", "b7")
    assert "DISTRIBUTION_DRIFT" in [f.code for f in d2.findings]


def _license(ledger: Ledger) -> str:
    ledger.add_license(
        {
            "id": "corp",
            "version": 1,
            "title": "t",
            "licensor": "l",
            "grants": ["train"],
            "effective_from": "2026-01-01",
        }
    )
    return "corp@1"


# -- synthetic collapse ---------------------------------------------------------------------
def test_a_templated_synthetic_batch_collapses_and_a_diverse_one_does_not(
    ledger: Ledger, tmp_path: Path
) -> None:
    real = R.TextMaker(8)
    ledger.create_dataset("s", owner="me", context="internal", uses=["train"])
    seeds = _jsonl(tmp_path / "seed.jsonl", *[" ".join(real.words(30)) for _ in range(30)])
    ledger.register(seeds, dataset="s", source="scraped")
    templates = [" ".join(real.words(30)) for _ in range(3)]
    # 30 records from 3 templates, each with its last word swapped: 27 are near copies of
    # an earlier record -> diversity 3/30 = 0.1, below half the seeds' 1.0.
    templated = [f"{templates[i % 3]} n{i}" for i in range(30)]
    ledger.register(
        _jsonl(tmp_path / "tpl.jsonl", *templated),
        dataset="s",
        source="synthetic",
        generator="llm few templates",
        derived_from=["b3"],
    )
    ledger.register(
        _jsonl(tmp_path / "div.jsonl", *[" ".join(real.words(30)) for _ in range(30)]),
        dataset="s",
        source="synthetic",
        generator="llm varied prompts",
        derived_from=["b3"],
    )
    r = ledger.audit("s")
    by_id = {b.batch_id: b for b in r.diversity.batches}
    assert by_id["b4"].diversity == 0.1 and by_id["b4"].seeds_diversity == 1.0
    assert by_id["b4"].collapsed and by_id["b4"].records == 30
    assert by_id["b5"].diversity == 1.0 and not by_id["b5"].collapsed
    collapse = [f for f in r.findings if f.code == "SYNTHETIC_COLLAPSE"]
    assert [(f.records, f.message) for f in collapse] == [
        (
            30,
            "synthetic batch b4 has collapsed: diversity 0.10 is below 0.5 of its real seeds' "
            "1.00; regenerate it from more varied prompts or seeds",
        )
    ]
    # The report shows it: a chart of diversity per generation, the seeds' bar beside the
    # batch's, on a 0..1 scale (310 px wide plots: 0.10 -> 31.00 px, 1.00 -> 310.00 px).
    from provledger.exports.reports import to_html, to_markdown

    page = to_html(r)
    assert "<h2>Synthetic diversity per generation</h2>" in page
    assert '<rect x="150" y="10" width="310.00" height="22" fill="#7c3aed">' in page
    assert '<rect x="150" y="42" width="31.00" height="22" fill="#7c3aed">' in page
    assert "| b4 | 30 | 0.10 | 1.00 | 1.00 | yes |" in to_markdown(r)
