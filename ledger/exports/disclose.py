"""Generating, publishing and comparing disclosures.

    generate(store, "ticket-router", "eu-gpai-summary")        # a Disclosure, nothing written
    disclose(ledger, "ticket-router", "ca-ab2013")               # ... and its signed entry
    diff_since(store, "ticket-router", "eu-gpai-summary", "2026-03-01")

Publishing appends a ``disclosure-published`` entry holding the template, subject, ledger
seq and content hash, so "what did we publish on date X" is provable: regenerate at that
ledger seq and compare the hash. ``diff_since`` does exactly that for the last disclosure of
the template published at or before a seq or date, then lists the batches added and removed
since and every field whose value or status changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson

from provledger.errors import InputError, NotFound
from provledger.exports import templates_ca, templates_eu
from provledger.exports.disclosure import (
    Disclosure,
    Facts,
    Section,
    Status,
    Value,
    assemble,
    gather,
    to_html,
    to_json,
    to_markdown,
)
from provledger.storage.entry_kinds import EntryKind

if TYPE_CHECKING:
    from provledger.ledger import Ledger
    from provledger.storage.store import Entry, Store

__all__ = [
    "FORMATS",
    "PUBLISHED_KIND",
    "TEMPLATES",
    "DisclosureDiff",
    "FieldChange",
    "PublishedDisclosure",
    "check_format",
    "diff_markdown",
    "diff_since",
    "disclose",
    "generate",
    "published",
    "render",
]

PUBLISHED_KIND = EntryKind.disclosure_published
FORMATS = ("markdown", "html", "json")
# template -> (sections builder, subject kinds it accepts)
TEMPLATES: dict[str, tuple[Callable[[Facts], list[Section]], tuple[str, ...]]] = {
    templates_eu.TEMPLATE: (templates_eu.sections, ("model",)),
    templates_ca.TEMPLATE: (templates_ca.sections, ("model", "dataset")),
}

# Is the name a model registered at or before the cut?
IS_MODEL = "SELECT 1 FROM models WHERE name = ? AND seq <= ?"
LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM entries"
# Every published disclosure at or before a seq, oldest first.
PUBLISHED = """
    SELECT seq, recorded_at, payload FROM entries
    WHERE kind = 'disclosure-published' AND seq <= ?
    ORDER BY seq
"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last_seq(store: Store) -> int:
    row = store.row(LAST_SEQ)
    return int(row[0]) if row else 0


def generate(
    store: Store,
    subject: str,
    template: str,
    *,
    cut: int | None = None,
    generated_at: str | None = None,
) -> Disclosure:
    """The disclosure of ``subject`` on ``template`` as the ledger stood at seq ``cut``
    (default: now). A name is a model when a model of that name is registered, else a
    dataset (AB 2013 only). Raises InputError for an unknown template, a seq beyond the
    log, or a dataset given to the EU summary; NotFound for an unknown subject."""
    if template not in TEMPLATES:
        raise InputError(
            f"unknown template '{template}' (expected one of {', '.join(TEMPLATES)})",
            field="template",
        )
    build, kinds = TEMPLATES[template]
    last = _last_seq(store)
    if cut is None:
        cut = last
    elif not 1 <= cut <= last:
        raise InputError(f"seq {cut} is not in the ledger (1 to {last})", field="as_of_seq")
    kind = "model" if store.row(IS_MODEL, [subject, cut]) is not None else "dataset"
    if kind not in kinds:
        raise NotFound(
            f"unknown model '{subject}': the {template} template is per model (register it "
            f"with 'provledger model register {subject} --dataset NAME')"
        )
    facts = gather(store, subject, kind, cut)
    return assemble(store, facts, template, build(facts), generated_at or _now())


def disclose(
    ledger: Ledger, subject: str, template: str, *, publish: bool = True
) -> tuple[Disclosure, Entry | None]:
    """Generate the disclosure as the ledger stands and, with ``publish``, append its
    ``disclosure-published`` entry in the same transaction. Raises as ``generate``."""
    if not publish:
        return generate(ledger.store, subject, template), None
    with ledger.appending() as app:
        doc = generate(ledger.store, subject, template, cut=app.seq - 1)
        entry = app.write_entry(
            PUBLISHED_KIND,
            {
                "template": doc.template,
                "subject": doc.subject,
                "subject_kind": doc.subject_kind,
                "ledger_seq": doc.ledger_seq,
                "content_sha256": doc.content_sha256,
                "generated_at": doc.generated_at,
                "missing": len(doc.missing),
            },
        )
    return doc, entry


def check_format(fmt: str) -> None:
    """Raise InputError unless ``fmt`` is one of FORMATS (check before publishing)."""
    if fmt not in FORMATS:
        raise InputError(
            f"unknown format '{fmt}' (expected one of {', '.join(FORMATS)})", field="format"
        )


def render(doc: Disclosure, fmt: str) -> str:
    """The document as Markdown, HTML or JSON text. Raises InputError for another format."""
    check_format(fmt)
    if fmt == "markdown":
        return to_markdown(doc)
    if fmt == "html":
        return to_html(doc)
    return to_json(doc)


