"""How the report shows near-duplicates, distribution match and synthetic diversity: rows
and sentences for the table and Markdown formats, and two SVG charts for HTML (match per
source; diversity per synthetic generation). Pure functions over an ``AuditReport``."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from provledger.wording import cell, count, plural

if TYPE_CHECKING:
    from provledger.audit import AuditReport

__all__ = [
    "HEAD_DISTRIBUTION",
    "HEAD_DIVERSITY",
    "distribution_rows",
    "diversity_rows",
    "html_cards",
    "models_sentence",
    "near_sentence",
    "reference_sentence",
]

HEAD_DISTRIBUTION = ["source", "train batches", "match", "coverage"]
HEAD_DIVERSITY = ["batch", "records", "diversity", "seeds'", "parents'", "collapsed"]


def _f(value: float | None) -> str:
    return cell(None if value is None else f"{value:.2f}")


def near_sentence(r: AuditReport) -> str:
    n = r.contamination.near
    return (
        f"Near copies (estimated Jaccard >= {n.threshold:g}): "
        f"{plural(r.contamination.near_cross_split_records, 'validation/test record')} near "
        f"train; {plural(n.duplicate_records, 'train record')} near an earlier train record; "
        f"{plural(n.benchmark_records, 'train record')} near a registered benchmark."
    ) + models_sentence(r)


def models_sentence(r: AuditReport) -> str:
    """' Models trained on it ...' for the models whose training data (through all their
    datasets) holds near copies of a registered benchmark; '' when none does."""
    hit = [m for m in r.contamination.near.models if m.records]
    if not hit:
        return ""
    parts = [
        f"{m.model} {plural(m.records, 'train record')} "
        f"({', '.join(f'{b.batch_id} {count(b.records)}' for b in m.benchmarks)}) "
        f"through {', '.join(m.datasets)}"
        for m in hit
    ]
    return (
        " Models trained on it whose training data is near a registered benchmark "
        f"(records near each benchmark batch): {'; '.join(parts)}."
    )


def reference_sentence(r: AuditReport) -> str:
    d = r.distribution
    if d.reference is None:
        return (
            "No reference batch: register a production sample with --split reference to "
            "measure distribution match."
        )
    return (
        f"Against reference {d.reference}: the training blend matches at {_f(d.blend.match)} "
        f"(1 - Jensen-Shannon divergence, base 2), coverage {_f(d.blend.coverage)}."
    )


def distribution_rows(r: AuditReport) -> list[list[str]]:
    return [
        [source, str(m.batches), _f(m.match), _f(m.coverage)]
        for source, m in r.distribution.by_source.items()
    ]


def diversity_rows(r: AuditReport) -> list[list[str]]:
    return [
        [
            b.batch_id,
            count(b.records),
            _f(b.diversity),
            _f(b.seeds_diversity),
            _f(b.parents_diversity),
            "yes" if b.collapsed else "no",
        ]
        for b in r.diversity.batches
    ]


def _bars(rows: list[tuple[str, float | None]], colour: str) -> str:
    """Horizontal bars on a 0..1 scale, one per (label, value); a missing value is '-'."""
    width, bar, gap, label = 520, 22, 10, 150
    plot = width - label - 60
    height = len(rows) * (bar + gap) + gap
    out = []
    for i, (name, value) in enumerate(rows):
        y = gap + i * (bar + gap)
        out.append(
            f'<text x="{label - 10}" y="{y + bar / 2 + 5}" text-anchor="end" class="lab">'
            f"{escape(name)}</text>"
            f'<rect x="{label}" y="{y}" width="{plot}" height="{bar}" fill="#f3f4f6"/>'
        )
        if value is not None:
            out.append(
                f'<rect x="{label}" y="{y}" width="{plot * value:.2f}" height="{bar}" '
                f'fill="{colour}"><title>{escape(name)}: {value:.2f}</title></rect>'
            )
        out.append(
            f'<text x="{label + plot + 8}" y="{y + bar / 2 + 5}" class="val">{_f(value)}</text>'
        )
    return f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">{"".join(out)}</svg>'


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def html_cards(r: AuditReport) -> str:
    """Two cards: distribution match per source (chart and table) with the near-copy
    figures, and synthetic diversity per generation (chart, seeds' diversity beside)."""
    match = _bars(
        [(s, m.match) for s, m in r.distribution.by_source.items()],
        "#2563eb",
    )
    first = (
        '<div class="card"><h2>Distribution match and near copies</h2>'
        f"<p>{escape(reference_sentence(r))}</p>"
        + (match if r.distribution.reference else "")
        + _table(HEAD_DISTRIBUTION, distribution_rows(r))
        + f"<p>{escape(near_sentence(r))}</p></div>"
    )
    batches = r.diversity.batches
    if not batches:
        return first
    depth = {b.batch_id: b.depth for b in r.synthetic.batches}
    rows: list[tuple[str, float | None]] = []
    for b in sorted(batches, key=lambda b: (depth.get(b.batch_id, 0), b.batch_id)):
        if b.seeds_diversity is not None:
            rows.append((f"seeds of {b.batch_id}", b.seeds_diversity))
        rows.append((f"{b.batch_id} (gen {depth.get(b.batch_id, '?')})", b.diversity))
    second = (
        '<div class="card"><h2>Synthetic diversity per generation</h2>'
        f"<p>Share of records with no earlier near copy in their batch; collapse below "
        f"{r.diversity.fraction:g} of the seeds'.</p>"
        + _bars(rows, "#7c3aed")
        + _table(HEAD_DIVERSITY, diversity_rows(r))
        + "</div>"
    )
    return first + second
