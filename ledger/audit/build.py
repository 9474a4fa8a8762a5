"""``audit()``: the entry point. It fixes the cut (the last entry an ``--as-of`` sees),
checks the dataset existed and holds batches then, builds each section of the report
(``provledger.audit.sections``), then adds the findings and the recommendations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import provledger.audit.sections as sections
from provledger.audit.findings import findings_of
from provledger.audit.queries import (
    BATCHES,
    CONSENT_GAINED_VERSION,
    DATASET_STATES,
    LAST_SEQ,
    LICENSES,
    STAKES,
    run,
)
from provledger.audit.recommendations import EXPIRY_HORIZON_DAYS, recommendations
from provledger.audit.report import AuditReport
from provledger.errors import InputError, NotFound
from provledger.similarity.distribution import distribution
from provledger.similarity.diversity import diversity
from provledger.similarity.near_duplicates import DEFAULT_NEAR_THRESHOLD
from provledger.storage.store import TIMESTAMP_FORMAT
from provledger.vocabulary import SOURCES

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = ["audit", "parse_as_of"]


def parse_as_of(text: str) -> datetime:
    """An ISO-8601 date or time as an aware UTC datetime. A bare date is its midnight (UTC);
    a time without offset is UTC. Raises InputError when ``text`` is not ISO-8601."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--as-of '{text}' is not an ISO-8601 date or time "
            "(e.g. 2026-03-01 or 2026-03-01T12:00:00Z)"
        ) from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise InputError(f"--as-of '{text}' falls outside years 1-9999 in UTC") from None


def _stamp(when: datetime) -> str:
    # The format of entries.recorded_at, so a string comparison orders them correctly.
    return when.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _cut(store: Store, as_of: str | None, today: date | None) -> tuple[datetime, int, date]:
    """The instant audited, the last entry seq it sees and the audit date."""
    now = datetime.now(UTC)
    if as_of is not None:
        when = parse_as_of(as_of)
        return when, store.seq_at(_stamp(when)), when.date()
    last = store.row(LAST_SEQ)
    return now, int(last[0]) if last else 0, today or now.date()


def _states_at_cut(
    store: Store, params: dict[str, Any], when: datetime
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The dataset's state at the cut and the one before it. Raises NotFound for an
    unknown dataset or one created after the cut."""
    dataset, cut = params["dataset"], params["cut"]
    states = run(store, DATASET_STATES, params)
    if not states:
        raise NotFound(f"unknown dataset '{dataset}' ('provledger dataset list' shows them)")
    at_cut = [s for s in states if s["seq"] <= cut]
    if not at_cut:
        raise NotFound(
            f"dataset '{dataset}' did not exist as of {_stamp(when)} "
            f"(created {states[0]['recorded_at']})"
        )
    return at_cut[-1], (at_cut[-2] if len(at_cut) > 1 else None)


def audit(
    store: Store,
    dataset: str,
    as_of: str | None = None,
    *,
    today: date | None = None,
    near_threshold: float = DEFAULT_NEAR_THRESHOLD,
) -> AuditReport:
    """Audit ``dataset`` as the ledger stood at ``as_of`` (ISO-8601; default: now).

    ``today`` pins the audit date when ``as_of`` is not given (tests); with ``as_of`` the
    audit date is its date. Raises InputError for a malformed ``as_of``, NotFound for an
    unknown dataset, one that did not exist yet at ``as_of``, or one with no batches.
    ``near_threshold``: the estimated Jaccard similarity that makes two records near
    copies (``provledger.similarity.near_duplicates``).
    """
    if not 0 < near_threshold <= 1:
        raise InputError(f"--near-threshold must be above 0 and at most 1, got {near_threshold:g}")
    when, cut, audit_date = _cut(store, as_of, today)
    params: dict[str, Any] = {
        "dataset": dataset,
        "cut": cut,
        "today": audit_date,
        "sources": list(SOURCES),
        "horizon": EXPIRY_HORIZON_DAYS,
    }
    state, previous = _states_at_cut(store, params, when)
    batches = run(store, BATCHES, params)
    if not batches:
        when_text = f" as of {_stamp(when)}" if as_of is not None else ""
        raise NotFound(
            f"dataset '{dataset}' has no batches to audit{when_text}: register one with "
            f"'provledger register FILE --dataset {dataset} --source SOURCE'"
        )
    active = {b["batch_id"]: int(b["active"]) for b in batches}
    blend = sections.blend(store, params)
    # Synthetic lineage first: provenance needs the seeds of every synthetic batch.
    lineage = sections.synthetic_lineage(store, params)
    license_rows = run(store, LICENSES, params)
    stakes_row = run(store, STAKES, params)[0]
    report = AuditReport(
        dataset=dataset,
        as_of=_stamp(when),
        seq=cut,
        audit_date=audit_date.isoformat(),
        records=sum(b.records for b in blend.values()),
        blend=blend,
        provenance=sections.provenance(store, params, batches, lineage, active),
        consent=sections.consent(store, params),
        licenses=sections.licenses(license_rows),
        synthetic=sections.synthetic(blend["synthetic"], batches, lineage, active),
        contamination=sections.contamination(store, params, near_threshold),
        distribution=distribution(store, dataset, cut),
        diversity=diversity(store, dataset, cut, sections.lineage_seeds(lineage)),
        stakes=sections.stakes(state, previous, stakes_row),
        cadence=sections.cadence(store, params),
        cost=sections.cost(store, params),
        erasure=sections.erasure(store, params),
        crawl_opt_out=sections.crawl_opt_out(store, params, state),
        findings=[],
        recommendations=[],
    )
    report.findings = findings_of(report)
    report.recommendations = recommendations(
        report,
        state_kind=state["kind"],
        batches_before=int(stakes_row["batches_before"]),
        gained=run(store, CONSENT_GAINED_VERSION, params),
        expiring=[r for r in license_rows if r["expiring"]],
    )
    return report
