"""The audit of one dataset: blend, provenance certainty, consent drift, license scope,
synthetic anchoring, contamination, stakes, cadence, cost and erasure, with findings and
recommendations. ``audit()`` returns an ``AuditReport``; ``ledger.reports`` renders it.

Every figure comes from the named SQL queries below (a few totals, the certainty score
and the generation depth are then summed or scored in Python over their rows), run
through ``Store`` with these parameters: ``$dataset``; ``$cut``, the last entry seq the
audit sees (``--as-of T`` cuts at the last entry recorded at or before T, and every
projection row carries the seq of the entry that wrote it, so the cut is exact);
``$today``, the audit date (the date of ``--as-of``, else today, UTC) against which
retention, expiry and age are measured.

Counts are *active* records: registered records minus those an erasure recorded at or
before the cut reached. Shares are fractions of the dataset's active records, rounded to
four decimals. The README's section "The audit: how each figure is computed" explains
each figure for a reader of the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ledger.distribution import Distribution, distribution, distribution_findings
from ledger.diversity import Diversity, collapse_findings, diversity
from ledger.errors import InputError, NotFound
from ledger.similarity import DEFAULT_NEAR_THRESHOLD, NearContamination, near_contamination
from ledger.similarity import near_findings as _near_findings
from ledger.vocabulary import SOURCES

if TYPE_CHECKING:
    from ledger.store import Store

__all__ = [
    "CONTEXTS_LIABLE",
    "EXPIRY_HORIZON_DAYS",
    "LEVELS",
    "LEVEL_WEIGHTS",
    "SEVERITIES",
    "SEVERITY_OF",
    "SOURCES",
    "AuditReport",
    "Finding",
    "audit",
    "classify",
    "parse_as_of",
]


# Provenance levels, strongest first, and the weight of each in the certainty score.
LEVELS: tuple[str, ...] = ("provable", "documented", "unknown")
LEVEL_WEIGHTS: dict[str, float] = {"provable": 1.0, "documented": 0.5, "unknown": 0.0}

SEVERITIES: tuple[str, ...] = ("high", "medium", "low")
# Severity of each finding code, in the order findings of one severity are listed.
# high: legal or contractual exposure today; medium: a risk to the data's fitness or a
# compliance gap still open to repair; low: hygiene.
SEVERITY_OF: dict[str, str] = {
    "SCRAPED_IN_REGULATED": "high",
    "LICENSE_SCOPE": "high",
    "LICENSE_EXPIRED": "high",
    "CONSENT_NONCOMPLIANT": "high",
    "ERASURE_PENDING": "high",
    "CONSENT_DRIFT": "medium",
    "SYNTHETIC_UNANCHORED": "medium",
    "CONTAMINATION": "medium",
    "NEAR_DUPLICATE_CONTAMINATION": "medium",
    "DISTRIBUTION_DRIFT": "medium",
    "SYNTHETIC_COLLAPSE": "medium",
    "SYNTHETIC_DEPTH": "low",
    "DUPLICATES": "low",
}
_CODE_ORDER = {code: i for i, code in enumerate(SEVERITY_OF)}

# Contexts and uses whose output someone outside the organisation relies on.
CONTEXTS_LIABLE = ("regulated", "customer_facing")
USES_LIABLE = ("external_release", "redistribute")
# A license expiring within this many days of the audit date is a revisit trigger.
EXPIRY_HORIZON_DAYS = 90

Severity = Literal["high", "medium", "low"]
Level = Literal["provable", "documented", "unknown"]


# -- the report model -----------------------------------------------------------------------
class SourceBlend(BaseModel):
    records: int = Field(description="Active records of this source type.")
    share: float = Field(description="Fraction of the dataset's active records.")
    batches: int = Field(description="Batches of this source type.")


class BatchProvenance(BaseModel):
    batch_id: str
    source: str
    split: str
    records: int = Field(description="Active records of the batch.")
    level: Level
    reason: str = Field(description="Why the batch got its level.")


class Provenance(BaseModel):
    certainty: float = Field(
        description="Record-weighted score in 0..1: provable 1, documented 0.5, unknown 0."
    )
    levels: dict[str, int] = Field(description="Active records per level.")
    batches: list[BatchProvenance]


class ConsentVersionFigures(BaseModel):
    records: int
    status: Literal["current", "superseded"]
    latest: str = Field(description="The latest version of the policy as of the cut.")
    fate: str | None = Field(description="This version's fate under the latest version.")
    missing_uses: list[str] = Field(description="Intended uses this version does not permit.")
    retention_days: int | None
    retention_exceeded: int = Field(description="Records older than the retention period.")
    noncompliant: int
    batches: list[str]


class Consent(BaseModel):
    records: int = Field(description="Active first-party records.")
    current: int
    superseded: int
    noncompliant: int
    by_version: dict[str, ConsentVersionFigures]


class LicenseUse(BaseModel):
    license: str
    grants: list[str]
    expires_on: str | None
    document: bool = Field(description="Whether the contract's document hash is recorded.")
    records: int
    batches: list[str]


class LicenseViolation(BaseModel):
    license: str
    missing_uses: list[str]
    records: int
    batches: list[str]


class LicenseExpired(BaseModel):
    license: str
    expires_on: str
    records: int
    batches: list[str]


class Licenses(BaseModel):
    violations: list[LicenseViolation]
    expired: list[LicenseExpired]
    used: list[LicenseUse]


class SyntheticBatch(BaseModel):
    batch_id: str
    records: int
    depth: int
    seeds: list[str] = Field(description="Real batches it descends from.")
    anchored: bool


class Synthetic(BaseModel):
    records: int
    share: float
    unanchored_batches: list[str]
    max_generation_depth: int
    batches: list[SyntheticBatch]


class Contamination(BaseModel):
    cross_split_records: int
    duplicate_records: int
    near_cross_split_records: int = Field(
        description="Validation/test records with a near copy in train (exact ones included)."
    )
    near: NearContamination


class StakesChange(BaseModel):
    batches: list[str]
    records: int


class Stakes(BaseModel):
    context: str
    uses: list[str]
    owner: str
    context_set_seq: int
    context_set_at: str
    previous_context: str | None
    previous_uses: list[str] | None
    scraped_records: int
    since_context_set: StakesChange = Field(
        description="Batches registered after the context was last set."
    )


class Cadence(BaseModel):
    newest_collected_at: str | None
    age_days: int | None


class Cost(BaseModel):
    cost: float | None
    usable_records: int
    cost_per_usable_record: float | None
    uncosted_batches: int


class RebuildBatch(BaseModel):
    batch_id: str
    erased_records: int


class Erasure(BaseModel):
    requests: int
    erased_records: int
    request_refs: list[str]
    rebuild: list[RebuildBatch]


class Finding(BaseModel):
    severity: Severity
    code: str
    message: str
    records: int


class Recommendation(BaseModel):
    kind: Literal["decision", "revisit"]
    code: str
    message: str


class AuditReport(BaseModel):
    """Everything ``provledger audit`` reports about one dataset as of one point in the log."""

    dataset: str
    as_of: str = Field(description="The instant audited (ISO-8601 UTC).")
    seq: int = Field(description="The last ledger entry the audit sees.")
    audit_date: str = Field(description="Date retention, expiry and age are measured at.")
    records: int = Field(description="Active records (erased ones excluded).")
    blend: dict[str, SourceBlend]
    provenance: Provenance
    consent: Consent
    licenses: Licenses
    synthetic: Synthetic
    contamination: Contamination
    distribution: Distribution
    diversity: Diversity
    stakes: Stakes
    cadence: dict[str, Cadence]
    cost: dict[str, Cost]
    erasure: Erasure
    findings: list[Finding]
    recommendations: list[Recommendation]

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def fails(self, severity: str) -> list[Finding]:
        """Findings at or above ``severity`` (high > medium > low)."""
        limit = SEVERITIES.index(severity)
        return [f for f in self.findings if SEVERITIES.index(f.severity) <= limit]


# -- SQL ------------------------------------------------------------------------------------
# The last entry of the log: the cut when no --as-of is given.
LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM entries"

# Every state of the dataset (created, then each context change), oldest first.
DATASET_STATES = """
    SELECT s.seq, e.recorded_at, e.kind, s.owner, s.context, s.uses
    FROM dataset_states s JOIN entries e ON e.seq = s.seq
    WHERE s.dataset = $dataset
    ORDER BY s.seq
