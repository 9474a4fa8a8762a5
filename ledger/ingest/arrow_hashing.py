"""The engine contract: one pure function from Arrow records to what registration
computes per record.

``hash_records(data, config, first_index)`` takes a pyarrow RecordBatch or Table and the
batch's ``HashConfig`` and returns a ``HASH_SCHEMA`` table in record order: per record its
``record_hash``, ``content_hash``, ``subject_hash`` (null without a subject field),
``leaf_hash`` (the RFC 9162 leaf, SHA-256(0x00 || record_hash)) and ``bands`` (the ten
little-endian uint32 LSH band keys, null with sketches off); and on the table's first row
the block's ``profile`` (4096 little-endian uint64 n-gram counts, null with sketches off),
``text_bytes`` and ``words``. Blocks' profiles, bytes and words add up to the batch's.
``hash_range`` adds the compact Merkle range of those records (the aligned perfect
subtrees covering positions [first_index, first_index + rows) of the batch's tree), so
whoever folds ranges in record order gets the batch's Merkle root without seeing a leaf.

Every way of registering Arrow data runs this code: the local Parquet workers
(``provledger.ingest.parquet_ranges``), Ray Data ``map_batches`` and Spark ``mapInArrow``.
Records map to JSON by the rule of ``provledger.ingest.readers.parquet_reader`` and are
hashed and sketched by ``provledger.ingest.record_hashes.hash_items``, the function that
hashes every other input too, so every engine produces the same bytes.

The functions are pure: no I/O, no global state; the result depends only on the records
and the config. A bad record raises ``InputError`` with ``line`` set to its 1-based
position in the batch (``first_index + i + 1``). ``hash_block`` is the form an engine's
worker runs: the error travels back as a row (``ENGINE_SCHEMA``), and ``blocks_back`` on
the driver turns the rows into ``Hashed`` chunks again or raises the error, numbered
within the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from provledger.errors import InputError
from provledger.ingest.readers import CHUNK_RECORDS
from provledger.ingest.readers.parquet_reader import duplicate_field, json_rows
from provledger.ingest.record_hashes import Hashed, hash_items, sum_profiles
from provledger.similarity.sketches import BANDS
from provledger.tlog.merkle import MerkleBuilder, compact_range

__all__ = [
    "ENGINE_SCHEMA",
    "HASH_SCHEMA",
    "HashConfig",
    "RangeHashes",
    "blocks_back",
    "column_bytes",
    "engine_block",
    "error_block",
    "fold_range",
    "hash_block",
    "hash_hashed",
    "hash_range",
    "hash_records",
    "hashed_from_table",
    "merge_hashed",
    "table_from_hashed",
    "with_subtrees",
]

DIGEST = pa.binary(32)
BAND_BYTES = 4 * BANDS
HASH_SCHEMA = pa.schema(
    [
        pa.field("record_hash", DIGEST, nullable=False),
        pa.field("content_hash", DIGEST, nullable=False),
        pa.field("subject_hash", DIGEST),
        pa.field("leaf_hash", DIGEST, nullable=False),
        pa.field("bands", pa.binary(BAND_BYTES)),
        # The block's figures, on its first row only (null on the others).
        pa.field("profile", pa.binary()),
        pa.field("text_bytes", pa.int64()),
        pa.field("words", pa.int64()),
    ]
)

# What an engine's workers hand back for each block: the hash columns as plain binary (what
# Spark's Arrow exchange accepts); on a block's first row, where the driver knows it, the
# block's position in the batch and its compact Merkle range (``subtrees``: per subtree a
# height byte and its 32-byte root); and when a record cannot be hashed, one row carrying
# the error instead of the block, its line counted from the block's first record.
ENGINE_SCHEMA = pa.schema(
    [pa.field(f.name, pa.binary() if pa.types.is_fixed_size_binary(f.type) else f.type)
     for f in HASH_SCHEMA]
    + [
        pa.field("first_index", pa.int64()),
        pa.field("subtrees", pa.binary()),
        pa.field("error_reason", pa.string()),
        pa.field("error_line", pa.int64()),
        pa.field("error_field", pa.string()),
    ]
)  # fmt: skip


@dataclass(frozen=True)
class HashConfig:
    """How a batch's records are hashed (the ``register`` options that change hashes).

    ``subject_key`` is the ledger's HMAC subject key; it is needed (only) when
    ``subject_field`` is set, and travels to whichever worker hashes the records.
    """

    text_field: str = "text"
    subject_field: str | None = None
    subject_key: bytes | None = field(default=None, repr=False)
    sketch: bool = True

    def __post_init__(self) -> None:
        if self.subject_field is not None and self.subject_key is None:
            raise ValueError("HashConfig: subject_key is required with subject_field")


@dataclass(frozen=True)
class RangeHashes:
    """Hashes of records [first_index, first_index + table.num_rows) of a batch, with the
    compact Merkle range over them as (height, root) pairs, left to right."""

    first_index: int
    table: pa.Table
    subtrees: list[tuple[int, bytes]]


def _column(blob: bytes | None, n: int, width: int = 32) -> pa.Array:
    kind = pa.binary(width)
    if blob is None:
        return pa.nulls(n, kind)
    return pa.FixedSizeBinaryArray.from_buffers(kind, n, [None, pa.py_buffer(blob)])


def _first_row(value: Any, n: int, kind: pa.DataType) -> pa.Array:
    return pa.array([value] + [None] * (n - 1), kind) if n else pa.nulls(0, kind)


def table_from_hashed(hashed: Hashed) -> pa.Table:
    """The ``HASH_SCHEMA`` table of a chunk hashed by ``hash_items`` (digests not copied)."""
    n = hashed.count
    return pa.Table.from_arrays(
        [
            _column(hashed.record_hashes, n),
            _column(hashed.content_hashes, n),
            _column(hashed.subject_hashes, n),
            _column(hashed.leaves, n),
            _column(hashed.bands, n, BAND_BYTES),
            _first_row(hashed.profile, n, pa.binary()),
            _first_row(hashed.text_bytes, n, pa.int64()),
            _first_row(hashed.words, n, pa.int64()),
        ],
        schema=HASH_SCHEMA,
    )


def column_bytes(column: Any, width: int = 32) -> bytes | None:
    """The fixed-width values of a fixed-size or plain binary column, concatenated; None
    when every value is null."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(array) and array.null_count == len(array):
        return None
    if not pa.types.is_fixed_size_binary(array.type):  # plain binary, as engines hand it back
        array = array.cast(pa.binary(width))
    data = array.buffers()[1]
    if data is None:
        return b""
    return data.to_pybytes()[array.offset * width : (array.offset + len(array)) * width]


def hashed_from_table(table: pa.Table, first_index: int = -1) -> Hashed:
    """A ``HASH_SCHEMA`` (or ``ENGINE_SCHEMA``) table of consecutive records back as one
    ``Hashed``, the form the committing process inserts and folds: profiles, bytes and
    words of every block in it are summed."""

    def blob(name: str, width: int = 32) -> bytes | None:
        return column_bytes(table.column(name), width)

    profiles = [p for p in table.column("profile").to_pylist() if p is not None]
    return Hashed(
        table.num_rows,
        blob("record_hash") or b"",
        blob("content_hash") or b"",
        blob("subject_hash"),
        blob("leaf_hash") or b"",
        int(pc.sum(table.column("text_bytes")).as_py() or 0),
        int(pc.sum(table.column("words")).as_py() or 0),
        first_index=first_index,
        bands=blob("bands", BAND_BYTES),
        profile=sum_profiles(profiles),
    )


def merge_hashed(parts: list[Hashed]) -> Hashed:
    """Consecutive chunks' hashes as one (digests and band keys joined, figures summed)."""
    if len(parts) == 1:
        return parts[0]
    subjects = [p.subject_hashes for p in parts]
    bands = [p.bands for p in parts]
    return Hashed(
        sum(p.count for p in parts),
        b"".join(p.record_hashes for p in parts),
        b"".join(p.content_hashes for p in parts),
        None if any(s is None for s in subjects) else b"".join(s or b"" for s in subjects),
        b"".join(p.leaves for p in parts),
        sum(p.text_bytes for p in parts),
        sum(p.words for p in parts),
        bands=None if any(b is None for b in bands) else b"".join(b or b"" for b in bands),
        profile=sum_profiles([p.profile for p in parts]),
    )


def hash_hashed(data: Any, config: HashConfig, first_index: int = 0) -> Hashed:
    """What ``hash_records`` returns, as the ``Hashed`` registration folds: every record of
    ``data`` mapped to JSON and hashed in chunks of CHUNK_RECORDS (bounded Python objects)."""
    twice = duplicate_field(data.schema)
    if twice is not None:
        raise InputError(f"duplicate column name '{twice}'")
    batches = data.to_batches(max_chunksize=CHUNK_RECORDS) if isinstance(data, pa.Table) else [data]
    parts: list[Hashed] = []
    row = first_index
    for batch in batches:
        items = json_rows(batch, row)
        parts.append(
            hash_items(
                items,
                list(range(row + 1, row + 1 + len(items))),
                False,
                config.text_field,
                config.subject_field,
                config.subject_key,
                config.sketch,
            )
        )
        row += len(items)
    if not parts:
        return hash_items(
            [], [], False, config.text_field, config.subject_field, config.subject_key,
            config.sketch,
        )  # fmt: skip
    return merge_hashed(parts)


def hash_records(data: Any, config: HashConfig, first_index: int = 0) -> pa.Table:
    """Per-record hashes of a pyarrow RecordBatch or Table, as a ``HASH_SCHEMA`` table.

    ``first_index`` is the position of the first record in its batch (0-based); it only
    numbers records in errors. Raises InputError (``line`` = 1-based record position,
    ``field`` = the text, subject or map column) for a record that cannot be hashed.
    """
    return table_from_hashed(hash_hashed(data, config, first_index))


