"""Near-duplicate facts worked out once, at registration, so an audit at the default
threshold (one shared band key: ``min_bands_for(t) == 1``) sums a few small rows instead
of grouping every train record's band keys (``provledger.similarity.near_duplicates``).

Why registration can decide them: a batch's dataset and split are fixed when it is
registered, and seq only grows, so among a dataset's train rows the first row holding a
band key is settled when the batch holding a later copy registers; and a pair of near
copies in two batches is seen when the later of the two registers. The facts ignore
erasures (they are a function of the signed band keys and batch rows alone); an audit
whose figures an erasure reaches runs the full query instead.

Three tables (migration m006_near_facts), written in the registering transaction of a
batch registered with sketches, append-only like every ledger table:

- ``near_batches``: one row per sketched batch (``seq``): for a train batch, its records
  with an earlier near copy among the dataset's train rows (``duplicates``) and the batches
  holding the first row of each key they share (``firsts``, batch ids, sorted): the
  within-train figure of that batch. Zero and empty for other splits. Its presence also
  says the batch's facts were worked out: a batch without a row (registered before this
  table existed, or without sketches) sends an audit that reads it to the full query.
- ``near_cross_split``: (``seq``, ``batch_seq``, ``ord``, ``train_seq``): the
  validation/test record (``batch_seq``, ``ord``) has a near copy in train batch
  ``train_seq`` of the same dataset; ``seq`` is the later of the two batches, whose
  registration found it.
- ``near_benchmark``: (``seq``, ``batch_seq``, ``ord``, ``bench_seq``): the train record
  has a near copy in benchmark batch ``bench_seq`` (any dataset); ``seq`` as above.

``check_near_facts`` (run by ``verify``) rebuilds all three from the signed band keys with
the full queries (``provledger.similarity.near_queries``, erasures left out) and compares
them row for row, naming the seq of the first batch whose facts differ.
"""

# The SQL here is assembled from module constants (band column names, fixed split lists);
# every value reaches DuckDB as a parameter.

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from provledger.errors import IntegrityError
from provledger.similarity.near_queries import (
    NEAR_ANY_KEY,
    NEAR_FACT_REFERENCE,
    params_for,
    run_query,
)
from provledger.similarity.sketch_tables import BAND_COLUMNS
from provledger.storage.entry_kinds import EntryKind

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = ["FACTS_MIGRATION", "check_near_facts", "write_near_facts"]

FACTS_MIGRATION = "m006_near_facts"
_ORD_BITS = 32
_ORD_MASK = np.uint64((1 << _ORD_BITS) - 1)
_KEY_SHIFT = np.uint64(_ORD_BITS)
_FEW = 8
# Batches up to this many records have their bands sorted by a two-pass radix argsort of
# the keys read in record order, two bands at a time (about 40 bytes a record each while
# it sorts: at most 130 MB for three bands in flight); larger ones sort (key << 32 | ord)
# in place, one band and one key range (the keys' top bits) at a time, so about 1M rows
# are in memory at once (sorting whole bands two at a time added 370 MB to a 10M-record
# registration's peak).
_RADIX_MAX = 1 << 20
# Rows marked at a time after an in-place sort.
_BLOCK = 1 << 20