"""

# The opening every per-dataset query shares: the dataset's batches as the ledger stood at
# $cut, each with its erased and active (registered minus erased) record counts, and the
# dataset's latest state at $cut. A record erased by two requests counts once.
_ACTIVE_BATCHES = """
    WITH erased AS (
        SELECT batch_seq, count(DISTINCT ord) AS n
        FROM erased_records
        WHERE seq <= $cut
        GROUP BY batch_seq
    ),
    ds AS (
        SELECT b.*, coalesce(e.n, 0) AS erased, b.records - coalesce(e.n, 0) AS active
        FROM batches b LEFT JOIN erased e ON e.batch_seq = b.seq
        WHERE b.dataset = $dataset AND b.seq <= $cut
          AND b.split NOT IN ('reference', 'benchmark')  -- not training data
    ),
    state AS (
        SELECT arg_max(context, seq) AS context, arg_max(uses, seq) AS uses, max(seq) AS seq
        FROM dataset_states
        WHERE dataset = $dataset AND seq <= $cut
    )"""


def _over_active_batches(query: str) -> str:
    """``query`` preceded by the shared opening (it may add CTEs after a leading comma)."""
    return _ACTIVE_BATCHES + query


# Every batch of the dataset, oldest first, with its registered, erased and active counts.
BATCHES = _over_active_batches(
    """
    SELECT ds.batch_id, ds.seq, e.recorded_at, ds.source, ds.split, ds.license, ds.consent,
           ds.origin, ds.collected_at, ds.cost, ds.generator, ds.records AS registered,
           ds.erased, ds.active
    FROM ds JOIN entries e ON e.seq = ds.seq
    ORDER BY ds.seq
"""
)

# Blend: active records, share of the dataset and batches per source type; every source
# type appears, with zeros when the dataset has none of it.
BLEND = _over_active_batches(
    """
    SELECT s.source,
           coalesce(sum(ds.active), 0) AS records,
           coalesce(sum(ds.active) / nullif(sum(sum(ds.active)) OVER (), 0), 0) AS share,
           count(ds.seq) AS batches
    FROM (SELECT unnest($sources) AS source) s
    LEFT JOIN ds ON ds.source = s.source
    GROUP BY s.source
