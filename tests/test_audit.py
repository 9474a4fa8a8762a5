"""The audit against a small ledger whose every figure is counted by hand below.

The ledger ``build_ledger`` writes (entry seq: what; batch ids are 'b' || seq):

     1  ledger created
     2  license corpus@1   grants train, evaluate; from 2025-01-01, no expiry; document hash
     3  license oldcorp@1  grants train, external_release; 2024-01-01 .. 2026-03-31; no document
     4  license newcorp@1  grants train, evaluate, external_release; 2025-01-01 .. 2026-08-31;
                           document hash
     5  consent tos@1      from 2024-01-01; permits train, evaluate; retention 365 days
     6  dataset tickets    internal; uses train, evaluate
     7  b7   scraped       train  no collected_at  cost 10   alpha, beta, alpha
     8  b8   first_party   train  tos@1 2025-03-01 cost 30   ticket one (c1), two (c2), three (c3)
     9  consent tos@2      from 2025-06-01; permits train, evaluate, external_release; no
                           retention; version 1: reconsent_required
    10  tickets -> regulated; uses train, external_release
    11  b11  first_party   train  tos@2 2025-07-01 cost 30   ticket four (c1), five (c4), six (c5)
    12  b12  first_party   test   tos@2 2025-08-01 cost 20   ticket six (c6), seven (c7), four (c8)
    13  b13  licensed      train  corpus@1  2025-06-01 cost 100  lic one, lic two
    14  b14  licensed      train  oldcorp@1 2025-01-15 cost 50   old one, old two
    15  b15  licensed      validation newcorp@1 2026-02-01 cost 40  new one
    16  b16  synthetic     train  from b11  2026-03-01 cost 5    syn one, syn two
    17  b17  synthetic     train  from b16  2026-03-02 cost 5    syn three, syn four
    18  b18  synthetic     train  no parent 2026-03-03 no cost   syn five
    19  erasure DSR-1 of subject c1: b8 ord 0 (ticket one) and b11 ord 0 (ticket four)

Every batch but b7 and the synthetic ones has an origin. The audit date is pinned to
2026-06-30 unless a test says otherwise.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from provledger import vocabulary
from provledger.audit import (
    SEVERITY_OF,
    SOURCES,
    AuditReport,
    Evidence,
    audit,
    classify,
    parse_as_of,
)
from provledger.errors import InputError, NotFound
from provledger.ingest.hashing import content_hash, subject_hash
from provledger.ledger import Ledger

AUDIT_DATE = date(2026, 6, 30)
DOC_A = "a" * 64
DOC_B = "b" * 64


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _texts(path: Path, *texts: str) -> Path:
    return _jsonl(path, [{"text": t} for t in texts])


def _tickets(path: Path, *rows: tuple[str, str]) -> Path:
    return _jsonl(path, [{"text": t, "customer_id": c} for t, c in rows])


def erase_raw(led: Ledger, subject: str, request_ref: str) -> int:
    """An erasure written as the lineage module records one: an 'erasure-requested' entry,
    its erasures row and one erased_records row per record of the subject."""
    digest = subject_hash(led.subject_key, subject)
    store = led.store
    found = store.rows(
        "SELECT batch_seq, ord, record_hash FROM records WHERE subject_hash = ? "
        "ORDER BY batch_seq, ord",
        [digest],
    )
    with store.appending(led.signer) as app:
        for batch_seq, ord_, record_hash in found:
            store.execute(
                "INSERT INTO erased_records VALUES (?, ?, ?, ?)",
                [app.seq, batch_seq, ord_, record_hash],
            )
        store.execute(
            "INSERT INTO erasures VALUES (?, ?, ?, ?)", [app.seq, request_ref, digest, len(found)]
        )
        app.write_entry(
            "erasure-requested",
            {"request_ref": request_ref, "subject_hash": digest.hex(), "records": len(found)},
        )
    led._after_append()
    return len(found)


def build_ledger(home: Path, files: Path) -> None:
    """Write the ledger of the module docstring into ``home``."""
    files.mkdir(parents=True, exist_ok=True)
    with Ledger.init(home) as led:
        lic = {"title": "t", "licensor": "l", "spdx": None}
        led.add_license(
            {
                **lic,
                "id": "corpus",
                "version": 1,
                "grants": ["train", "evaluate"],
                "effective_from": "2025-01-01",
                "expires_on": None,
                "document_sha256": DOC_A,
            }
        )
        led.add_license(
            {
                **lic,
                "id": "oldcorp",
                "version": 1,
                "grants": ["train", "external_release"],
                "effective_from": "2024-01-01",
                "expires_on": "2026-03-31",
                "document_sha256": None,
            }
        )
        led.add_license(
            {
                **lic,
                "id": "newcorp",
                "version": 1,
                "grants": ["train", "evaluate", "external_release"],
                "effective_from": "2025-01-01",
                "expires_on": "2026-08-31",
                "document_sha256": DOC_B,
            }
        )
        led.add_consent(
            {
                "policy": "tos",
                "version": 1,
                "effective_from": "2024-01-01",
                "permits": ["train", "evaluate"],
                "retention_days": 365,
                "prior_versions": {},
            }
        )
        led.create_dataset(
            "tickets", owner="Support ML", context="internal", uses=["train", "evaluate"]
        )

        def reg(name: str, path: Path, **spec: Any) -> str:
            result = led.register(path, dataset="tickets", **spec)
            assert result.batch_id == name
            return result.batch_id

        reg(
            "b7",
            _texts(files / "b7.jsonl", "alpha", "beta", "alpha"),
            source="scraped",
            origin="https://forum.example/",
            cost=10.0,
        )
        first_party = {"source": "first_party", "subject_field": "customer_id"}
        reg(
            "b8",
            _tickets(
                files / "b8.jsonl",
                ("ticket one", "c1"),
                ("ticket two", "c2"),
                ("ticket three", "c3"),
            ),
            consent="tos@1",
            origin="helpdesk://2025-q1",
            collected_at="2025-03-01",
            cost=30.0,
            **first_party,
        )
        led.add_consent(
            {
                "policy": "tos",
                "version": 2,
                "effective_from": "2025-06-01",
                "permits": ["train", "evaluate", "external_release"],
                "retention_days": None,
                "prior_versions": {"1": "reconsent_required"},
            }
        )
        led.set_context("tickets", context="regulated", uses=["train", "external_release"])
        reg(
            "b11",
            _tickets(
                files / "b11.jsonl",
                ("ticket four", "c1"),
                ("ticket five", "c4"),
                ("ticket six", "c5"),
            ),
            consent="tos@2",
            origin="helpdesk://2025-07",
            collected_at="2025-07-01",
            cost=30.0,
            **first_party,
        )
        reg(
            "b12",
            _tickets(
                files / "b12.jsonl",
                ("ticket six", "c6"),
                ("ticket seven", "c7"),
                ("ticket four", "c8"),
            ),
            consent="tos@2",
            origin="helpdesk://2025-08",
            collected_at="2025-08-01",
            split="test",
            cost=20.0,
            **first_party,
        )
        reg(
            "b13",
            _texts(files / "b13.jsonl", "lic one", "lic two"),
            source="licensed",
            license="corpus@1",
            origin="vendor://corpus",
            collected_at="2025-06-01",
            cost=100.0,
        )
        reg(
            "b14",
            _texts(files / "b14.jsonl", "old one", "old two"),
            source="licensed",
            license="oldcorp@1",
            origin="vendor://oldcorp",
            collected_at="2025-01-15",
            cost=50.0,
        )
        reg(
            "b15",
            _texts(files / "b15.jsonl", "new one"),
            source="licensed",
            license="newcorp@1",
            origin="vendor://newcorp",
            collected_at="2026-02-01",
            split="validation",
            cost=40.0,
        )
        synthetic = {"source": "synthetic", "generator": "sim 1.0"}
        reg(
            "b16",
            _texts(files / "b16.jsonl", "syn one", "syn two"),
            derived_from=["b11"],
            collected_at="2026-03-01",
            cost=5.0,
            **synthetic,
        )
        reg(
            "b17",
            _texts(files / "b17.jsonl", "syn three", "syn four"),
            derived_from=["b16"],
            collected_at="2026-03-02",
            cost=5.0,
            **synthetic,
        )
        reg(
            "b18",
            _texts(files / "b18.jsonl", "syn five"),
            collected_at="2026-03-03",
            **synthetic,
        )
        assert erase_raw(led, "c1", "DSR-1") == 2
        assert led.store.entry_count() == 19


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ledger, built once per module; tests get a copy."""
    root = tmp_path_factory.mktemp("audit")
    build_ledger(root / "home", root / "files")
    return root / "home"


