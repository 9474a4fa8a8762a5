"""What the standard exports (Croissant, OpenLineage, PROV) say about a dataset, read once
from the ledger through ``Store``: its state, batches with their active record counts,
parents, licenses, consent versions, erasures, the models that consumed it, and the signed
checkpoint. Hashes of individual records and subject hashes are never read here, so no
export can carry an erased record (or any record) by construction; counts are active
records, erased ones left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provledger.errors import NotFound
from provledger.registry import operations as registry
from provledger.tlog.checkpoint import parse_note

if TYPE_CHECKING:
    from provledger.ledger import Ledger

__all__ = ["BatchFacts", "DatasetFacts", "ErasureFacts", "ModelFacts", "read_facts"]

# The dataset's current state and when it was created.
DATASET_STATE = """
    SELECT s.owner, s.context, s.uses,
           (SELECT min(e.recorded_at) FROM dataset_states f JOIN entries e ON e.seq = f.seq
            WHERE f.dataset = s.dataset) AS created_at
    FROM dataset_states s WHERE s.dataset = ? ORDER BY s.seq DESC LIMIT 1
"""
# Each batch of the dataset with its registration time and its records still active.
BATCHES = """
    SELECT b.seq, b.batch_id, b.source, b.license, b.consent, b.origin,
           strftime(b.collected_at, '%Y-%m-%dT%H:%M:%S') AS collected_at, b.split,
           b.generator, b.file_format, b.text_field, b.subject_field, b.records,
           b.merkle_root, e.recorded_at, json_extract_string(e.payload, '$.file') AS file,
           json_extract_string(e.payload, '$.metadata.channel') AS channel,
           b.records - (SELECT count(*) FROM erased_records x WHERE x.batch_seq = b.seq)
               AS active_records
    FROM batches b JOIN entries e ON e.seq = b.seq
    WHERE b.dataset = ? ORDER BY b.seq
"""
# Per batch of the dataset, how many distinct data subjects its active records carry.
SUBJECTS = """
    SELECT b.batch_id, count(DISTINCT r.subject_hash) AS subjects
    FROM records r JOIN batches b ON b.seq = r.batch_seq
    WHERE b.dataset = ? AND r.subject_hash IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM erased_records e
                      WHERE e.batch_seq = r.batch_seq AND e.ord = r.ord)
    GROUP BY b.batch_id
"""
# Parents of the dataset's batches (parents may sit in other datasets).
PARENTS = """
    SELECT p.batch_id, p.parent_id, pb.dataset, pb.source
    FROM batch_parents p JOIN batches b ON b.batch_id = p.batch_id
    JOIN batches pb ON pb.batch_id = p.parent_id
    WHERE b.dataset = ? ORDER BY p.seq, p.parent_id
"""
# Erasure entries that reached the dataset, with the records they took per batch.
ERASURES = """
    SELECT x.seq, x.request_ref, e.recorded_at, b.batch_id, count(*) AS records
    FROM erased_records r JOIN erasures x ON x.seq = r.seq JOIN entries e ON e.seq = x.seq
    JOIN batches b ON b.seq = r.batch_seq
    WHERE b.dataset = ? GROUP BY ALL ORDER BY x.seq, b.batch_id
"""
# Models that consumed the dataset, with every dataset each consumed.
MODELS = """
    SELECT m.seq, m.name, n.recorded_at, list(md.dataset ORDER BY md.dataset) AS datasets
    FROM models m JOIN model_datasets md ON md.seq = m.seq JOIN entries n ON n.seq = m.seq
    WHERE m.seq IN (SELECT seq FROM model_datasets WHERE dataset = ?)
    GROUP BY ALL ORDER BY m.seq
"""
LICENSE = """
    SELECT id, version, title, licensor, grants, spdx, document_sha256
    FROM licenses WHERE id || '@' || version = ?
"""
CONSENT = """
    SELECT policy, version, CAST(effective_from AS VARCHAR) AS effective_from, permits,
           retention_days
    FROM consent_versions WHERE policy || '@' || version = ?