"""
)

# Synthetic lineage. Walks from each synthetic batch of the dataset up its parents
# (batch_parents, any dataset) through synthetic generations, stopping at real batches.
# Per synthetic batch: its generation depth (1 when generated from real data, 2 when a
# parent is itself synthetic, ...), its seeds (the real batches reached) and its dead ends
# (synthetic ancestors, itself included, that name no parent). No seed: unanchored.
SYNTHETIC_LINEAGE = """
    WITH RECURSIVE walk(batch_id, node, depth) AS (
        SELECT batch_id, batch_id, 1
        FROM batches
        WHERE dataset = $dataset AND seq <= $cut AND source = 'synthetic'
          AND split NOT IN ('reference', 'benchmark')
        UNION
        SELECT w.batch_id, p.parent_id,
               w.depth + CASE WHEN pb.source = 'synthetic' THEN 1 ELSE 0 END
        FROM walk w
        JOIN batches nb ON nb.batch_id = w.node AND nb.source = 'synthetic'
        JOIN batch_parents p ON p.batch_id = w.node
        JOIN batches pb ON pb.batch_id = p.parent_id
    ),
    parent_counts AS (
        SELECT batch_id, count(*) AS parents FROM batch_parents GROUP BY batch_id
    ),
    nodes AS (
        SELECT w.batch_id, w.node, w.depth, nb.seq AS node_seq,
               nb.source = 'synthetic' AS synthetic, coalesce(pc.parents, 0) AS parents
        FROM walk w
        JOIN batches nb ON nb.batch_id = w.node
        LEFT JOIN parent_counts pc ON pc.batch_id = w.node
    )
    SELECT batch_id,
           max(depth) AS depth,
           coalesce(list(DISTINCT node) FILTER (WHERE NOT synthetic), []) AS seeds,
           coalesce(list(DISTINCT node) FILTER (WHERE synthetic AND parents = 0), [])
               AS dead_ends
    FROM nodes
    GROUP BY batch_id
"""

# Evidence behind each batch's provenance level, for the dataset's batches and the real
# seed batches ($seeds, possibly of other datasets) its synthetic batches descend from:
# the license's document hash and validity window, the consent version's effective date,
# and the first later version of that consent policy already in effect on the collection
# day (if any, the batch's version was no longer in force when it was collected).
PROVENANCE_EVIDENCE = """
    WITH lic AS (
        SELECT concat(id, '@', version) AS ref, document_sha256, effective_from, expires_on
        FROM licenses WHERE seq <= $cut
    ),
    con AS (
        SELECT concat(policy, '@', version) AS ref, policy, version, effective_from
        FROM consent_versions WHERE seq <= $cut
    )
    SELECT b.batch_id, b.source, b.origin, b.collected_at,
           b.license, l.document_sha256 IS NOT NULL AS license_document,
           l.effective_from AS license_from, l.expires_on AS license_until,
           b.consent, c.effective_from AS consent_from,
           (SELECT min(n.version) FROM con n
            WHERE n.policy = c.policy AND n.version > c.version
              AND n.effective_from <= b.collected_at::DATE) AS superseded_by
    FROM batches b
    LEFT JOIN lic l ON l.ref = b.license
    LEFT JOIN con c ON c.ref = b.consent
    WHERE b.seq <= $cut AND (b.dataset = $dataset OR list_contains($seeds, b.batch_id))
    ORDER BY b.seq
"""

# Consent drift, per consent version of the dataset's first-party batches: active records,
# the latest version of the policy as of $cut, this version's fate in the latest version's
# prior_versions, the dataset's intended uses it does not permit, and records collected
# more than retention_days before $today. A record is noncompliant when its version was
# revoked or needs re-consent, lacks an intended use, or its retention has run out.
CONSENT = _over_active_batches(
    """,
    con AS (
        SELECT concat(policy, '@', version) AS ref, * FROM consent_versions WHERE seq <= $cut
    ),
    latest AS (SELECT policy, max(version) AS version FROM con GROUP BY policy),
    fp AS (
        SELECT ds.batch_id, ds.seq, ds.active, c.ref, c.policy, c.version, c.retention_days,
               l.version AS latest_version,
               json_extract_string(lc.prior_versions, concat('/', c.version)) AS fate,
               list_filter((SELECT uses FROM state),
                           lambda u: NOT list_contains(c.permits, u)) AS missing_uses,
               coalesce(ds.collected_at::DATE + c.retention_days < $today, false)
                   AS retention_exceeded
        FROM ds
        JOIN con c ON c.ref = ds.consent
        JOIN latest l ON l.policy = c.policy
        JOIN con lc ON lc.policy = l.policy AND lc.version = l.version
        WHERE ds.source = 'first_party'
    )
    SELECT ref AS consent, policy, version, latest_version,
           any_value(fate) AS fate,
           any_value(missing_uses) AS missing_uses,
           any_value(retention_days) AS retention_days,
           sum(active) AS records,
           coalesce(sum(active) FILTER (WHERE retention_exceeded), 0) AS retention_exceeded,
           coalesce(sum(active) FILTER (
               WHERE coalesce(fate IN ('revoked', 'reconsent_required'), false)
                  OR len(missing_uses) > 0
                  OR retention_exceeded), 0) AS noncompliant,
           list(batch_id ORDER BY seq) AS batches
    FROM fp
    GROUP BY ref, policy, version, latest_version
    ORDER BY policy, version
"""
)

# License scope and expiry, per license the dataset's batches are registered under: the
# dataset's intended uses the license does not grant, whether it expired before $today or
# expires within $horizon days of it, and the active records under it.
LICENSES = _over_active_batches(
    """,
    lic AS (
        SELECT concat(id, '@', version) AS ref, grants, expires_on,
               document_sha256 IS NOT NULL AS document
        FROM licenses WHERE seq <= $cut
    ),
    used AS (
        SELECT l.ref, l.grants, l.expires_on, l.document,
               sum(ds.active) AS records, list(ds.batch_id ORDER BY ds.seq) AS batches
        FROM ds JOIN lic l ON l.ref = ds.license
        GROUP BY l.ref, l.grants, l.expires_on, l.document
    )
    SELECT ref AS license, grants, expires_on, document, records, batches,
           list_filter((SELECT uses FROM state),
                       lambda u: NOT list_contains(grants, u)) AS missing_uses,
           coalesce(expires_on < $today, false) AS expired,
           coalesce(expires_on >= $today AND expires_on <= $today + $horizon, false)
               AS expiring
    FROM used
    ORDER BY ref
