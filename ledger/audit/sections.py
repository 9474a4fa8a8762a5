"""The report's sections: each function runs its named queries (``provledger.audit.queries``)
through ``run`` and turns the rows into one part of the ``AuditReport``. Totals, shares,
the certainty score and the generation depth are summed, rounded or scored here; every
count comes from SQL.

``params`` are the query parameters ``audit()`` sets (``$dataset``, ``$cut``, ``$today``,
``$sources``, ``$horizon``); ``batches`` are the BATCHES rows and ``active`` maps each
batch id to its active records.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from provledger.audit.provenance import (
    LEVEL_WEIGHTS,
    Evidence,
    SyntheticLineage,
    classify,
    synthetic_level,
)
from provledger.audit.queries import (
    BLEND,
    CADENCE,
    CONSENT,
    CONTAMINATION,
    COST,
    CRAWL_OPT_OUT,
    ERASURE,
    PROVENANCE_EVIDENCE,
    SYNTHETIC_LINEAGE,
    run,
)
from provledger.audit.recommendations import CONTEXTS_LIABLE
from provledger.audit.report import (
    LEVELS,
    BatchProvenance,
    Cadence,
    Consent,
    ConsentVersionFigures,
    Contamination,
    Cost,
    CrawlOptOut,
    Erasure,
    LicenseExpired,
    Licenses,
    LicenseUse,
    LicenseViolation,
    Provenance,
    RebuildBatch,
    SourceBlend,
    Stakes,
    StakesChange,
    Synthetic,
    SyntheticBatch,
)
from provledger.ingest.batch_metadata import CRAWL_CHANNELS, effective_channel, opt_out_reserved
from provledger.similarity.near_duplicates import near_contamination
from provledger.vocabulary import SOURCES

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "blend",
    "cadence",
    "consent",
    "contamination",
    "cost",
    "erasure",
    "licenses",
    "lineage_seeds",
    "provenance",
    "stakes",
    "synthetic",
    "synthetic_lineage",
]

Params = dict[str, Any]
Row = dict[str, Any]


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seq_key(batch_id: str) -> int:
    # batch_id = 'b' || seq: order ids by seq, not as text (b10 after b9).
    return int(batch_id[1:]) if batch_id[1:].isdigit() else 0


def blend(store: Store, params: Params) -> dict[str, SourceBlend]:
    """Active records, share and batches per source type, every source type listed."""
    rows = {r["source"]: r for r in run(store, BLEND, params)}
    return {
        s: SourceBlend(
            records=int(rows[s]["records"]),
            share=round(float(rows[s]["share"]), 4),
            batches=int(rows[s]["batches"]),
        )
        for s in SOURCES
    }


def synthetic_lineage(store: Store, params: Params) -> dict[str, SyntheticLineage]:
    """Each synthetic batch's depth, seeds and dead ends (ids ordered by seq)."""
    return {
        r["batch_id"]: SyntheticLineage(
            int(r["depth"]), sorted(r["seeds"], key=_seq_key), sorted(r["dead_ends"], key=_seq_key)
        )
        for r in run(store, SYNTHETIC_LINEAGE, params)
    }


def provenance(
    store: Store,
    params: Params,
    batches: list[Row],
    lineage: dict[str, SyntheticLineage],
    active: dict[str, int],
) -> Provenance:
    """Each batch's level and reason, the active records per level and the certainty
    score (levels weighted by LEVEL_WEIGHTS, averaged over active records)."""
    seeds = sorted({s for line in lineage.values() for s in line.seeds})
    rows = run(store, PROVENANCE_EVIDENCE, {**params, "seeds": seeds})
    evidence = {r["batch_id"]: Evidence(**r) for r in rows}
    base = {bid: classify(ev) for bid, ev in evidence.items() if ev.source != "synthetic"}
    levels = dict.fromkeys(LEVELS, 0)
    out = []
    for b in batches:
        bid = b["batch_id"]
        if b["source"] == "synthetic":
            level, reason = synthetic_level(bid, lineage.get(bid), base)
        else:
            level, reason = base[bid]
        levels[level] += active[bid]
        out.append(
            BatchProvenance(
                batch_id=bid,
                source=b["source"],
                split=b["split"],
                records=active[bid],
                level=level,
                reason=reason,
            )
        )
    total = sum(levels.values())
    score = sum(LEVEL_WEIGHTS[lvl] * n for lvl, n in levels.items())
    return Provenance(
        certainty=round(score / total, 4) if total else 0.0,
        levels=levels,
        batches=out,
    )