INSERT_BATCH_FACTS = "INSERT INTO near_batches VALUES ($seq, $duplicates, $firsts)"
# The columns of the two dated tables (migration m006_near_facts), in order.
FACT_COLUMNS = {
    "near_cross_split": ("seq", "batch_seq", "ord", "train_seq"),
    "near_benchmark": ("seq", "batch_seq", "ord", "bench_seq"),
}
# Batches of the dataset of one split (or of any dataset) registered before $seq.
_EARLIER = {
    "train": "SELECT seq FROM batches WHERE dataset = $dataset AND split = 'train' AND seq < $seq",
    "eval": (
        "SELECT seq FROM batches WHERE dataset = $dataset "
        "AND split IN ('validation', 'test') AND seq < $seq"
    ),
    "benchmark": "SELECT seq FROM batches WHERE split = 'benchmark' AND seq < $seq",
    "any_train": "SELECT seq FROM batches WHERE split = 'train' AND seq < $seq",
}
# Whether any such batch holds sketch rows (probes are skipped when none does).
_ANY_SKETCHED = "SELECT EXISTS (SELECT 1 FROM record_sketches WHERE batch_seq IN ({earlier}))"
# One band of the batch's sketch keys, in record order: the rows were inserted in ord
# order, and DuckDB keeps a scan in insertion order while preserve_insertion_order is on
# (its default; checked before this is used).
_BAND_KEYS = "SELECT {col} AS key FROM record_sketches WHERE batch_seq = $seq"
_KEEPS_ORDER = "SELECT current_setting('preserve_insertion_order')"
# One band of the batch's sketch rows as (key << 32) | ord, for the within-batch firsts;
# and those of one key range (rows of other ranges never share a key).
_PACKED_BAND = (
    "SELECT ({col}::UBIGINT << 32) | ord::UBIGINT AS packed "
    "FROM record_sketches WHERE batch_seq = $seq"
)
_PACKED_RANGE = _PACKED_BAND + " AND {col}::UBIGINT >> $shift = $part"
# The batch's rows whose band key an earlier train batch of the dataset holds, with the
# first of those batches (the one holding the key's first row).
_EARLIER_FIRSTS = """
    SELECT x.ord, x.{col} AS key, e.first
    FROM record_sketches x JOIN (
        SELECT {col} AS key, min(batch_seq) AS first FROM record_sketches
        WHERE batch_seq IN ({earlier})
          AND {col} IN (SELECT {col} FROM record_sketches WHERE batch_seq = $seq)
        GROUP BY {col}
    ) e ON x.{col} = e.key
    WHERE x.batch_seq = $seq
"""


# Each probe is one query per band giving (a, b) pairs, gathered and made distinct in
# numpy (one UNION of the ten bands ran out of the registration's 192 MB of DuckDB memory
# when a test batch was near 1.5M train records). The registering batch's seq fills the
# fact row's other two columns.
#
# Rows of ``earlier`` batches holding one of the batch's band keys, as (batch_seq, ord): a
# new train batch against its dataset's earlier validation/test records, or a new
# benchmark batch against every earlier train record; a row (seq, batch_seq, ord, seq).
_EARLIER_ROWS_NEAR_BATCH = """
    SELECT e.batch_seq AS a, e.ord AS b FROM record_sketches e
    WHERE e.batch_seq IN ({earlier})
      AND e.{{col}} IN (SELECT {{col}} FROM record_sketches WHERE batch_seq = $seq)
"""
# The batch's records and the batches among ``earlier`` holding one of their band keys, as
# (ord, other): a new validation/test batch against its dataset's earlier train batches,
# or a new train batch against earlier benchmarks; a row (seq, seq, ord, other).
_BATCH_ROWS_NEAR = """
    SELECT x.ord AS a, k.batch_seq AS b
    FROM record_sketches x JOIN (
        SELECT DISTINCT {{col}} AS key, batch_seq FROM record_sketches
        WHERE batch_seq IN ({earlier})
          AND {{col}} IN (SELECT {{col}} FROM record_sketches WHERE batch_seq = $seq)
    ) k ON x.{{col}} = k.key
    WHERE x.batch_seq = $seq
"""
# What a batch's registration probes, by its split: the table, its layout ("key-rows":
# the pairs are (batch_seq, ord) of earlier rows; "own-rows": (ord, other batch)), the
# one-band pairs query and the earlier batches it reads.
_PROBES = {
    "train": (
        ("near_cross_split", "key-rows", _EARLIER_ROWS_NEAR_BATCH, "eval"),
        ("near_benchmark", "own-rows", _BATCH_ROWS_NEAR, "benchmark"),
    ),
    "validation": (("near_cross_split", "own-rows", _BATCH_ROWS_NEAR, "train"),),
    "test": (("near_cross_split", "own-rows", _BATCH_ROWS_NEAR, "train"),),
    "benchmark": (("near_benchmark", "key-rows", _EARLIER_ROWS_NEAR_BATCH, "any_train"),),
}
_PACKED_PAIRS = "SELECT (a::UBIGINT << 32) | b::UBIGINT AS packed FROM ({pairs})"