"""
)

# Contamination and duplicates, over the dataset's active records grouped by content hash:
# duplicate_records = active records minus distinct content hashes; cross_split_records =
# validation/test records whose content hash also occurs in a train-split record. The only
# query of the audit that reads the records table. For speed it works in two steps and
# stays exact. First it sorts a 4-byte key per row, k = the top 32 bits of
# hash(content_hash), and keeps the keys that occur more than once (sorting 10M small keys
# is far cheaper than grouping 10M 32-byte hashes). A row whose key is unique has unique
# content, so it can be neither a duplicate nor cross-split. Then only the rows of
# repeated keys (the real repeats, plus chance collisions of the 32-bit key) are grouped
# by the full content hash.
CONTAMINATION = """
    WITH dsb AS (
        SELECT seq, split = 'train' AS train
        FROM batches WHERE dataset = $dataset AND seq <= $cut
          AND split NOT IN ('reference', 'benchmark')
    ),
    active AS NOT MATERIALIZED (
        SELECT (hash(r.content_hash) >> 32)::UINTEGER AS k, r.content_hash, dsb.train
        FROM records r JOIN dsb ON r.batch_seq = dsb.seq
        WHERE NOT EXISTS (
            SELECT 1 FROM erased_records e
            WHERE e.batch_seq = r.batch_seq AND e.ord = r.ord AND e.seq <= $cut)
    ),
    repeated AS (
        SELECT DISTINCT k
        FROM (SELECT k, lag(k) OVER (ORDER BY k) AS previous FROM active)
        WHERE k = previous
    ),
    per_content AS (
        SELECT count(*) AS n, count(*) FILTER (WHERE train) AS in_train
        FROM active
        WHERE k IN (SELECT k FROM repeated)
        GROUP BY content_hash
    )
    SELECT coalesce(sum(n) - count(*), 0) AS duplicate_records,
           coalesce(sum(n - in_train) FILTER (WHERE in_train > 0), 0) AS cross_split_records
    FROM per_content
"""

# Stakes: scraped active records, and the batches registered after the dataset's context
# was last set (they were chosen under the current stakes; earlier ones were not).
STAKES = _over_active_batches(
    """
    SELECT coalesce(sum(active) FILTER (WHERE source = 'scraped'), 0) AS scraped_records,
           coalesce(list(batch_id ORDER BY seq)
                    FILTER (WHERE seq > (SELECT seq FROM state)), []) AS batches_after,
           coalesce(sum(active) FILTER (WHERE seq > (SELECT seq FROM state)), 0)
               AS records_after,
           count(*) FILTER (WHERE seq < (SELECT seq FROM state)) AS batches_before
    FROM ds
"""
)

# Cadence per source type: the newest collection time among batches that still hold
# active records, and its age in days at $today.
CADENCE = _over_active_batches(
    """
    SELECT s.source,
           max(ds.collected_at) AS newest_collected_at,
           date_diff('day', max(ds.collected_at)::DATE, $today) AS age_days
    FROM (SELECT unnest($sources) AS source) s
    LEFT JOIN ds ON ds.source = s.source AND ds.active > 0
    GROUP BY s.source
"""
)

# Cost per source type: the sum of recorded batch costs over the records still active
# (erasure shrinks the denominator, not the money spent). Batches without a cost are
# counted, not guessed.
COST = _over_active_batches(
    """
    SELECT s.source,
           sum(ds.cost) AS cost,
           coalesce(sum(ds.active), 0) AS usable_records,
           sum(ds.cost) / nullif(sum(ds.active), 0) AS cost_per_usable_record,
           count(ds.seq) FILTER (WHERE ds.cost IS NULL) AS uncosted_batches
    FROM (SELECT unnest($sources) AS source) s
    LEFT JOIN ds ON ds.source = s.source
    GROUP BY s.source
"""
)

# Erasure, per batch of the dataset that erasures (recorded at or before $cut) reached:
# the records erased and the erasure entries (requests) that did it, with their refs.
ERASURE = """
    WITH dsb AS (
        SELECT seq, batch_id FROM batches WHERE dataset = $dataset AND seq <= $cut
    )
    SELECT dsb.batch_id,
           count(DISTINCT er.ord) AS erased_records,
           list(DISTINCT er.seq) AS requests,
           list(DISTINCT x.request_ref) FILTER (WHERE x.request_ref IS NOT NULL) AS refs
    FROM erased_records er
    JOIN dsb ON dsb.seq = er.batch_seq
    LEFT JOIN erasures x ON x.seq = er.seq
    WHERE er.seq <= $cut
    GROUP BY dsb.batch_id, dsb.seq
    ORDER BY dsb.seq
"""

# Revisit trigger: consent policies that gained a version after some of the dataset's
# batches were registered under an earlier version of them.
CONSENT_GAINED_VERSION = _over_active_batches(
    """,
    con AS (
        SELECT concat(policy, '@', version) AS ref, * FROM consent_versions WHERE seq <= $cut
    ),
    latest AS (
        SELECT policy, max(version) AS version, arg_max(seq, version) AS seq
        FROM con GROUP BY policy
    )
    SELECT l.policy, l.version AS latest_version, e.recorded_at AS added_at,
           list(ds.batch_id ORDER BY ds.seq) AS batches, sum(ds.active) AS records
    FROM ds
    JOIN con c ON c.ref = ds.consent
    JOIN latest l ON l.policy = c.policy AND l.version > c.version AND l.seq > ds.seq
    JOIN entries e ON e.seq = l.seq
    GROUP BY l.policy, l.version, e.recorded_at
    ORDER BY l.policy
