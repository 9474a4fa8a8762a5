"""The audit report model: what ``audit()`` returns, ``provledger.exports.reports`` renders and
``schemas/audit-report.schema.json`` publishes (generated from ``AuditReport``), with the
words only the report uses: ``FindingCode`` and the provenance ``Level``.

Adding a finding starts here: a member of ``FindingCode``, placed among the codes of its
severity in the order findings of one severity are listed (see ``provledger.audit``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from provledger.similarity.distribution import Distribution
from provledger.similarity.diversity import Diversity
from provledger.similarity.near_duplicates import NearContamination
from provledger.vocabulary import SEVERITIES, Severity, Source, Split

__all__ = [
    "LEVELS",
    "AuditReport",
    "BatchProvenance",
    "Cadence",
    "Consent",
    "ConsentVersionFigures",
    "Contamination",
    "Cost",
    "Erasure",
    "Finding",
    "FindingCode",
    "Level",
    "LicenseExpired",
    "LicenseUse",
    "LicenseViolation",
    "Licenses",
    "Provenance",
    "RebuildBatch",
    "Recommendation",
    "SourceBlend",
    "Stakes",
    "StakesChange",
    "Synthetic",
    "SyntheticBatch",
]


# Findings are listed high before medium before low and, within one severity, in the order
# of this enum; provledger.audit.findings holds the function (and the severity) of each code.
class FindingCode(StrEnum):
    """What a finding is about."""

    SCRAPED_IN_REGULATED = "SCRAPED_IN_REGULATED"
    CRAWL_OPTOUT_MISSING = "CRAWL_OPTOUT_MISSING"
    LICENSE_SCOPE = "LICENSE_SCOPE"
    LICENSE_EXPIRED = "LICENSE_EXPIRED"
    CONSENT_NONCOMPLIANT = "CONSENT_NONCOMPLIANT"
    ERASURE_PENDING = "ERASURE_PENDING"
    CONSENT_DRIFT = "CONSENT_DRIFT"
    SYNTHETIC_UNANCHORED = "SYNTHETIC_UNANCHORED"
    CONTAMINATION = "CONTAMINATION"
    NEAR_DUPLICATE_CONTAMINATION = "NEAR_DUPLICATE_CONTAMINATION"
    DISTRIBUTION_DRIFT = "DISTRIBUTION_DRIFT"
    SYNTHETIC_COLLAPSE = "SYNTHETIC_COLLAPSE"
    SYNTHETIC_DEPTH = "SYNTHETIC_DEPTH"
    DUPLICATES = "DUPLICATES"


class Level(StrEnum):
    """A batch's provenance level, strongest first."""

    provable = "provable"
    documented = "documented"
    unknown = "unknown"


LEVELS: tuple[str, ...] = tuple(lvl.value for lvl in Level)


class SourceBlend(BaseModel):
    records: int = Field(description="Active records of this source type.")
    share: float = Field(description="Fraction of the dataset's active records.")
    batches: int = Field(description="Batches of this source type.")


class BatchProvenance(BaseModel):
    batch_id: str
    source: Source
    split: Split
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


class CrawlOptOut(BaseModel):
    """Crawled batches (channel own_crawl or third_party_crawl, by declaration or as the
    default of a scraped batch) and the opt-out evidence taken when they were collected."""

    crawl_batches: list[str]
    without_evidence: list[str] = Field(description="Crawled batches with no opt-out evidence.")
    records_without_evidence: int
    reserved: list[str] = Field(
        description="Crawled batches whose evidence shows a text-and-data-mining reservation."
    )
    matters: bool = Field(
        description="Whether the dataset's context or uses make opt-outs binding "
        "(see CRAWL_OPTOUT_MISSING)."
    )


class Finding(BaseModel):
    severity: Severity
    code: FindingCode
    message: str
    records: int


class Recommendation(BaseModel):
    kind: Literal["decision", "revisit"]
    code: str
    message: str


class LastVerify(BaseModel):
    """The last full ``verify`` that passed, as recorded in the home's last-verify.json."""

    at: str | None = Field(description="When it ran (ISO-8601 UTC).")
    seq: int = Field(description="The entries it verified.")
    matches_log: bool = Field(description="Its log root is the root of that many entries now.")
    covers_head: bool = Field(description="It verified every entry the log holds now.")


class ReadCheck(BaseModel):
    """What the pre-check established before the audit ran (see provledger.storage.precheck)."""

    checked_through_seq: int = Field(
        description="Entries the catalog and note checks covered (the head of the log)."
    )
    head_hash: str = Field(description="Entry hash of the head of the log.")
    catalog: str = Field(description="Fingerprint of the catalog, as the migrations made it.")
    note_size: int | None = Field(description="Entries the checkpoint note in the home records.")
    last_full_verify: LastVerify | None = Field(
        description="The last full verify that passed (null: none recorded)."
    )


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
    crawl_opt_out: CrawlOptOut
    findings: list[Finding]
    recommendations: list[Recommendation]
    checked: ReadCheck | None = Field(
        default=None, description="The pre-check this audit ran after (set by Ledger.audit)."
    )

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def fails(self, severity: str) -> list[Finding]:
        """Findings at or above ``severity`` (high > medium > low)."""
        limit = SEVERITIES.index(severity)
        return [f for f in self.findings if SEVERITIES.index(f.severity) <= limit]