@pytest.fixture
def tickets(built: Path, home: Path) -> Path:
    """A fresh copy of the built ledger in this test's ledger home."""
    shutil.copytree(built, home)
    return home


def _audit(home: Path, as_of: str | None = None, today: date | None = AUDIT_DATE) -> AuditReport:
    with Ledger.open(home, read_only=True) as led:
        return audit(led.store, "tickets", as_of, today=today)


def _recorded_at(home: Path, seq: int) -> str:
    with Ledger.open(home, read_only=True) as led:
        return next(e.recorded_at for e in led.entries() if e.seq == seq)


# -- the hand-counted figures --------------------------------------------------------------
def test_every_figure(tickets: Path) -> None:
    r = _audit(tickets).as_dict()
    assert r["dataset"] == "tickets"
    assert r["seq"] == 19
    assert r["audit_date"] == "2026-06-30"

    # Active records per batch (registered minus erased): b7 3, b8 3-1=2, b11 3-1=2, b12 3,
    # b13 2, b14 2, b15 1, b16 2, b17 2, b18 1 -> 20 of the 22 registered.
    assert r["records"] == 20
    # scraped b7 = 3 (3/20); licensed b13+b14+b15 = 2+2+1 = 5; first_party b8+b11+b12 =
    # 2+2+3 = 7; synthetic b16+b17+b18 = 2+2+1 = 5.
    assert r["blend"] == {
        "scraped": {"records": 3, "share": 0.15, "batches": 1},
        "licensed": {"records": 5, "share": 0.25, "batches": 3},
        "first_party": {"records": 7, "share": 0.35, "batches": 3},
        "synthetic": {"records": 5, "share": 0.25, "batches": 3},
    }

    # provable: b8 (tos@1 in force 2025-03-01: v2 only from 2025-06-01) 2, b11 2, b12 3
    # (tos@2 in force), b13 2 (corpus@1 has its document, in force), b15 1 (newcorp@1
    # document, 2026-02-01 inside 2025-01-01..2026-08-31), b16 2 and b17 2 (seed b11,
    # provable) = 14. documented: b14 2 (oldcorp@1 has no document; origin and date
    # recorded). unknown: b7 3 (no collection time), b18 1 (no parent) = 4.
    # certainty = (14 * 1 + 2 * 0.5 + 4 * 0) / 20 = 0.75.
    prov = r["provenance"]
    assert prov["levels"] == {"provable": 14, "documented": 2, "unknown": 4}
    assert prov["certainty"] == 0.75
    assert [(b["batch_id"], b["level"], b["records"]) for b in prov["batches"]] == [
        ("b7", "unknown", 3),
        ("b8", "provable", 2),
        ("b11", "provable", 2),
        ("b12", "provable", 3),
        ("b13", "provable", 2),
        ("b14", "documented", 2),
        ("b15", "provable", 1),
        ("b16", "provable", 2),
        ("b17", "provable", 2),
        ("b18", "unknown", 1),
    ]
    reasons = {b["batch_id"]: b["reason"] for b in prov["batches"]}
    assert reasons["b7"] == "no collection time recorded"
    assert reasons["b8"] == "consent tos@1 in force when collected on 2025-03-01"
    assert reasons["b13"] == (
        "license corpus@1: contract document hash recorded, in force when collected on 2025-06-01"
    )
    assert reasons["b14"] == (
        "origin and collection time recorded; license oldcorp@1 has no contract document hash"
    )
    assert reasons["b17"] == "synthetic; weakest of its real seed batches: b11 (provable)"
    assert reasons["b18"] == "synthetic with no parent batch: anchored to no real data"

    # tos@1 (b8, 2 active): superseded by tos@2, which says reconsent_required; permits no
    # external_release; 2025-03-01 + 365 days = 2026-03-01 < 2026-06-30 -> all 2
    # noncompliant. tos@2 (b11 2 + b12 3 = 5): current, permits both uses, no retention.
    assert r["consent"] == {
        "records": 7,
        "current": 5,
        "superseded": 2,
        "noncompliant": 2,
        "by_version": {
            "tos@1": {
                "records": 2,
                "status": "superseded",
                "latest": "tos@2",
                "fate": "reconsent_required",
                "missing_uses": ["external_release"],
                "retention_days": 365,
                "retention_exceeded": 2,
                "noncompliant": 2,
                "batches": ["b8"],
            },
            "tos@2": {
                "records": 5,
                "status": "current",
                "latest": "tos@2",
                "fate": None,
                "missing_uses": [],
                "retention_days": None,
                "retention_exceeded": 0,
                "noncompliant": 0,
                "batches": ["b11", "b12"],
            },
        },
    }

    # Uses are train, external_release. corpus@1 lacks external_release (b13, 2 records);
    # oldcorp@1 expired 2026-03-31 < 2026-06-30 (b14, 2); newcorp@1 grants both, expires
    # 2026-08-31 (not yet).
    assert r["licenses"]["violations"] == [
        {
            "license": "corpus@1",
            "missing_uses": ["external_release"],
            "records": 2,
            "batches": ["b13"],
        }
    ]
    assert r["licenses"]["expired"] == [
        {"license": "oldcorp@1", "expires_on": "2026-03-31", "records": 2, "batches": ["b14"]}
    ]
    assert [(u["license"], u["records"], u["document"]) for u in r["licenses"]["used"]] == [
        ("corpus@1", 2, True),
        ("newcorp@1", 1, True),
        ("oldcorp@1", 2, False),
    ]

    # b16 from real b11: depth 1; b17 from synthetic b16: depth 2; b18 names no parent.
    assert r["synthetic"] == {
        "records": 5,
        "share": 0.25,
        "unanchored_batches": ["b18"],
        "max_generation_depth": 2,
        "batches": [
            {"batch_id": "b16", "records": 2, "depth": 1, "seeds": ["b11"], "anchored": True},
            {"batch_id": "b17", "records": 2, "depth": 2, "seeds": ["b11"], "anchored": True},
            {"batch_id": "b18", "records": 1, "depth": 1, "seeds": [], "anchored": False},
        ],
    }

    # Active contents: alpha x2, beta (b7); ticket two, three (b8); ticket five, six (b11);
    # ticket six, seven, four (b12); lic one, two; old one, two; new one; syn one..five:
    # 20 records, 18 distinct -> 2 duplicates (alpha, ticket six). Test/validation records
    # whose content is in train: b12 "ticket six" (b11). Not b12 "ticket four": its train
    # copy in b11 was erased. Not b15 "new one". -> 1.
    exact = {k: r["contamination"][k] for k in ("cross_split_records", "duplicate_records")}
    assert exact == {"cross_split_records": 1, "duplicate_records": 2}
    # Short texts (under five words) are near copies only of exact copies: the same one.
    assert r["contamination"]["near_cross_split_records"] == 1

    # Context set at seq 10 (internal -> regulated); registered after it: b11..b18 =
    # 2+3+2+2+1+2+2+1 = 15 active records.
    stakes = r["stakes"]
    assert stakes["context"] == "regulated"
    assert stakes["uses"] == ["train", "external_release"]
    assert stakes["owner"] == "Support ML"
    assert stakes["context_set_seq"] == 10
    assert stakes["previous_context"] == "internal"
    assert stakes["previous_uses"] == ["train", "evaluate"]
    assert stakes["scraped_records"] == 3
    assert stakes["since_context_set"] == {
        "batches": ["b11", "b12", "b13", "b14", "b15", "b16", "b17", "b18"],
        "records": 15,
    }

    # Newest collection per source and its age at 2026-06-30: scraped none (b7 has no
    # date); licensed 2026-02-01 (28+31+30+31+29 = 149 days); first_party 2025-08-01
    # (365 - 32 = 333 days, as 2026-08-01 is 32 days after 2026-06-30); synthetic
    # 2026-03-03 (31+30+31+27 = 119 days).
    assert r["cadence"] == {
        "scraped": {"newest_collected_at": None, "age_days": None},
        "licensed": {"newest_collected_at": "2026-02-01T00:00:00", "age_days": 149},
        "first_party": {"newest_collected_at": "2025-08-01T00:00:00", "age_days": 333},
        "synthetic": {"newest_collected_at": "2026-03-03T00:00:00", "age_days": 119},
    }

    # Cost / active records: scraped 10 / 3; licensed (100+50+40) / 5 = 38; first_party
    # (30+30+20) / 7; synthetic (5+5) / 5 = 2, with b18 uncosted.
    assert r["cost"] == {
        "scraped": {
            "cost": 10.0,
            "usable_records": 3,
            "cost_per_usable_record": 3.333333,
            "uncosted_batches": 0,
        },
        "licensed": {
            "cost": 190.0,
            "usable_records": 5,
            "cost_per_usable_record": 38.0,
            "uncosted_batches": 0,
        },
        "first_party": {
            "cost": 80.0,
            "usable_records": 7,
            "cost_per_usable_record": 11.428571,
            "uncosted_batches": 0,
        },
        "synthetic": {
            "cost": 10.0,
            "usable_records": 5,
            "cost_per_usable_record": 2.0,
            "uncosted_batches": 1,
        },
    }

    # One request (seq 19) erased b8 ord 0 and b11 ord 0.
    assert r["erasure"] == {
        "requests": 1,
        "erased_records": 2,
        "request_refs": ["DSR-1"],
        "rebuild": [
            {"batch_id": "b8", "erased_records": 1},
            {"batch_id": "b11", "erased_records": 1},
        ],
    }

    # One finding per code, high -> medium -> low.
    assert [(f["severity"], f["code"], f["records"]) for f in r["findings"]] == [
        ("high", "SCRAPED_IN_REGULATED", 3),
        # b7 is scraped (channel own_crawl by default) with no opt-out evidence: 3 records.
        ("high", "CRAWL_OPTOUT_MISSING", 3),
        ("high", "LICENSE_SCOPE", 2),
        ("high", "LICENSE_EXPIRED", 2),
        ("high", "CONSENT_NONCOMPLIANT", 2),
        ("high", "ERASURE_PENDING", 2),
        ("medium", "CONSENT_DRIFT", 2),
        ("medium", "SYNTHETIC_UNANCHORED", 1),
        ("medium", "CONTAMINATION", 1),
        ("low", "SYNTHETIC_DEPTH", 2),
        ("low", "DUPLICATES", 2),
    ]
    messages = {f["code"]: f["message"] for f in r["findings"]}
    assert messages["SCRAPED_IN_REGULATED"] == (
        "3 scraped records (15% of the dataset) in a regulated dataset: scraped data carries "
        "no rights evidence an auditor can check"
    )
    assert messages["CRAWL_OPTOUT_MISSING"] == (
        "3 crawled records in batch b7 carry no evidence that robots.txt, TDMRep or "
        "AI-preference opt-outs were checked at collection: register crawls with --crawler "
        "and --opt-out"
    )
    assert r["crawl_opt_out"] == {
        "crawl_batches": ["b7"],
        "without_evidence": ["b7"],
        "records_without_evidence": 3,
        "reserved": [],
        "matters": True,
    }
    assert messages["CONSENT_NONCOMPLIANT"] == (
        "2 first-party records without valid consent for this dataset: tos@1: 2 "
        "(reconsent_required by tos@2; does not permit external_release; 2 older than its "
        "365-day retention)"
    )
    assert messages["ERASURE_PENDING"] == (
        "2 records erased by 1 request (DSR-1) still sit in the files of batches b8 (1), "
        "b11 (1): rebuild them without those records, register the rebuilt files, and "
        "retrain what used them"
    )
    assert messages["LICENSE_SCOPE"] == (
        "license corpus@1 does not grant external_release, which the dataset is meant for: "
        "2 records in batch b13"
    )

    # Regulated: the first rule fits. Triggers: the context changed after b7, b8 were
    # registered; tos gained v2 (seq 9) after b8 (seq 8) was registered under v1;
    # newcorp@1 expires 2026-08-31, 62 days after the audit date.
    recs = r["recommendations"]
    assert [(x["kind"], x["code"]) for x in recs] == [
        ("decision", "LEAD_WITH_PROVABLE"),
        ("revisit", "STAKES_CHANGED"),
        ("revisit", "CONSENT_VERSION_ADDED"),
        ("revisit", "LICENSE_EXPIRING"),
    ]
    assert recs[0]["message"] == (
        "regulated or liable output (context regulated; uses external_release): lead with "
        "licensed or first-party data whose provenance is provable (now 70% of records); do "
        "not start from scraped data you cannot audit (now 15%)"
    )
    assert recs[1]["message"] == (
        "the stakes changed at seq 10 (context internal -> regulated; uses train, evaluate -> "
        "train, external_release): 2 batches were chosen under the old stakes; re-check the "
        "blend against the new context"
    )
    assert recs[2]["message"].startswith("consent policy tos gained version 2 (20") and recs[2][
        "message"
    ].endswith(
        "after batch b8 (2 records) was registered under an earlier version: apply its "
        "fates and re-consent where required"
    )
    assert recs[3]["message"] == (
        "license newcorp@1 expires on 2026-08-31 (within 90 days): renew it or plan to "
        "replace 1 record"
    )