"""
)

_PARAM = re.compile(r"\$([a-z_]+)")


def _run(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    # DuckDB refuses named parameters a statement does not use: pass only its own.
    wanted = set(_PARAM.findall(sql))
    return store.dicts(sql, {k: v for k, v in params.items() if k in wanted})


# -- the cut ------------------------------------------------------------------------------
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
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- provenance -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """What the ledger records about one batch's rights (a PROVENANCE_EVIDENCE row)."""

    batch_id: str
    source: str
    origin: str | None
    collected_at: datetime | None
    license: str | None
    license_document: bool
    license_from: date | None
    license_until: date | None
    consent: str | None
    consent_from: date | None
    superseded_by: int | None


def classify(ev: Evidence) -> tuple[str, str]:
    """The provenance level of a non-synthetic batch and the reason, from its evidence.

    provable: a license with its contract's document hash, in force on the collection day
    (effective_from <= day <= expires_on, or no expiry), or a consent version in force on
    that day (in effect, and no later version of its policy yet in effect). documented:
    no such evidence, but origin and collection time recorded. unknown: otherwise.
    """
    day = ev.collected_at.date() if ev.collected_at is not None else None
    gaps: list[str] = []
    if ev.license:
        if not ev.license_document:
            gaps.append(f"license {ev.license} has no contract document hash")
        elif day is None:
            gaps.append(f"license {ev.license} cannot be checked: no collection time")
        elif ev.license_from is not None and day < ev.license_from:
            gaps.append(f"license {ev.license} took effect {ev.license_from}, after collection")
        elif ev.license_until is not None and day > ev.license_until:
            gaps.append(f"license {ev.license} expired {ev.license_until}, before collection")
        else:
            return "provable", (
                f"license {ev.license}: contract document hash recorded, in force when "
                f"collected on {day}"
            )
    if ev.consent:
        policy = ev.consent.rsplit("@", 1)[0]
        if day is None:
            gaps.append(f"consent {ev.consent} cannot be checked: no collection time")
        elif ev.consent_from is not None and day < ev.consent_from:
            gaps.append(f"consent {ev.consent} took effect {ev.consent_from}, after collection")
        elif ev.superseded_by is not None:
            gaps.append(
                f"consent {ev.consent} was already superseded by {policy}@{ev.superseded_by} "
                f"when collected on {day}"
            )
        else:
            return "provable", f"consent {ev.consent} in force when collected on {day}"
    missing = [
        name
        for name, value in (("origin", ev.origin), ("collection time", ev.collected_at))
        if not value
    ]
    if not missing:
        why = "; ".join(gaps) if gaps else "no license or consent evidence"
        return "documented", f"origin and collection time recorded; {why}"
    why = f"no {' and no '.join(missing)} recorded"
    return "unknown", "; ".join([why, *gaps])


@dataclass(frozen=True)
class _Lineage:
    depth: int
    seeds: list[str]
    dead_ends: list[str]


def _synthetic_level(
    batch_id: str, lineage: _Lineage | None, base: dict[str, tuple[str, str]]
) -> tuple[str, str]:
    """A synthetic batch inherits the weakest level of its real seeds; one that does not
    reach real data on every line of descent is unknown."""
    if lineage is None or not lineage.seeds:
        if lineage is None or lineage.dead_ends == [batch_id]:
            return "unknown", "synthetic with no parent batch: anchored to no real data"
        return "unknown", (
            "synthetic descending only from synthetic batches with no parent "
            f"({', '.join(lineage.dead_ends)}): anchored to no real data"
        )
    if lineage.dead_ends:
        return "unknown", (
            f"synthetic; part of its ancestry ({', '.join(lineage.dead_ends)}) names no "
            "parent, so it inherits unknown"
        )
    levels = [(base[s][0], s) for s in lineage.seeds if s in base]
    weakest = max(levels, key=lambda item: LEVELS.index(item[0]))[0]
    seeds = ", ".join(f"{s} ({lvl})" for lvl, s in levels)
    return weakest, f"synthetic; weakest of its real seed batches: {seeds}"


# -- the audit ------------------------------------------------------------------------------
def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("ch", "s")) else f"{n} {word}s"


