"""Near-duplicate figures from the stored LSH band keys (``provledger.similarity.sketch_tables``).

Two records are *near copies* when they share at least ``min_bands`` of their ten band keys.
With ten bands of ten MinHash rows, records at shingle Jaccard similarity J share at least
one key with probability 1 - (1 - J**10)**10 (0.68 at J = 0.8, 0.95 at J = 0.86, 0.986 at
J = 0.9, 0.0097 at J = 0.5): ``min_bands`` = 1 is the default threshold of about 0.8. A
higher threshold ``t`` asks for ``min_bands_for(t)`` = round(10 * t**10) shared keys, the
number expected at J = t. Exact copies (same normalised text) have identical keys, so
they are always near copies. Batches registered without sketches take no part.

Figures for the audit (``near_contamination``), over the dataset's active records
(erased ones left out; reference and benchmark batches are not the dataset's training
data):
- ``cross_split_records``: validation/test records with a near copy in the train split,
  or the same content hash as a train record (so it is never below the exact figure);
- ``duplicate_records``: train records with a near copy registered earlier in the train
  split (earlier = lower batch seq, then lower ord): what near-deduplication would drop;
- ``benchmark_records``: train records with a near copy in any ``benchmark`` batch
  registered at or before the cut, in any dataset;
- ``models``: for each model trained on the dataset (registered at or before the cut),
  the same benchmark figure through *all* its datasets: the active train records of the
  batches it reached (registered before the model) with a near copy in a benchmark
  batch registered at or before the cut, per benchmark batch.

At one shared key (``min_bands`` = 1) the figures are sums of facts worked out at
registration (``provledger.similarity.near_facts``), unless ``facts_unusable`` names a
reason to run the full queries over the band keys instead: a batch read without facts,
or an erasure reaching a record read. Both give the same figures; the SQL of both is in
``provledger.similarity.near_queries``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from provledger.ingest.hashing import normalised_utf8
from provledger.similarity.near_queries import (
    FACTS_UNUSABLE,
    NEAR_ANY_KEY,
    NEAR_FACTS,
    NEAR_MODELS_ANY_KEY,
    NEAR_MODELS_SEVERAL_KEYS,
    NEAR_SEVERAL_KEYS,
    NEAR_TEXT,
    run_query,
)
from provledger.similarity.sketches import BANDS, ROWS, sketch_texts

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "DEFAULT_NEAR_THRESHOLD",
    "NearBatch",
    "NearContamination",
    "NearModel",
    "facts_unusable",
    "min_bands_for",
    "near_contamination",
    "near_record_rows",
]

DEFAULT_NEAR_THRESHOLD = 0.8


def min_bands_for(threshold: float) -> int:
    """Shared band keys that make two records near copies at estimated Jaccard
    ``threshold`` (0 < threshold <= 1): the number expected at that similarity, at least 1."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    return max(1, round(BANDS * threshold**ROWS))


class NearBatch(BaseModel):
    batch_id: str
    records: int = Field(description="Records of this batch with a near copy.")
    others: list[str] = Field(description="The batches holding their near copies.")


class NearModel(BaseModel):
    model: str
    datasets: list[str] = Field(description="The datasets the model was trained on.")
    records: int = Field(
        description="Train records of the batches it reached (all its datasets) with a near "
        "copy in a benchmark batch."
    )
    benchmarks: list[NearBatch] = Field(
        description="Per benchmark batch (batch_id): the model's train records near it, and "
        "the train batches holding them (others)."
    )


class NearContamination(BaseModel):
    """Near-duplicate figures of one dataset (see ledger/similarity/near_duplicates.py)."""

    threshold: float = Field(description="Estimated Jaccard similarity of word 5-grams.")
    min_bands: int = Field(description="Shared LSH band keys (of 10) that make a near copy.")
    sketched_records: int = Field(description="Active records with near-duplicate sketches.")
    unsketched_batches: list[str] = Field(
        description="Batches registered without sketches (compared by exact content only)."
    )
    cross_split_records: int
    cross_split_batches: list[NearBatch]
    duplicate_records: int = Field(description="Train records with an earlier near copy.")
    duplicate_batches: list[NearBatch]
    benchmark_records: int = Field(description="Train records near a benchmark batch.")
    benchmark_batches: list[NearBatch]
    models: list[NearModel] = Field(
        default_factory=list,
        description="Each model trained on this dataset (at the cut): benchmark "
        "contamination through all its datasets.",
    )