def test_design_keys_are_present(tickets: Path) -> None:
    r = _audit(tickets).as_dict()
    top = {"dataset", "as_of", "records", "blend", "provenance", "consent", "licenses"}
    top |= {"synthetic", "contamination", "erasure", "cadence", "cost", "findings"}
    assert top <= r.keys()
    assert list(r["blend"]) == list(SOURCES)
    assert list(r["cadence"]) == list(SOURCES)
    assert list(r["cost"]) == list(SOURCES)
    assert {"certainty", "levels"} <= r["provenance"].keys()
    assert {"records", "current", "superseded", "noncompliant", "by_version"} <= r["consent"].keys()
    assert {"violations", "expired"} <= r["licenses"].keys()
    assert {"records", "share", "unanchored_batches", "max_generation_depth"} <= r[
        "synthetic"
    ].keys()
    assert {"requests", "erased_records"} <= r["erasure"].keys()
    for f in r["findings"]:
        assert set(f) == {"severity", "code", "message", "records"}
    # Every code is exercised, but those of near-duplicates, distribution and collapse
    # (tests/test_similarity.py exercises them).
    later = {"NEAR_DUPLICATE_CONTAMINATION", "DISTRIBUTION_DRIFT", "SYNTHETIC_COLLAPSE"}
    assert set(SEVERITY_OF) - later == {f["code"] for f in r["findings"]}