def _batches_text(ids: Iterable[str]) -> str:
    ids = list(ids)
    return ("batch " if len(ids) == 1 else "batches ") + ", ".join(ids)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


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
    copies (``ledger.similarity``).
    """
    if not 0 < near_threshold <= 1:
        raise InputError(f"--near-threshold must be above 0 and at most 1, got {near_threshold:g}")
    now = datetime.now(UTC)
    if as_of is not None:
        when = parse_as_of(as_of)
        cut = store.seq_at(_stamp(when))
        audit_date = when.date()
    else:
        when = now
        last = store.row(LAST_SEQ)
        cut = int(last[0]) if last else 0
        audit_date = today or now.date()
    params: dict[str, Any] = {
        "dataset": dataset,
        "cut": cut,
        "today": audit_date,
        "sources": list(SOURCES),
        "horizon": EXPIRY_HORIZON_DAYS,
    }
    states = _run(store, DATASET_STATES, params)
    if not states:
        raise NotFound(f"unknown dataset '{dataset}' ('provledger dataset list' shows them)")
    at_cut = [s for s in states if s["seq"] <= cut]
    if not at_cut:
        raise NotFound(
            f"dataset '{dataset}' did not exist as of {_stamp(when)} "
            f"(created {states[0]['recorded_at']})"
        )
    state, previous = at_cut[-1], (at_cut[-2] if len(at_cut) > 1 else None)
    batches = _run(store, BATCHES, params)
    if not batches:
        when_text = f" as of {_stamp(when)}" if as_of is not None else ""
        raise NotFound(
            f"dataset '{dataset}' has no batches to audit{when_text}: register one with "
            f"'provledger register FILE --dataset {dataset} --source SOURCE'"
        )
    active = {b["batch_id"]: int(b["active"]) for b in batches}

    blend_rows = {r["source"]: r for r in _run(store, BLEND, params)}
    total = sum(int(r["records"]) for r in blend_rows.values())
    blend = {
        s: SourceBlend(
            records=int(blend_rows[s]["records"]),
            share=round(float(blend_rows[s]["share"]), 4),
            batches=int(blend_rows[s]["batches"]),
        )
        for s in SOURCES
    }

    # Synthetic lineage first: provenance needs the seeds of every synthetic batch.
    lineage = {
        r["batch_id"]: _Lineage(
            int(r["depth"]), sorted(r["seeds"], key=_seq_key), sorted(r["dead_ends"], key=_seq_key)
        )
        for r in _run(store, SYNTHETIC_LINEAGE, params)
    }
    provenance = _provenance(store, params, batches, lineage, active)
    synthetic = _synthetic(blend["synthetic"], batches, lineage, active)
    consent = _consent(_run(store, CONSENT, params))
    license_rows = _run(store, LICENSES, params)
    licenses = _licenses(license_rows)
    contamination_row = _run(store, CONTAMINATION, params)[0]
    near = near_contamination(store, dataset, cut, near_threshold)
    contamination = Contamination(
        cross_split_records=int(contamination_row["cross_split_records"]),
        duplicate_records=int(contamination_row["duplicate_records"]),
        near_cross_split_records=near.cross_split_records,
        near=near,
    )
    stakes_row = _run(store, STAKES, params)[0]
    stakes = Stakes(
        context=state["context"],
        uses=list(state["uses"]),
        owner=state["owner"],
        context_set_seq=state["seq"],
        context_set_at=state["recorded_at"],
        previous_context=previous["context"] if previous else None,
        previous_uses=list(previous["uses"]) if previous else None,
        scraped_records=int(stakes_row["scraped_records"]),
        since_context_set=StakesChange(
            batches=list(stakes_row["batches_after"]), records=int(stakes_row["records_after"])
        ),
    )
    cadence = {
        r["source"]: Cadence(
            newest_collected_at=_iso(r["newest_collected_at"]),
            age_days=None if r["age_days"] is None else int(r["age_days"]),
        )
        for r in _run(store, CADENCE, params)
    }
    cost = {
        r["source"]: Cost(
            cost=None if r["cost"] is None else float(r["cost"]),
            usable_records=int(r["usable_records"]),
            cost_per_usable_record=(
                None
                if r["cost_per_usable_record"] is None
                else round(float(r["cost_per_usable_record"]), 6)
            ),
            uncosted_batches=int(r["uncosted_batches"]),
        )
        for r in _run(store, COST, params)
    }
    erasure = _erasure(_run(store, ERASURE, params))

    report = AuditReport(
        dataset=dataset,
        as_of=_stamp(when),
        seq=cut,
        audit_date=audit_date.isoformat(),
        records=total,
        blend=blend,
        provenance=provenance,
        consent=consent,
        licenses=licenses,
        synthetic=synthetic,
        contamination=contamination,
        distribution=distribution(store, dataset, cut),
        diversity=diversity(store, dataset, cut, lineage_seeds(lineage)),
        stakes=stakes,
        cadence={s: cadence[s] for s in SOURCES},
        cost={s: cost[s] for s in SOURCES},
        erasure=erasure,
        findings=[],
        recommendations=[],
    )
    report.findings = _findings(report)
    report.recommendations = _recommendations(
        report,
        state_kind=state["kind"],
        batches_before=int(stakes_row["batches_before"]),
        gained=_run(store, CONSENT_GAINED_VERSION, params),
        expiring=[r for r in license_rows if r["expiring"]],
    )
    return report


def lineage_seeds(lineage: dict[str, _Lineage]) -> dict[str, list[str]]:
    """Each synthetic batch's real seed batches."""
    return {bid: line.seeds for bid, line in lineage.items()}


def _seq_key(batch_id: str) -> int:
    # batch_id = 'b' || seq: order ids by seq, not as text (b10 after b9).
    return int(batch_id[1:]) if batch_id[1:].isdigit() else 0


def _provenance(
    store: Store,
    params: dict[str, Any],
    batches: list[dict[str, Any]],
    lineage: dict[str, _Lineage],
    active: dict[str, int],
) -> Provenance:
    seeds = sorted({s for line in lineage.values() for s in line.seeds})
    rows = _run(store, PROVENANCE_EVIDENCE, {**params, "seeds": seeds})
    evidence = {r["batch_id"]: Evidence(**r) for r in rows}
    base = {bid: classify(ev) for bid, ev in evidence.items() if ev.source != "synthetic"}
    levels = dict.fromkeys(LEVELS, 0)
    out = []
    for b in batches:
        bid = b["batch_id"]
        if b["source"] == "synthetic":
            level, reason = _synthetic_level(bid, lineage.get(bid), base)
        else:
            level, reason = base[bid]
        levels[level] += active[bid]
        out.append(
            BatchProvenance(
                batch_id=bid,
                source=b["source"],
                split=b["split"],
                records=active[bid],
                level=level,  # type: ignore[arg-type]
                reason=reason,
            )
        )
    total = sum(levels.values())
    score = sum(LEVEL_WEIGHTS[lvl] * n for lvl, n in levels.items())
    return Provenance(
        certainty=round(score / total, 4) if total else 0.0, levels=levels, batches=out
    )


