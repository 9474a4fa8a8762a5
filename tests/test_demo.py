"""The worked example: the committed sample is what its generator writes, its manifests
are valid, and the demo's audit shows exactly the figures sample_datasets/README.md states."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from provledger.demo import SAMPLE_DIR, DemoResult, load_plan, run_demo

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MANIFESTS = {
    "license.json": "license",
    "consent-v1.json": "consent",
    "consent-v2.json": "consent",
    "dataset.json": "dataset",
}


def readme_figures() -> dict[str, Any]:
    """The fenced JSON block after '<!-- expected-figures -->' in the sample README."""
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- expected-figures -->\s*```json\n(.*?)\n```", text, re.DOTALL)
    assert match, "sample_datasets/README.md has no expected-figures block"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo") / "home")


def test_committed_sample_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("generate", SAMPLE_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate
    spec.loader.exec_module(generate)
    assert generate.main(["--check"]) == 0, "run 'python sample_datasets/generate.py'"


@pytest.mark.parametrize("manifest", sorted(MANIFESTS))
def test_manifest_is_valid_against_its_schema(manifest: str) -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMAS / f"{MANIFESTS[manifest]}.schema.json").read_text())
    document = json.loads((SAMPLE_DIR / manifest).read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
    assert errors == []


def test_license_names_the_contract_by_its_digest() -> None:
    license = json.loads((SAMPLE_DIR / "license.json").read_text())
    contract = (SAMPLE_DIR / "licensed" / "contract.txt").read_bytes()
    assert license["document_sha256"] == hashlib.sha256(contract).hexdigest()


def test_sample_exercises_every_reader() -> None:
    files = [b["file"] for b in load_plan()["batches"]]
    assert {Path(f).suffix for f in files} == {".jsonl", ".csv", ".parquet"}


def test_demo_registers_every_file_of_the_sample(demo: DemoResult) -> None:
    expected = readme_figures()
    assert {f: r.records for f, r in demo.batches.items()} == {
        f: info["records"] for f, info in expected["files"].items()
    }
    training = [r for f, r in demo.batches.items() if expected["files"][f]["split"] != "reference"]
    assert sum(r.records for r in training) == expected["records_before_erasure"]


def test_demo_ledger_verifies(demo: DemoResult) -> None:
    assert demo.verify is not None and demo.verify.ok


def ids(demo: DemoResult, files: list[str]) -> list[str]:
    return [demo.batches[f].batch_id for f in files]


def test_demo_audit_shows_the_figures_the_sample_readme_states(demo: DemoResult) -> None:
    expected = readme_figures()
    audit = demo.audit_json
    assert audit is not None
    assert audit["dataset"] == expected["dataset"]
    assert audit["records"] == expected["records"]
    assert audit["blend"] == expected["blend"]
    assert audit["provenance"]["certainty"] == expected["provenance"]["certainty"]
    assert audit["provenance"]["levels"] == expected["provenance"]["levels"]
    assert {b["batch_id"]: b["level"] for b in audit["provenance"]["batches"]} == {
        demo.batches[f].batch_id: level for f, level in expected["provenance"]["by_file"].items()
    }

    consent = audit["consent"]
    for key in ("records", "current", "superseded", "noncompliant"):
        assert consent[key] == expected["consent"][key], key
    assert {
        ref: {k: v[k] for k in ("records", "status", "noncompliant")}
        for ref, v in consent["by_version"].items()
    } == expected["consent"]["by_version"]

    assert [
        {
            "license": v["license"],
            "missing_uses": v["missing_uses"],
            "records": v["records"],
            "batches": v["batches"],
        }
        for v in audit["licenses"]["violations"]
    ] == [
        {
            "license": v["license"],
            "missing_uses": v["missing_uses"],
            "records": v["records"],
            "batches": ids(demo, v["files"]),
        }
        for v in expected["licenses"]["violations"]
    ]
    assert audit["licenses"]["expired"] == expected["licenses"]["expired"]

    synthetic, want = audit["synthetic"], expected["synthetic"]
    assert synthetic["records"] == want["records"]
    assert synthetic["share"] == want["share"]
    assert synthetic["unanchored_batches"] == ids(demo, want["unanchored_batches"])
    assert synthetic["max_generation_depth"] == want["max_generation_depth"]
    assert {b["batch_id"]: b["depth"] for b in synthetic["batches"]} == {
        demo.batches[f].batch_id: depth for f, depth in want["depth"].items()
    }

    exact = {k: audit["contamination"][k] for k in expected["contamination"]}
    assert exact == expected["contamination"]

    erasure, want = audit["erasure"], expected["erasure"]
    assert erasure["requests"] == want["requests"]
    assert erasure["erased_records"] == want["erased_records"]
    assert erasure["request_refs"] == [want["request"]]
    assert {b["batch_id"]: b["erased_records"] for b in erasure["rebuild"]} == {
        demo.batches[f].batch_id: n for f, n in want["rebuild"].items()
    }

    for source, want in expected["cost"].items():
        got = audit["cost"][source]
        assert got["cost"] == want["cost"], source
        assert got["usable_records"] == want["usable_records"], source
        assert got["cost_per_usable_record"] == pytest.approx(want["cost_per_usable_record"])

    assert {f["code"]: f["records"] for f in audit["findings"]} == expected["findings"]


def test_every_failure_mode_of_the_design_shows_up(demo: DemoResult) -> None:
    """DESIGN.md's table: contamination (scraped), scope creep (licensed), consent drift
    (first party), collapse (synthetic); plus the erasure still to be rebuilt."""
    assert demo.audit_json is not None
    codes = {f["code"] for f in demo.audit_json["findings"]}
    assert {
        "CONTAMINATION",
        "DUPLICATES",
        "LICENSE_SCOPE",
        "CONSENT_DRIFT",
        "CONSENT_NONCOMPLIANT",
        "SYNTHETIC_UNANCHORED",
        "SYNTHETIC_DEPTH",
        "SYNTHETIC_COLLAPSE",
        "ERASURE_PENDING",
    } <= codes


def test_demo_lineage_reaches_what_the_sample_readme_states(demo: DemoResult) -> None:
    want = readme_figures()["erasure"]
    assert demo.lineage is not None
    relation = {b.batch_id: b.relation for b in demo.lineage.batches}
    assert relation == {
        **dict.fromkeys(ids(demo, want["lineage"]["direct"]), "direct"),
        **dict.fromkeys(ids(demo, want["lineage"]["derived"]), "derived"),
    }
    assert [m.name for m in demo.lineage.models] == want["lineage"]["models"]
    assert len(demo.lineage.records) == want["erased_records"]


def test_demo_writes_a_signed_receipt_and_an_html_report(demo: DemoResult) -> None:
    from provledger.ledger import Ledger

    assert demo.receipt_path is not None and demo.receipt_path.parent == demo.home / "receipts"
    assert demo.report_path is not None and demo.report_path.parent == demo.home / "reports"
    assert demo.report_path.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype")
    with Ledger.open(demo.home, read_only=True) as led:
        check = led.verify_receipt(demo.receipt_path.read_bytes())
    assert check.request_ref == readme_figures()["erasure"]["request"]
    assert (
        json.loads(demo.receipt_path.read_text())["records"]
        == readme_figures()["erasure"]["erased_records"]
    )


def test_demo_command_prints_progress_the_audit_and_where_files_are(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    home = tmp_path / "demo"
    result = cli("demo", "--home", str(home))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "Registered 240 records from scraped/forum_posts.jsonl as batch b6 (scraped, train)"
        in lines
    )
    assert "Audit: support-ticket-classifier" in lines
    assert f"HTML report:     {home / 'reports' / 'support-ticket-classifier.html'}" in lines
    assert f"Erasure receipt: {home / 'receipts' / 'DSR-2026-0142.json'}" in lines
    for code in readme_figures()["findings"]:
        assert code in result.output


def test_demo_command_json_is_one_document(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--home", str(tmp_path / "demo"), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    expected = readme_figures()
    assert document["verified"] is True
    assert document["audit"]["records"] == expected["records"]
    assert document["erasure"]["request_ref"] == expected["erasure"]["request"]
    assert sorted(document["batches"]) == sorted(expected["files"])


def test_demo_command_refuses_a_home_that_is_not_empty(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("mine")
    result = cli("demo", "--home", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path} already exists and is not empty: refusing to initialise over it "
        "(nothing was changed)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_demo_distribution_match_ranks_the_sources_as_the_framework_predicts(
    demo: DemoResult,
) -> None:
    """The production sample (a reference batch) is the yardstick: the company's own
    tickets match it best, scraped forum posts and the licensed corpus poorly; and the
    reference is counted in no other figure (test_demo_audit_shows_... checks those)."""
    assert demo.audit_json is not None
    dist = demo.audit_json["distribution"]
    reference = demo.batches["first_party/production_sample_2026_02.jsonl"].batch_id
    assert dist["reference"] == reference
    match = {s: v["match"] for s, v in dist["by_source"].items()}
    assert match["first_party"] > 0.9
    assert match["first_party"] - max(match["scraped"], match["licensed"]) > 0.4
    assert match["scraped"] < 0.5
    assert reference not in [b["batch_id"] for b in dist["batches"]]


def test_demo_one_synthetic_batch_collapses_and_the_others_do_not(demo: DemoResult) -> None:
    assert demo.audit_json is not None
    templated = demo.batches["synthetic/billing_disputes_templated.jsonl"].batch_id
    collapsed = {b["batch_id"]: b["collapsed"] for b in demo.audit_json["diversity"]["batches"]}
    assert [b for b, c in collapsed.items() if c] == [templated]
    assert len(collapsed) == 5