def test_sources_match_the_vocabulary() -> None:
    assert vocabulary.SOURCES == SOURCES


# -- as of a point in the log ---------------------------------------------------------------
def test_as_of_before_and_after_a_consent_version(tickets: Path) -> None:
    # Just before tos@2 (seq 9): b7 and b8 exist, tos@1 is the latest version, the dataset
    # is internal with uses train, evaluate (both permitted by tos@1). The audit date is
    # the as-of date (today), long after 2025-03-01 + 365 days: b8's 3 records are past
    # retention, so noncompliant, but none is superseded.
    before = _audit(tickets, as_of=_recorded_at(tickets, 8))
    assert before.seq == 8
    assert before.records == 6
    assert before.stakes.context == "internal"
    c = before.consent.model_dump()
    assert (c["records"], c["current"], c["superseded"], c["noncompliant"]) == (3, 3, 0, 3)
    assert c["by_version"]["tos@1"]["status"] == "current"
    assert c["by_version"]["tos@1"]["latest"] == "tos@1"
    assert c["by_version"]["tos@1"]["fate"] is None
    assert c["by_version"]["tos@1"]["missing_uses"] == []
    assert "CONSENT_DRIFT" not in [f.code for f in before.findings]
    assert "CONSENT_VERSION_ADDED" not in [x.code for x in before.recommendations]

    # At tos@2 (seq 9): the same 3 records are now under a superseded version whose fate is
    # reconsent_required; CONSENT_DRIFT appears, and so does the revisit trigger.
    after = _audit(tickets, as_of=_recorded_at(tickets, 9))
    assert after.seq == 9
    c = after.consent.model_dump()
    assert (c["records"], c["current"], c["superseded"], c["noncompliant"]) == (3, 0, 3, 3)
    assert c["by_version"]["tos@1"]["status"] == "superseded"
    assert c["by_version"]["tos@1"]["latest"] == "tos@2"
    assert c["by_version"]["tos@1"]["fate"] == "reconsent_required"
    drift = [f for f in after.findings if f.code == "CONSENT_DRIFT"]
    assert [(f.severity, f.records) for f in drift] == [("medium", 3)]
    assert "CONSENT_VERSION_ADDED" in [x.code for x in after.recommendations]
    # Registered at seq 8, b8's consent evidence stays provable: tos@1 was in force when
    # the records were collected, whatever came later.
    assert after.provenance.levels["provable"] == 3