def _synthetic(
    blend: SourceBlend,
    batches: list[dict[str, Any]],
    lineage: dict[str, _Lineage],
    active: dict[str, int],
) -> Synthetic:
    rows = []
    for b in batches:
        if b["source"] != "synthetic":
            continue
        line = lineage[b["batch_id"]]
        rows.append(
            SyntheticBatch(
                batch_id=b["batch_id"],
                records=active[b["batch_id"]],
                depth=line.depth,
                seeds=line.seeds,
                anchored=bool(line.seeds),
            )
        )
    return Synthetic(
        records=blend.records,
        share=blend.share,
        unanchored_batches=[r.batch_id for r in rows if not r.anchored],
        max_generation_depth=max((r.depth for r in rows), default=0),
        batches=rows,
    )


def _consent(rows: list[dict[str, Any]]) -> Consent:
    by_version = {}
    for r in rows:
        current = r["version"] == r["latest_version"]
        by_version[r["consent"]] = ConsentVersionFigures(
            records=int(r["records"]),
            status="current" if current else "superseded",
            latest=f"{r['policy']}@{r['latest_version']}",
            fate=None if current else r["fate"],
            missing_uses=list(r["missing_uses"]),
            retention_days=r["retention_days"],
            retention_exceeded=int(r["retention_exceeded"]),
            noncompliant=int(r["noncompliant"]),
            batches=list(r["batches"]),
        )
    figures = by_version.values()
    return Consent(
        records=sum(v.records for v in figures),
        current=sum(v.records for v in figures if v.status == "current"),
        superseded=sum(v.records for v in figures if v.status == "superseded"),
        noncompliant=sum(v.noncompliant for v in figures),
        by_version=by_version,
    )


def _licenses(rows: list[dict[str, Any]]) -> Licenses:
    return Licenses(
        violations=[
            LicenseViolation(
                license=r["license"],
                missing_uses=list(r["missing_uses"]),
                records=int(r["records"]),
                batches=list(r["batches"]),
            )
            for r in rows
            if r["missing_uses"]
        ],
        expired=[
            LicenseExpired(
                license=r["license"],
                expires_on=r["expires_on"].isoformat(),
                records=int(r["records"]),
                batches=list(r["batches"]),
            )
            for r in rows
            if r["expired"]
        ],
        used=[
            LicenseUse(
                license=r["license"],
                grants=list(r["grants"]),
                expires_on=_iso(r["expires_on"]),
                document=bool(r["document"]),
                records=int(r["records"]),
                batches=list(r["batches"]),
            )
            for r in rows
        ],
    )


def _erasure(rows: list[dict[str, Any]]) -> Erasure:
    requests = {seq for r in rows for seq in r["requests"]}
    refs = sorted({ref for r in rows for ref in (r["refs"] or [])})
    return Erasure(
        requests=len(requests),
        erased_records=sum(int(r["erased_records"]) for r in rows),
        request_refs=refs,
        rebuild=[
            RebuildBatch(batch_id=r["batch_id"], erased_records=int(r["erased_records"]))
            for r in rows
        ],
    )


# -- findings -------------------------------------------------------------------------------
def _finding(code: str, message: str, records: int) -> Finding:
    return Finding(severity=SEVERITY_OF[code], code=code, message=message, records=records)  # type: ignore[arg-type]


def _findings(r: AuditReport) -> list[Finding]:
    """Every finding the figures support, high before medium before low, and within a
    severity in the order of SEVERITY_OF."""
    out: list[Finding] = []
    if r.stakes.context == "regulated" and r.stakes.scraped_records > 0:
        n = r.stakes.scraped_records
        out.append(
            _finding(
                "SCRAPED_IN_REGULATED",
                f"{_plural(n, 'scraped record')} ({r.blend['scraped'].share:.0%} of the "
                "dataset) in a regulated dataset: scraped data carries no rights evidence an "
                "auditor can check",
                n,
            )
        )
    for v in r.licenses.violations:
        out.append(
            _finding(
                "LICENSE_SCOPE",
                f"license {v.license} does not grant {', '.join(v.missing_uses)}, which the "
                f"dataset is meant for: {_plural(v.records, 'record')} in "
                f"{_batches_text(v.batches)}",
                v.records,
            )
        )
    for e in r.licenses.expired:
        out.append(
            _finding(
                "LICENSE_EXPIRED",
                f"license {e.license} expired on {e.expires_on}: "
                f"{_plural(e.records, 'record')} in {_batches_text(e.batches)}",
                e.records,
            )
        )
    c = r.consent
    if c.noncompliant:
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
                why.append(
                    f"{cv.retention_exceeded} older than its {cv.retention_days}-day retention"
                )
            reasons.append(f"{ref}: {cv.noncompliant} ({'; '.join(why)})")
        out.append(
            _finding(
                "CONSENT_NONCOMPLIANT",
                f"{_plural(c.noncompliant, 'first-party record')} without valid consent for "
                f"this dataset: {', '.join(reasons)}",
                c.noncompliant,
            )
        )
    if r.erasure.erased_records:
        er = r.erasure
        rebuild = ", ".join(f"{b.batch_id} ({b.erased_records})" for b in er.rebuild)
        refs = f" ({', '.join(er.request_refs)})" if er.request_refs else ""
        out.append(
            _finding(
                "ERASURE_PENDING",
                f"{_plural(er.erased_records, 'record')} erased by "
                f"{_plural(er.requests, 'request')}{refs} still sit in the files of "
                f"{'batch' if len(er.rebuild) == 1 else 'batches'} {rebuild}: rebuild them "
                "without those records, register the rebuilt files, and retrain what used them",
                er.erased_records,
            )
        )
    if c.superseded:
        parts = [
            f"{ref}: {v.records}" for ref, v in c.by_version.items() if v.status == "superseded"
        ]
        out.append(
            _finding(
                "CONSENT_DRIFT",
                f"{_plural(c.superseded, 'first-party record')} collected under superseded "
                f"consent versions ({', '.join(parts)})",
                c.superseded,
            )
        )
    s = r.synthetic
    if s.unanchored_batches:
        n = sum(b.records for b in s.batches if not b.anchored)
        out.append(
            _finding(
                "SYNTHETIC_UNANCHORED",
                f"{_plural(n, 'synthetic record')} in {_batches_text(s.unanchored_batches)} "
                "descend from no real seed data: register them --derived-from the real "
                "batches they were generated from, or regenerate from real seeds",
                n,
            )
        )
    cont = r.contamination
    out.extend(_finding(*f) for f in _near_findings(cont.near, cont.cross_split_records))
    out.extend(_finding(*f) for f in distribution_findings(r.distribution))
    out.extend(_finding(*f) for f in collapse_findings(r.diversity))
    if r.contamination.cross_split_records:
        n = r.contamination.cross_split_records
        out.append(
            _finding(
                "CONTAMINATION",
                f"{_plural(n, 'validation/test record')} share content with the train split: "
                "evaluation on them overstates quality",
                n,
            )
        )
    deep = [b for b in s.batches if b.depth >= 2]
    if deep:
        n = sum(b.records for b in deep)
        out.append(
            _finding(
                "SYNTHETIC_DEPTH",
                f"{_plural(n, 'synthetic record')} in "
                f"{_batches_text(b.batch_id for b in deep)} generated from synthetic data "
                f"(up to generation {s.max_generation_depth}): a collapse risk",
                n,
            )
        )
    if r.contamination.duplicate_records:
        n = r.contamination.duplicate_records
        out.append(
            _finding(
                "DUPLICATES", f"{_plural(n, 'record')} repeat content already in the dataset", n
            )
        )
    return sorted(out, key=lambda f: (SEVERITIES.index(f.severity), _CODE_ORDER[f.code]))


