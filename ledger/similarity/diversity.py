"""Synthetic collapse: the diversity of each synthetic batch next to its real seeds' and
its parents', from the stored near-duplicate band keys (``provledger.similarity.sketch_tables``).

``diversity`` of a batch = the share of its active sketched records that have no near
copy earlier in the same batch (no earlier record sharing one of its ten LSH band keys,
i.e. estimated word 5-gram Jaccard below about 0.8). A batch of distinct texts scores
1.0; a batch generated from a few templates, where most records are near copies of an
earlier one, scores near (templates / records).

**SYNTHETIC_COLLAPSE** names a synthetic batch when its diversity is below
``COLLAPSE_FRACTION`` of the mean diversity of its real seed batches, or when it keeps
falling generation over generation: below every synthetic parent's by more than
``COLLAPSE_STEP`` while that parent was itself more than ``COLLAPSE_STEP`` below its own
parents.
"""

# The SQL here is assembled from module constants (band column names, fixed split lists);
# every value reaches DuckDB as a parameter.
# ruff: noqa: S608

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from provledger.similarity.sketch_tables import BAND_COLUMNS

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "COLLAPSE_FRACTION",
    "COLLAPSE_STEP",
    "Diversity",
    "diversity",
]

COLLAPSE_FRACTION = 0.5
COLLAPSE_STEP = 0.05

# The dataset's synthetic batches (training data only) and the parents each names.
SYNTHETIC_BATCHES = """
    SELECT b.batch_id, b.seq,
           coalesce(list(p.parent_id ORDER BY p.parent_id)
                    FILTER (WHERE p.parent_id IS NOT NULL), []) AS parents
    FROM batches b LEFT JOIN batch_parents p ON p.seq = b.seq
    WHERE b.dataset = $dataset AND b.seq <= $cut AND b.source = 'synthetic'
      AND b.split NOT IN ('reference', 'benchmark')
    GROUP BY b.batch_id, b.seq
    ORDER BY b.seq
"""
# Any batches' parents and source (for walking up from a synthetic parent).
PARENTS_OF = """
    SELECT b.batch_id, b.source,
           coalesce(list(p.parent_id) FILTER (WHERE p.parent_id IS NOT NULL), []) AS parents
    FROM batches b LEFT JOIN batch_parents p ON p.seq = b.seq
    WHERE b.seq <= $cut AND list_contains($ids, b.batch_id)
    GROUP BY b.batch_id, b.source
"""
_KEYS = " UNION ALL ".join(
    f"SELECT batch_seq, ord, {i} AS band, {name} AS key FROM act"
    for i, name in enumerate(BAND_COLUMNS)
)
# Per named batch: active sketched records, and those with an earlier near copy in it.
DIVERSITY = f"""
    WITH sel AS (
        SELECT seq, batch_id FROM batches WHERE seq <= $cut AND list_contains($ids, batch_id)
    ),
    act AS (
        SELECT s.* FROM record_sketches s JOIN sel ON s.batch_seq = sel.seq
        WHERE NOT EXISTS (
            SELECT 1 FROM erased_records e
            WHERE e.batch_seq = s.batch_seq AND e.ord = s.ord AND e.seq <= $cut)
    ),
    keys AS ({_KEYS}),
    repeats AS (
        SELECT DISTINCT batch_seq, ord FROM keys
        QUALIFY row_number() OVER (PARTITION BY batch_seq, band, key ORDER BY ord) > 1
    )
    SELECT sel.batch_id,
           (SELECT count(*) FROM act WHERE act.batch_seq = sel.seq) AS records,
           (SELECT count(*) FROM repeats WHERE repeats.batch_seq = sel.seq) AS repeats
    FROM sel
"""


class BatchDiversity(BaseModel):
    batch_id: str
    records: int = Field(description="Active records with sketches.")
    diversity: float | None = Field(description="Share with no earlier near copy in the batch.")
    seeds: list[str]
    seeds_diversity: float | None = Field(description="Mean diversity of the real seeds.")
    parents: list[str]
    parents_diversity: float | None = Field(description="Lowest diversity among parents.")
    collapsed: bool
    reason: str | None