def test_as_of_before_the_erasure_counts_every_record(tickets: Path) -> None:
    # At seq 18 nothing is erased: 22 records; distinct contents 18 + "ticket one" = 19 ->
    # 3 duplicates (alpha, ticket six, ticket four); b12's "ticket four" and "ticket six"
    # both have a train copy -> 2 cross-split.
    r = _audit(tickets, as_of=_recorded_at(tickets, 18))
    assert r.seq == 18
    assert r.records == 22
    assert r.contamination.cross_split_records == 2
    assert r.contamination.duplicate_records == 3
    assert r.contamination.near_cross_split_records == 2
    assert r.erasure.model_dump() == {
        "requests": 0,
        "erased_records": 0,
        "request_refs": [],
        "rebuild": [],
    }
    assert "ERASURE_PENDING" not in [f.code for f in r.findings]


def test_as_of_date_and_future(tickets: Path) -> None:
    # A bare date is its midnight UTC; a date after every entry sees the whole log and
    # measures age, retention and expiry at that date.
    r = _audit(tickets, as_of="2099-01-01")
    assert r.seq == 19
    assert r.as_of == "2099-01-01T00:00:00.000000Z"
    assert r.audit_date == "2099-01-01"
    assert [e.license for e in r.licenses.expired] == ["newcorp@1", "oldcorp@1"]
    assert "LICENSE_EXPIRING" not in [x.code for x in r.recommendations]


