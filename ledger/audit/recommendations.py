"""Recommendations: the first rule of the decision list that fits the dataset's stakes and
blend, then every revisit trigger that holds at the audit date (the stakes changed after
batches were chosen, a consent policy gained a version, a license expires soon).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.audit.report import AuditReport, Recommendation
from ledger.entry_kinds import EntryKind
from ledger.wording import batches_text, percent, plural

__all__ = [
    "CONTEXTS_LIABLE",
    "DECISIONS",
    "EXPIRY_HORIZON_DAYS",
    "USES_LIABLE",
    "recommendations",
]

# Contexts and uses whose output someone outside the organisation relies on.
CONTEXTS_LIABLE = ("regulated", "customer_facing")
USES_LIABLE = ("external_release", "redistribute")
# A license expiring within this many days of the audit date is a revisit trigger.
EXPIRY_HORIZON_DAYS = 90


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def recommendations(
    r: AuditReport,
    *,
    state_kind: str,
    batches_before: int,
    gained: list[dict[str, Any]],
    expiring: list[dict[str, Any]],
) -> list[Recommendation]:
    """The first rule of the decision list that fits, then every revisit trigger that
    holds at the audit date: ``state_kind`` is the kind of the entry that set the
    dataset's current state, ``batches_before`` the batches registered before it,
    ``gained`` the CONSENT_GAINED_VERSION rows and ``expiring`` the LICENSES rows
    flagged expiring."""
    out = [_decision(r)]
    if state_kind == EntryKind.dataset_context_changed and batches_before:
        out.append(_stakes_changed(r, batches_before))
    out += [_consent_version_added(g) for g in gained]
    out += [_license_expiring(lic) for lic in expiring]
    return out


def _stakes_changed(r: AuditReport, batches_before: int) -> Recommendation:
    st = r.stakes
    changed = []
    if st.previous_context != st.context:
        changed.append(f"context {st.previous_context} -> {st.context}")
    if st.previous_uses is not None and set(st.previous_uses) != set(st.uses):
        changed.append(f"uses {', '.join(st.previous_uses)} -> {', '.join(st.uses)}")
    return Recommendation(
        kind="revisit",
        code="STAKES_CHANGED",
        message=(
            f"the stakes changed at seq {st.context_set_seq} ({'; '.join(changed)}): "
            f"{plural(batches_before, 'batch')} "
            f"{'was' if batches_before == 1 else 'were'} chosen under the old stakes; "
            "re-check the blend against the new context"
        ),
    )


def _consent_version_added(g: dict[str, Any]) -> Recommendation:
    return Recommendation(
        kind="revisit",
        code="CONSENT_VERSION_ADDED",
        message=(
            f"consent policy {g['policy']} gained version {g['latest_version']} "
            f"({g['added_at'][:10]}) after {batches_text(g['batches'])} "
            f"({plural(int(g['records']), 'record')}) "
            f"{'was' if len(g['batches']) == 1 else 'were'} registered under an "
            "earlier version: apply its fates and re-consent where required"
        ),
    )


def _license_expiring(lic: dict[str, Any]) -> Recommendation:
    return Recommendation(
        kind="revisit",
        code="LICENSE_EXPIRING",
        message=(
            f"license {lic['license']} expires on {lic['expires_on']} (within "
            f"{EXPIRY_HORIZON_DAYS} days): renew it or plan to replace "
            f"{plural(int(lic['records']), 'record')}"
        ),
    )


def _decision(r: AuditReport) -> Recommendation:
    """The decision list, top to bottom, stopping at the first rule that fits."""
    for decide in DECISIONS:
        recommendation = decide(r)
        if recommendation is not None:
            return recommendation
    return Recommendation(
        kind="decision",
        code="NO_RULE",
        message=(
            "no rule of the decision list fits (internal context, no scraped or synthetic "
            "data, no liable or commercial use): keep the blend and watch the revisit triggers"
        ),
    )


def _lead_with_provable(r: AuditReport) -> Recommendation | None:
    """Regulated or customer-facing output, or a use that leaves the organisation."""
    st = r.stakes
    liable_uses = [u for u in st.uses if u in USES_LIABLE]
    if st.context not in CONTEXTS_LIABLE and not liable_uses:
        return None
    why = f"context {st.context}" if st.context in CONTEXTS_LIABLE else ""
    if liable_uses:
        why = "; ".join(x for x in (why, f"uses {', '.join(liable_uses)}") if x)
    provable = _share(r.provenance.levels["provable"], r.records)
    return Recommendation(
        kind="decision",
        code="LEAD_WITH_PROVABLE",
        message=(
            f"regulated or liable output ({why}): lead with licensed or first-party data "
            f"whose provenance is provable (now {percent(provable)} of records); do not start "
            f"from scraped data you cannot audit (now {percent(r.blend['scraped'].share)})"
        ),
    )


def _instrument_first_party(r: AuditReport) -> Recommendation | None:
    """A live product (use commercial)."""
    if "commercial" not in r.stakes.uses:
        return None
    return Recommendation(
        kind="decision",
        code="INSTRUMENT_FIRST_PARTY",
        message=(
            "a live product (use commercial): instrument first-party logging first, under "
            f"a consent policy that permits {', '.join(r.stakes.uses)} (first-party now "
            f"{percent(r.blend['first_party'].share)} of records)"
        ),
    )


def _crawl_and_clean(r: AuditReport) -> Recommendation | None:
    """Internal use with scraped data: breadth wanted, noise tolerated."""
    if not r.blend["scraped"].records:
        return None
    return Recommendation(
        kind="decision",
        code="CRAWL_AND_CLEAN",
        message=(
            "breadth needed and noise tolerated (internal context, scraped data): public "
            "crawls are fit, with a heavy cleaning budget (now "
            f"{r.contamination.duplicate_records} duplicate and "
            f"{r.contamination.cross_split_records} cross-split records)"
        ),
    )


def _anchor_synthetic(r: AuditReport) -> Recommendation | None:
    """Synthetic data, or a dataset meant to seed it: a rare or sensitive class."""
    if not r.blend["synthetic"].records and "synthetic_seed" not in r.stakes.uses:
        return None
    return Recommendation(
        kind="decision",
        code="ANCHOR_SYNTHETIC",
        message=(
            "a rare or sensitive class (synthetic data): generate synthetic examples "
            "anchored to real seed batches (now "
            f"{len(r.synthetic.unanchored_batches)} unanchored synthetic batches)"
        ),
    )


# The decision list, in the order its rules are tried; NO_RULE when none fits.
DECISIONS: tuple[Callable[[AuditReport], Recommendation | None], ...] = (
    _lead_with_provable,
    _instrument_first_party,
    _crawl_and_clean,
    _anchor_synthetic,
)