def synthetic(
    records: SourceBlend,
    batches: list[Row],
    lineage: dict[str, SyntheticLineage],
    active: dict[str, int],
) -> Synthetic:
    """Each synthetic batch's depth, seeds and anchoring; ``records`` is the blend's
    synthetic row."""
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
        records=records.records,
        share=records.share,
        unanchored_batches=[r.batch_id for r in rows if not r.anchored],
        max_generation_depth=max((r.depth for r in rows), default=0),
        batches=rows,
    )


def consent(store: Store, params: Params) -> Consent:
    """First-party records per consent version, and the totals over versions."""
    rows = run(store, CONSENT, params)
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


def licenses(rows: list[Row]) -> Licenses:
    """Scope violations, expiries and every license used, from the LICENSES rows."""
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


def erasure(store: Store, params: Params) -> Erasure:
    """The erasure requests that reached the dataset and the batches to rebuild."""
    rows = run(store, ERASURE, params)
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


# Uses that take data beyond internal, non-commercial experiments: where a rightsholder's
# text-and-data-mining reservation binds (EU DSM Directive art. 4(3)).
USES_OPTOUT_BINDS = ("commercial", "external_release", "redistribute")


def crawl_opt_out(store: Store, params: Params, state: Row) -> CrawlOptOut:
    """The crawled batches, which of them carry no opt-out evidence, and whether the
    dataset's context or uses make that matter (see CRAWL_OPTOUT_MISSING)."""
    rows = run(store, CRAWL_OPT_OUT, params)
    crawled = [
        r
        for r in rows
        if effective_channel(r["source"], {"channel": r["channel"]}) in CRAWL_CHANNELS
    ]
    # A JSON null (declared, no evidence) and SQL NULL (an older entry) both mean none.
    evidence = {r["batch_id"]: orjson.loads(r["opt_out"] or "null") for r in crawled}
    missing = [r for r in crawled if evidence[r["batch_id"]] is None]
    reserved = [b for b, ev in evidence.items() if ev is not None and opt_out_reserved(ev)]
    return CrawlOptOut(
        crawl_batches=[r["batch_id"] for r in crawled],
        without_evidence=[r["batch_id"] for r in missing],
        records_without_evidence=sum(int(r["active"]) for r in missing),
        reserved=reserved,
        matters=state["context"] in CONTEXTS_LIABLE
        or any(u in USES_OPTOUT_BINDS for u in state["uses"]),
    )


def contamination(store: Store, params: Params, near_threshold: float) -> Contamination:
    """Exact copies from the CONTAMINATION query; near copies (estimated Jaccard at or
    above ``near_threshold``) from the band keys (``provledger.similarity.near_duplicates``)."""
    row = run(store, CONTAMINATION, params)[0]
    near = near_contamination(store, params["dataset"], params["cut"], near_threshold)
    return Contamination(
        cross_split_records=int(row["cross_split_records"]),
        duplicate_records=int(row["duplicate_records"]),
        near_cross_split_records=near.cross_split_records,
        near=near,
    )


def lineage_seeds(lineage: dict[str, SyntheticLineage]) -> dict[str, list[str]]:
    """Each synthetic batch's real seed batches (the diversity section's baselines)."""
    return {bid: line.seeds for bid, line in lineage.items()}


def stakes(state: Row, previous: Row | None, row: Row) -> Stakes:
    """The dataset's stakes from its state at the cut, the state before it (if any) and
    the STAKES row."""
    return Stakes(
        context=state["context"],
        uses=list(state["uses"]),
        owner=state["owner"],
        context_set_seq=state["seq"],
        context_set_at=state["recorded_at"],
        previous_context=previous["context"] if previous else None,
        previous_uses=list(previous["uses"]) if previous else None,
        scraped_records=int(row["scraped_records"]),
        since_context_set=StakesChange(
            batches=list(row["batches_after"]), records=int(row["records_after"])
        ),
    )


def cadence(store: Store, params: Params) -> dict[str, Cadence]:
    rows = {
        r["source"]: Cadence(
            newest_collected_at=_iso(r["newest_collected_at"]),
            age_days=None if r["age_days"] is None else int(r["age_days"]),
        )
        for r in run(store, CADENCE, params)
    }
    return {s: rows[s] for s in SOURCES}


def cost(store: Store, params: Params) -> dict[str, Cost]:
    rows = {
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
        for r in run(store, COST, params)
    }
    return {s: rows[s] for s in SOURCES}
