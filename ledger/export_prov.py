"""W3C PROV for a dataset, built with the ``prov`` package: PROV-JSON, PROV-N, or a picture
through prov's Graphviz (dot) output.

Entities: the dataset (a collection of its batches), each batch, the erased part of a
batch, and each model. Activities: each registration, each synthetic generation run, each
erasure and each model registration. Agents: the organisation (the dataset owner), each
licensor, the data subjects of a batch in aggregate (a count, never an id), and each
generator model. ``wasDerivedFrom`` links a derived batch to its parents (synthetic chains),
``wasInvalidatedBy`` the erased part of a batch to its erasure. No record or subject hash
appears: counts only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from prov.identifier import Namespace
from prov.model import PROV, PROV_LABEL, PROV_TYPE, ProvDocument

from ledger.export_facts import BatchFacts, DatasetFacts

__all__ = ["NAMESPACE", "prov_document"]

NAMESPACE = "urn:provledger:"
PREFIX = "provledger"
PL = Namespace(PREFIX, NAMESPACE)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _q(kind: str, name: str | int) -> str:
    """A qualified name PROV-N can write: letters, digits, '-' and '_' (anything else is
    replaced, and a short hash of the original keeps two such names apart); the name itself
    goes in ``prov:label``."""
    text = str(name)
    local = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    if local != text:
        local = f"{local}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return f"{PREFIX}:{kind}-{local}"


def _batch_attributes(batch: BatchFacts) -> dict[str, Any]:
    attributes: dict[Any, Any] = {
        PROV_TYPE: PL["Batch"],
        f"{PREFIX}:source": batch.source,
        f"{PREFIX}:split": batch.split,
        f"{PREFIX}:merkleRoot": batch.merkle_root,
        f"{PREFIX}:records": batch.active_records,
        f"{PREFIX}:registeredRecords": batch.records,
        f"{PREFIX}:ledgerSeq": batch.seq,
    }
    for key, value in (
        ("license", batch.license),
        ("consent", batch.consent),
        ("origin", batch.origin),
        ("collectedAt", batch.collected_at),
    ):
        if value:
            attributes[f"{PREFIX}:{key}"] = value
    return attributes


def prov_document(facts: DatasetFacts) -> ProvDocument:
    """The dataset's provenance graph."""
    doc = ProvDocument()
    doc.add_namespace(PL)
    org = doc.agent(
        _q("organisation", facts.owner),
        {PROV_TYPE: PROV["Organization"], PROV_LABEL: facts.owner},
    )
    dataset = doc.collection(
        _q("dataset", facts.name),
        {
            PROV_LABEL: facts.name,
            f"{PREFIX}:context": facts.context,
            f"{PREFIX}:uses": " ".join(facts.uses),
        },
    )
    doc.wasAttributedTo(dataset, org)
    licensors: dict[str, Any] = {}
    for _, lic in sorted(facts.licenses.items()):
        if lic["licensor"] and lic["licensor"] not in licensors:
            licensors[lic["licensor"]] = doc.agent(
                _q("licensor", lic["licensor"]),
                {PROV_TYPE: PROV["Organization"], PROV_LABEL: lic["licensor"]},
            )
    entities: dict[str, Any] = {}
    for batch in facts.batches:
        entity = doc.entity(_q("batch", batch.batch_id), _batch_attributes(batch))
        entities[batch.batch_id] = entity
        doc.hadMember(dataset, entity)
        when = _time(batch.recorded_at)
        registration = doc.activity(
            _q("registration", batch.seq), when, when, {PROV_TYPE: PL["Registration"]}
        )
        doc.wasAssociatedWith(registration, org)
        doc.used(registration, entity, when)
        if batch.license and batch.license in facts.licenses:
            licensor = facts.licenses[batch.license]["licensor"]
            if licensor:
                doc.wasAttributedTo(entity, licensors[licensor])
        if batch.subject_field and batch.subjects:
            subjects = doc.agent(
                _q("subjects", batch.batch_id),
                {
                    PROV_TYPE: PROV["Person"],
                    f"{PREFIX}:aggregate": True,
                    f"{PREFIX}:count": batch.subjects,
                    f"{PREFIX}:consent": batch.consent or "",
                },
            )
            doc.wasAttributedTo(entity, subjects)
    for batch in facts.batches:
        entity = entities[batch.batch_id]
        for parent in batch.parents:
            if parent not in entities:  # a parent in another dataset
                parent_dataset, parent_source = facts.parent_batches[parent]
                entities[parent] = doc.entity(
                    _q("batch", parent),
                    {
                        PROV_TYPE: PL["Batch"],
                        f"{PREFIX}:dataset": parent_dataset,
                        f"{PREFIX}:source": parent_source,
                    },
                )
            doc.wasDerivedFrom(entity, entities[parent])
        if batch.generator:
            generator = doc.agent(
                _q("generator", batch.generator),
                {PROV_TYPE: PROV["SoftwareAgent"], PROV_LABEL: batch.generator},
            )
            run = doc.activity(
                _q("generation", batch.batch_id),
                other_attributes={PROV_TYPE: PL["GenerationRun"]},
            )
            doc.wasAssociatedWith(run, generator)
            for parent in batch.parents:
                doc.used(run, entities[parent])
            doc.wasGeneratedBy(entity, run)
    for erasure in facts.erasures:
        when = _time(erasure.recorded_at)
        activity = doc.activity(_q("erasure", erasure.seq), when, when, {PROV_TYPE: PL["Erasure"]})
        doc.wasAssociatedWith(activity, org)
        for batch_id, count in sorted(erasure.records_by_batch.items()):
            part = doc.entity(
                _q("erased", f"{erasure.seq}-{batch_id}"),
                {PROV_TYPE: PL["ErasedRecords"], f"{PREFIX}:records": count},
            )
            doc.specializationOf(part, entities[batch_id])
            doc.wasInvalidatedBy(part, activity, when)
    for model in facts.models:
        when = _time(model.recorded_at)
        activity = doc.activity(
            _q("model-registration", model.seq), when, when, {PROV_TYPE: PL["Training"]}
        )
        doc.wasAssociatedWith(activity, org)
        entity = doc.entity(
            _q("model", model.name), {PROV_TYPE: PL["Model"], PROV_LABEL: model.name}
        )
        for batch in facts.batches:
            if batch.seq < model.seq:
                doc.used(activity, entities[batch.batch_id])
        doc.wasGeneratedBy(entity, activity, when)
    return doc
