"""Renderings of an ``AuditReport``: JSON (for scripts), Markdown (for a review ticket),
a self-contained HTML page with inline SVG charts (opens offline; no scripts, fonts or
images fetched), and rich tables for the terminal.

``render(report, fmt)`` returns the text of any format; ``table(report)`` returns the rich
renderable the CLI prints to a terminal. Renderers only lay out what the report holds:
no figure is computed here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ledger import similarity_report
from ledger.audit import LEVELS, SEVERITIES, SOURCES, AuditReport

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

FORMATS = ("table", "json", "markdown", "html")

SOURCE_LABELS = {
    "scraped": "Scraped",
    "licensed": "Licensed",
    "first_party": "First party",
    "synthetic": "Synthetic",
}
SOURCE_COLOURS = {
    "scraped": "#d9734e",
    "licensed": "#3d5a80",
    "first_party": "#4f9d78",
    "synthetic": "#8e6cc4",
}
LEVEL_COLOURS = {"provable": "#2a9d8f", "documented": "#e9b949", "unknown": "#b8bcc4"}
# Darker shades of the same hues, for text on white.
LEVEL_TEXT_COLOURS = {"provable": "#1d7a6f", "documented": "#a26a00", "unknown": "#7a808a"}
SEVERITY_COLOURS = {"high": "#c8323b", "medium": "#e8890c", "low": "#5b7fa6"}
RICH_SEVERITY = {"high": "bold red", "medium": "yellow", "low": "cyan"}
RICH_LEVEL = {"provable": "green", "documented": "yellow", "unknown": "dim"}


def render(report: AuditReport, fmt: str, *, width: int = 110) -> str:
    """The report as text in ``fmt`` (one of FORMATS); ``table`` is plain text."""
    if fmt == "json":
        return to_json(report)
    if fmt == "markdown":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    if fmt == "table":
        return to_text(report, width=width)
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


# -- shared formatting ----------------------------------------------------------------------
def _n(value: int) -> str:
    return f"{value:,}"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _per_record(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4f}"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _day(value: str | None) -> str:
    return "-" if value is None else value[:10]


def _severity_counts(report: AuditReport) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in report.findings:
        counts[f.severity] += 1
    return counts


def _headline(report: AuditReport) -> str:
    counts = _severity_counts(report)
    found = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "none"
    return (
        f"{_n(report.records)} active records · provenance certainty "
        f"{report.provenance.certainty:.2f} · findings: {found}"
    )


def _cut_line(report: AuditReport) -> str:
    st = report.stakes
    return (
        f"As of {report.as_of} (ledger seq {report.seq}); audit date {report.audit_date}. "
        f"Context {st.context}; uses {', '.join(st.uses)}; owner {st.owner}."
    )


def _rows_blend(report: AuditReport) -> list[list[str]]:
    return [
        [s, _n(b.records), _pct(b.share), str(b.batches)]
        for s, b in ((s, report.blend[s]) for s in SOURCES)
    ]


def _rows_batches(report: AuditReport) -> list[list[str]]:
    return [
        [b.batch_id, b.source, b.split, _n(b.records), b.level, b.reason]
        for b in report.provenance.batches
    ]


def _rows_consent(report: AuditReport) -> list[list[str]]:
    return [
        [
            ref,
            v.status,
            _n(v.records),
            _text(v.fate),
            _text(v.missing_uses),
            _text(v.retention_days),
            _n(v.retention_exceeded),
            _n(v.noncompliant),
            _text(v.batches),
        ]
        for ref, v in report.consent.by_version.items()
    ]


def _rows_licenses(report: AuditReport) -> list[list[str]]:
    missing = {v.license: v.missing_uses for v in report.licenses.violations}
    expired = {e.license for e in report.licenses.expired}
    return [
        [
            u.license,
            _text(u.grants),
            _text(missing.get(u.license)),
            (u.expires_on or "-") + (" (expired)" if u.license in expired else ""),
            "yes" if u.document else "no",
            _n(u.records),
            _text(u.batches),
        ]
        for u in report.licenses.used
    ]


def _rows_synthetic(report: AuditReport) -> list[list[str]]:
    return [
        [b.batch_id, _n(b.records), str(b.depth), _text(b.seeds), "yes" if b.anchored else "no"]
        for b in report.synthetic.batches
    ]


def _rows_cadence_cost(report: AuditReport) -> list[list[str]]:
    rows = []
    for s in SOURCES:
        c, k = report.cadence[s], report.cost[s]
        rows.append(
            [
                s,
                _day(c.newest_collected_at),
                _text(c.age_days),
                _money(k.cost),
                _n(k.usable_records),
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
    lines.append(f"Scraped records: {_n(st.scraped_records)}.")
    since = st.since_context_set
    if since.batches:
        lines.append(
            f"Registered since the context was set: {len(since.batches)} batches "
            f"({', '.join(since.batches)}), {_n(since.records)} records."
        )
    else:
        lines.append("No batch was registered since the context was set.")
    return lines


def _erasure_lines(report: AuditReport) -> list[str]:
    e = report.erasure
    if not e.erased_records:
        return ["No erasure reaches this dataset."]
    refs = f" ({', '.join(e.request_refs)})" if e.request_refs else ""
    rebuild = ", ".join(f"{b.batch_id} ({_n(b.erased_records)})" for b in e.rebuild)
    return [
        f"{e.requests} request(s){refs} erased {_n(e.erased_records)} records; rebuild: {rebuild}."
    ]


# -- JSON -----------------------------------------------------------------------------------
def to_json(report: AuditReport) -> str:
    """The report as indented JSON, keys as the README's audit section lists them."""
    import orjson

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
    out = [
        f"# Audit: {r.dataset}",
        "",
        _cut_line(r),
        "",
        f"**{_headline(r)}**",
        "",
        "## Findings",
        "",
    ]
    if r.findings:
        out.append(
            _md_table(
                ["severity", "code", "records", "finding"],
                ([f.severity, f.code, _n(f.records), f.message] for f in r.findings),
            )
        )
    else:
        out.append("No findings.")
    out += ["", "## Recommendations", ""]
    for rec in r.recommendations:
        label = "Decision" if rec.kind == "decision" else "Revisit"
        out.append(f"- **{label}** (`{rec.code}`): {rec.message}")
    out += ["", "## Blend", "", _md_table(HEAD_BLEND, _rows_blend(r))]
    levels = ", ".join(f"{lvl} {_n(r.provenance.levels[lvl])}" for lvl in LEVELS)
    out += [
        "",
        "## Provenance certainty",
        "",
        f"Certainty **{r.provenance.certainty:.4f}** (records: {levels}).",
        "",
        _md_table(HEAD_BATCHES, _rows_batches(r)),
    ]
    c = r.consent
    out += [
        "",
        "## Consent drift",
        "",
        f"First-party records: {_n(c.records)}; current {_n(c.current)}, superseded "
        f"{_n(c.superseded)}, noncompliant {_n(c.noncompliant)}.",
        "",
    ]
    if c.by_version:
        out.append(_md_table(HEAD_CONSENT, _rows_consent(r)))
    out += ["", "## License scope", ""]
    if r.licenses.used:
        out.append(_md_table(HEAD_LICENSES, _rows_licenses(r)))
    else:
        out.append("No batch is registered under a license.")
    s = r.synthetic
    out += [
        "",
        "## Synthetic anchoring",
        "",
        f"Synthetic records: {_n(s.records)} ({_pct(s.share)}); unanchored batches: "
        f"{_text(s.unanchored_batches)}; maximum generation depth {s.max_generation_depth}.",
        "",
    ]
    if s.batches:
        out.append(_md_table(HEAD_SYNTHETIC, _rows_synthetic(r)))
    out += [
        "",
        "## Contamination and duplicates",
        "",
        f"Validation/test records whose content is also in train: "
        f"{_n(r.contamination.cross_split_records)}. Duplicate records: "
        f"{_n(r.contamination.duplicate_records)}. " + similarity_report.near_sentence(r),
        "",
        "## Distribution match",
        "",
        similarity_report.reference_sentence(r),
        "",
        _md_table(similarity_report.HEAD_DISTRIBUTION, similarity_report.distribution_rows(r)),
        "",
        *(
            [
                "## Synthetic diversity",
                "",
                _md_table(similarity_report.HEAD_DIVERSITY, similarity_report.diversity_rows(r)),
                "",
            ]
            if r.diversity.batches
            else []
        ),
        "## Stakes",
        "",
        " ".join(_stakes_lines(r)),
        "",
        "## Cadence and cost",
        "",
        _md_table(HEAD_CADENCE_COST, _rows_cadence_cost(r)),
        "",
        "## Erasure",
        "",
        " ".join(_erasure_lines(r)),
        "",
    ]
    return "\n".join(out)


