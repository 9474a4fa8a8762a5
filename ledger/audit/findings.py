"""The findings: one function per ``FindingCode``, registered with its severity in
``RULES`` by the ``@rule`` decorator.

A finding function reads the figures of an ``AuditReport`` (never the database) and yields
``(records, message)`` for each finding of its code it supports, in the order they should
be listed; it yields nothing when the figures are clean. ``findings_of()`` runs every rule and
lists the results high before medium before low, and within one severity in the order of
``FindingCode``. Importing this module fails if a code has no rule, so a new code cannot
be forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from provledger.audit.report import AuditReport, Finding, FindingCode
from provledger.similarity.near_duplicates import NearBatch
from provledger.vocabulary import SEVERITIES, Severity
from provledger.wording import batches_text, percent, plural

__all__ = ["RULES", "SEVERITY_OF", "Check", "Rule", "findings_of", "rule"]

# What a finding function is: the report's figures in, (records, message) per finding out.
Check = Callable[[AuditReport], Iterator[tuple[int, str]]]


@dataclass(frozen=True)
class Rule:
    """How one finding code is found, and how severe it is."""

    severity: Severity
    check: Check


RULES: dict[FindingCode, Rule] = {}


def rule(code: FindingCode, severity: Severity) -> Callable[[Check], Check]:
    """Register the decorated function as the check of ``code``, at ``severity``.
    Raises ValueError when ``code`` already has one."""

    def register(check: Check) -> Check:
        if code in RULES:
            raise ValueError(f"finding {code} already has a rule ({RULES[code].check.__name__})")
        RULES[code] = Rule(severity, check)
        return check

    return register


# -- high: legal or contractual exposure today ------------------------------------------------
@rule(FindingCode.SCRAPED_IN_REGULATED, Severity.high)
def scraped_in_regulated(r: AuditReport) -> Iterator[tuple[int, str]]:
    n = r.stakes.scraped_records
    if r.stakes.context == "regulated" and n > 0:
        message = (
            f"{plural(n, 'scraped record')} ({percent(r.blend['scraped'].share)} of the "
            "dataset) in a regulated dataset: scraped data carries no rights evidence an "
            "auditor can check"
        )
        yield n, message


@rule(FindingCode.CRAWL_OPTOUT_MISSING, Severity.high)
def crawl_optout_missing(r: AuditReport) -> Iterator[tuple[int, str]]:
    """Crawled batches with no opt-out evidence, in a dataset whose context is
    customer_facing or regulated or whose uses include commercial, external_release or
    redistribute (where a text-and-data-mining reservation binds)."""
    o = r.crawl_opt_out
    if o.matters and o.without_evidence:
        n = o.records_without_evidence
        yield (
            n,
            f"{plural(n, 'crawled record')} in {batches_text(o.without_evidence)} carry no "
            "evidence that robots.txt, TDMRep or AI-preference opt-outs were checked at "
            "collection: register crawls with --crawler and --opt-out",
        )


@rule(FindingCode.LICENSE_SCOPE, Severity.high)
def license_scope(r: AuditReport) -> Iterator[tuple[int, str]]:
    for v in r.licenses.violations:
        message = (
            f"license {v.license} does not grant {', '.join(v.missing_uses)}, which the "
            f"dataset is meant for: {plural(v.records, 'record')} in "
            f"{batches_text(v.batches)}"
        )
        yield v.records, message


@rule(FindingCode.LICENSE_EXPIRED, Severity.high)
def license_expired(r: AuditReport) -> Iterator[tuple[int, str]]:
    for e in r.licenses.expired:
        message = (
            f"license {e.license} expired on {e.expires_on}: "
            f"{plural(e.records, 'record')} in {batches_text(e.batches)}"
        )
        yield e.records, message


@rule(FindingCode.CONSENT_NONCOMPLIANT, Severity.high)
def consent_noncompliant(r: AuditReport) -> Iterator[tuple[int, str]]:
    c = r.consent
    if not c.noncompliant:
        return
    reasons = []
    for ref, cv in c.by_version.items():
        if not cv.noncompliant:
            continue
        why = []
        if cv.fate in ("revoked", "reconsent_required"):
            why.append(f"{cv.fate} by {cv.latest}")
        if cv.missing_uses:
            why.append(f"does not permit {', '.join(cv.missing_uses)}")
        if cv.retention_exceeded:
            why.append(f"{cv.retention_exceeded} older than its {cv.retention_days}-day retention")
        reasons.append(f"{ref}: {cv.noncompliant} ({'; '.join(why)})")
    message = (
        f"{plural(c.noncompliant, 'first-party record')} without valid consent for "
        f"this dataset: {', '.join(reasons)}"
    )
    yield c.noncompliant, message


@rule(FindingCode.ERASURE_PENDING, Severity.high)
def erasure_pending(r: AuditReport) -> Iterator[tuple[int, str]]:
    er = r.erasure
    if not er.erased_records:
        return
    rebuild = ", ".join(f"{b.batch_id} ({b.erased_records})" for b in er.rebuild)
    refs = f" ({', '.join(er.request_refs)})" if er.request_refs else ""
    message = (
        f"{plural(er.erased_records, 'record')} erased by "
        f"{plural(er.requests, 'request')}{refs} still sit in the files of "
        f"{'batch' if len(er.rebuild) == 1 else 'batches'} {rebuild}: rebuild them "
        "without those records, register the rebuilt files, and retrain what used them"
    )
    yield er.erased_records, message


# -- medium: a risk to the data's fitness, or a compliance gap still open to repair ----------
@rule(FindingCode.CONSENT_DRIFT, Severity.medium)
def consent_drift(r: AuditReport) -> Iterator[tuple[int, str]]:
    c = r.consent
    if not c.superseded:
        return
    parts = [f"{ref}: {v.records}" for ref, v in c.by_version.items() if v.status == "superseded"]
    message = (
        f"{plural(c.superseded, 'first-party record')} collected under superseded "
        f"consent versions ({', '.join(parts)})"
    )
    yield c.superseded, message


@rule(FindingCode.SYNTHETIC_UNANCHORED, Severity.medium)
def synthetic_unanchored(r: AuditReport) -> Iterator[tuple[int, str]]:
    s = r.synthetic
    if not s.unanchored_batches:
        return
    n = sum(b.records for b in s.batches if not b.anchored)
    message = (
        f"{plural(n, 'synthetic record')} in {batches_text(s.unanchored_batches)} "
        "descend from no real seed data: register them --derived-from the real "
        "batches they were generated from, or regenerate from real seeds"
    )
    yield n, message


@rule(FindingCode.CONTAMINATION, Severity.medium)
def contamination(r: AuditReport) -> Iterator[tuple[int, str]]:
    n = r.contamination.cross_split_records
    if n:
        message = (
            f"{plural(n, 'validation/test record')} share content with the train split: "
            "evaluation on them overstates quality"
        )
        yield n, message


@rule(FindingCode.NEAR_DUPLICATE_CONTAMINATION, Severity.medium)
def near_duplicate_contamination(r: AuditReport) -> Iterator[tuple[int, str]]:
    """Validation/test records near train beyond the exact copies (those are the
    CONTAMINATION finding), and train records near a registered benchmark."""
    near = r.contamination.near
    n = near.cross_split_records - r.contamination.cross_split_records
    if n > 0:
        message = (
            f"{plural(n, 'validation/test record')} beyond exact copies "
            f"{_have(n)} a near copy (estimated Jaccard >= {near.threshold:g}) in the train "
            f"split: {_near_batches(near.cross_split_batches)}; deduplicate before you split"
        )
        yield n, message
    n = near.benchmark_records
    if n:
        message = (
            f"{plural(n, 'train record')} {_have(n)} a near copy in a registered benchmark: "
            f"{_near_batches(near.benchmark_batches)}; scores on that benchmark overstate "
            "quality"
        )
        yield n, message


@rule(FindingCode.DISTRIBUTION_DRIFT, Severity.medium)
def distribution_drift(r: AuditReport) -> Iterator[tuple[int, str]]:
    """The newest reference matches the training blend worse than the previous one by
    more than the margin (no records are at fault: 0)."""
    x = r.distribution.drift
    if x is None or not x.drifted:
        return
    message = (
        f"production traffic has moved away from the training data: the blend matches "
        f"the newest reference {x.newest_reference} at {x.newest_match:.2f}, the previous "
        f"reference {x.previous_reference} at {x.previous_match:.2f} (more than "
        f"{x.margin:.2f} worse); first-party data from current traffic is worth more now"
    )
    yield 0, message


@rule(FindingCode.SYNTHETIC_COLLAPSE, Severity.medium)
def synthetic_collapse(r: AuditReport) -> Iterator[tuple[int, str]]:
    """One finding per collapsed synthetic batch."""
    for b in r.diversity.batches:
        if b.collapsed:
            message = (
                f"synthetic batch {b.batch_id} has collapsed: {b.reason}; regenerate it from "
                "more varied prompts or seeds"
            )
            yield b.records, message


def _have(n: int) -> str:
    return "has" if n == 1 else "have"


def _near_batches(batches: list[NearBatch]) -> str:
    return "; ".join(f"{b.batch_id} ({b.records}) near {', '.join(b.others)}" for b in batches)


# -- low: hygiene -------------------------------------------------------------------------------
@rule(FindingCode.SYNTHETIC_DEPTH, Severity.low)
def synthetic_depth(r: AuditReport) -> Iterator[tuple[int, str]]:
    s = r.synthetic
    deep = [b for b in s.batches if b.depth >= 2]
    if not deep:
        return
    n = sum(b.records for b in deep)
    message = (
        f"{plural(n, 'synthetic record')} in "
        f"{batches_text(b.batch_id for b in deep)} generated from synthetic data "
        f"(up to generation {s.max_generation_depth}): a collapse risk"
    )
    yield n, message


@rule(FindingCode.DUPLICATES, Severity.low)
def duplicates(r: AuditReport) -> Iterator[tuple[int, str]]:
    n = r.contamination.duplicate_records
    if n:
        yield n, f"{plural(n, 'record')} repeat content already in the dataset"


_unruled = [code.value for code in FindingCode if code not in RULES]
if _unruled:  # a FindingCode member was added without its function
    raise ImportError(f"finding codes without a rule in {__name__}: {', '.join(_unruled)}")


def findings_of(report: AuditReport) -> list[Finding]:
    """Every finding the report's figures support, high before medium before low, and
    within a severity in the order of ``FindingCode`` (the order of ``SEVERITY_OF``)."""
    return [
        Finding(severity=RULES[code].severity, code=code, message=message, records=records)
        for code in _listing_order()
        for records, message in RULES[code].check(report)
    ]


def _listing_order() -> list[FindingCode]:
    # A stable sort by severity keeps the enum's order within one severity.
    return sorted(FindingCode, key=lambda code: SEVERITIES.index(RULES[code].severity))


# Severity of each finding code, in the order findings are listed.
SEVERITY_OF: dict[FindingCode, Severity] = {code: RULES[code].severity for code in _listing_order()}