def test_as_of_before_the_dataset_existed(tickets: Path) -> None:
    with pytest.raises(NotFound) as err:
        _audit(tickets, as_of=_recorded_at(tickets, 5))
    assert str(err.value).startswith(
        f"dataset 'tickets' did not exist as of {_recorded_at(tickets, 5)} (created "
    )


def test_parse_as_of() -> None:
    assert parse_as_of("2026-03-01").isoformat() == "2026-03-01T00:00:00+00:00"
    assert parse_as_of("2026-03-01T12:00:00+02:00").isoformat() == "2026-03-01T10:00:00+00:00"
    assert parse_as_of("2026-03-01T12:00:00Z").isoformat() == "2026-03-01T12:00:00+00:00"
    with pytest.raises(InputError) as err:
        parse_as_of("yesterday")
    assert str(err.value) == (
        "--as-of 'yesterday' is not an ISO-8601 date or time (e.g. 2026-03-01 or "
        "2026-03-01T12:00:00Z)"
    )


# -- errors ---------------------------------------------------------------------------------
def test_unknown_dataset(tickets: Path) -> None:
    with Ledger.open(tickets, read_only=True) as led, pytest.raises(NotFound) as err:
        led.audit("nope")
    assert str(err.value) == "unknown dataset 'nope' ('provledger dataset list' shows them)"


def test_dataset_without_batches(ledger: Ledger) -> None:
    ledger.create_dataset("empty", owner="me", context="internal", uses=["train"])
    with pytest.raises(NotFound) as err:
        ledger.audit("empty")
    assert str(err.value) == (
        "dataset 'empty' has no batches to audit: register one with "
        "'provledger register FILE --dataset empty --source SOURCE'"
    )


# -- the provenance rule, case by case ------------------------------------------------------
def _ev(**fields: Any) -> Evidence:
    base: dict[str, Any] = {
        "batch_id": "b1",
        "source": "licensed",
        "origin": "o",
        "collected_at": None,
        "license": None,
        "license_document": False,
        "license_from": None,
        "license_until": None,
        "consent": None,
        "consent_from": None,
        "superseded_by": None,
    }
    return Evidence(**(base | fields))


def test_classify_license_window() -> None:
    from datetime import datetime

    when = datetime(2025, 6, 1)
    lic = {
        "license": "x@1",
        "license_document": True,
        "license_from": date(2025, 1, 1),
        "license_until": date(2025, 12, 31),
        "collected_at": when,
    }
    assert classify(_ev(**lic))[0] == "provable"
    assert classify(_ev(**lic | {"license_until": date(2025, 6, 1)}))[0] == "provable"
    assert classify(_ev(**lic | {"license_until": date(2025, 5, 31)})) == (
        "documented",
        "origin and collection time recorded; license x@1 expired 2025-05-31, before collection",
    )
    assert classify(_ev(**lic | {"license_from": date(2025, 6, 2)})) == (
        "documented",
        "origin and collection time recorded; license x@1 took effect 2025-06-02, after collection",
    )
    assert classify(_ev(**lic | {"origin": None, "license_document": False})) == (
        "unknown",
        "no origin recorded; license x@1 has no contract document hash",
    )
    assert classify(_ev(**lic | {"collected_at": None})) == (
        "unknown",
        "no collection time recorded; license x@1 cannot be checked: no collection time",
    )