# -- rich tables ----------------------------------------------------------------------------
def table(report: AuditReport) -> RenderableType:
    """The report as rich renderables, for a terminal."""
    from rich.console import Group
    from rich.table import Table
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
            Text(f.severity, style=RICH_SEVERITY[f.severity]), f.code, _n(f.records), f.message
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
    levels = ", ".join(f"{lvl} {_n(r.provenance.levels[lvl])}" for lvl in LEVELS)
    prov = Table(
        title=f"Provenance certainty {r.provenance.certainty:.4f} ({levels})",
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
            _n(b.records),
            Text(b.level, style=RICH_LEVEL[b.level]),
            b.reason,
        )
    parts.append(prov)
    c = r.consent
    parts.append(
        grid(
            f"Consent drift: {_n(c.records)} first-party records, current {_n(c.current)}, "
            f"superseded {_n(c.superseded)}, noncompliant {_n(c.noncompliant)}",
            HEAD_CONSENT,
            _rows_consent(r),
        )
    )
    parts.append(grid("License scope", HEAD_LICENSES, _rows_licenses(r)))
    s = r.synthetic
    parts.append(
        grid(
            f"Synthetic anchoring: {_n(s.records)} records ({_pct(s.share)}), unanchored "
            f"{_text(s.unanchored_batches)}, max generation depth {s.max_generation_depth}",
            HEAD_SYNTHETIC,
            _rows_synthetic(r),
        )
    )
    parts.append(grid("Cadence and cost", HEAD_CADENCE_COST, _rows_cadence_cost(r)))
    parts.append(
        Text(
            f"Contamination: {_n(r.contamination.cross_split_records)} validation/test records "
            f"share content with train; duplicates: {_n(r.contamination.duplicate_records)}. "
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
    return Group(*parts)


def to_text(report: AuditReport, *, width: int = 110) -> str:
    """The rich tables as plain text (no colour codes), for a file."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(table(report))
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
            f"<title>{_e(label)}: {_n(int(value))}</title></rect>"
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
            f'transform="rotate(-90 90 90)"><title>{_e(label)}: {_n(int(value))}</title>'
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
            f'<text x="{x + 8:.2f}" y="{y + bar / 2 + 5}" class="val">{_n(int(total))}</text>'
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
    total = r.records

    blend_parts = [
        (SOURCE_LABELS[s], float(r.blend[s].records), SOURCE_COLOURS[s]) for s in SOURCES
    ]
    blend_card = (
        '<div class="card"><h2>Blend of sources</h2>'
        + _svg_hbar_stack(blend_parts)
        + _legend(
            (
                SOURCE_LABELS[s],
                f"{_n(r.blend[s].records)} · {_pct(r.blend[s].share)} · "
                f"{r.blend[s].batches} batch{'es' if r.blend[s].batches != 1 else ''}",
                SOURCE_COLOURS[s],
            )
            for s in SOURCES
        )
        + _html_table(
            ["source", "cost per usable record", "newest collected", "age (days)"],
            (
                [
                    SOURCE_LABELS[s],
                    _per_record(r.cost[s].cost_per_usable_record),
                    _day(r.cadence[s].newest_collected_at),
                    _text(r.cadence[s].age_days),
                ]
                for s in SOURCES
            ),
            cls="mini",
        )
        + "</div>"
    )

    level_parts = [(lvl, float(r.provenance.levels[lvl]), LEVEL_COLOURS[lvl]) for lvl in LEVELS]
    certainty_card = (
        '<div class="card"><h2>Provenance certainty</h2><div class="donut">'
        + _svg_donut(level_parts, f"{r.provenance.certainty:.2f}", "certainty score")
        + _legend(
            (
                lvl,
                f"{_n(r.provenance.levels[lvl])} · "
                f"{_pct(r.provenance.levels[lvl] / total if total else 0.0)}",
                LEVEL_COLOURS[lvl],
            )
            for lvl in LEVELS
        )
        + "</div><p class='meta'>Each batch's level and why are listed below. The score "
        "weighs provable 1, documented 0.5 and unknown 0 by active records.</p></div>"
    )

    consent_rows = []
    for ref, v in r.consent.by_version.items():
        ok = v.records - v.noncompliant
        colour = "#4f9d78" if v.status == "current" else "#e9b949"
        consent_rows.append(
            (
                f"{ref} ({v.status})",
                [
                    (float(ok), colour, f"{ref}: {_n(ok)} compliant"),
                    (float(v.noncompliant), "#c8323b", f"{ref}: {_n(v.noncompliant)} noncompliant"),
                ],
            )
        )
    consent_card = '<div class="card"><h2>Consent by version</h2>' + (
        _svg_bars(consent_rows, label_width=190)
        + _legend(
            [
                ("current version", _n(r.consent.current), "#4f9d78"),
                ("superseded version", _n(r.consent.superseded), "#e9b949"),
                ("noncompliant", _n(r.consent.noncompliant), "#c8323b"),
            ]
        )
        if consent_rows
        else "<p>No first-party records.</p>"
    )
    notes = []
    for ref, v in r.consent.by_version.items():
        why = []
        if v.status == "superseded":
            why.append(f"superseded by {v.latest}" + (f" ({v.fate})" if v.fate else ""))
        if v.missing_uses:
            why.append(f"does not permit {', '.join(v.missing_uses)}")
        if v.retention_exceeded:
            why.append(f"{_n(v.retention_exceeded)} past {v.retention_days}-day retention")
        if why:
            notes.append(f"{ref}: {'; '.join(why)}")
    if notes:
        consent_card += "".join(f"<p class='meta'>{_e(note)}</p>" for note in notes)
    consent_card += "</div>"

    finding_rows = [
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
        for s in SEVERITIES
    ]
    findings_card = (
        '<div class="card"><h2>Findings by severity</h2>'
        + _svg_bars(finding_rows, label_width=90)
        + "<p class='meta'>"
        + _e(
            "; ".join(
                f"{s}: {', '.join(f.code for f in r.findings if f.severity == s) or 'none'}"
                for s in SEVERITIES
            )
        )
        + "</p></div>"
    )

    finding_table = (
        "<table><thead><tr><th>severity</th><th>code</th><th>records</th><th>finding</th>"
        "</tr></thead><tbody>"
        + "".join(
            f'<tr><td><span class="sev" style="background:{SEVERITY_COLOURS[f.severity]}">'
            f'{_e(f.severity)}</span></td><td class="code">{_e(f.code)}</td>'
            f"<td>{_n(f.records)}</td><td>{_e(f.message)}</td></tr>"
            for f in r.findings
        )
        + "</tbody></table>"
        if r.findings
        else "<p>No findings.</p>"
    )
    recs = (
        '<ul class="recs">'
        + "".join(
            f'<li><span class="kind">{_e(rec.kind)}</span><span class="code">{_e(rec.code)}'
            f"</span> {_e(rec.message)}</li>"
            for rec in r.recommendations
        )
        + "</ul>"
    )
    batch_table = (
        "<table><thead><tr>"
        + "".join(f"<th>{_e(h)}</th>" for h in HEAD_BATCHES)
        + "</tr></thead><tbody>"
        + "".join(
            f"<tr><td class='code'>{_e(b.batch_id)}</td><td>{_e(b.source)}</td>"
            f"<td>{_e(b.split)}</td><td>{_n(b.records)}</td>"
            f'<td class="lvl" style="color:{LEVEL_TEXT_COLOURS[b.level]}">{_e(b.level)}</td>'
            f"<td>{_e(b.reason)}</td></tr>"
            for b in r.provenance.batches
        )
        + "</tbody></table>"
    )
    s = r.synthetic
    context_badge = f'<span class="badge {_e(r.stakes.context)}">{_e(r.stakes.context)}</span>'
    kpis = [
        (_n(total), "active records"),
        (f"{r.provenance.certainty:.2f}", "provenance certainty"),
        (f"{counts['high']} / {counts['medium']} / {counts['low']}", "findings high/med/low"),
        (_n(r.consent.noncompliant), "noncompliant consent records"),
    ]
    body = [
        "<header><div>",
        f"<h1>{_e(r.dataset)} <small>provenance audit</small>{context_badge}</h1>",
        f'<div class="meta">Owner {_e(r.stakes.owner)} · uses {_e(", ".join(r.stakes.uses))}'
        "</div></div>",
        f'<div class="meta">As of {_e(r.as_of)}<br>ledger seq {r.seq} · audit date '
        f"{_e(r.audit_date)}</div></header>",
        '<section class="kpis">'
        + "".join(f'<div class="kpi"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for v, k in kpis)
        + "</section>",
        '<section class="grid">',
        blend_card,
        certainty_card,
        consent_card,
        findings_card,
        "</section>",
        f'<div class="card"><h2>Findings</h2>{finding_table}</div>',
        f'<div class="card"><h2>Recommendations</h2>{recs}</div>',
        f'<div class="card"><h2>Provenance by batch</h2>{batch_table}</div>',
        '<div class="card"><h2>Consent drift</h2>'
        + (
            _html_table(HEAD_CONSENT, _rows_consent(r))
            if r.consent.by_version
            else "<p>No first-party records.</p>"
        )
        + "</div>",
        '<div class="card"><h2>License scope</h2>'
        + (
            _html_table(HEAD_LICENSES, _rows_licenses(r))
            if r.licenses.used
            else "<p>No batch is registered under a license.</p>"
        )
        + "</div>",
        '<div class="card"><h2>Synthetic anchoring</h2>'
        f"<p>{_n(s.records)} synthetic records ({_pct(s.share)}); unanchored batches: "
        f"{_e(_text(s.unanchored_batches))}; maximum generation depth "
        f"{s.max_generation_depth}.</p>"
        + (_html_table(HEAD_SYNTHETIC, _rows_synthetic(r)) if s.batches else "")
        + "</div>",
        '<section class="grid">',
        '<div class="card"><h2>Contamination and duplicates</h2>'
        f"<p>{_n(r.contamination.cross_split_records)} validation/test records share content "
        f"with the train split.</p><p>{_n(r.contamination.duplicate_records)} records repeat "
        "content already in the dataset.</p></div>",
        "</section>",
        similarity_report.html_cards(r),
        '<section class="grid">',
        '<div class="card"><h2>Stakes and erasure</h2>'
        + "".join(f"<p>{_e(line)}</p>" for line in _stakes_lines(r))
        + "".join(f"<p>{_e(line)}</p>" for line in _erasure_lines(r))
        + "</div>",
        "</section>",
        '<div class="card"><h2>Cadence and cost</h2>'
        + _html_table(HEAD_CADENCE_COST, _rows_cadence_cost(r))
        + "</div>",
        "<footer>Generated by provledger audit. Counts are active records (erased records "
        "excluded); shares are fractions of the dataset's active records.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Audit: {_e(r.dataset)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )
