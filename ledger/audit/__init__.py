"""The audit of one dataset: blend, provenance certainty, consent drift, license scope,
synthetic anchoring, contamination, stakes, cadence, cost and erasure, with findings and
recommendations. ``audit(store, dataset, as_of)`` returns an ``AuditReport``;
``ledger.reports`` renders it. Everything that decides what the audit says belongs here;
how a report looks on a page does not (``ledger.reports``), nor do the words other parts
of the ledger share (``ledger.vocabulary``: sources, splits, uses, severities, formats).

Modules, each one concept:

- ``report``: the report model (pydantic; published as schemas/audit-report.schema.json)
  and the words only it uses: ``FindingCode``, ``Level``.
- ``queries``: the named, commented SQL, one query per figure, and ``run``.
- ``sections``: each section of the report from its query rows.
- ``provenance``: the provenance level of each batch from its evidence (pure).
- ``findings``: one function per finding code, registered with its severity.
- ``recommendations``: the decision list and the revisit triggers.
- ``build``: ``audit()``, the entry point (the ``--as-of`` cut, then every section).

Every figure comes from one query of ``queries``; counts are *active* records
(registered minus erased at or before the cut); shares are fractions of the dataset's
active records, rounded to four decimals. The README's section "The audit: how each
figure is computed" explains each figure for a reader of the report.

Adding a finding is one enum member and one function:

1. add a member to ``FindingCode`` in ``report.py``, among the codes of its severity, at
   the place its findings should be listed (the published schema then lists it:
   regenerate it with ``python -m ledger.schemas``);
2. in ``findings.py``, under the heading of its severity, add::

       @rule(FindingCode.MY_CODE, Severity.medium)
       def my_code(r: AuditReport) -> Iterator[tuple[int, str]]:
           if r.some.figure:
               yield r.some.figure, f"{plural(r.some.figure, 'record')} ..."

   reading only the report's figures; if it needs a figure the report lacks, add the
   field to a model in ``report.py``, its query to ``queries.py`` and its row to the
   section in ``sections.py`` first;
3. test it against a hand-counted ledger in tests/test_audit.py. Importing
   ``ledger.audit.findings`` fails while a code has no function.
"""

from ledger.audit.build import audit, parse_as_of
from ledger.audit.findings import RULES, SEVERITY_OF, Rule, findings_of, rule
from ledger.audit.provenance import LEVEL_WEIGHTS, Evidence, SyntheticLineage, classify
from ledger.audit.queries import (
    BATCHES,
    BLEND,
    CADENCE,
    CONSENT,
    CONSENT_GAINED_VERSION,
    CONTAMINATION,
    COST,
    DATASET_STATES,
    ERASURE,
    LAST_SEQ,
    LICENSES,
    PROVENANCE_EVIDENCE,
    STAKES,
    SYNTHETIC_LINEAGE,
)
from ledger.audit.recommendations import CONTEXTS_LIABLE, EXPIRY_HORIZON_DAYS, USES_LIABLE
from ledger.audit.report import (
    LEVELS,
    AuditReport,
    BatchProvenance,
    Cadence,
    Consent,
    ConsentVersionFigures,
    Contamination,
    Cost,
    CrawlOptOut,
    Erasure,
    Finding,
    FindingCode,
    LastVerify,
    Level,
    LicenseExpired,
    Licenses,
    LicenseUse,
    LicenseViolation,
    Provenance,
    ReadCheck,
    RebuildBatch,
    Recommendation,
    SourceBlend,
    Stakes,
    StakesChange,
    Synthetic,
    SyntheticBatch,
)
from ledger.vocabulary import AUDIT_FORMATS, SEVERITIES, SOURCES, AuditFormat, Severity

__all__ = [
    "AUDIT_FORMATS",
    "BATCHES",
    "BLEND",
    "CADENCE",
    "CONSENT",
    "CONSENT_GAINED_VERSION",
    "CONTAMINATION",
    "CONTEXTS_LIABLE",
    "COST",
    "DATASET_STATES",
    "ERASURE",
    "EXPIRY_HORIZON_DAYS",
    "LAST_SEQ",
    "LEVELS",
    "LEVEL_WEIGHTS",
    "LICENSES",
    "PROVENANCE_EVIDENCE",
    "RULES",
    "SEVERITIES",
    "SEVERITY_OF",
    "SOURCES",
    "STAKES",
    "SYNTHETIC_LINEAGE",
    "USES_LIABLE",
    "AuditFormat",
    "AuditReport",
    "BatchProvenance",
    "Cadence",
    "Consent",
    "ConsentVersionFigures",
    "Contamination",
    "Cost",
    "CrawlOptOut",
    "Erasure",
    "Evidence",
    "Finding",
    "FindingCode",
    "LastVerify",
    "Level",
    "LicenseExpired",
    "LicenseUse",
    "LicenseViolation",
    "Licenses",
    "Provenance",
    "ReadCheck",
    "RebuildBatch",
    "Recommendation",
    "Rule",
    "Severity",
    "SourceBlend",
    "Stakes",
    "StakesChange",
    "Synthetic",
    "SyntheticBatch",
    "SyntheticLineage",
    "audit",
    "classify",
    "findings_of",
    "parse_as_of",
    "rule",
]