def test_classify_consent_superseded_at_collection() -> None:
    from datetime import datetime

    ev = _ev(
        source="first_party",
        consent="tos@1",
        consent_from=date(2024, 1, 1),
        collected_at=datetime(2025, 7, 1),
        superseded_by=2,
    )
    assert classify(ev) == (
        "documented",
        "origin and collection time recorded; consent tos@1 was already superseded by tos@2 "
        "when collected on 2025-07-01",
    )
    assert classify(_ev(source="scraped", origin=None)) == (
        "unknown",
        "no origin and no collection time recorded",
    )


def test_synthetic_from_synthetic_without_seed_is_unanchored(
    ledger: Ledger, tmp_path: Path
) -> None:
    # b3 names no parent; b4 is generated from b3 only: no real data anywhere above it.
    ledger.create_dataset("s", owner="me", context="internal", uses=["train"])
    ledger.register(
        _texts(tmp_path / "a.jsonl", "x"), dataset="s", source="synthetic", generator="g"
    )
    ledger.register(
        _texts(tmp_path / "b.jsonl", "y"),
        dataset="s",
        source="synthetic",
        generator="g",
        derived_from=["b3"],
    )
    r = ledger.audit("s")
    assert r.synthetic.unanchored_batches == ["b3", "b4"]
    assert r.synthetic.max_generation_depth == 2
    assert [b.level for b in r.provenance.batches] == ["unknown", "unknown"]
    assert r.provenance.batches[1].reason == (
        "synthetic descending only from synthetic batches with no parent (b3): anchored to "
        "no real data"
    )
    # No scraped data and internal: the fourth rule (synthetic) fits.
    assert r.recommendations[0].code == "ANCHOR_SYNTHETIC"


def test_decision_rules_in_order(ledger: Ledger, tmp_path: Path) -> None:
    ledger.create_dataset("d", owner="me", context="internal", uses=["train"])
    ledger.register(_texts(tmp_path / "a.jsonl", "x"), dataset="d", source="scraped")
    assert ledger.audit("d").recommendations[0].code == "CRAWL_AND_CLEAN"
    ledger.set_context("d", context="internal", uses=["train", "commercial"])
    assert ledger.audit("d").recommendations[0].code == "INSTRUMENT_FIRST_PARTY"
    ledger.set_context("d", context="customer_facing")
    assert ledger.audit("d").recommendations[0].code == "LEAD_WITH_PROVABLE"


# -- the command line -----------------------------------------------------------------------
def _figures(doc: dict[str, Any]) -> dict[str, Any]:
    # as_of is the moment of the run; checked is what the CLI's pre-check established
    return {k: v for k, v in doc.items() if k not in ("as_of", "checked")}


