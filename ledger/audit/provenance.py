"""Provenance classification: the level of each batch (provable, documented, unknown)
from the evidence the ledger records about its rights, and of each synthetic batch from
its real seeds. Pure functions over query rows; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.audit.report import LEVELS, Level

__all__ = ["LEVEL_WEIGHTS", "Evidence", "SyntheticLineage", "classify", "synthetic_level"]

# The weight of each level in the certainty score.
LEVEL_WEIGHTS: dict[str, float] = {
    Level.provable: 1.0,
    Level.documented: 0.5,
    Level.unknown: 0.0,
}


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


def classify(ev: Evidence) -> tuple[Level, str]:
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
            return Level.provable, (
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
            return Level.provable, f"consent {ev.consent} in force when collected on {day}"
    missing = [
        name
        for name, value in (("origin", ev.origin), ("collection time", ev.collected_at))
        if not value
    ]
    if not missing:
        why = "; ".join(gaps) if gaps else "no license or consent evidence"
        return Level.documented, f"origin and collection time recorded; {why}"
    why = f"no {' and no '.join(missing)} recorded"
    return Level.unknown, "; ".join([why, *gaps])


@dataclass(frozen=True)
class SyntheticLineage:
    """A synthetic batch's descent (a SYNTHETIC_LINEAGE row)."""

    depth: int
    seeds: list[str]
    dead_ends: list[str]


def synthetic_level(
    batch_id: str, lineage: SyntheticLineage | None, base: dict[str, tuple[Level, str]]
) -> tuple[Level, str]:
    """A synthetic batch inherits the weakest level of its real seeds; one that does not
    reach real data on every line of descent is unknown."""
    if lineage is None or not lineage.seeds:
        if lineage is None or lineage.dead_ends == [batch_id]:
            return Level.unknown, "synthetic with no parent batch: anchored to no real data"
        return Level.unknown, (
            "synthetic descending only from synthetic batches with no parent "
            f"({', '.join(lineage.dead_ends)}): anchored to no real data"
        )
    if lineage.dead_ends:
        return Level.unknown, (
            f"synthetic; part of its ancestry ({', '.join(lineage.dead_ends)}) names no "
            "parent, so it inherits unknown"
        )
    levels = [(base[s][0], s) for s in lineage.seeds if s in base]
    weakest = max(levels, key=lambda item: LEVELS.index(item[0]))[0]
    seeds = ", ".join(f"{s} ({lvl})" for lvl, s in levels)
    return weakest, f"synthetic; weakest of its real seed batches: {seeds}"
