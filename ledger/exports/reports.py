"""Renderings of an ``AuditReport``: JSON (for scripts), Markdown (for a review ticket),
a self-contained HTML page with inline SVG charts (opens offline; no scripts, fonts or
images fetched), and rich tables for the terminal.

``render(report, fmt)`` returns the text of any format; ``table(report)`` returns the rich
renderable the CLI prints to a terminal. Renderers only lay out what the report holds:
no figure is computed here.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from provledger.audit import AuditReport, Level
from provledger.similarity import report as similarity_report
from provledger.vocabulary import AUDIT_FORMATS, AuditFormat, Severity, Source
from provledger.wording import cell, certainty, count, percent, plural

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = [
    "FORMATS",
    "render",
    "table",
    "to_html",
    "to_json",
    "to_markdown",
    "to_text",
]

# The formats ``render`` writes (``provledger audit --format``), declared once in the vocabulary.
FORMATS = AUDIT_FORMATS

SOURCE_LABELS = {
    Source.scraped: "Scraped",
    Source.licensed: "Licensed",
    Source.first_party: "First party",
    Source.synthetic: "Synthetic",
}
SOURCE_COLOURS = {
    Source.scraped: "#d9734e",
    Source.licensed: "#3d5a80",
    Source.first_party: "#4f9d78",
    Source.synthetic: "#8e6cc4",
}
LEVEL_COLOURS = {Level.provable: "#2a9d8f", Level.documented: "#e9b949", Level.unknown: "#b8bcc4"}
# Darker shades of the same hues, for text on white.
LEVEL_TEXT_COLOURS = {
    Level.provable: "#1d7a6f",
    Level.documented: "#a26a00",
    Level.unknown: "#7a808a",
}
SEVERITY_COLOURS = {Severity.high: "#c8323b", Severity.medium: "#e8890c", Severity.low: "#5b7fa6"}
RICH_SEVERITY = {Severity.high: "bold red", Severity.medium: "yellow", Severity.low: "cyan"}
RICH_LEVEL = {Level.provable: "green", Level.documented: "yellow", Level.unknown: "dim"}


def render(report: AuditReport, fmt: str, *, width: int | None = None) -> str:
    """The report as text in ``fmt`` (one of FORMATS); ``table`` is plain text."""
    if fmt == AuditFormat.json:
        return to_json(report)
    if fmt == AuditFormat.markdown:
        return to_markdown(report)
    if fmt == AuditFormat.html:
        return to_html(report)
    if fmt == AuditFormat.table:
        return to_text(report, width=width)
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


# -- shared formatting ----------------------------------------------------------------------


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _per_record(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4f}"


def _day(value: str | None) -> str:
    return "-" if value is None else value[:10]


def _severity_counts(report: AuditReport) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(Severity, 0)
    for f in report.findings:
        counts[f.severity] += 1
    return counts


def _headline(report: AuditReport) -> str:
    counts = _severity_counts(report)
    found = ", ".join(f"{counts[s]} {s}" for s in Severity if counts[s]) or "none"
    return (
        f"{plural(report.records, 'active record')} · provenance certainty "
        f"{certainty(report.provenance.certainty)} · findings: {found}"
    )


def _cut_line(report: AuditReport) -> str:
    st = report.stakes
    return (
        f"As of {report.as_of} (ledger seq {report.seq}); audit date {report.audit_date}. "
        f"Context {st.context}; uses {', '.join(st.uses)}; owner {st.owner}."
    )


def _rows_blend(report: AuditReport) -> list[list[str]]:
    return [
        [s, count(b.records), percent(b.share, 1), str(b.batches)]
        for s, b in ((s, report.blend[s]) for s in Source)
    ]


def _rows_batches(report: AuditReport) -> list[list[str]]:
    return [
        [b.batch_id, b.source, b.split, count(b.records), b.level, b.reason]
        for b in report.provenance.batches
    ]


def _rows_consent(report: AuditReport) -> list[list[str]]:
    return [
        [
            ref,
            v.status,
            count(v.records),
            cell(v.fate),
            cell(v.missing_uses),
            cell(v.retention_days),
            count(v.retention_exceeded),
            count(v.noncompliant),
            cell(v.batches),
        ]
        for ref, v in report.consent.by_version.items()
    ]


def _rows_licenses(report: AuditReport) -> list[list[str]]:
    missing = {v.license: v.missing_uses for v in report.licenses.violations}
    expired = {e.license for e in report.licenses.expired}
    return [
        [
            u.license,
            cell(u.grants),
            cell(missing.get(u.license)),
            (u.expires_on or "-") + (" (expired)" if u.license in expired else ""),
            "yes" if u.document else "no",
            count(u.records),
            cell(u.batches),
        ]
        for u in report.licenses.used
    ]


def _rows_synthetic(report: AuditReport) -> list[list[str]]:
    return [
        [b.batch_id, count(b.records), str(b.depth), cell(b.seeds), "yes" if b.anchored else "no"]
        for b in report.synthetic.batches
    ]


def _rows_cadence_cost(report: AuditReport) -> list[list[str]]:
    rows = []
    for s in Source:
        c, k = report.cadence[s], report.cost[s]
        rows.append(
            [
                s,
                _day(c.newest_collected_at),
                cell(c.age_days),
                _money(k.cost),
                count(k.usable_records),
                _per_record(k.cost_per_usable_record),
                str(k.uncosted_batches),
            ]
        )
    return rows


HEAD_BLEND = ["source", "records", "share", "batches"]
HEAD_BATCHES = ["batch", "source", "split", "records", "level", "why"]
HEAD_CONSENT = [
    "version",
    "status",
    "records",
    "fate",
    "not permitted",
    "retention days",
    "past retention",
    "noncompliant",
    "batches",
]
HEAD_LICENSES = [
    "license",
    "grants",
    "not granted",
    "expires",
    "document",
    "records",
    "batches",
]
HEAD_SYNTHETIC = ["batch", "records", "generation depth", "real seeds", "anchored"]
HEAD_CADENCE_COST = [
    "source",
    "newest collected",
    "age (days)",
    "cost",
    "usable records",
    "cost per usable record",
    "batches without cost",
]


def _stakes_lines(report: AuditReport) -> list[str]:
    st = report.stakes
    lines = [f"Context {st.context}, set at seq {st.context_set_seq} ({st.context_set_at})."]
    if st.previous_context is not None:
        lines.append(
            f"Previously {st.previous_context} (uses {', '.join(st.previous_uses or [])})."
        )
    lines.append(f"Scraped records: {count(st.scraped_records)}.")
    since = st.since_context_set
    if since.batches:
        lines.append(
            f"Registered since the context was set: {len(since.batches)} batches "
            f"({', '.join(since.batches)}), {count(since.records)} records."
        )
    else:
        lines.append("No batch was registered since the context was set.")
    return lines


def _erasure_lines(report: AuditReport) -> list[str]:
    e = report.erasure
    if not e.erased_records:
        return ["No erasure reaches this dataset."]
    refs = f" ({', '.join(e.request_refs)})" if e.request_refs else ""
    rebuild = ", ".join(f"{b.batch_id} ({count(b.erased_records)})" for b in e.rebuild)
    return [
        f"{plural(e.requests, 'request')}{refs} erased {plural(e.erased_records, 'record')}; "
        f"rebuild: {rebuild}."
    ]


# -- JSON -----------------------------------------------------------------------------------
def to_json(report: AuditReport) -> str:
    """The report as indented JSON, keys as docs/audit.md lists them."""
    return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"


# -- Markdown -------------------------------------------------------------------------------
def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(report: AuditReport) -> str:
    """The report as GitHub-flavoured Markdown."""
    r = report
    sections = [
        ("Findings", _md_findings(r)),
        ("Recommendations", _md_recommendations(r)),
        ("Blend", _md_table(HEAD_BLEND, _rows_blend(r))),
        ("Provenance certainty", _md_provenance(r)),
        ("Consent drift", _md_consent(r)),
        ("License scope", _md_licenses(r)),
        ("Synthetic anchoring", _md_synthetic(r)),
        ("Contamination and duplicates", _md_contamination(r)),
        ("Distribution match", _md_distribution(r)),
        *([("Synthetic diversity", _md_diversity(r))] if r.diversity.batches else []),
        ("Stakes", " ".join(_stakes_lines(r))),
        ("Cadence and cost", _md_table(HEAD_CADENCE_COST, _rows_cadence_cost(r))),
        ("Erasure", " ".join(_erasure_lines(r))),
    ]
    out = [f"# Audit: {r.dataset}", "", _cut_line(r), "", f"**{_headline(r)}**"]
    for title, body in sections:
        out += ["", f"## {title}", "", body]
    return "\n".join(out) + "\n"


def _md_findings(r: AuditReport) -> str:
    if not r.findings:
        return "No findings."
    return _md_table(
        ["severity", "code", "records", "finding"],
        ([f.severity, f.code, count(f.records), f.message] for f in r.findings),
    )


def _md_recommendations(r: AuditReport) -> str:
    return "\n".join(
        f"- **{'Decision' if rec.kind == 'decision' else 'Revisit'}** (`{rec.code}`): {rec.message}"
        for rec in r.recommendations
    )


def _md_provenance(r: AuditReport) -> str:
    levels = ", ".join(f"{lvl} {count(r.provenance.levels[lvl])}" for lvl in Level)
    return (
        f"Certainty **{certainty(r.provenance.certainty, 4)}** (records: {levels}).\n\n"
        + _md_table(HEAD_BATCHES, _rows_batches(r))
    )


def _md_consent(r: AuditReport) -> str:
    c = r.consent
    summary = (
        f"First-party records: {count(c.records)}; current {count(c.current)}, superseded "
        f"{count(c.superseded)}, noncompliant {count(c.noncompliant)}.\n"
    )
    # Without a table the section still ends in a blank line, as it always has.
    return summary + ("\n" + _md_table(HEAD_CONSENT, _rows_consent(r)) if c.by_version else "")


def _md_licenses(r: AuditReport) -> str:
    if not r.licenses.used:
        return "No batch is registered under a license."
    return _md_table(HEAD_LICENSES, _rows_licenses(r))


def _md_synthetic(r: AuditReport) -> str:
    s = r.synthetic
    summary = (
        f"Synthetic records: {count(s.records)} ({percent(s.share, 1)}); unanchored batches: "
        f"{cell(s.unanchored_batches)}; maximum generation depth {s.max_generation_depth}.\n"
    )
    # Without a table the section still ends in a blank line, as it always has.
    return summary + ("\n" + _md_table(HEAD_SYNTHETIC, _rows_synthetic(r)) if s.batches else "")


def _md_contamination(r: AuditReport) -> str:
    return (
        f"Validation/test records whose content is also in train: "
        f"{count(r.contamination.cross_split_records)}. Duplicate records: "
        f"{count(r.contamination.duplicate_records)}. " + similarity_report.near_sentence(r)
    )


def _md_distribution(r: AuditReport) -> str:
    return (
        similarity_report.reference_sentence(r)
        + "\n\n"
        + _md_table(similarity_report.HEAD_DISTRIBUTION, similarity_report.distribution_rows(r))
    )


def _md_diversity(r: AuditReport) -> str:
    return _md_table(similarity_report.HEAD_DIVERSITY, similarity_report.diversity_rows(r))


# -- rich tables ----------------------------------------------------------------------------
def table(report: AuditReport) -> RenderableType:
    """The report as rich renderables, for a terminal."""
    # Deferred for start-up time: loads rich
    from rich.console import Group

    # Deferred for start-up time: loads rich
    from rich.table import Table

    # Deferred for start-up time: loads rich
    from rich.text import Text

    r = report

    def grid(title: str, head: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
        t = Table(title=title, title_justify="left", title_style="bold", expand=False)
        for i, h in enumerate(head):
            # Identifiers stay on one line; prose columns fold.
            t.add_column(h, overflow="fold", no_wrap=i == 0)
        for row in rows:
            t.add_row(*row)
        return t

    parts: list[Any] = [
        Text(f"Audit: {r.dataset}", style="bold"),
        Text(_cut_line(r)),
        Text(_headline(r), style="bold"),
        Text(""),
    ]
    findings = Table(title="Findings", title_justify="left", title_style="bold")
    for h in ("severity", "code", "records", "finding"):
        findings.add_column(h, overflow="fold")
    for f in r.findings:
        findings.add_row(
            Text(f.severity, style=RICH_SEVERITY[f.severity]), f.code, count(f.records), f.message
        )
    if not r.findings:
        findings.add_row("-", "-", "-", "no findings")
    parts.append(findings)
    recs = Table(title="Recommendations", title_justify="left", title_style="bold")
    for h in ("kind", "code", "recommendation"):
        recs.add_column(h, overflow="fold")
    for rec in r.recommendations:
        recs.add_row(rec.kind, rec.code, rec.message)
    parts.append(recs)
    parts.append(grid("Blend", HEAD_BLEND, _rows_blend(r)))
    levels = ", ".join(f"{lvl} {count(r.provenance.levels[lvl])}" for lvl in Level)
    prov = Table(
        title=f"Provenance certainty {certainty(r.provenance.certainty, 4)} ({levels})",
        title_justify="left",
        title_style="bold",
    )
    for h in HEAD_BATCHES:
        prov.add_column(h, overflow="fold")
    for b in r.provenance.batches:
        prov.add_row(
            b.batch_id,
            b.source,
            b.split,
            count(b.records),
            Text(b.level, style=RICH_LEVEL[b.level]),
            b.reason,
        )
    parts.append(prov)
    c = r.consent
    parts.append(
        grid(
            f"Consent drift: {plural(c.records, 'first-party record')}, "
            f"current {count(c.current)}, superseded {count(c.superseded)}, "
            f"noncompliant {count(c.noncompliant)}",
            HEAD_CONSENT,
            _rows_consent(r),
        )
    )
    parts.append(grid("License scope", HEAD_LICENSES, _rows_licenses(r)))
    s = r.synthetic
    parts.append(
        grid(
            f"Synthetic anchoring: {plural(s.records, 'record')} ({percent(s.share, 1)}), "
            f"unanchored {cell(s.unanchored_batches)}, "
            f"max generation depth {s.max_generation_depth}",
            HEAD_SYNTHETIC,
            _rows_synthetic(r),
        )
    )
    parts.append(grid("Cadence and cost", HEAD_CADENCE_COST, _rows_cadence_cost(r)))
    parts.append(
        Text(
            f"Contamination: {count(r.contamination.cross_split_records)} validation/test records "
            f"share content with train; duplicates: {count(r.contamination.duplicate_records)}. "
            + similarity_report.near_sentence(r)
        )
    )
    parts.append(Text(similarity_report.reference_sentence(r)))
    parts.append(
        grid(
            "Distribution match",
            similarity_report.HEAD_DISTRIBUTION,
            similarity_report.distribution_rows(r),
        )
    )
    if r.diversity.batches:
        parts.append(
            grid(
                "Synthetic diversity",
                similarity_report.HEAD_DIVERSITY,
                similarity_report.diversity_rows(r),
            )
        )
    parts.append(Text("Stakes: " + " ".join(_stakes_lines(r))))
    parts.append(Text("Erasure: " + " ".join(_erasure_lines(r))))
    for part in parts:  # a title longer than its table widens the table rather than wrap
        if isinstance(part, Table) and part.title:
            part.min_width = len(str(part.title))
    return Group(*parts)


def to_text(report: AuditReport, *, width: int | None = None) -> str:
    """The rich tables as plain text (no colour codes), for a file: ``width`` columns, or
    by default as wide as the widest line needs, so no cell breaks mid-word."""
    # Deferred for start-up time: loads rich
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 100_000, color_system=None, force_terminal=False)
    tables = table(report)
    if width is None:
        console.width = console.measure(tables).maximum
    console.print(tables)
    return buffer.getvalue()


# -- HTML -----------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _svg_hbar_stack(
    parts: Sequence[tuple[str, float, str]], *, width: int = 520, height: int = 34
) -> str:
    """One horizontal bar split into (label, value, colour) segments, proportional."""
    total = sum(v for _, v, _ in parts) or 1.0
    x = 0.0
    rects = []
    for label, value, colour in parts:
        if value <= 0:
            continue
        w = width * value / total
        rects.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{colour}">'
            f"<title>{_e(label)}: {count(int(value))}</title></rect>"
        )
        if w > 44:
            rects.append(
                f'<text x="{x + w / 2:.2f}" y="{height / 2 + 5:.2f}" text-anchor="middle" '
                f'class="seg">{value / total * 100:.0f}%</text>'
            )
        x += w
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'preserveAspectRatio="none" class="stack">'
        f'<rect width="{width}" height="{height}" fill="#eef0f3"/>{"".join(rects)}</svg>'
    )


def _legend(items: Iterable[tuple[str, str, str]]) -> str:
    cells = "".join(
        f'<li><span class="sw" style="background:{colour}"></span>{_e(label)}'
        f'<span class="lv">{_e(value)}</span></li>'
        for label, value, colour in items
    )
    return f'<ul class="legend">{cells}</ul>'


def _svg_donut(parts: Sequence[tuple[str, float, str]], centre: str, caption: str) -> str:
    """A ring of (label, value, colour) arcs with a figure in the middle."""
    size, radius, stroke = 180, 70, 26
    circumference = 2 * math.pi * radius
    total = sum(v for _, v, _ in parts)
    arcs = [
        f'<circle cx="90" cy="90" r="{radius}" fill="none" stroke="#eef0f3" '
        f'stroke-width="{stroke}"/>'
    ]
    offset = 0.0
    for label, value, colour in parts:
        if value <= 0 or total <= 0:
            continue
        length = circumference * value / total
        arcs.append(
            f'<circle cx="90" cy="90" r="{radius}" fill="none" stroke="{colour}" '
            f'stroke-width="{stroke}" stroke-dasharray="{length:.3f} '
            f'{circumference - length:.3f}" stroke-dashoffset="{-offset:.3f}" '
            f'transform="rotate(-90 90 90)"><title>{_e(label)}: {count(int(value))}</title>'
            "</circle>"
        )
        offset += length
    return (
        f'<svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img">'
        f"{''.join(arcs)}"
        f'<text x="90" y="92" text-anchor="middle" class="big">{_e(centre)}</text>'
        f'<text x="90" y="114" text-anchor="middle" class="small">{_e(caption)}</text></svg>'
    )


def _svg_bars(
    rows: Sequence[tuple[str, Sequence[tuple[float, str, str]]]],
    *,
    width: int = 520,
    bar: int = 26,
    gap: int = 14,
    label_width: int = 130,
) -> str:
    """Horizontal bars, one per (label, [(value, colour, title), ...]) row, stacked
    segments, on a common scale; the row total is written after the bar."""
    top = max((sum(v for v, _, _ in segs) for _, segs in rows), default=0) or 1
    plot = width - label_width - 64
    height = len(rows) * (bar + gap) + gap
    out = []
    for i, (label, segs) in enumerate(rows):
        y = gap + i * (bar + gap)
        out.append(
            f'<text x="{label_width - 10}" y="{y + bar / 2 + 5}" text-anchor="end" '
            f'class="lab">{_e(label)}</text>'
        )
        x = float(label_width)
        out.append(
            f'<rect x="{label_width}" y="{y}" width="{plot}" height="{bar}" fill="#f3f4f6"/>'
        )
        for value, colour, title in segs:
            if value <= 0:
                continue
            w = plot * value / top
            out.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar}" fill="{colour}">'
                f"<title>{_e(title)}</title></rect>"
            )
            x += w
        total = sum(v for v, _, _ in segs)
        out.append(
            f'<text x="{x + 8:.2f}" y="{y + bar / 2 + 5}" class="val">{count(int(total))}</text>'
        )
    return f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">{"".join(out)}</svg>'


def _html_table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1f2430;font:14px/1.45 -apple-system,BlinkMacSystemFont,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1140px;margin:0 auto;padding:28px 24px 48px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;
border-bottom:1px solid #dde1e7;padding-bottom:16px;margin-bottom:20px}
h1{font-size:26px;margin:0 0 4px}h1 small{font-weight:400;color:#667085;font-size:15px}
h2{font-size:16px;margin:0 0 12px}
.meta{color:#667085;font-size:13px}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;
font-weight:600;background:#e6ecf5;color:#3d5a80;margin-left:6px}
.badge.regulated{background:#fde8e8;color:#a61b29}.badge.customer_facing{background:#fff3e0;
color:#9a5b00}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-bottom:18px}
.kpi{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px #0000000f}
.kpi b{display:block;font-size:26px;line-height:1.2}.kpi span{color:#667085;font-size:12px;
text-transform:uppercase;letter-spacing:.04em}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin-bottom:18px}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px #0000000f;
margin-bottom:14px}
.grid .card{margin-bottom:0}
.legend{list-style:none;margin:10px 0 0;padding:0;display:grid;grid-template-columns:1fr 1fr;
gap:4px 16px;font-size:13px}
.legend li{display:flex;align-items:center}.legend .lv{margin-left:auto;color:#475467;
font-variant-numeric:tabular-nums}
.sw{width:11px;height:11px;border-radius:3px;display:inline-block;margin-right:8px}
.donut{display:flex;align-items:center;gap:18px}.donut .legend{grid-template-columns:1fr;
flex:1}
svg text{font-family:inherit}.seg{fill:#fff;font-size:13px;font-weight:600}
.big{font-size:30px;font-weight:700;fill:#1f2430}.small{font-size:11px;fill:#667085}
.lab{font-size:13px;fill:#344054}.val{font-size:13px;fill:#344054;font-weight:600}
table{width:100%;border-collapse:collapse;font-size:13px}
th{text-align:left;color:#667085;font-weight:600;border-bottom:1px solid #dde1e7;
padding:6px 8px}
td{border-bottom:1px solid #eef0f3;padding:6px 8px;vertical-align:top}
td:nth-child(n+2){font-variant-numeric:tabular-nums}
.sev{display:inline-block;min-width:62px;text-align:center;padding:1px 8px;border-radius:4px;
color:#fff;font-size:12px;font-weight:600}
.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.lvl{font-weight:600}
table.mini{margin-top:14px}table.mini td,table.mini th{padding:4px 8px}
.recs{margin:0;padding-left:18px}.recs li{margin:4px 0}
.kind{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#667085;
margin-right:6px}
p{margin:6px 0}
footer{color:#98a2b3;font-size:12px;margin-top:24px}
"""


