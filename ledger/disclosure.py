"""The disclosure document: its model, the facts a template reads from the ledger, the field
constructors and size buckets templates share, its content hash, and its rendering as
Markdown (the public page), self-contained HTML and JSON.

A disclosure is a pure function of the ledger as it stood at one seq (``ledger_seq``): the
subject (a model, or for AB 2013 a dataset), its batches with their signed metadata, the
licenses, the model registrations and the latest organisation profile at that seq. So
``content_sha256`` (SHA-256 of the RFC 8785 JSON of the document without
``generated_at``) can be recomputed later from the same seq, which is how a published
disclosure is proven (see ``ledger.disclose``).

Each field has a ``status``: ``ledger`` (computed from signed entries, whose seqs are its
``evidence``), ``declared`` (from the organisation profile; evidence is the profile-set
entry) or ``missing`` (listed under ``missing`` as what to declare before publishing).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, Field

from ledger.batch_metadata import TOKENIZER, effective_channel
from ledger.canonical import canonical_json
from ledger.errors import NotFound
from ledger.profile import get_profile

if TYPE_CHECKING:
    from ledger.store import Store

__all__ = [
    "Batch",
    "Disclosure",
    "DisclosureField",
    "Facts",
    "Section",
    "bucket_ab2013",
    "bucket_eu",
    "content_hash",
    "declared",
    "gather",
    "ledger_value",
    "missing",
    "records_in",
    "to_html",
    "to_json",
    "to_markdown",
]

Status = Literal["ledger", "declared", "missing"]
Value = str | int | bool | list[str] | None


class DisclosureField(BaseModel):
    id: str
    label: str
    value: Value
    status: Status
    evidence: list[int] = Field(description="Seqs of the signed entries the value comes from.")
    declare: str | None = Field(default=None, description="For a missing value: how to supply it.")


class Section(BaseModel):
    id: str = Field(description="The template's own numbering: '1.1' .. '3.2', or '1' .. '12'.")
    title: str
    fields: list[DisclosureField]


class EvidenceEntry(BaseModel):
    seq: int
    kind: str


class Disclosure(BaseModel):
    """The output of ``provledger disclose --format json``."""

    template: str
    subject: str
    subject_kind: Literal["model", "dataset"]
    generated_at: str = Field(description="When it was generated (ISO-8601 UTC).")
    ledger_seq: int = Field(description="The last ledger entry it reflects.")
    content_sha256: str = Field(
        description="SHA-256 of the RFC 8785 JSON of this document without generated_at and "
        "content_sha256: recomputable from ledger_seq."
    )
    batches: list[str] = Field(description="Every batch the disclosure covers.")
    missing: list[str] = Field(description="'SECTION FIELD-ID' of every missing value.")
    entries: list[EvidenceEntry] = Field(description="Every entry cited as evidence.")
    sections: list[Section]

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def field(self, section: str, field_id: str) -> DisclosureField:
        """The field ``field_id`` of section ``section``; KeyError when there is none."""
        for s in self.sections:
            if s.id == section:
                for f in s.fields:
                    if f.id == field_id:
                        return f
        raise KeyError(f"{section} {field_id}")


# -- field constructors ----------------------------------------------------------------------
def ledger_value(
    id: str,
    label: str,
    value: Value,
    evidence: list[int],
    declare: str = "register the training batches (see docs/disclosures.md for the flags)",
) -> DisclosureField:
    """A value computed from signed entries; missing (supplied by ``declare``) when there
    is no value to compute."""
    if value is None or value == []:
        return missing(id, label, declare)
    return DisclosureField(
        id=id, label=label, value=value, status="ledger", evidence=sorted(set(evidence))
    )


def declared(
    id: str, label: str, value: Value, profile_seq: int | None, where: str
) -> DisclosureField:
    """A value the organisation profile declares (at ``where``); missing when it does not."""
    if value is None or profile_seq is None:
        return missing(id, label, f"profile: {where} ('provledger profile set FILE.json')")
    return DisclosureField(
        id=id, label=label, value=value, status="declared", evidence=[profile_seq]
    )


def missing(id: str, label: str, declare: str) -> DisclosureField:
    """A value neither the ledger nor the profile gives; ``declare`` says how to supply it."""
    return DisclosureField(
        id=id, label=label, value=None, status="missing", evidence=[], declare=declare
    )


def records_in(batches: list[Batch]) -> str:
    """'3 records in b7, b9' ('1 record in b7')."""
    n = sum(b.records for b in batches)
    return f"{n:,} record{'' if n == 1 else 's'} in {', '.join(b.batch_id for b in batches)}"


# -- size buckets -------------------------------------------------------------------------
# The AI Office template's ranges per modality: (unit, lower bound of the middle range,
# upper bound of the middle range). A size equal to a bound falls in the middle range.
EU_RANGES: dict[str, tuple[str, int, int, str, str]] = {
    "text": ("tokens", 10**9, 10**13, "1 billion", "10 trillion"),
    "image": ("images", 10**6, 10**9, "1 million", "1 billion"),
    "audio": ("hours", 10**4, 10**6, "10 thousand", "1 million"),
    "video": ("hours", 10**4, 10**6, "10 thousand", "1 million"),
}


def bucket_eu(modality: str, size: float) -> str:
    """The template's range for ``size`` (tokens, images or hours): 'Less than L', 'L to
    U', or 'More than U' (a size equal to L or U is in the middle range)."""
    unit, low, high, low_text, high_text = EU_RANGES[modality]
    if size < low:
        return f"Less than {low_text} {unit}"
    if size <= high:
        return f"{low_text[0].upper()}{low_text[1:]} to {high_text} {unit}"
    return f"More than {high_text} {unit}"