class Diversity(BaseModel):
    """Diversity of synthetic batches against seeds and parents (ledger/similarity/diversity.py)."""

    fraction: float = Field(description="Collapse when below this fraction of the seeds'.")
    step: float = Field(description="A fall generation over generation counts above this.")
    batches: list[BatchDiversity]


def _figures(store: Store, cut: int, ids: list[str]) -> dict[str, float | None]:
    if not ids:
        return {}
    out: dict[str, float | None] = {}
    for r in store.dicts(DIVERSITY, {"cut": cut, "ids": ids}):
        n = int(r["records"])
        out[r["batch_id"]] = round(1 - int(r["repeats"]) / n, 4) if n else None
    return out


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def diversity(store: Store, dataset: str, cut: int, seeds: dict[str, list[str]]) -> Diversity:
    """Diversity of the dataset's synthetic batches as the ledger stood at entry ``cut``;
    ``seeds``: each synthetic batch's real seed batches."""
    synthetic: list[dict[str, Any]] = store.dicts(
        SYNTHETIC_BATCHES, {"dataset": dataset, "cut": cut}
    )
    parents = {r["batch_id"]: list(r["parents"]) for r in synthetic}
    # One level above the parents too, to see whether a synthetic parent was falling.
    first = sorted({p for ps in parents.values() for p in ps})
    above: dict[str, tuple[str, list[str]]] = {
        r["batch_id"]: (r["source"], list(r["parents"]))
        for r in store.dicts(PARENTS_OF, {"cut": cut, "ids": first or [""]})
    }
    ids = set(parents) | set(first) | {s for ps in seeds.values() for s in ps}
    ids |= {g for _, ps in above.values() for g in ps}
    figure = _figures(store, cut, sorted(ids))

    def falling(batch: str, its_parents: list[str]) -> bool:
        mine = figure.get(batch)
        theirs = [figure.get(p) for p in its_parents]
        known = [t for t in theirs if t is not None]
        return mine is not None and bool(known) and mine < min(known) - COLLAPSE_STEP

    out = []
    for r in synthetic:
        bid = r["batch_id"]
        mine = figure.get(bid)
        seed_ids = seeds.get(bid, [])
        seed_div = _mean([figure.get(s) for s in seed_ids])
        parent_divs = [v for v in (figure.get(p) for p in parents[bid]) if v is not None]
        reason = None
        if mine is not None and seed_div is not None and mine < COLLAPSE_FRACTION * seed_div:
            reason = (
                f"diversity {mine:.2f} is below {COLLAPSE_FRACTION:g} of its real seeds' "
                f"{seed_div:.2f}"
            )
        elif falling(bid, parents[bid]) and any(
            above.get(p, ("", []))[0] == "synthetic" and falling(p, above[p][1])
            for p in parents[bid]
        ):
            reason = (
                f"diversity {mine:.2f} keeps falling generation over generation (parents "
                f"{', '.join(parents[bid])} at {min(parent_divs):.2f})"
            )
        out.append(
            BatchDiversity(
                batch_id=bid,
                records=0 if mine is None else _records(store, cut, bid),
                diversity=mine,
                seeds=seed_ids,
                seeds_diversity=seed_div,
                parents=parents[bid],
                parents_diversity=min(parent_divs) if parent_divs else None,
                collapsed=reason is not None,
                reason=reason,
            )
        )
    return Diversity(fraction=COLLAPSE_FRACTION, step=COLLAPSE_STEP, batches=out)


# Active sketched records of one batch.
SKETCHED_RECORDS = """
    SELECT count(*) FROM record_sketches s JOIN batches b ON s.batch_seq = b.seq
    WHERE b.batch_id = $batch AND NOT EXISTS (
        SELECT 1 FROM erased_records e
        WHERE e.batch_seq = s.batch_seq AND e.ord = s.ord AND e.seq <= $cut)
"""


def _records(store: Store, cut: int, batch: str) -> int:
    row = store.row(SKETCHED_RECORDS, {"batch": batch, "cut": cut})
    return int(row[0]) if row else 0