def to_html(report: AuditReport) -> str:
    """The report as one self-contained HTML page with inline CSS and SVG charts."""
    r = report
    counts = _severity_counts(r)
    body = [
        _html_header(r),
        _html_kpis(r, counts),
        '<section class="grid">',
        _html_blend_card(r),
        _html_certainty_card(r),
        _html_consent_card(r),
        _html_severity_card(r, counts),
        "</section>",
        _card("Findings", _html_findings(r)),
        _card("Recommendations", _html_recommendations(r)),
        _card("Provenance by batch", _html_batches(r)),
        _card("Consent drift", _html_consent_versions(r)),
        _card("License scope", _html_licenses(r)),
        _card("Synthetic anchoring", _html_synthetic(r)),
        '<section class="grid">',
        _card("Contamination and duplicates", _html_contamination(r)),
        "</section>",
        similarity_report.html_cards(r),
        '<section class="grid">',
        _card("Stakes and erasure", _html_stakes_and_erasure(r)),
        "</section>",
        _card("Cadence and cost", _html_table(HEAD_CADENCE_COST, _rows_cadence_cost(r))),
        "<footer>Generated by provledger audit. Counts are active records (erased records "
        "excluded); shares are fractions of the dataset's active records.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Audit: {_e(r.dataset)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _card(title: str, content: str) -> str:
    """A white card with a heading; ``content`` is HTML."""
    return f'<div class="card"><h2>{title}</h2>{content}</div>'


# -- HTML: header and key figures ---------------------------------------------------------------
def _html_header(r: AuditReport) -> str:
    context_badge = f'<span class="badge {_e(r.stakes.context)}">{_e(r.stakes.context)}</span>'
    return (
        "<header><div>"
        f"<h1>{_e(r.dataset)} <small>provenance audit</small>{context_badge}</h1>"
        f'<div class="meta">Owner {_e(r.stakes.owner)} · uses {_e(", ".join(r.stakes.uses))}'
        "</div></div>"
        f'<div class="meta">As of {_e(r.as_of)}<br>ledger seq {r.seq} · audit date '
        f"{_e(r.audit_date)}</div></header>"
    )


def _html_kpis(r: AuditReport, counts: dict[str, int]) -> str:
    kpis = [
        (count(r.records), "active records"),
        (certainty(r.provenance.certainty), "provenance certainty"),
        (
            f"{counts[Severity.high]} / {counts[Severity.medium]} / {counts[Severity.low]}",
            "findings high/med/low",
        ),
        (count(r.consent.noncompliant), "noncompliant consent records"),
    ]
    cells = "".join(f'<div class="kpi"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for v, k in kpis)
    return f'<section class="kpis">{cells}</section>'


# -- HTML: the four charts ----------------------------------------------------------------------
def _html_blend_card(r: AuditReport) -> str:
    """The blend as one stacked bar, its legend, and cost and cadence per source."""
    bar = _svg_hbar_stack(
        [(SOURCE_LABELS[s], float(r.blend[s].records), SOURCE_COLOURS[s]) for s in Source]
    )
    legend = _legend(
        (
            SOURCE_LABELS[s],
            f"{count(r.blend[s].records)} · {percent(r.blend[s].share, 1)} · "
            f"{r.blend[s].batches} batch{'es' if r.blend[s].batches != 1 else ''}",
            SOURCE_COLOURS[s],
        )
        for s in Source
    )
    per_source = _html_table(
        ["source", "cost per usable record", "newest collected", "age (days)"],
        (
            [
                SOURCE_LABELS[s],
                _per_record(r.cost[s].cost_per_usable_record),
                _day(r.cadence[s].newest_collected_at),
                cell(r.cadence[s].age_days),
            ]
            for s in Source
        ),
        cls="mini",
    )
    return _card("Blend of sources", bar + legend + per_source)


def _html_certainty_card(r: AuditReport) -> str:
    """The records per provenance level as a donut around the certainty score."""
    levels = r.provenance.levels
    donut = _svg_donut(
        [(lvl, float(levels[lvl]), LEVEL_COLOURS[lvl]) for lvl in Level],
        certainty(r.provenance.certainty),
        "certainty score",
    )
    legend = _legend(
        (
            lvl,
            f"{count(levels[lvl])} · {percent(levels[lvl] / r.records if r.records else 0.0, 1)}",
            LEVEL_COLOURS[lvl],
        )
        for lvl in Level
    )
    return _card(
        "Provenance certainty",
        f'<div class="donut">{donut}{legend}</div>'
        "<p class='meta'>Each batch's level and why are listed below. The score weighs "
        "provable 1, documented 0.5 and unknown 0 by active records.</p>",
    )


def _html_consent_card(r: AuditReport) -> str:
    """Compliant and noncompliant records per consent version as bars, then why."""
    if r.consent.by_version:
        chart = _svg_bars(_consent_bars(r), label_width=190) + _legend(
            [
                ("current version", count(r.consent.current), "#4f9d78"),
                ("superseded version", count(r.consent.superseded), "#e9b949"),
                ("noncompliant", count(r.consent.noncompliant), "#c8323b"),
            ]
        )
    else:
        chart = "<p>No first-party records.</p>"
    notes = "".join(f"<p class='meta'>{_e(note)}</p>" for note in _consent_notes(r))
    return _card("Consent by version", chart + notes)


def _consent_bars(r: AuditReport) -> list[tuple[str, list[tuple[float, str, str]]]]:
    rows = []
    for ref, v in r.consent.by_version.items():
        ok = v.records - v.noncompliant
        colour = "#4f9d78" if v.status == "current" else "#e9b949"
        rows.append(
            (
                f"{ref} ({v.status})",
                [
                    (float(ok), colour, f"{ref}: {count(ok)} compliant"),
                    (
                        float(v.noncompliant),
                        "#c8323b",
                        f"{ref}: {count(v.noncompliant)} noncompliant",
                    ),
                ],
            )
        )
    return rows


def _consent_notes(r: AuditReport) -> list[str]:
    """Why each consent version falls short, one line per version that does."""
    notes = []
    for ref, v in r.consent.by_version.items():
        why = []
        if v.status == "superseded":
            why.append(f"superseded by {v.latest}" + (f" ({v.fate})" if v.fate else ""))
        if v.missing_uses:
            why.append(f"does not permit {', '.join(v.missing_uses)}")
        if v.retention_exceeded:
            why.append(f"{count(v.retention_exceeded)} past {v.retention_days}-day retention")
        if why:
            notes.append(f"{ref}: {'; '.join(why)}")
    return notes


def _html_severity_card(r: AuditReport, counts: dict[str, int]) -> str:
    """The number of findings per severity as bars, then their codes."""
    bars = _svg_bars(
        [
            (
                s,
                [
                    (
                        float(counts[s]),
                        SEVERITY_COLOURS[s],
                        f"{counts[s]} {s} finding{'s' if counts[s] != 1 else ''}",
                    )
                ],
            )
            for s in Severity
        ],
        label_width=90,
    )
    codes = "; ".join(
        f"{s}: {', '.join(f.code for f in r.findings if f.severity == s) or 'none'}"
        for s in Severity
    )
    return _card("Findings by severity", f"{bars}<p class='meta'>{_e(codes)}</p>")


# -- HTML: the tables and the prose -------------------------------------------------------------
def _html_findings(r: AuditReport) -> str:
    if not r.findings:
        return "<p>No findings.</p>"
    rows = "".join(
        f'<tr><td><span class="sev" style="background:{SEVERITY_COLOURS[f.severity]}">'
        f'{_e(f.severity)}</span></td><td class="code">{_e(f.code)}</td>'
        f"<td>{count(f.records)}</td><td>{_e(f.message)}</td></tr>"
        for f in r.findings
    )
    return (
        "<table><thead><tr><th>severity</th><th>code</th><th>records</th><th>finding</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _html_recommendations(r: AuditReport) -> str:
    items = "".join(
        f'<li><span class="kind">{_e(rec.kind)}</span><span class="code">{_e(rec.code)}'
        f"</span> {_e(rec.message)}</li>"
        for rec in r.recommendations
    )
    return f'<ul class="recs">{items}</ul>'


def _html_batches(r: AuditReport) -> str:
    """Each batch's provenance level (in its colour) and why."""
    head = "".join(f"<th>{_e(h)}</th>" for h in HEAD_BATCHES)
    rows = "".join(
        f"<tr><td class='code'>{_e(b.batch_id)}</td><td>{_e(b.source)}</td>"
        f"<td>{_e(b.split)}</td><td>{count(b.records)}</td>"
        f'<td class="lvl" style="color:{LEVEL_TEXT_COLOURS[b.level]}">{_e(b.level)}</td>'
        f"<td>{_e(b.reason)}</td></tr>"
        for b in r.provenance.batches
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _html_consent_versions(r: AuditReport) -> str:
    if not r.consent.by_version:
        return "<p>No first-party records.</p>"
    return _html_table(HEAD_CONSENT, _rows_consent(r))


def _html_licenses(r: AuditReport) -> str:
    if not r.licenses.used:
        return "<p>No batch is registered under a license.</p>"
    return _html_table(HEAD_LICENSES, _rows_licenses(r))


def _html_synthetic(r: AuditReport) -> str:
    s = r.synthetic
    summary = (
        f"<p>{count(s.records)} synthetic records ({percent(s.share, 1)}); unanchored batches: "
        f"{_e(cell(s.unanchored_batches))}; maximum generation depth "
        f"{s.max_generation_depth}.</p>"
    )
    return summary + (_html_table(HEAD_SYNTHETIC, _rows_synthetic(r)) if s.batches else "")


def _html_contamination(r: AuditReport) -> str:
    return (
        f"<p>{count(r.contamination.cross_split_records)} validation/test records share content "
        f"with the train split.</p><p>{count(r.contamination.duplicate_records)} records repeat "
        "content already in the dataset.</p>"
    )


def _html_stakes_and_erasure(r: AuditReport) -> str:
    return "".join(f"<p>{_e(line)}</p>" for line in _stakes_lines(r) + _erasure_lines(r))