def bucket_ab2013(n: int) -> str:
    """A data-point count as a decade range ('1,000 to 9,999'); below 1,000, '1 to 999';
    zero is 'None'."""
    if n <= 0:
        return "None"
    if n < 1000:
        return "1 to 999"
    low = 10 ** (len(str(n)) - 1)
    return f"{low:,} to {low * 10 - 1:,}"


# -- facts ------------------------------------------------------------------------------------
# The subject model, registered at or before the cut.
MODEL = "SELECT seq, recorded_at FROM models JOIN entries USING (seq) WHERE name = ? AND seq <= ?"
MODEL_DATASETS = "SELECT dataset FROM model_datasets WHERE seq = ? ORDER BY dataset"
# When each dataset was created (its first state), at or before the cut.
DATASETS_CREATED = """
    SELECT dataset, min(seq) AS seq FROM dataset_states WHERE seq <= ? GROUP BY dataset
"""
# The batches of the subject's datasets registered at or before $upto, with the metadata
# they declared in their signed payload (NULL for older entries).
BATCHES = """
    SELECT b.seq, b.batch_id, b.dataset, b.source, b.split, b.license, b.consent, b.origin,
           b.collected_at, b.generator, b.subject_field, b.records, b.cost, e.recorded_at,
           json_extract(e.payload, '$.metadata')::VARCHAR AS metadata
    FROM batches b JOIN entries e ON e.seq = b.seq
    WHERE list_contains($datasets, b.dataset) AND b.seq <= $upto
    ORDER BY b.seq
"""
# Every license version at or before the cut.
LICENSES = """
    SELECT seq, id || '@' || version AS ref, title, licensor, spdx
    FROM licenses WHERE seq <= ?
"""
# Every model registration naming a dataset, at or before the cut, oldest first.
MODEL_USES = """
    SELECT m.dataset, m.model, m.seq, e.recorded_at
    FROM model_datasets m JOIN entries e ON e.seq = m.seq
    WHERE m.seq <= ? ORDER BY m.seq
"""
ENTRY_KINDS = "SELECT seq, kind FROM entries WHERE list_contains(?, seq) ORDER BY seq"
LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM entries"