"""


@dataclass(frozen=True)
class BatchFacts:
    seq: int
    batch_id: str
    source: str
    license: str | None
    consent: str | None
    origin: str | None
    collected_at: str | None
    split: str
    generator: str | None
    file_format: str
    text_field: str | None
    subject_field: str | None
    records: int
    merkle_root: str
    recorded_at: str
    file: str | None
    active_records: int
    channel: str | None  # as declared; None for entries written before batches declared one
    parents: list[str] = field(default_factory=list)
    subjects: int = 0  # distinct data subjects among the active records


@dataclass(frozen=True)
class ErasureFacts:
    seq: int
    request_ref: str
    recorded_at: str
    records_by_batch: dict[str, int]


@dataclass(frozen=True)
class ModelFacts:
    seq: int
    name: str
    recorded_at: str
    datasets: list[str]


@dataclass(frozen=True)
class DatasetFacts:
    """Everything the standard exports say about one dataset, as the ledger stands."""

    name: str
    owner: str
    context: str
    uses: list[str]
    created_at: str
    batches: list[BatchFacts]
    parent_batches: dict[str, tuple[str, str]]  # parent batch id -> (dataset, source)
    licenses: dict[str, dict[str, Any]]
    consents: dict[str, dict[str, Any]]
    erasures: list[ErasureFacts]
    models: list[ModelFacts]
    origin: str  # the log's origin line, e.g. provledger/<key id>
    checkpoint: dict[str, Any]  # size, root (hex), note: the signed checkpoint note

    @property
    def active_records(self) -> int:
        return sum(b.active_records for b in self.batches)

    @property
    def erased_records(self) -> int:
        return sum(b.records - b.active_records for b in self.batches)


def read_facts(ledger: Ledger, dataset: str) -> DatasetFacts:
    """Read what the exports need. Raises NotFound for an unknown dataset."""
    store = ledger.store
    registry.require_dataset(store, dataset)
    owner, context, uses, created_at = store.row(DATASET_STATE, [dataset]) or ("", "", [], "")
    parents: dict[str, list[str]] = {}
    parent_batches: dict[str, tuple[str, str]] = {}
    for batch_id, parent_id, parent_dataset, parent_source in store.rows(PARENTS, [dataset]):
        parents.setdefault(batch_id, []).append(parent_id)
        parent_batches[parent_id] = (parent_dataset, parent_source)
    subjects = dict(store.rows(SUBJECTS, [dataset]))
    batches = [
        BatchFacts(
            **row,
            parents=parents.get(row["batch_id"], []),
            subjects=subjects.get(row["batch_id"], 0),
        )
        for row in store.dicts(BATCHES, [dataset])
    ]
    licenses = {b.license: store.dicts(LICENSE, [b.license])[0] for b in batches if b.license}
    consents = {b.consent: store.dicts(CONSENT, [b.consent])[0] for b in batches if b.consent}
    erasures: dict[int, ErasureFacts] = {}
    for seq, ref, recorded_at, batch_id, count in store.rows(ERASURES, [dataset]):
        erasure = erasures.setdefault(seq, ErasureFacts(seq, ref, recorded_at, {}))
        erasure.records_by_batch[batch_id] = count
    models = [
        ModelFacts(r["seq"], r["name"], r["recorded_at"], list(r["datasets"]))
        for r in store.dicts(MODELS, [dataset])
    ]
    checkpoint = _checkpoint(ledger)
    return DatasetFacts(
        name=dataset,
        owner=owner,
        context=context,
        uses=list(uses),
        created_at=created_at,
        batches=batches,
        parent_batches=parent_batches,
        licenses=licenses,
        consents=consents,
        erasures=list(erasures.values()),
        models=models,
        origin=ledger.origin,
        checkpoint=checkpoint,
    )


def _checkpoint(ledger: Ledger) -> dict[str, Any]:
    """The signed checkpoint note kept beside the database (rewritten after every append),
    its signature checked; without one, the log's current size and root, unsigned."""
    try:
        note, path = ledger.stored_note()
    except NotFound:
        current = ledger.current_checkpoint()
    else:
        signed = parse_note(note, ledger.public, source=path)
        return {"size": signed.size, "root": signed.root.hex(), "note": note}
    return {"size": current.size, "root": current.root.hex(), "note": None}