# -- recommendations ----------------------------------------------------------------------
def _recommendations(
    r: AuditReport,
    *,
    state_kind: str,
    batches_before: int,
    gained: list[dict[str, Any]],
    expiring: list[dict[str, Any]],
) -> list[Recommendation]:
    """The first rule of the decision list that fits, then every revisit trigger that
    holds at the audit date."""
    out = [_decision(r)]
    st = r.stakes
    if state_kind == "dataset-context-changed" and batches_before:
        changed = []
        if st.previous_context != st.context:
            changed.append(f"context {st.previous_context} -> {st.context}")
        if st.previous_uses is not None and set(st.previous_uses) != set(st.uses):
            changed.append(f"uses {', '.join(st.previous_uses)} -> {', '.join(st.uses)}")
        out.append(
            Recommendation(
                kind="revisit",
                code="STAKES_CHANGED",
                message=(
                    f"the stakes changed at seq {st.context_set_seq} ({'; '.join(changed)}): "
                    f"{_plural(batches_before, 'batch')} "
                    f"{'was' if batches_before == 1 else 'were'} chosen under the old stakes; "
                    "re-check the blend against the new context"
                ),
            )
        )
    for g in gained:
        out.append(
            Recommendation(
                kind="revisit",
                code="CONSENT_VERSION_ADDED",
                message=(
                    f"consent policy {g['policy']} gained version {g['latest_version']} "
                    f"({g['added_at'][:10]}) after {_batches_text(g['batches'])} "
                    f"({_plural(int(g['records']), 'record')}) "
                    f"{'was' if len(g['batches']) == 1 else 'were'} registered under an "
                    "earlier version: apply its fates and re-consent where required"
                ),
            )
        )
    for lic in expiring:
        out.append(
            Recommendation(
                kind="revisit",
                code="LICENSE_EXPIRING",
                message=(
                    f"license {lic['license']} expires on {lic['expires_on']} (within "
                    f"{EXPIRY_HORIZON_DAYS} days): renew it or plan to replace "
                    f"{_plural(int(lic['records']), 'record')}"
                ),
            )
        )
    return out


def _decision(r: AuditReport) -> Recommendation:
    """The decision rule, top to bottom, stopping at the first that fits."""
    st = r.stakes
    liable_uses = [u for u in st.uses if u in USES_LIABLE]
    provable = _share(r.provenance.levels["provable"], r.records)
    if st.context in CONTEXTS_LIABLE or liable_uses:
        why = f"context {st.context}" if st.context in CONTEXTS_LIABLE else ""
        if liable_uses:
            why = "; ".join(x for x in (why, f"uses {', '.join(liable_uses)}") if x)
        return Recommendation(
            kind="decision",
            code="LEAD_WITH_PROVABLE",
            message=(
                f"regulated or liable output ({why}): lead with licensed or first-party data "
                f"whose provenance is provable (now {provable:.0%} of records); do not start "
                f"from scraped data you cannot audit (now {r.blend['scraped'].share:.0%})"
            ),
        )
    if "commercial" in st.uses:
        return Recommendation(
            kind="decision",
            code="INSTRUMENT_FIRST_PARTY",
            message=(
                "a live product (use commercial): instrument first-party logging first, under "
                f"a consent policy that permits {', '.join(st.uses)} (first-party now "
                f"{r.blend['first_party'].share:.0%} of records)"
            ),
        )
    if r.blend["scraped"].records:
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
    if r.blend["synthetic"].records or "synthetic_seed" in st.uses:
        return Recommendation(
            kind="decision",
            code="ANCHOR_SYNTHETIC",
            message=(
                "a rare or sensitive class (synthetic data): generate synthetic examples "
                "anchored to real seed batches (now "
                f"{len(r.synthetic.unanchored_batches)} unanchored synthetic batches)"
            ),
        )
    return Recommendation(
        kind="decision",
        code="NO_RULE",
        message=(
            "no rule of the decision list fits (internal context, no scraped or synthetic "
            "data, no liable or commercial use): keep the blend and watch the revisit triggers"
        ),
    )