def published(store: Store, *, until: int | None = None) -> list[dict[str, Any]]:
    """Every published disclosure at or before seq ``until`` (default: all), oldest first:
    its entry's seq and recorded_at with the signed payload."""
    rows = store.rows(PUBLISHED, [2**62 if until is None else until])
    return [{"seq": int(r[0]), "recorded_at": r[1], **orjson.loads(r[2])} for r in rows]


def _since_seq(store: Store, since: str) -> int:
    """A seq, or the last seq recorded at or before an ISO-8601 time (a bare date: the end
    of that day, UTC)."""
    text = since.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--diff-since '{since}' is neither a seq nor an ISO-8601 date or time "
            "(e.g. 42, 2026-03-01 or 2026-03-01T12:00:00Z)",
            field="diff_since",
        ) from None
    if len(text) == 10:
        when += timedelta(days=1) - timedelta(microseconds=1)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return store.seq_at(when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


@dataclass(frozen=True, slots=True)
class PublishedDisclosure:
    """A disclosure-published entry: its seq and time, then its signed payload (in the
    payload's canonical key order)."""

    seq: int
    recorded_at: str
    content_sha256: str
    generated_at: str
    ledger_seq: int
    missing: int
    subject: str
    subject_kind: Literal["model", "dataset"]
    template: str


@dataclass(frozen=True, slots=True)
class FieldChange:
    """A field whose value or status differs from the published disclosure's (``before``
    and ``status_before`` None: a field the published one did not have)."""

    section: str
    field: str
    label: str
    before: Value
    after: Value
    status_before: Status | None
    status_after: Status


@dataclass(frozen=True, slots=True)
class DisclosureDiff:
    """What changed in a disclosure since a published one (``disclose --diff-since
    --json``): the disclosure now (``ledger_seq``, ``content_sha256``), the published one
    it is compared with (``since``), whether regenerating that one at its ledger seq gives
    its content hash (``reproduced``), and the batches and fields that differ."""

    template: str
    subject: str
    ledger_seq: int
    content_sha256: str
    since: PublishedDisclosure
    reproduced: bool
    batches_added: list[str]
    batches_removed: list[str]
    changed: list[FieldChange]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def diff_since(store: Store, subject: str, template: str, since: str) -> DisclosureDiff:
    """What changed in ``subject``'s disclosure since the last ``template`` disclosure
    published at or before ``since`` (a seq or ISO-8601 date/time): one of the same subject
    when there is one, else the latest of that template (an earlier model version).

    Returns the ``DisclosureDiff``. Raises NotFound when nothing was published by then,
    and as ``generate``.
    """
    until = _since_seq(store, since)
    earlier = [p for p in published(store, until=until) if p["template"] == template]
    if not earlier:
        raise NotFound(
            f"no {template} disclosure was published at or before {since} (seq {until}): "
            f"publish one with 'provledger disclose {subject} --template {template}'"
        )
    same = [p for p in earlier if p["subject"] == subject]
    base = (same or earlier)[-1]
    old = generate(store, base["subject"], template, cut=base["ledger_seq"])
    new = generate(store, subject, template)
    before = {(s.id, f.id): f for s in old.sections for f in s.fields}
    changed = []
    for s in new.sections:
        for f in s.fields:
            was = before.get((s.id, f.id))
            if was is None or was.value != f.value or was.status != f.status:
                changed.append(
                    FieldChange(
                        section=s.id,
                        field=f.id,
                        label=f.label,
                        before=None if was is None else was.value,
                        after=f.value,
                        status_before=None if was is None else was.status,
                        status_after=f.status,
                    )
                )
    return DisclosureDiff(
        template=template,
        subject=subject,
        ledger_seq=new.ledger_seq,
        content_sha256=new.content_sha256,
        since=PublishedDisclosure(**base),
        reproduced=old.content_sha256 == base["content_sha256"],
        batches_added=[b for b in new.batches if b not in old.batches],
        batches_removed=[b for b in old.batches if b not in new.batches],
        changed=changed,
    )


def diff_markdown(diff: DisclosureDiff) -> str:
    """The diff as a short Markdown page for review."""
    base = diff.since
    out = [
        f"# Changes to the {diff.template} disclosure of {diff.subject}",
        "",
        f"- Since: seq {base.seq} ({base.recorded_at}), {base.subject_kind} "
        f"`{base.subject}` at ledger seq {base.ledger_seq}",
        f"- Published content hash `{base.content_sha256}` "
        + ("reproduced from the ledger" if diff.reproduced else "NOT reproduced from the ledger"),
        f"- Now: ledger seq {diff.ledger_seq}, content hash `{diff.content_sha256}`",
        f"- Batches added: {', '.join(diff.batches_added) or 'none'}",
        f"- Batches removed: {', '.join(diff.batches_removed) or 'none'}",
        "",
    ]
    if not diff.changed:
        out += ["No field changed.", ""]
        return "\n".join(out)
    out += ["| Section | Field | Before | After |", "|---|---|---|---|"]
    for c in diff.changed:

        def show(value: Any, status: str | None) -> str:
            text = (
                "—"
                if value is None
                else "; ".join(value)
                if isinstance(value, list)
                else str(value)
            )
            return f"{text} ({status})".replace("|", "\\|").replace("\n", " ")

        label = c.label.replace("|", "\\|")
        before, after = show(c.before, c.status_before), show(c.after, c.status_after)
        out.append(f"| {c.section} | {label} | {before} | {after} |")
    out.append("")
    return "\n".join(out)