def _probe(
    store: Store, table: str, layout: str, pairs: str, earlier: str, params: dict[str, Any]
) -> None:
    """Insert into ``table`` the distinct (a, b) pairs the one-band query ``pairs`` finds
    over every band, as rows laid out by ``layout`` ("key-rows": (seq, a, b, seq); else
    (seq, seq, a, b))."""
    # Deferred for start-up time: loads pyarrow (only a registering process gets here)
    import pyarrow as pa

    found = np.empty(0, dtype=np.uint64)
    for col in BAND_COLUMNS:
        sql = _PACKED_PAIRS.format(pairs=pairs.format(earlier=earlier).format(col=col))
        found = _distinct(np.concatenate([found, store.array(sql, params_for(sql, params))]))
    if not found.size:
        return
    a = (found >> _KEY_SHIFT).astype(np.int32)
    b = (found & _ORD_MASK).astype(np.int32)
    seqs = np.full(found.size, params["seq"], dtype=np.int32)
    columns = (seqs, a, b, seqs) if layout == "key-rows" else (seqs, seqs, a, b)
    arrays = [pa.array(seqs.astype(np.int64)), *(pa.array(c) for c in columns[1:])]
    store.insert_arrow(table, pa.table(dict(zip(FACT_COLUMNS[table], arrays, strict=True))))


BATCH_IDS = "SELECT seq, batch_id FROM batches WHERE seq IN (SELECT unnest($seqs))"


def _sketched(store: Store, earlier: str, params: dict[str, Any]) -> bool:
    sql = _ANY_SKETCHED.format(earlier=earlier)
    row = store.row(sql, params_for(sql, params))
    return bool(row and row[0])


