"""Distribution match: how close each source and batch of a dataset is to its production
reference sample, from the per-batch n-gram profiles (``provledger.similarity.sketch_tables``).

A profile is a batch's word unigram and bigram counts hashed into 4096 buckets. For a
batch (or a sum of batches) with profile p and the reference with profile q, both scaled
to sum to 1:

- ``match`` = 1 - JSD(p, q), the Jensen-Shannon divergence with base-2 logarithms:
  JSD = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2. It lies in [0, 1]: 1 when the
  two histograms are equal, 0 when they share no bucket.
- ``coverage`` = the reference's mass in buckets where the batch has any count: the share
  of production n-grams (by frequency, up to hash collisions) the batch has seen at all.

The reference is the dataset's newest ``reference`` batch (highest seq at the cut). The
training blend is the sum of the dataset's ``train`` batches; ``by_source`` sums the train
batches of each source; every non-reference, non-benchmark batch gets its own figures.
**DISTRIBUTION_DRIFT**: the blend matches the newest reference worse than it matches the
previous reference by more than ``DRIFT_MARGIN``. Profiles are taken at registration, so
erased records still count in them (an erasure changes a profile by a record's n-grams).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from provledger.similarity.sketch_tables import profile_array
from provledger.vocabulary import SOURCES

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "DRIFT_MARGIN",
    "Distribution",
    "coverage",
    "distribution",
    "match",
]

DRIFT_MARGIN = 0.05

# The dataset's batches that carry a profile, oldest first, with their profiles.
PROFILED_BATCHES = """
    SELECT b.seq, b.batch_id, b.source, b.split, p.counts
    FROM batches b JOIN batch_profiles p ON p.seq = b.seq
    WHERE b.dataset = $dataset AND b.seq <= $cut AND b.split <> 'benchmark'
    ORDER BY b.seq
"""


def _normalised(counts: np.ndarray) -> np.ndarray | None:
    total = float(counts.sum())
    return counts.astype(np.float64) / total if total else None


def match(p_counts: np.ndarray, q_counts: np.ndarray) -> float | None:
    """1 - Jensen-Shannon divergence (base 2) of two count histograms; None when either
    is empty."""
    p, q = _normalised(p_counts), _normalised(q_counts)
    if p is None or q is None:
        return None
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    jsd = (kl(p) + kl(q)) / 2
    return round(min(1.0, max(0.0, 1.0 - jsd)), 4)


def coverage(p_counts: np.ndarray, q_counts: np.ndarray) -> float | None:
    """The reference ``q``'s share of mass in buckets where ``p`` has any count."""
    q = _normalised(q_counts)
    if q is None:
        return None
    return round(float(q[p_counts > 0].sum()), 4)


class MatchFigures(BaseModel):
    match: float | None = Field(description="1 - Jensen-Shannon divergence (base 2), 0..1.")
    coverage: float | None = Field(description="Reference n-gram mass the data covers, 0..1.")


class SourceMatch(MatchFigures):
    batches: int = Field(description="Train batches of this source with a profile.")


class BatchMatch(MatchFigures):
    batch_id: str
    source: str
    split: str


class ReferenceMatch(BaseModel):
    batch_id: str
    blend_match: float | None = Field(description="The training blend's match against it.")


class Drift(BaseModel):
    previous_reference: str
    previous_match: float
    newest_reference: str
    newest_match: float
    margin: float
    drifted: bool


class Distribution(BaseModel):
    """Distribution match against the newest reference batch (ledger/similarity/distribution.py)."""

    reference: str | None = Field(description="The newest reference batch, or null.")
    references: list[ReferenceMatch]
    blend: MatchFigures
    by_source: dict[str, SourceMatch]
    batches: list[BatchMatch]
    drift: Drift | None


def _figures(p: np.ndarray | None, q: np.ndarray | None) -> dict[str, float | None]:
    if p is None or q is None:
        return {"match": None, "coverage": None}
    return {"match": match(p, q), "coverage": coverage(p, q)}


def distribution(store: Store, dataset: str, cut: int) -> Distribution:
    """The dataset's distribution figures as the ledger stood at entry ``cut``."""
    rows: list[dict[str, Any]] = store.dicts(PROFILED_BATCHES, {"dataset": dataset, "cut": cut})
    profiles = {r["batch_id"]: profile_array(bytes(r["counts"])) for r in rows}
    refs = [r for r in rows if r["split"] == "reference"]
    data = [r for r in rows if r["split"] != "reference"]
    train = [r for r in data if r["split"] == "train"]
    blend = np.sum([profiles[r["batch_id"]] for r in train], axis=0) if train else None
    q = profiles[refs[-1]["batch_id"]] if refs else None
    by_source = {}
    for source in SOURCES:
        mine = [profiles[r["batch_id"]] for r in train if r["source"] == source]
        summed = np.sum(mine, axis=0) if mine else None
        by_source[source] = SourceMatch(**_figures(summed, q), batches=len(mine))
    references = [
        ReferenceMatch(
            batch_id=r["batch_id"],
            blend_match=None if blend is None else match(blend, profiles[r["batch_id"]]),
        )
        for r in refs
    ]
    drift = None
    if len(references) >= 2 and blend is not None:
        prev, new = references[-2], references[-1]
        if prev.blend_match is not None and new.blend_match is not None:
            drift = Drift(
                previous_reference=prev.batch_id,
                previous_match=prev.blend_match,
                newest_reference=new.batch_id,
                newest_match=new.blend_match,
                margin=DRIFT_MARGIN,
                drifted=prev.blend_match - new.blend_match > DRIFT_MARGIN,
            )
    return Distribution(
        reference=refs[-1]["batch_id"] if refs else None,
        references=references,
        blend=MatchFigures(**_figures(blend, q)),
        by_source=by_source,
        batches=[
            BatchMatch(
                batch_id=r["batch_id"],
                source=r["source"],
                split=r["split"],
                **_figures(profiles[r["batch_id"]], q),
            )
            for r in data
        ],
        drift=drift,
    )
