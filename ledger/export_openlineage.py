"""OpenLineage (spec 2-0-2) RunEvents for a dataset: one COMPLETE event per batch
registration, erasure and model registration, built with ``openlineage-python``'s event and
facet classes (their validators check run ids, times and URLs) and serialised by its
``Serde``, one JSON document per line.

A batch is a dataset ``<dataset>/<batch id>`` in the ledger's namespace (its origin line):
the output of its registration, the input of batches derived from it and of the models
that consumed it. Custom facets carry what the ledger signed: ``provledger_batch`` on
every batch, ``provledger_erasure`` on the batches an erasure reached. Run ids are UUIDs
derived from the ledger origin and entry seq, so exporting twice gives the same events.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import attr
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.generated.base import DatasetFacet
from openlineage.client.serde import Serde

from ledger.errors import InputError
from ledger.export_facts import BatchFacts, DatasetFacts

__all__ = [
    "BATCH_FACET_SCHEMA",
    "ERASURE_FACET_SCHEMA",
    "PRODUCER",
    "ProvledgerBatchFacet",
    "ProvledgerErasureFacet",
    "emit",
    "events",
    "to_lines",
]

PRODUCER = "urn:provledger"
# The custom facets' JSON Schemas ship in schemas/openlineage/ (provledger-batch-facet-1.json,
# provledger-erasure-facet-1.json) with these ids.
BATCH_FACET_SCHEMA = "urn:provledger:schemas:openlineage-batch-facet-1.json"
ERASURE_FACET_SCHEMA = "urn:provledger:schemas:openlineage-erasure-facet-1.json"
JOB_REGISTER = "provledger.register"
JOB_ERASE = "provledger.erase"
JOB_MODEL = "provledger.model.register"


@attr.define(kw_only=True)
class ProvledgerBatchFacet(DatasetFacet):
    """What the ledger signed about a batch; ``records`` counts active records (erased ones
    left out), ``registeredRecords`` those the Merkle root covers."""

    # OpenLineage facets use camelCase keys.
    sourceType: str
    license: str | None = None
    consentVersion: str | None = None
    merkleRoot: str
    records: int
    registeredRecords: int
    ledgerSeq: int
    split: str
    generator: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return BATCH_FACET_SCHEMA


@attr.define(kw_only=True)
class ProvledgerErasureFacet(DatasetFacet):
    """Records of this batch an erasure entry took out (no subject, no record hash)."""

    erasedRecords: int
    ledgerSeq: int

    @staticmethod
    def _get_schema() -> str:
        return ERASURE_FACET_SCHEMA


def _run_id(origin: str, seq: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{origin}#{seq}"))


def _batch_facet(batch: BatchFacts) -> ProvledgerBatchFacet:
    return ProvledgerBatchFacet(
        producer=PRODUCER,
        sourceType=batch.source,
        license=batch.license,
        consentVersion=batch.consent,
        merkleRoot=batch.merkle_root,
        records=batch.active_records,
        registeredRecords=batch.records,
        ledgerSeq=batch.seq,
        split=batch.split,
        generator=batch.generator,
    )


def _name(dataset: str, batch_id: str) -> str:
    return f"{dataset}/{batch_id}"


def events(facts: DatasetFacts) -> list[RunEvent]:
    """The dataset's events in ledger order."""
    ns = facts.origin
    found: list[tuple[int, RunEvent]] = []
    for batch in facts.batches:
        inputs = [InputDataset(ns, _name(facts.parent_batches[p][0], p)) for p in batch.parents]
        output = OutputDataset(
            ns,
            _name(facts.name, batch.batch_id),
            facets={"provledger_batch": _batch_facet(batch)},
        )
        found.append(
            (batch.seq, _event(facts, batch.seq, batch.recorded_at, JOB_REGISTER, inputs, [output]))
        )
    by_id = {b.batch_id: b for b in facts.batches}
    for erasure in facts.erasures:
        outputs = [
            OutputDataset(
                ns,
                _name(facts.name, batch_id),
                facets={
                    "provledger_batch": _batch_facet(by_id[batch_id]),
                    "provledger_erasure": ProvledgerErasureFacet(
                        producer=PRODUCER, erasedRecords=count, ledgerSeq=erasure.seq
                    ),
                },
            )
            for batch_id, count in sorted(erasure.records_by_batch.items())
        ]
        found.append(
            (erasure.seq, _event(facts, erasure.seq, erasure.recorded_at, JOB_ERASE, [], outputs))
        )
    for model in facts.models:
        inputs = [
            InputDataset(
                ns, _name(facts.name, b.batch_id), facets={"provledger_batch": _batch_facet(b)}
            )
            for b in facts.batches
            if b.seq < model.seq
        ]
        outputs = [OutputDataset(ns, f"model/{model.name}")]
        found.append(
            (model.seq, _event(facts, model.seq, model.recorded_at, JOB_MODEL, inputs, outputs))
        )
    return [event for _, event in sorted(found, key=lambda pair: pair[0])]


def _event(
    facts: DatasetFacts,
    seq: int,
    when: str,
    job: str,
    inputs: list[InputDataset],
    outputs: list[OutputDataset],
) -> RunEvent:
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=when,
        run=Run(runId=_run_id(facts.origin, seq)),
        job=Job(namespace=facts.origin, name=job),
        producer=PRODUCER,
        inputs=inputs,
        outputs=outputs,
    )


def to_lines(run_events: list[RunEvent]) -> str:
    """JSON lines, each serialised by OpenLineage's ``Serde``."""
    return "".join(Serde.to_json(e) + "\n" for e in run_events)


def emit(run_events: list[RunEvent], url: str, *, timeout: float = 10.0) -> int:
    """POST each event to an OpenLineage HTTP endpoint (``URL/api/v1/lineage``, as Marquez
    serves it). Returns the number posted; raises InputError naming the URL and the event
    at the first failure (events before it were delivered)."""
    endpoint = url.rstrip("/") + "/api/v1/lineage"
    if not endpoint.startswith(("http://", "https://")):
        raise InputError(f"'{url}' is not an http(s) URL", field="emit")
    for number, event in enumerate(run_events, start=1):
        body = Serde.to_json(event).encode("utf-8")
        request = urllib.request.Request(
            endpoint, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError(
                f"cannot post event {number} of {len(run_events)} to {endpoint}: {reason} "
                f"({number - 1} delivered)",
                field="emit",
            ) from None
    return len(run_events)
