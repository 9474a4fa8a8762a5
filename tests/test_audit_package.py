"""The shape of ``provledger.audit``: the names it re-exports, the finding rules keyed by
``FindingCode``, and the enums (finding codes, severities, sources, splits, levels,
formats) declared once and used by the audit, the reports, the CLI and the published
JSON Schema. The figures themselves are tested in test_audit.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
from test_audit import AUDIT_DATE, build_ledger

import provledger.audit
from provledger import schemas, vocabulary
from provledger.audit import (
    RULES,
    SEVERITY_OF,
    AuditReport,
    FindingCode,
    Level,
    Rule,
    audit,
    findings_of,
    rule,
)
from provledger.audit.recommendations import DECISIONS, recommendations
from provledger.cli import audit as cli_audit
from provledger.exports import reports
from provledger.ledger import Ledger
from provledger.registry import manifests
from provledger.vocabulary import Severity

# Every name other modules, tests and the benchmark imported from the single-file
# provledger.audit before it became a package.
IMPORTED_BEFORE = {
    "CONTAMINATION",
    "CONTEXTS_LIABLE",
    "EXPIRY_HORIZON_DAYS",
    "LEVELS",
    "LEVEL_WEIGHTS",
    "SEVERITIES",
    "SEVERITY_OF",
    "SOURCES",
    "AuditReport",
    "Evidence",
    "Finding",
    "audit",
    "classify",
    "parse_as_of",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AuditReport:
    root = tmp_path_factory.mktemp("package")
    build_ledger(root / "home", root / "files")
    with Ledger.open(root / "home", read_only=True) as led:
        return audit(led.store, "tickets", today=AUDIT_DATE)


def test_the_package_re_exports_what_the_module_exported() -> None:
    assert set(provledger.audit.__all__) >= IMPORTED_BEFORE
    for name in provledger.audit.__all__:
        assert hasattr(provledger.audit, name), name
    assert provledger.audit.LEVELS == ("provable", "documented", "unknown")
    assert provledger.audit.SEVERITIES == ("high", "medium", "low")
    assert provledger.audit.SOURCES == ("scraped", "licensed", "first_party", "synthetic")
    assert provledger.audit.LEVEL_WEIGHTS == {"provable": 1.0, "documented": 0.5, "unknown": 0.0}


def test_every_finding_code_has_one_rule_in_the_listing_order() -> None:
    assert set(RULES) == set(FindingCode)
    # The severities and the listing order of the single-file module's SEVERITY_OF.
    assert list(SEVERITY_OF.items()) == [
        ("SCRAPED_IN_REGULATED", "high"),
        ("CRAWL_OPTOUT_MISSING", "high"),
        ("LICENSE_SCOPE", "high"),
        ("LICENSE_EXPIRED", "high"),
        ("CONSENT_NONCOMPLIANT", "high"),
        ("ERASURE_PENDING", "high"),
        ("CONSENT_DRIFT", "medium"),
        ("SYNTHETIC_UNANCHORED", "medium"),
        ("CONTAMINATION", "medium"),
        ("NEAR_DUPLICATE_CONTAMINATION", "medium"),
        ("DISTRIBUTION_DRIFT", "medium"),
        ("SYNTHETIC_COLLAPSE", "medium"),
        ("SYNTHETIC_DEPTH", "low"),
        ("DUPLICATES", "low"),
    ]


def test_a_second_rule_for_a_code_is_refused() -> None:
    def again(r: AuditReport) -> Iterator[tuple[int, str]]:
        yield from ()

    with pytest.raises(ValueError, match=r"^finding DUPLICATES already has a rule \(duplicates\)$"):
        rule(FindingCode.DUPLICATES, Severity.low)(again)
    assert RULES[FindingCode.DUPLICATES].check.__name__ == "duplicates"


def test_findings_follow_severity_then_code_order_whatever_the_rules_yield(
    report: AuditReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rule that yields two findings, registered at high for a code listed among the low
    # ones: both come out with the rule's severity, in the order yielded, after the other
    # high findings (the enum orders codes within one severity).
    def twice(r: AuditReport) -> Iterator[tuple[int, str]]:
        yield 2, "second of two"
        yield 1, "first of two"

    before = findings_of(report)
    monkeypatch.setitem(RULES, FindingCode.DUPLICATES, Rule(Severity.high, twice))
    after = findings_of(report)
    highs = [f for f in before if f.severity == "high"]
    assert [
        (f.code, f.severity, f.records, f.message) for f in after[len(highs) : len(highs) + 2]
    ] == [
        ("DUPLICATES", "high", 2, "second of two"),
        ("DUPLICATES", "high", 1, "first of two"),
    ]
    assert after[: len(highs)] == highs
    assert [f for f in after if f.code != "DUPLICATES"] == [
        f for f in before if f.code != "DUPLICATES"
    ]


def test_importing_the_findings_fails_when_a_code_has_no_rule() -> None:
    # A FindingCode member added without its function: the findings module refuses to load.
    script = """