def _distinct(values: np.ndarray) -> np.ndarray:
    """``values`` sorted, each once. (np.unique hashes here, which took 1.8 s on 1.7M
    distinct 64-bit values against 0.1 s for this sort.)"""
    values = np.sort(values)
    keep = np.empty(values.size, dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _later_in_order(keys: np.ndarray, want: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """The ords of one band's rows after the first of their key (each has an earlier copy),
    and with ``want`` the keys repeated (sorted, distinct; else None), from the band's keys
    in record order: a stable two-pass radix argsort (16 bits a pass) keeps each key's rows
    in record order, so the first is the earliest (about 35 ms for 1M keys here against
    51 ms for sorting (key << 32 | ord))."""
    low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    order = low[np.argsort((keys[low] >> 16).astype(np.uint16), kind="stable")]
    del low
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    repeated = _distinct(ordered[1:][same]) if want else None
    return order[1:][same], repeated


def _mark_sorted(
    packed: np.ndarray, later: np.ndarray, want: bool = False
) -> tuple[bool, np.ndarray | None]:
    """Sort one band's (key << 32 | ord) rows in place and mark in ``later`` every row
    after the first of its key, a block at a time (so the temporaries stay small). Whether
    there was any, and with ``want`` their keys (sorted, distinct; else None)."""
    packed.sort()
    found = False
    repeated: list[np.ndarray] = []
    for start in range(0, max(packed.size - 1, 0), _BLOCK):
        part = packed[start : start + _BLOCK + 1]
        rows = part[1:][(part[1:] ^ part[:-1]) <= _ORD_MASK]
        later[(rows & _ORD_MASK).astype(np.intp)] = True
        found = found or rows.size > 0
        if want:
            repeated.append(_distinct((rows >> _KEY_SHIFT).astype(np.uint32)))
    if not want:
        return found, None
    keys = _distinct(np.concatenate(repeated)) if repeated else np.empty(0, dtype=np.uint32)
    return found, keys


def _mark_open_rows_later(packed: np.ndarray, later: np.ndarray) -> None:
    """Mark in ``later`` one band's rows after the first of their key, looking only at the
    rows holding the keys of rows not yet known to have an earlier copy (the others cannot
    change the count): a membership test and a sort of those rows only."""
    keys = (packed >> _KEY_SHIFT).astype(np.uint32)
    wanted = _distinct(keys[~later[(packed & _ORD_MASK).astype(np.int64)]])
    if not wanted.size:
        return
    at = np.searchsorted(wanted, keys)
    at[at == wanted.size] = 0
    _mark_sorted(packed[wanted[at] == keys], later)


def _duplicates(
    store: Store, seq: int, records: int, params: dict[str, Any]
) -> tuple[int, list[int]]:
    """A new train batch's records with an earlier near copy among its dataset's train
    rows, and the seqs of the batches holding the first rows of the keys they share."""
    later = np.zeros(records, dtype=bool)
    firsts: set[int] = set()
    earlier_train = _EARLIER["train"]
    held: list[np.ndarray] = [np.empty(0, dtype=np.uint32)] * len(BAND_COLUMNS)
    if _sketched(store, earlier_train, params):
        # Against earlier train batches: every row of a key they hold is a later copy, and
        # that key's first row is in the earliest batch holding it.
        for i, col in enumerate(BAND_COLUMNS):
            sql = _EARLIER_FIRSTS.format(col=col, earlier=earlier_train)
            found = store.arrays(sql, params_for(sql, params))
            later[found["ord"].astype(np.int64)] = True
            firsts.update(int(s) for s in _distinct(found["first"]))
            held[i] = _distinct(found["key"].astype(np.uint32))

    def band(i: int) -> np.ndarray:
        return store.array(_PACKED_BAND.format(col=BAND_COLUMNS[i]), {"seq": seq})

    # A key repeated within the batch and held by no earlier batch has its first row here.
    # With no earlier batch, any later row says so, and the repeated keys are not needed.
    keys = any(h.size for h in held)
    keeps = store.row(_KEEPS_ORDER)
    in_order = records <= _RADIX_MAX and keeps is not None and bool(keeps[0])

    def note(i: int, found: bool, repeated: np.ndarray | None) -> None:
        if seq in firsts:
            return
        if repeated is None:
            here = found
        else:
            here = np.setdiff1d(repeated, held[i], assume_unique=True).size > 0
        if here:
            firsts.add(seq)

    def fold(i: int, ords: np.ndarray, repeated: np.ndarray | None) -> None:
        later[ords] = True
        note(i, ords.size > 0, repeated)

    def radix(i: int) -> tuple[np.ndarray, np.ndarray | None]:
        keys_in_order = store.array(_BAND_KEYS.format(col=BAND_COLUMNS[i]), {"seq": seq})
        return _later_in_order(keys_in_order, keys)

    # Key ranges for the in-place sort: a power of two of them, about _RADIX_MAX rows each.
    shift = 32 - ((records - 1) // max(_RADIX_MAX, 1)).bit_length()

    def in_place(i: int) -> None:
        sql = _PACKED_RANGE.format(col=BAND_COLUMNS[i])
        found, parts = False, []
        for part in range(1 << (32 - shift)):
            packed = store.array(sql, {"seq": seq, "shift": shift, "part": part})
            some, repeated = _mark_sorted(packed, later, keys)
            found = found or some
            if repeated is not None:
                parts.append(repeated)
        note(i, found, np.concatenate(parts) if keys else None)

    # Within the batch, band by band. Once the batch is among the first batches and at most
    # one row in _FEW is still without an earlier copy, only those rows' keys are looked
    # at (near-duplicate-heavy batches). Otherwise every band is sorted whole: up to
    # _RADIX_MAX records by the radix argsort two bands at a time (numpy sorts outside the
    # GIL; the workers are done with the cores), larger batches in place one at a time.
    if in_order:
        fold(0, *radix(0))
    else:
        in_place(0)
    if seq in firsts and (records - int(later.sum())) * _FEW <= records:
        for i in range(1, len(BAND_COLUMNS)):
            _mark_open_rows_later(band(i), later)
        return int(later.sum()), sorted(firsts)
    if not in_order:
        for i in range(1, len(BAND_COLUMNS)):
            in_place(i)
        return int(later.sum()), sorted(firsts)
    with ThreadPoolExecutor(max_workers=2) as pool:
        running: list[tuple[int, Future[tuple[np.ndarray, np.ndarray | None]]]] = []
        for i in range(1, len(BAND_COLUMNS)):
            if len(running) == 2:
                j, done = running.pop(0)
                fold(j, *done.result())
            keys_in_order = store.array(_BAND_KEYS.format(col=BAND_COLUMNS[i]), {"seq": seq})
            running.append((i, pool.submit(_later_in_order, keys_in_order, keys)))
            del keys_in_order
        for j, done in running:
            fold(j, *done.result())
    return int(later.sum()), sorted(firsts)


def write_near_facts(store: Store, seq: int, dataset: str, split: str, records: int) -> None:
    """Write the near-duplicate facts of batch ``seq`` (just inserted with its sketch rows,
    in the open registering transaction): its ``near_batches`` row and the
    ``near_cross_split`` / ``near_benchmark`` rows its registration brings."""
    params: dict[str, Any] = {"seq": seq, "dataset": dataset}
    duplicates, first_seqs = 0, list[int]()
    if split == "train":
        duplicates, first_seqs = _duplicates(store, seq, records, params)
    for table, layout, pairs, earlier in _PROBES.get(split, ()):
        if _sketched(store, _EARLIER[earlier], params):
            _probe(store, table, layout, pairs, _EARLIER[earlier], params)
    ids = dict(store.rows(BATCH_IDS, {"seqs": first_seqs})) if first_seqs else {}
    firsts = sorted(ids[s] for s in first_seqs)
    store.execute(INSERT_BATCH_FACTS, {"seq": seq, "duplicates": duplicates, "firsts": firsts})


# -- verify ------------------------------------------------------------------------------------
STORED = {
    "near_batches": "SELECT seq, duplicates, firsts FROM near_batches",
    "near_cross_split": "SELECT seq, batch_seq, ord, train_seq FROM near_cross_split",
    "near_benchmark": "SELECT seq, batch_seq, ord, bench_seq FROM near_benchmark",
}


def facts_epoch(entries: dict[int, tuple[str, dict[str, Any]]]) -> int:
    """The seq after which every sketched batch has near facts: that of the
    schema-migrated entry that applied m006_near_facts, or 0 for a ledger created with it."""
    for seq in sorted(entries):
        kind, payload = entries[seq]
        if kind == EntryKind.schema_migrated and FACTS_MIGRATION in payload.get("migrations", []):
            return seq
    return 0


def _expected(
    store: Store, batches: dict[int, dict[str, Any]], epoch: int
) -> tuple[dict[int, tuple[int, list[str]]], dict[str, set[tuple[int, ...]]]]:
    """The facts rebuilt from the stored band keys by the full queries, erasures left out:
    near_batches rows by seq, and the rows of the two other tables."""
    facts: dict[int, tuple[int, list[str]]] = {
        seq: (0, []) for seq, p in batches.items() if seq > epoch and p.get("sketch") is not None
    }
    rows: dict[str, set[tuple[int, ...]]] = {"near_cross_split": set(), "near_benchmark": set()}
    if not facts:
        return facts, rows
    by_id = {p["batch_id"]: seq for seq, p in batches.items()}
    datasets = sorted({p["dataset"] for p in batches.values() if p.get("sketch") is not None})
    params_base: dict[str, Any] = {"cut": max(batches), "erased_by": 0, "min_bands": 1}
    for dataset in datasets:
        params = params_base | {"dataset": dataset}
        for r in run_query(store, NEAR_ANY_KEY["duplicates"], params):
            seq = by_id[r["batch_id"]]
            if seq in facts:
                facts[seq] = (int(r["records"]), sorted(r["others"]))
        for table, sql in NEAR_FACT_REFERENCE.items():
            for r in run_query(store, sql, params):
                writer = max(r["batch_seq"], r["other"])
                if writer > epoch:
                    rows[table].add((writer, r["batch_seq"], r["ord"], r["other"]))
    return facts, rows


def check_near_facts(store: Store, entries: dict[int, tuple[str, dict[str, Any]]]) -> None:
    """Raise IntegrityError at the first batch seq whose stored near-duplicate facts differ
    from those the full queries rebuild from the signed band keys (``entries``: seq ->
    (kind, payload), every entry of the ledger)."""
    batches = {s: p for s, (k, p) in entries.items() if k == EntryKind.batch_registered}
    facts, rows = _expected(store, batches, facts_epoch(entries))
    problems: list[tuple[int, str]] = []

    def differ(seq: int, table: str) -> None:
        if seq in batches:
            problems.append((seq, f"batch {batches[seq]['batch_id']}: its {table} facts do "
                             "not match its sketches"))  # fmt: skip
        else:
            problems.append((seq, f"{table} holds rows that no batch registration wrote"))

    stored: dict[int, list[tuple[int, list[str]]]] = {}
    for seq, duplicates, firsts in store.rows(STORED["near_batches"]):
        stored.setdefault(int(seq), []).append((int(duplicates), list(firsts)))
    for seq in facts.keys() | stored.keys():
        if seq not in facts or stored.get(seq) != [facts[seq]]:
            differ(seq, "near_batches")
    for table, want in rows.items():
        got = Counter(tuple(int(v) for v in r) for r in store.rows(STORED[table]))
        for row, times in got.items():
            if times > 1 or row not in want:
                differ(row[0], table)
        for row in want - got.keys():
            differ(row[0], table)
    if problems:
        seq, problem = min(problems)
        raise IntegrityError(problem, seq)
