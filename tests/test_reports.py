"""Renderings of an audit: JSON, Markdown, HTML (self-contained, inline SVG) and rich text.

The report rendered is the hand-counted ledger of tests/test_audit.py, audited at
2026-06-30 (20 active records: scraped 3, licensed 5, first_party 7, synthetic 5).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from test_audit import AUDIT_DATE, build_ledger

from provledger.audit import AuditReport, Finding, audit
from provledger.exports.reports import FORMATS, render, to_html, to_json, to_markdown, to_text
from provledger.ledger import Ledger


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AuditReport:
    root = tmp_path_factory.mktemp("reports")
    build_ledger(root / "home", root / "files")
    with Ledger.open(root / "home", read_only=True) as led:
        return audit(led.store, "tickets", today=AUDIT_DATE)


@pytest.fixture
def clean(ledger: Ledger, tmp_path: Path) -> AuditReport:
    """A dataset with nothing to find: one scraped batch of two distinct records."""
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "x"}\n{"text": "y"}\n', encoding="utf-8")
    ledger.create_dataset("clean", owner="me", context="internal", uses=["train"])
    ledger.register(path, dataset="clean", source="scraped")
    return ledger.audit("clean")


def test_render_dispatches_every_format(report: AuditReport) -> None:
    assert FORMATS == ("table", "json", "markdown", "html")
    assert render(report, "json") == to_json(report)
    assert render(report, "markdown") == to_markdown(report)
    assert render(report, "html") == to_html(report)
    assert render(report, "table") == to_text(report)
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(report, "pdf")


def test_json_is_the_model(report: AuditReport) -> None:
    text = to_json(report)
    assert text.endswith("}\n")
    assert json.loads(text) == report.as_dict()
    assert AuditReport.model_validate_json(text) == report


def test_markdown_sections_and_tables(report: AuditReport) -> None:
    md = to_markdown(report)
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings == [
        "# Audit: tickets",
        "## Findings",
        "## Recommendations",
        "## Blend",
        "## Provenance certainty",
        "## Consent drift",
        "## License scope",
        "## Synthetic anchoring",
        "## Contamination and duplicates",
        "## Distribution match",
        "## Synthetic diversity",
        "## Stakes",
        "## Cadence and cost",
        "## Erasure",
    ]
    assert "| scraped | 3 | 15.0% | 1 |" in md
    assert "| first_party | 7 | 35.0% | 3 |" in md
    assert "Certainty **0.7500** (records: provable 14, documented 2, unknown 4)." in md
    assert "| licensed | 2026-02-01 | 149 | 190.00 | 5 | 38.0000 | 0 |" in md
    # Every row of a table has as many cells as its header.
    for block in re.findall(r"(?:^\|.*\|$\n?)+", md, flags=re.M):
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in block.strip().splitlines()}
        assert len(widths) == 1, block


def test_markdown_escapes_pipes(report: AuditReport) -> None:
    odd = report.model_copy(deep=True)
    odd.findings = [Finding(severity="low", code="DUPLICATES", message="a | b", records=1)]
    assert "| low | DUPLICATES | 1 | a \\| b |" in to_markdown(odd)


def test_html_is_self_contained(report: AuditReport) -> None:
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("<script", "src=", "href=", "@import", "url(", "http://", "https://"):
        assert forbidden not in page, forbidden
    # The four charts: blend, certainty levels, consent by version, findings by severity;
    # and synthetic diversity per generation (this dataset has synthetic batches but no
    # reference batch, so no distribution-match chart).
    assert page.count("<svg") == 5
    for title in (
        "Blend of sources",
        "Provenance certainty",
        "Consent by version",
        "Findings by severity",
    ):
        assert f"<h2>{title}</h2>" in page


def test_html_blend_bar_is_proportional(report: AuditReport) -> None:
    page = to_html(report)
    blend = page[page.index("Blend of sources") :]
    blend = blend[: blend.index("</svg>")]
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="0" width="([\d.]+)"', blend)]
    # 520 px split 3 : 5 : 7 : 5 of 20 records.
    assert widths == [78.0, 130.0, 182.0, 130.0]


def test_html_donut_arcs_close_the_ring(report: AuditReport) -> None:
    page = to_html(report)
    arcs = re.findall(r'stroke-dasharray="([\d.]+) ([\d.]+)"', page)
    # provable 14, documented 2, unknown 4 of 20 around a ring of radius 70.
    circumference = 2 * math.pi * 70
    lengths = [float(a) for a, _ in arcs]
    assert lengths == pytest.approx([circumference * n / 20 for n in (14, 2, 4)], abs=1e-3)
    assert sum(lengths) == pytest.approx(circumference, abs=1e-2)


def test_html_escapes_text(report: AuditReport) -> None:
    odd = report.model_copy(deep=True)
    odd.findings = [
        Finding(severity="high", code="LICENSE_SCOPE", message="<script>x</script>", records=1)
    ]
    page = to_html(odd)
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_text_tables(report: AuditReport) -> None:
    text = to_text(report)
    assert "\x1b[" not in text  # no colour codes in a file
    assert text.startswith("Audit: tickets\n")
    for title in ("Findings", "Recommendations", "Blend", "Provenance certainty 0.7500"):
        assert title in text
    # A file gets the tables at their natural width: every finding sits whole on one line.
    lines = text.splitlines()
    for f in report.findings:
        assert any(f.message in line for line in lines), f.message
    narrow = to_text(report, width=110)
    assert max(len(line) for line in narrow.splitlines()) <= 110


def test_clean_report_renders_its_empty_parts(clean: AuditReport) -> None:
    assert clean.findings == []
    md = to_markdown(clean)
    assert "No findings." in md
    assert "No batch is registered under a license." in md
    page = to_html(clean)
    assert "<p>No findings.</p>" in page
    assert "<p>No first-party records.</p>" in page
    assert "findings: none" in to_text(clean)