def _batches(rows: list[dict[str, Any]]) -> list[NearBatch]:
    return [
        NearBatch(batch_id=r["batch_id"], records=int(r["records"]), others=list(r["others"]))
        for r in rows
    ]


def facts_unusable(store: Store, dataset: str, cut: int, min_bands: int) -> str | None:
    """Why the precomputed near facts cannot give this audit's figures (the full queries
    run instead), or None when they can: a threshold that needs more than one shared band
    key, a batch read without facts, or an erasure reaching a record read."""
    if min_bands != 1:
        return f"the threshold needs {min_bands} shared band keys; the facts are for one"
    row = store.row(FACTS_UNUSABLE, {"dataset": dataset, "cut": cut})
    without, erasure = row if row is not None else (None, None)
    if without is not None:
        return f"batch {without} has no near facts (registered before them, or without sketches)"
    if erasure is not None:
        return f"the erasure at seq {erasure} reaches records these figures read"
    return None


def near_contamination(
    store: Store,
    dataset: str,
    cut: int,
    threshold: float = DEFAULT_NEAR_THRESHOLD,
    *,
    precomputed: bool = True,
) -> NearContamination:
    """The dataset's near-duplicate figures as the ledger stood at entry ``cut``: summed
    from the precomputed facts when ``facts_unusable`` finds nothing against them (and
    ``precomputed``), else by the full queries over the band keys. Both give the same."""
    min_bands = min_bands_for(threshold)
    params: dict[str, Any] = {
        "dataset": dataset,
        "cut": cut,
        "erased_by": cut,
        "min_bands": min_bands,
    }
    if precomputed and facts_unusable(store, dataset, cut, min_bands) is None:
        sql, models_sql = NEAR_FACTS, NEAR_FACTS["models"]
    elif min_bands == 1:
        sql, models_sql = NEAR_ANY_KEY, NEAR_MODELS_ANY_KEY
    else:
        sql, models_sql = NEAR_SEVERAL_KEYS, NEAR_MODELS_SEVERAL_KEYS
    totals = run_query(store, sql["totals"], params)[0]
    cross_split = _batches(run_query(store, sql["cross_split"], params))
    duplicates = _batches(run_query(store, sql["duplicates"], params))
    benchmark = _batches(run_query(store, sql["benchmark"], params))
    models = [
        NearModel(
            model=r["name"],
            datasets=list(r["datasets"]),
            records=int(r["records"]),
            benchmarks=_batches(list(r["benchmarks"])),
        )
        for r in run_query(store, models_sql, params)
    ]
    return NearContamination(
        threshold=threshold,
        min_bands=min_bands,
        sketched_records=int(totals["sketched"]),
        unsketched_batches=list(totals["unsketched"] or []),
        cross_split_records=sum(b.records for b in cross_split),
        cross_split_batches=cross_split,
        duplicate_records=sum(b.records for b in duplicates),
        duplicate_batches=duplicates,
        benchmark_records=sum(b.records for b in benchmark),
        benchmark_batches=benchmark,
        models=models,
    )


def text_band_keys(text: str) -> list[int]:
    """The ten band keys ``register`` would store for a record with this text."""
    keys: np.ndarray = sketch_texts([normalised_utf8(text)]).bands[0]
    return [int(k) for k in keys]


def near_record_rows(
    store: Store, text: str, threshold: float = DEFAULT_NEAR_THRESHOLD
) -> list[tuple[int, int, bytes]]:
    """(batch_seq, ord, record_hash) of every sketched record that is a near copy of
    ``text`` (exact copies included), in batch and record order."""
    params: dict[str, Any] = {f"k{i}": k for i, k in enumerate(text_band_keys(text))}
    params["min_bands"] = min_bands_for(threshold)
    return [(b, o, bytes(h)) for b, o, h in sorted(store.rows(NEAR_TEXT, params))]