def test_cli_json_matches_the_library(tickets: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("audit", "tickets", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    expected = _audit(tickets, today=None).as_dict()
    assert _figures(doc) == _figures(expected)
    shorthand = cli("audit", "tickets", "--json")
    assert _figures(json.loads(shorthand.stdout)) == _figures(doc)


def test_cli_each_format_renders(tickets: Path, cli) -> None:  # type: ignore[no-untyped-def]
    table = cli("audit", "tickets")
    assert table.exit_code == 0
    assert table.stdout.startswith("Audit: tickets\n")
    for word in ("Findings", "ERASURE_PENDING", "Blend", "Consent drift", "Cadence and cost"):
        assert word in table.stdout
    md = cli("audit", "tickets", "--format", "markdown")
    assert md.exit_code == 0
    assert md.stdout.startswith("# Audit: tickets\n")
    assert "| high | SCRAPED_IN_REGULATED | 3 |" in md.stdout
    page = cli("audit", "tickets", "--format", "html")
    assert page.exit_code == 0
    assert page.stdout.startswith("<!DOCTYPE html>")
    assert page.stdout.count("<svg") == 5  # four charts and synthetic diversity


def test_cli_output_file(tickets: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "audit.html"
    result = cli("audit", "tickets", "--format", "html", "--output", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"Wrote the html audit of tickets to {out}\n"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    text = tmp_path / "audit.txt"
    assert cli("audit", "tickets", "-o", str(text)).exit_code == 0
    assert text.read_text(encoding="utf-8").startswith("Audit: tickets\n")


def test_cli_output_unwritable(tickets: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "missing" / "audit.json"
    result = cli("audit", "tickets", "--json", "--output", str(out))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {out}: No such file or directory\n"


def test_cli_fail_on(tickets: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # At 2099-01-01 both oldcorp@1 and newcorp@1 have expired: two LICENSE_EXPIRED findings,
    # and the crawl without opt-out evidence: seven high ones (a date in the future keeps the
    # test independent of today).
    args = ("audit", "tickets", "--json", "--as-of", "2099-01-01")
    result = cli(*args, "--fail-on", "high")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["dataset"] == "tickets"  # the report is still printed
    assert result.stderr == (
        "Failing: 7 findings at or above high (SCRAPED_IN_REGULATED, CRAWL_OPTOUT_MISSING, "
        "LICENSE_SCOPE, LICENSE_EXPIRED, CONSENT_NONCOMPLIANT, ERASURE_PENDING)\n"
    )
    assert cli(*args, "--fail-on", "low").exit_code == 3
    assert cli(*args).exit_code == 0


def test_cli_fail_on_passes_when_clean(ledger: Ledger, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger.create_dataset("clean", owner="me", context="internal", uses=["train"])
    ledger.register(_texts(tmp_path / "a.jsonl", "x", "y"), dataset="clean", source="scraped")
    ledger.close()
    result = cli("audit", "clean", "--json", "--fail-on", "low")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["findings"] == []


def test_cli_as_of(tickets: Path, cli) -> None:  # type: ignore[no-untyped-def]
    when = _recorded_at(tickets, 8)
    doc = json.loads(cli("audit", "tickets", "--json", "--as-of", when).stdout)
    assert (doc["seq"], doc["records"], doc["consent"]["superseded"]) == (8, 6, 0)
    bad = cli("audit", "tickets", "--as-of", "yesterday")
    assert bad.exit_code == 1
    assert bad.stderr == (
        "Error: --as-of 'yesterday' is not an ISO-8601 date or time (e.g. 2026-03-01 or "
        "2026-03-01T12:00:00Z)\n"
    )


def test_cli_errors(tickets: Path, cli) -> None:  # type: ignore[no-untyped-def]
    unknown = cli("audit", "nope")
    assert unknown.exit_code == 1
    assert (
        unknown.stderr == "Error: unknown dataset 'nope' ('provledger dataset list' shows them)\n"
    )
    assert cli("audit", "tickets", "--format", "pdf").exit_code == 2
    assert cli("audit", "tickets", "--fail-on", "critical").exit_code == 2


def test_contamination_matches_a_naive_count_at_every_cut(tickets: Path) -> None:
    # Reference: count in Python from the raw rows, as of every entry from the first batch
    # on (before and after the erasure), against the CONTAMINATION query at that cut.
    from collections import Counter

    from provledger.audit import CONTAMINATION

    with Ledger.open(tickets, read_only=True) as led:
        rows = led.store.rows(
            "SELECT b.seq, b.split, r.ord, r.content_hash FROM records r "
            "JOIN batches b ON b.seq = r.batch_seq WHERE b.dataset = 'tickets'"
        )
        erased = led.store.rows("SELECT seq, batch_seq, ord FROM erased_records")
        for cut in range(7, 20):
            gone = {(b, o) for s, b, o in erased if s <= cut}
            active = [
                (split, content)
                for seq, split, ord_, content in rows
                if seq <= cut and (seq, ord_) not in gone
            ]
            counts = Counter(content for _, content in active)
            train = {content for split, content in active if split == "train"}
            expected = {
                "duplicate_records": sum(n - 1 for n in counts.values()),
                "cross_split_records": sum(
                    1 for split, content in active if split != "train" and content in train
                ),
            }
            got = led.store.dicts(CONTAMINATION, {"dataset": "tickets", "cut": cut})[0]
            assert {k: int(v) for k, v in got.items()} == expected, cut


def _colliding_texts() -> tuple[str, str]:
    """Two texts with different content hashes whose 32-bit grouping keys (the top half of
    DuckDB's hash of the content hash, as CONTAMINATION computes it) are equal. A birthday
    search: 300k candidates give about ten such pairs."""
    import duckdb
    import pyarrow as pa

    texts = [f"collision probe {i}" for i in range(300_000)]
    probes = pa.table({"i": range(len(texts)), "h": [content_hash(t) for t in texts]})
    con = duckdb.connect()
    con.register("probes", probes)
    pair = con.execute(
        "SELECT min(i), max(i) FROM probes GROUP BY (hash(h) >> 32)::UINTEGER "
        "HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
    ).fetchall()
    con.close()
    assert pair, "no 32-bit key collision among the probes"
    return texts[pair[0][0]], texts[pair[0][1]]


def test_contamination_is_exact_when_grouping_keys_collide(ledger: Ledger, tmp_path: Path) -> None:
    # The two probe texts share a grouping key but not their content: neither a duplicate
    # nor a cross-split leak. "twice" twice in train is one duplicate; "leak" in train and
    # test is one duplicate and one cross-split record.
    one, other = _colliding_texts()
    assert content_hash(one) != content_hash(other)
    ledger.create_dataset("c", owner="me", context="internal", uses=["train"])
    ledger.register(
        _texts(tmp_path / "train.jsonl", one, "twice", "twice", "leak"),
        dataset="c",
        source="scraped",
    )
    ledger.register(
        _texts(tmp_path / "test.jsonl", other, "leak"), dataset="c", source="scraped", split="test"
    )
    r = ledger.audit("c")
    assert r.contamination.cross_split_records == 1
    assert r.contamination.duplicate_records == 2
