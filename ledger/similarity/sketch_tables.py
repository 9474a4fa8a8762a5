"""Where sketches live in the ledger, and how ``verify`` checks them.

Two tables, written in the registering transaction (migration m005_sketches), append-only
like every ledger table:

- ``record_sketches``: per record (``batch_seq``, ``ord``) its ten LSH band keys
  ``b0`` .. ``b9`` (UINTEGER; ``provledger.similarity.sketches``): 40 bytes a record.
- ``batch_profiles``: per batch its hashed n-gram histogram (``counts``: 4096 little-endian
  uint64 counts as one BLOB), the number of records and of n-gram features counted.

The batch-registered entry signs what they must hold: ``sketch`` = {the parameters, and
``digest``, the SHA-256 of every record's band keys as little-endian uint32 in record
order}; ``profile`` = {the parameters, ``digest`` = SHA-256 of the counts BLOB,
``features``}. ``check_sketches`` recomputes both digests from the stored rows (and that
the rows are exactly ords 0 .. records-1), so a changed, added or removed sketch row is
caught at its batch's seq. A batch whose entry has no ``sketch`` must have no rows.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from provledger.errors import IntegrityError
from provledger.similarity.sketches import BANDS, PROFILE_BUCKETS, PROFILE_PARAMS, SKETCH_PARAMS

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "BAND_COLUMNS",
    "SketchWriter",
    "check_sketches",
    "profile_array",
]

BAND_COLUMNS = tuple(f"b{i}" for i in range(BANDS))
INSERT_PROFILE = "INSERT INTO batch_profiles VALUES (?, ?, ?, ?)"
# Every stored sketch row in batch then record order, for the digest check.
SKETCHES_IN_ORDER = (
    f"SELECT batch_seq, ord, {', '.join(BAND_COLUMNS)} FROM record_sketches "  # noqa: S608
    "ORDER BY batch_seq, ord"
)
PROFILES = "SELECT seq, counts, records, features FROM batch_profiles ORDER BY seq"


def profile_array(blob: bytes) -> np.ndarray:
    """A stored profile BLOB as PROFILE_BUCKETS uint64 counts."""
    return np.frombuffer(blob, dtype="<u8")


class SketchWriter:
    """Inserts a batch's band keys chunk by chunk and sums its profile; ``finish`` writes
    the profile row and returns the entry payload's ``sketch`` and ``profile`` parts."""

    def __init__(self, store: Store, seq: int) -> None:
        self.store = store
        self.seq = seq
        self.digest = hashlib.sha256()
        self.profile = np.zeros(PROFILE_BUCKETS, dtype=np.uint64)
        self.records = 0

    def add(self, first_ord: int, count: int, bands: bytes | None, profile: bytes | None) -> None:
        import pyarrow as pa  # only a registering process needs it (start-up cost)

        if bands is None or profile is None:
            raise ValueError("a sketched registration needs band keys for every chunk")
        keys = np.frombuffer(bands, dtype="<u4").reshape(count, BANDS)
        columns: dict[str, Any] = {
            "batch_seq": pa.array(np.full(count, self.seq, dtype=np.int32)),
            "ord": pa.array(np.arange(first_ord, first_ord + count, dtype=np.int32)),
        }
        for i, name in enumerate(BAND_COLUMNS):
            columns[name] = pa.array(np.ascontiguousarray(keys[:, i]))
        self.store.insert_arrow("record_sketches", pa.table(columns))
        self.digest.update(bands)
        self.profile += profile_array(profile)
        self.records += count

    def finish(self) -> dict[str, Any]:
        blob = self.profile.astype("<u8").tobytes()
        features = int(self.profile.sum())
        self.store.execute(INSERT_PROFILE, [self.seq, blob, self.records, features])
        return {
            "sketch": {**SKETCH_PARAMS, "digest": self.digest.hexdigest()},
            "profile": {
                **PROFILE_PARAMS,
                "digest": hashlib.sha256(blob).hexdigest(),
                "features": features,
            },
        }


def check_sketches(store: Store, batches: dict[int, dict[str, Any]]) -> None:
    """Raise IntegrityError at the first batch seq whose stored sketches or profile differ
    from what its entry signed (``batches``: seq -> batch-registered payload)."""
    problems: list[tuple[int, str]] = []
    digests: dict[int, Any] = defaultdict(hashlib.sha256)
    counts: dict[int, int] = defaultdict(int)
    for chunk in store.stream(SKETCHES_IN_ORDER):
        seqs = chunk.column(0).to_numpy()
        ords = chunk.column(1).to_numpy()
        keys = np.column_stack([chunk.column(i + 2).to_numpy() for i in range(BANDS)])
        rows = keys.astype("<u4")
        # Split the chunk where the batch changes; each part continues its batch's rows.
        cuts = np.flatnonzero(np.diff(seqs)) + 1
        for part in np.split(np.arange(len(seqs)), cuts):
            if not len(part):
                continue
            seq = int(seqs[part[0]])
            start = counts[seq]
            if not np.array_equal(ords[part], np.arange(start, start + len(part))):
                problems.append((seq, "record_sketches rows are not exactly one per record"))
            digests[seq].update(rows[part].tobytes())
            counts[seq] += len(part)
    for seq in counts:
        if seq not in batches or batches[seq].get("sketch") is None:
            problems.append((seq, "record_sketches holds rows that no batch entry signed"))
    profiles = {int(r[0]): (bytes(r[1]), r[2], r[3]) for r in store.rows(PROFILES)}
    for seq in profiles:
        if seq not in batches or batches[seq].get("profile") is None:
            problems.append((seq, "batch_profiles holds a row that no batch entry signed"))
    for seq, payload in batches.items():
        sketch, profile = payload.get("sketch"), payload.get("profile")
        name = payload["batch_id"]
        if sketch is not None and (
            counts.get(seq, 0) != payload["records"] or digests[seq].hexdigest() != sketch["digest"]
        ):
            problems.append((seq, f"batch {name}: record sketches do not match its entry"))
        if profile is not None:
            stored = profiles.get(seq)
            if (
                stored is None
                or hashlib.sha256(stored[0]).hexdigest() != profile["digest"]
                or stored[1] != payload["records"]
                or stored[2] != profile["features"]
            ):
                problems.append((seq, f"batch {name}: n-gram profile does not match its entry"))
    if problems:
        seq, problem = min(problems)
        raise IntegrityError(problem, seq)
