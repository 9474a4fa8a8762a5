"""The audit of one dataset (being split into modules; see ledger.audit.queries)."""

from ledger.audit.queries import (
    CONTAMINATION,
    CONTEXTS_LIABLE,
    EXPIRY_HORIZON_DAYS,
    LEVEL_WEIGHTS,
    LEVELS,
    SEVERITIES,
    SEVERITY_OF,
    SOURCES,
    AuditReport,
    Evidence,
    Finding,
    audit,
    classify,
    parse_as_of,
)

__all__ = [
    "CONTAMINATION",
    "CONTEXTS_LIABLE",
    "EXPIRY_HORIZON_DAYS",
    "LEVELS",
    "LEVEL_WEIGHTS",
    "SEVERITIES",
    "SEVERITY_OF",
    "SOURCES",
    "AuditReport",
    "Evidence",
    "Finding",
    "audit",
    "classify",
    "parse_as_of",
]