def with_subtrees(hashed: Hashed, first_index: int) -> Hashed:
    """``hashed`` (records [first_index, first_index + count) of a batch) with its compact
    Merkle range set, so ``fold`` adds O(log n) subtrees rather than every leaf."""
    leaves = hashed.leaves
    hashed.first_index = first_index
    hashed.subtrees = compact_range(
        [leaves[i : i + 32] for i in range(0, len(leaves), 32)], first_index
    )
    return hashed


def hash_range(data: Any, config: HashConfig, first_index: int) -> RangeHashes:
    """``hash_records`` plus the compact Merkle range of the records, which sit at
    positions [first_index, first_index + rows) of the batch's tree."""
    hashed = with_subtrees(hash_hashed(data, config, first_index), first_index)
    return RangeHashes(first_index, table_from_hashed(hashed), hashed.subtrees or [])


def fold_range(builder: MerkleBuilder, part: RangeHashes) -> None:
    """Add a range's subtrees to the batch's tree; ranges must come in record order."""
    if part.first_index != builder.size:
        raise ValueError(
            f"range starting at record {part.first_index} folded at {builder.size}: "
            "ranges must be folded in record order"
        )
    for height, node in part.subtrees:
        builder.push_subtree(node, height)


def error_block(exc: InputError, first_index: int | None = None) -> pa.Table:
    """The one ``ENGINE_SCHEMA`` row that carries a block's error; ``exc.line`` counts
    within the batch when ``first_index`` is given, else within the block."""
    line = exc.line
    if line is not None and first_index is not None:
        line -= first_index
    error = {
        "error_reason": pa.array([exc.reason], pa.string()),
        "error_line": pa.array([line], pa.int64()),
        "error_field": pa.array([exc.field], pa.string()),
    }
    return pa.table(
        {f.name: error.get(f.name, pa.nulls(1, f.type)) for f in ENGINE_SCHEMA},
        schema=ENGINE_SCHEMA,
    )


def engine_block(hashed: Hashed) -> pa.Table:
    """A ``Hashed`` block as ``ENGINE_SCHEMA`` rows (with its position and subtrees when
    it carries them)."""
    table = table_from_hashed(hashed)
    n = table.num_rows
    columns = [table.column(f.name).cast(ENGINE_SCHEMA.field(f.name).type) for f in HASH_SCHEMA]
    first = hashed.first_index if hashed.subtrees is not None else None
    nodes = (
        b"".join(bytes([h]) + root for h, root in hashed.subtrees)
        if hashed.subtrees is not None
        else None
    )
    columns += [
        _first_row(first, n, pa.int64()),
        _first_row(nodes, n, pa.binary()),
        pa.nulls(n, pa.string()),
        pa.nulls(n, pa.int64()),
        pa.nulls(n, pa.string()),
    ]
    return pa.Table.from_arrays(columns, schema=ENGINE_SCHEMA)


def hash_block(data: Any, config: HashConfig) -> pa.Table:
    """``hash_records`` for an engine's worker: the block's ``ENGINE_SCHEMA`` rows, or one
    row holding its first bad record's error (line counted from the block's start)."""
    try:
        return engine_block(hash_hashed(data, config))
    except InputError as exc:
        return error_block(exc)


def blocks_back(table: pa.Table, records_before: int, name: str) -> Iterator[Hashed]:
    """The driver's side of ``hash_block``: one ``Hashed`` per block in ``table`` (an
    engine may join several blocks' rows), carrying its subtrees when the worker computed
    them. Raises InputError naming ``name`` and the bad record's line within the batch:
    the rows before an error row are earlier records of the batch."""
    errors = table.column("error_reason")
    if errors.null_count < table.num_rows:
        at = errors.is_valid().to_pylist().index(True)
        error = table.slice(at, 1).to_pylist()[0]
        raise InputError(
            error["error_reason"],
            file=name,
            line=records_before + at + (error["error_line"] or 0),
            field=error["error_field"],
        )
    # A block starts where its figures are; rows before the first such row continue a
    # block that an engine split across tables.
    marked = table.column("text_bytes").is_valid().to_pylist()
    starts = [i for i, v in enumerate(marked) if v or i == 0]
    for start, end in zip(starts, [*starts[1:], table.num_rows], strict=True):
        part = table.slice(start, end - start)
        first = part.column("first_index")[0].as_py()
        hashed = hashed_from_table(part, -1 if first is None else first)
        nodes = part.column("subtrees")[0].as_py()
        if nodes is not None:
            subtrees = [(nodes[i], nodes[i + 1 : i + 33]) for i in range(0, len(nodes), 33)]
            # Only a whole range's rows fold as its subtrees; a part of one, leaf by leaf.
            if sum(1 << height for height, _ in subtrees) == part.num_rows:
                hashed.subtrees = subtrees
        yield hashed