import importlib
from enum import StrEnum
import provledger.audit.findings as findings
import provledger.audit.report as report
members = [(c.name, c.value) for c in report.FindingCode] + [("NO_RULE_YET", "NO_RULE_YET")]
report.FindingCode = StrEnum("FindingCode", members)
try:
    importlib.reload(findings)
except ImportError as exc:
    print(exc)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout == "finding codes without a rule in provledger.audit.findings: NO_RULE_YET\n"


def test_the_report_uses_the_enums(report: AuditReport) -> None:
    assert {type(f.code) for f in report.findings} == {FindingCode}
    assert {type(f.severity) for f in report.findings} == {Severity}
    assert {type(b.level) for b in report.provenance.batches} == {Level}
    assert {type(b.source) for b in report.provenance.batches} == {vocabulary.Source}
    assert {type(b.split) for b in report.provenance.batches} == {vocabulary.Split}
    # ... and the JSON still holds plain words.
    first = report.as_dict()["findings"][0]
    assert type(first["code"]) is str and type(first["severity"]) is str


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: dict[str, Any] = schema["$defs"][ref.removeprefix("#/$defs/")]
    return resolved


def test_the_published_schema_lists_codes_severities_and_vocabularies() -> None:
    schema = json.loads(
        (schemas.SCHEMA_DIR / "audit-report.schema.json").read_text(encoding="utf-8")
    )
    finding = schema["$defs"]["Finding"]["properties"]
    assert _resolve(schema, finding["code"])["enum"] == [c.value for c in FindingCode]
    assert _resolve(schema, finding["severity"])["enum"] == list(vocabulary.SEVERITIES)
    batch = schema["$defs"]["BatchProvenance"]["properties"]
    assert _resolve(schema, batch["source"])["enum"] == list(vocabulary.SOURCES)
    assert _resolve(schema, batch["split"])["enum"] == list(vocabulary.SPLITS)
    assert _resolve(schema, batch["level"])["enum"] == list(provledger.audit.LEVELS)


def test_audit_formats_and_severities_are_declared_once() -> None:
    assert reports.FORMATS is vocabulary.AUDIT_FORMATS
    assert vocabulary.AUDIT_FORMATS == ("table", "json", "markdown", "html")
    # The CLI's --format and --fail-on take the vocabulary's enums, not copies of them.
    hints = get_type_hints(cli_audit.audit, include_extras=True)
    assert get_args(hints["format"])[0] is vocabulary.AuditFormat
    assert get_args(get_args(hints["fail_on"])[0]) == (vocabulary.Severity, type(None))


def test_vocabulary_words_come_from_the_enums() -> None:
    pairs = [
        (vocabulary.USES, vocabulary.Use),
        (vocabulary.SOURCES, vocabulary.Source),
        (vocabulary.SPLITS, vocabulary.Split),
        (vocabulary.CONTEXTS, vocabulary.Context),
        (vocabulary.FATES, vocabulary.Fate),
        (vocabulary.SEVERITIES, vocabulary.Severity),
        (vocabulary.AUDIT_FORMATS, vocabulary.AuditFormat),
    ]
    for words, enum in pairs:
        assert words == tuple(member.value for member in enum)
        assert all(type(word) is str for word in words)
    assert get_args(vocabulary.UseName) == tuple(vocabulary.Use)
    assert get_args(vocabulary.ContextName) == tuple(vocabulary.Context)
    assert get_args(vocabulary.FateName) == tuple(vocabulary.Fate)


def test_manifests_validate_plain_words_and_dump_them_unchanged(tmp_path: Path) -> None:
    data = {"name": "d", "owner": "o", "context": "regulated", "uses": ["train", "commercial"]}
    ds = manifests.validate(manifests.Dataset, data)
    assert ds.model_dump(mode="json") == data
    with pytest.raises(Exception, match=r"unknown use 'sell' \(expected one of train, "):
        manifests.validate(manifests.Dataset, {**data, "uses": ["sell"]})


def test_the_decision_list_tries_its_rules_in_order(report: AuditReport) -> None:
    assert [d.__name__ for d in DECISIONS] == [
        "_lead_with_provable",
        "_instrument_first_party",
        "_crawl_and_clean",
        "_anchor_synthetic",
    ]
    # The tickets dataset is regulated: the first rule fits.
    assert report.recommendations[0].code == "LEAD_WITH_PROVABLE"
    # Internal, used for training only, no scraped and no synthetic records: none fits.
    quiet = report.model_copy(deep=True)
    quiet.stakes.context = "internal"
    quiet.stakes.uses = ["train"]
    quiet.blend["scraped"].records = 0
    quiet.blend["synthetic"].records = 0
    decision = recommendations(
        quiet, state_kind="dataset-created", batches_before=0, gained=[], expiring=[]
    )
    assert [(r.kind, r.code, r.message) for r in decision] == [
        (
            "decision",
            "NO_RULE",
            "no rule of the decision list fits (internal context, no scraped or synthetic "
            "data, no liable or commercial use): keep the blend and watch the revisit triggers",
        )
    ]