@dataclass
class Batch:
    """One batch as a disclosure sees it: its projection row and its signed metadata."""

    seq: int
    batch_id: str
    dataset: str
    source: str
    split: str
    license: str | None
    consent: str | None
    origin: str | None
    collected_at: str | None
    generator: str | None
    subject_field: str | None
    records: int
    cost: float | None
    recorded_at: str
    metadata: dict[str, Any] | None

    @property
    def channel(self) -> str:
        return effective_channel(self.source, self.metadata)

    def meta(self, key: str) -> Any:
        return (self.metadata or {}).get(key)

    @property
    def modality(self) -> str:
        return str(self.meta("modality") or "text")

    @property
    def domain(self) -> str | None:
        """The host of an http(s) origin, without 'www.'."""
        if not self.origin:
            return None
        parts = urlsplit(self.origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        host = parts.hostname
        return host[4:] if host.startswith("www.") else host


@dataclass
class Facts:
    """What a template reads: the subject, its batches and everything they refer to, as the
    ledger stood at ``cut``."""

    cut: int
    subject: str
    subject_kind: Literal["model", "dataset"]
    subject_seq: int
    subject_recorded_at: str
    datasets: list[str]
    dataset_seqs: dict[str, int]
    batches: list[Batch]
    licenses: dict[str, dict[str, Any]]
    model_uses: list[dict[str, Any]]
    profile_seq: int | None
    profile: dict[str, Any] = field(default_factory=dict)

    def of(self, dataset: str) -> list[Batch]:
        return [b for b in self.batches if b.dataset == dataset]


def gather(store: Store, subject: str, kind: str, cut: int | None = None) -> Facts:
    """The facts about ``subject`` (kind 'model' or 'dataset') as of seq ``cut`` (default:
    the last entry). Raises NotFound when the ledger holds no such subject at the cut."""
    if cut is None:
        last = store.row(LAST_SEQ)
        cut = int(last[0]) if last else 0
    created = {r[0]: int(r[1]) for r in store.rows(DATASETS_CREATED, [cut])}
    if kind == "model":
        row = store.row(MODEL, [subject, cut])
        if row is None:
            raise NotFound(
                f"unknown model '{subject}': register it with 'provledger model register "
                f"{subject} --dataset NAME' ('provledger model list' shows them)"
            )
        subject_seq, recorded_at = int(row[0]), str(row[1])
        datasets = [r[0] for r in store.rows(MODEL_DATASETS, [subject_seq])]
        upto = subject_seq
    else:
        if subject not in created:
            raise NotFound(
                f"unknown model or dataset '{subject}' ('provledger model list' and "
                "'provledger dataset list' show them)"
            )
        subject_seq = created[subject]
        entry = store.entry(subject_seq)
        recorded_at = entry.recorded_at if entry else ""
        datasets, upto = [subject], cut
    batches = [
        Batch(
            seq=int(r["seq"]),
            batch_id=r["batch_id"],
            dataset=r["dataset"],
            source=r["source"],
            split=r["split"],
            license=r["license"],
            consent=r["consent"],
            origin=r["origin"],
            collected_at=r["collected_at"].isoformat() if r["collected_at"] else None,
            generator=r["generator"],
            subject_field=r["subject_field"],
            records=int(r["records"]),
            cost=r["cost"],
            recorded_at=r["recorded_at"],
            metadata=orjson.loads(r["metadata"] or "null"),
        )
        for r in store.dicts(BATCHES, {"datasets": datasets, "upto": upto})
    ]
    licenses = {r["ref"]: r for r in store.dicts(LICENSES, [cut])}
    profile = get_profile(store, cut)
    return Facts(
        cut=cut,
        subject=subject,
        subject_kind="model" if kind == "model" else "dataset",
        subject_seq=subject_seq,
        subject_recorded_at=recorded_at,
        datasets=datasets,
        dataset_seqs={d: created[d] for d in datasets if d in created},
        batches=batches,
        licenses=licenses,
        model_uses=store.dicts(MODEL_USES, [cut]),
        profile_seq=profile[0] if profile else None,
        profile=profile[1] if profile else {},
    )


def assemble(
    store: Store, facts: Facts, template: str, sections: list[Section], generated_at: str
) -> Disclosure:
    """The document around ``sections``: missing list, cited entries and content hash."""
    cited = sorted({seq for s in sections for f in s.fields for seq in f.evidence})
    kinds = [EvidenceEntry(seq=int(r[0]), kind=r[1]) for r in store.rows(ENTRY_KINDS, [cited])]
    doc = Disclosure(
        template=template,
        subject=facts.subject,
        subject_kind=facts.subject_kind,
        generated_at=generated_at,
        ledger_seq=facts.cut,
        content_sha256="",
        batches=[b.batch_id for b in facts.batches],
        missing=[f"{s.id} {f.id}" for s in sections for f in s.fields if f.status == "missing"],
        entries=kinds,
        sections=sections,
    )
    doc.content_sha256 = content_hash(doc)
    return doc


def content_hash(doc: Disclosure) -> str:
    """SHA-256 (hex) of the RFC 8785 JSON of ``doc`` without generated_at and
    content_sha256: the same for every generation from the same ledger seq."""
    body = doc.model_dump(mode="json", exclude={"generated_at", "content_sha256"})
    return hashlib.sha256(canonical_json(body)).hexdigest()


# -- rendering -----------------------------------------------------------------------------
TITLES = {
    "eu-gpai-summary": "Public summary of training content (EU AI Act, Article 53(1)(d))",
    "ca-ab2013": "Training data documentation (California AB 2013, Civil Code §3111)",
}


def _text(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, int):
        return f"{value:,}"
    return value


def _evidence_text(f: DisclosureField, kinds: dict[int, str]) -> str:
    if f.status == "missing":
        return "MISSING"
    seqs = ", ".join(str(s) for s in f.evidence)
    what = sorted({kinds.get(s, "?") for s in f.evidence})
    return f"seq {seqs} ({', '.join(what)})" if seqs else ""


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_json(doc: Disclosure) -> str:
    return orjson.dumps(doc.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"


HOW_TO_CHECK = (
    "Every seq in the Evidence column is an entry of the signed, append-only ledger. "
    "`provledger verify` checks every entry's hash, signature and chain link and every "
    "batch's Merkle root; `provledger log --json` shows each entry's signed payload (batch "
    "counts, channel, modality, languages, crawler, opt-out evidence, generator); "
    "`provledger disclose {subject} --template {template} --as-of-seq {seq} "
    "--format json` regenerates this page from the same ledger state, and its "
    "content_sha256 must equal the one above. Field by field: docs/disclosures.md."
)


def to_markdown(doc: Disclosure) -> str:
    """The public page: header, what is missing, then one table per section."""
    kinds = {e.seq: e.kind for e in doc.entries}
    out = [
        f"# {TITLES.get(doc.template, doc.template)}: {doc.subject}",
        "",
        f"- Template: `{doc.template}`; subject: {doc.subject_kind} `{doc.subject}`",
        f"- Generated {doc.generated_at} from ledger seq {doc.ledger_seq}",
        f"- Content SHA-256: `{doc.content_sha256}`",
        f"- Batches covered: {', '.join(doc.batches) or 'none'}",
        "",
        "## Declare before publishing",
        "",
    ]
    if doc.missing:
        out += [
            f"- {s.id} {_md(f.label)} (`{f.id}`): {_md(f.declare or '')}"
            for s in doc.sections
            for f in s.fields
            if f.status == "missing"
        ]
    else:
        out.append("Nothing is missing.")
    for s in doc.sections:
        out += ["", f"## {s.id} {s.title}", "", "| Field | Value | Status | Evidence |"]
        out.append("|---|---|---|---|")
        for f in s.fields:
            out.append(
                f"| {_md(f.label)} | {_md(_text(f.value))} | {f.status} | "
                f"{_md(_evidence_text(f, kinds))} |"
            )
    how = HOW_TO_CHECK.format(subject=doc.subject, template=doc.template, seq=doc.ledger_seq)
    out += ["", "## How to check this page", "", how, ""]
    return "\n".join(out)


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d2430}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #cfd6e0;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7}.missing{background:#fff1f0}.declared{background:#f5f8ff}
code{font-size:90%}
"""


def to_html(doc: Disclosure) -> str:
    """The same page as one self-contained HTML file (no scripts, no external resources)."""
    e = html.escape
    kinds = {x.seq: x.kind for x in doc.entries}
    title = f"{TITLES.get(doc.template, doc.template)}: {doc.subject}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
        "<ul>",
        f"<li>Template: <code>{e(doc.template)}</code>; subject: {e(doc.subject_kind)} "
        f"<code>{e(doc.subject)}</code></li>",
        f"<li>Generated {e(doc.generated_at)} from ledger seq {doc.ledger_seq}</li>",
        f"<li>Content SHA-256: <code>{e(doc.content_sha256)}</code></li>",
        f"<li>Batches covered: {e(', '.join(doc.batches) or 'none')}</li>",
        "</ul>",
        "<h2>Declare before publishing</h2>",
    ]
    if doc.missing:
        parts.append("<ul>")
        parts += [
            f"<li>{e(s.id)} {e(f.label)} (<code>{e(f.id)}</code>): {e(f.declare or '')}</li>"
            for s in doc.sections
            for f in s.fields
            if f.status == "missing"
        ]
        parts.append("</ul>")
    else:
        parts.append("<p>Nothing is missing.</p>")
    for s in doc.sections:
        parts.append(f"<h2>{e(s.id)} {e(s.title)}</h2>")
        parts.append(
            "<table><thead><tr><th>Field</th><th>Value</th><th>Status</th><th>Evidence</th>"
            "</tr></thead><tbody>"
        )
        for f in s.fields:
            parts.append(
                f'<tr class="{f.status}"><td>{e(f.label)}</td><td>{e(_text(f.value))}</td>'
                f"<td>{f.status}</td><td>{e(_evidence_text(f, kinds))}</td></tr>"
            )
        parts.append("</tbody></table>")
    how = HOW_TO_CHECK.format(subject=doc.subject, template=doc.template, seq=doc.ledger_seq)
    parts += ["<h2>How to check this page</h2>", f"<p>{e(how)}</p>", "</body>", "</html>", ""]
    return "\n".join(parts)


def tokens_note() -> str:
    """How token figures are counted, for labels."""
    return f"tokens counted as {TOKENIZER}"
