"""The active record manifest (``export``: one row per record not erased) and the check of
a rebuilt data file against every erasure (``check``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provledger.errors import InputError
from provledger.ingest.limits import DEFAULT_LIMITS, ReadLimits

if TYPE_CHECKING:
    from provledger.ledger import Ledger

__all__ = [
    "CheckResult",
    "ErasedInFile",
    "ExportResult",
    "check",
    "export",
]


# -- export and check ----------------------------------------------------------------------
# A dataset's active records in batch and file order: the erased ones are left out.
ACTIVE_RECORDS = """
    SELECT b.batch_id, lower(hex(r.record_hash)) AS record_hash,
           lower(hex(r.content_hash)) AS content_hash
    FROM records r JOIN batches b ON b.seq = r.batch_seq
    WHERE b.dataset = ?
      AND NOT EXISTS (SELECT 1 FROM erased_records e
                      WHERE e.batch_seq = r.batch_seq AND e.ord = r.ord)
    ORDER BY r.batch_seq, r.ord
"""
ERASED_IN_DATASET = """
    SELECT e.record_hash, b.batch_id, x.request_ref
    FROM erased_records e JOIN batches b ON b.seq = e.batch_seq JOIN erasures x ON x.seq = e.seq
    WHERE b.dataset = ?
"""
# Every erased record hash in the ledger, whatever dataset it was erased from; the
# dataset's own rows sort last, so they name the batch when a hash was erased in several.
ERASED_ANYWHERE = """
    SELECT e.record_hash, b.batch_id, x.request_ref
    FROM erased_records e JOIN batches b ON b.seq = e.batch_seq JOIN erasures x ON x.seq = e.seq
    ORDER BY b.dataset = ?, e.seq, e.batch_seq, e.ord
"""
TEXT_FIELDS = "SELECT DISTINCT text_field FROM batches WHERE dataset = ?"


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote."""

    dataset: str
    output: str
    records: int
    erased_left_out: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def export(ledger: Ledger, dataset: str, output: str | os.PathLike[str]) -> ExportResult:
    """Write the dataset's active record manifest to a Parquet file: one row per record
    not erased, columns batch_id, record_hash, content_hash (lowercase hex), in batch and
    file order. A pipeline purges its copy of the data with an anti-join on record_hash.

    Raises NotFound for an unknown dataset and InputError when ``output`` cannot be
    written. The file is replaced only once it is complete.
    """
    # Deferred for start-up time: loads numpy, pyarrow
    import pyarrow as pa

    # Deferred for start-up time: loads numpy, pyarrow
    import pyarrow.parquet as pq

    # Deferred for start-up time: loads msgspec, orjson, rfc8785
    from provledger.registry import operations as registry

    store = ledger.store
    registry.require_dataset(store, dataset)
    path = Path(output)
    if not path.parent.is_dir():
        raise InputError("its folder does not exist", file=path)
    schema = pa.schema(
        [("batch_id", pa.string()), ("record_hash", pa.string()), ("content_hash", pa.string())]
    )
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for batch in store.stream(ACTIVE_RECORDS, [dataset]):
                writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
                count += batch.num_rows
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write it: {exc.strerror}", file=path) from None
    finally:
        tmp.unlink(missing_ok=True)
    erased = len(store.rows(ERASED_IN_DATASET, [dataset]))
    return ExportResult(dataset, str(path), count, erased)


@dataclass(frozen=True, slots=True)
class ErasedInFile:
    """An erased record that a checked file still holds: its line (or row) number, record
    hash, and the batch and request that erased it."""

    line: int
    record_hash: str
    batch_id: str
    request_ref: str


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found: ``found`` lists the file's records that were erased (line or
    row number, record hash, batch, request); ``ok`` when there are none."""

    file: str
    dataset: str
    records: int
    erased_records: int
    found: list[ErasedInFile]

    @property
    def ok(self) -> bool:
        return not self.found

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


def check(
    ledger: Ledger,
    path: str | os.PathLike[str],
    dataset: str,
    *,
    text_field: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> CheckResult:
    """Hash every record of a data file exactly as registration does and report those
    whose record hash an erasure covered, in this dataset or any other (an erasure erases
    the record wherever it is).

    ``text_field`` defaults to the dataset's (when its batches agree) or ``text``.
    Raises NotFound for an unknown dataset and InputError for a file that cannot be read.
    """
    # Deferred for start-up time: loads duckdb, msgspec, numpy, orjson, rfc8785
    from provledger.ingest.register import iter_record_hashes

    # Deferred for start-up time: loads msgspec, orjson, rfc8785
    from provledger.registry import operations as registry

    store = ledger.store
    registry.require_dataset(store, dataset)
    if text_field is None:
        fields = [r[0] for r in store.rows(TEXT_FIELDS, [dataset])]
        text_field = fields[0] if len(fields) == 1 else "text"
    erased = {bytes(r[0]): (r[1], r[2]) for r in store.rows(ERASED_ANYWHERE, [dataset])}
    found: list[ErasedInFile] = []
    total = 0
    for locations, hashes in iter_record_hashes(path, text_field, limits):
        total += len(locations)
        if not erased:
            continue
        for i, line in enumerate(locations):
            hit = erased.get(hashes[32 * i : 32 * i + 32])
            if hit is not None:
                found.append(
                    ErasedInFile(
                        line=line,
                        record_hash=hashes[32 * i : 32 * i + 32].hex(),
                        batch_id=hit[0],
                        request_ref=hit[1],
                    )
                )
    return CheckResult(str(path), dataset, total, len(erased), found)
