"""Lineage and erasure: what a data subject, a record or a text reaches, and what an
erasure request covers.

- ``lineage``: the matching records; the batches holding them (``direct``) and every batch
  derived from those through ``derived_from``, at any depth (``derived``); their datasets;
  and the models that consumed those batches. A model reaches a batch only when the batch
  was registered before the model (a lower seq) in one of the model's datasets.
- ``register_model``: a ``model-registered`` entry {name, datasets, as_of_seq}.
- ``erase``: an ``erasure-requested`` entry {request_ref, subject_hash, record_hashes,
  erased: [[batch_id, ord, record_hash]...], same_text: [[batch_id, ord, record_hash]...],
  same_text_erased, batches, derived_batches, models} plus its ``erasures`` and
  ``erased_records`` rows, in one transaction. It reaches every active copy of the
  subject's records: every row with one of their record hashes, in any batch of any
  dataset, whether or not its batch named a subject field. Rows with the same normalised
  text (content hash) but another record hash are listed in ``same_text`` for review and
  erased only on request. ``lineage --subject`` reports exactly that set. History is
  never rewritten: erased records stay in ``records`` (their hashes are in every Merkle
  root) and are left out of audits and exports from then on.
  The same request ref twice is a no-op; an erasure that matches no active record is
  refused, because an entry covering nothing would read as if something had been erased.
- ``receipt`` / ``verify_receipt``: a JSON document naming what the erasure covered and
  what must be rebuilt, signed with the ledger's Ed25519 key over its RFC 8785 form.
- ``export``: a dataset's active records (erased ones left out) as a Parquet manifest.
- ``check``: does a rebuilt data file still hold any of a dataset's erased records?

Subject ids are keyed with the ledger's subject key (``hashing.subject_hash``) before any
lookup; the raw id is never stored, logged or returned.

Lookup keys. Finding a subject's or a record's rows by scanning 32-byte hashes costs about
45 ms at 10M records, and an ART index on a full hash about 73 bytes a row. Instead every
record hash (kind 0) and subject hash (kind 1) has a key row: kind, the hash's first four
bytes as a signed big-endian INTEGER (``prefix``), batch_seq and ord; subject keys also
carry the next four bytes (``prefix2``). ``lookup_keys`` holds them sorted, so DuckDB's zone
maps narrow a lookup to one row group, at about 5 bytes a key. Registration appends each
batch's keys, sorted, to ``lookup_keys_recent`` (``index_batch``) and folds that table into
``lookup_keys`` once it holds more than a quarter as many keys (and ``MERGE_MIN_KEYS``), so
a lookup never scans more than that unsorted. The key tables are an index derived from
``records``, rewritten by the merge (which puts their guard triggers back), and ``verify``
rebuilds them from ``records`` and compares; ``erase`` reads ``records`` itself.

A record lookup checks each hit against the full 32-byte record hash. A subject lookup
matches on the first eight bytes of the HMAC, so it need not read the subject hash column
(which doubles the time): two subjects share eight bytes with a probability of about
2**-64 times the number of subjects, about one in 10**13 at a million subjects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from provledger.errors import Conflict, InputError, NotFound
from provledger.ingest.hashing import content_hash, normalise_subject, parse_hash, subject_hash
from provledger.lineage.index import KEY_HITS, KIND_RECORD, KIND_SUBJECT, key_prefix, key_prefix2
from provledger.lineage.results import (
    Erasure,
    Lineage,
    LineageBatch,
    LineageDataset,
    LineageErasure,
    LineageModel,
    LineageQuery,
    LineageRecord,
    MatchedBy,
    QueryBy,
    RowRef,
    SameTextRecord,
)
from provledger.similarity.near_duplicates import near_record_rows
from provledger.storage.entry_kinds import EntryKind
from provledger.storage.projections import erased_row_count
from provledger.tlog.canonical import require_utf8
from provledger.vocabulary import Context, Source, Split

if TYPE_CHECKING:
    from provledger.ledger import Ledger
    from provledger.storage.store import Entry, Store

__all__ = [
    "Erasure",
    "Lineage",
    "erase",
    "lineage",
]

# A lookup with more key hits than this reads the hash column whole instead of row by row.
FETCH_ROW_BY_ROW = 128
# Lineage finds the copies of at most this many records through the keys, one by one.
KEYED_COPIES = 32
MAX_REF_LENGTH = 200


# -- finding matching records ---------------------------------------------------------------
# Each fetches one record by its address; zone maps on batch_seq and ord let DuckDB read
# one vector of `records` for it. A record hit is checked against the full hash.
FETCH_BY = {
    KIND_RECORD: "SELECT batch_seq, ord, record_hash FROM records "
    "WHERE batch_seq = ? AND ord = ? AND record_hash = ?",
    KIND_SUBJECT: "SELECT batch_seq, ord, record_hash FROM records WHERE batch_seq = ? AND ord = ?",
}
# Whole-column scans: text look-ups (content hashes have no keys), erasure (which must not
# depend on the index), and look-ups with very many hits.
SCAN_BY = {
    "record": "SELECT batch_seq, ord, record_hash FROM records WHERE record_hash = ?",
    "subject": "SELECT batch_seq, ord, record_hash FROM records WHERE subject_hash = ?",
    "text": "SELECT batch_seq, ord, record_hash FROM records WHERE content_hash = ?",
}


@dataclass(frozen=True)
class _Match:
    batch_seq: int
    ord: int
    record_hash: bytes
    erased_seq: int | None


def _matches(
    store: Store, tables: _Tables, by: str, digest: bytes, *, use_keys: bool = True
) -> list[_Match]:
    kind = {"record": KIND_RECORD, "subject": KIND_SUBJECT}.get(by)
    rows: list[tuple[Any, ...]]
    if use_keys and kind is not None:
        key = {"prefix": key_prefix(digest)}
        if kind == KIND_SUBJECT:
            key["prefix2"] = key_prefix2(digest)
        hits = store.rows(KEY_HITS[kind], key)
        if not hits:
            return []
        if len(hits) <= FETCH_ROW_BY_ROW:
            sql = " UNION ALL ".join([FETCH_BY[kind]] * len(hits))
            check = (digest,) if kind == KIND_RECORD else ()
            rows = store.rows(sql, [v for b, o in hits for v in (b, o, *check)])
        else:
            rows = store.rows(SCAN_BY[by], [digest])
    else:
        rows = store.rows(SCAN_BY[by], [digest])
    erased = tables.erased
    return [_Match(b, o, bytes(h), erased.get((b, o))) for b, o, h in sorted(rows)]


# -- the small tables -------------------------------------------------------------------------
# Everything lineage reads besides `records` and the keys (batches, derivation edges,
# dataset states, models, erasures) is small next to `records`: one query reads it all,
# and it is kept per open store until the head of the log changes, so repeated look-ups
# through one Ledger skip it. The derivation graph is then walked in Python.
HEAD = "SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1"
SMALL_TABLES = """
    SELECT
      (SELECT list(struct_pack(seq, batch_id, dataset, source, split, origin, file_name,
                               records)) FROM batches),
      (SELECT list(struct_pack(seq, parent_id)) FROM batch_parents),
      (SELECT list(struct_pack(seq, dataset, owner, context) ORDER BY seq) FROM dataset_states),
      (SELECT list(struct_pack(seq, model, dataset) ORDER BY seq, dataset) FROM model_datasets),
      (SELECT list(struct_pack(batch_seq, ord, seq)) FROM erased_records),
      (SELECT list(struct_pack(seq := x.seq, request_ref := x.request_ref,
                               recorded_at := n.recorded_at, records := x.records)
                   ORDER BY x.seq)
       FROM erasures x JOIN entries n ON n.seq = x.seq)
"""


@dataclass
class _Tables:
    head: tuple[Any, ...] | None
    batches: dict[int, dict[str, Any]]  # by seq
    children: dict[str, list[int]]  # parent batch id -> derived batch seqs
    parents: dict[int, list[str]]  # derived batch seq -> parent batch ids
    owners: dict[str, tuple[str, str]]  # dataset -> current (owner, context)
    models: dict[tuple[int, str], list[str]]  # (seq, name) -> datasets
    erased: dict[tuple[int, int], int]  # (batch seq, ord) -> erasure seq
    erasures: dict[int, LineageErasure]  # by seq


_CACHE: WeakKeyDictionary[Store, _Tables] = WeakKeyDictionary()


def _tables(store: Store) -> _Tables:
    """The small tables as they stand. A read-only store cannot change under us (DuckDB
    lets no process write while one reads), so its copy is kept without checking."""
    cached = _CACHE.get(store)
    if cached is not None and store.read_only:
        return cached
    head = store.row(HEAD)
    if cached is not None and cached.head == head:
        return cached
    row = store.row(SMALL_TABLES)
    assert row is not None
    batches, edges, states, models, erased, erasures = (r or [] for r in row)
    tables = _Tables(
        head=head,
        batches={b["seq"]: b for b in batches},
        children={},
        parents={},
        owners={s["dataset"]: (s["owner"], s["context"]) for s in states},
        models={},
        erased={(e["batch_seq"], e["ord"]): e["seq"] for e in erased},
        erasures={e["seq"]: LineageErasure(**e) for e in erasures},
    )
    for edge in edges:
        tables.children.setdefault(edge["parent_id"], []).append(edge["seq"])
        tables.parents.setdefault(edge["seq"], []).append(edge["parent_id"])
    for m in models:
        tables.models.setdefault((m["seq"], m["model"]), []).append(m["dataset"])
    _CACHE[store] = tables
    return tables


@dataclass
class _Reach:
    batches: list[LineageBatch]
    datasets: list[LineageDataset]
    models: list[LineageModel]
    seqs: dict[str, int]  # batch id -> seq, for every batch reached


def _reach(tables: _Tables, held: Counter[int]) -> _Reach:
    """Batches, datasets and models reached from the batches (by seq) holding matches,
    ``held`` counting the matching records in each."""
    if not held:
        return _Reach([], [], [], {})
    # Breadth first, so each batch gets its shortest derivation depth.
    depth = dict.fromkeys(held, 0)
    frontier = sorted(held)
    while frontier:
        following = []
        for seq in frontier:
            for child in tables.children.get(tables.batches[seq]["batch_id"], ()):
                if child not in depth:
                    depth[child] = depth[seq] + 1
                    following.append(child)
        frontier = following
    batches = []
    seqs = {}
    for seq in sorted(depth):
        r = tables.batches[seq]
        seqs[r["batch_id"]] = seq
        batches.append(
            LineageBatch(
                batch_id=r["batch_id"],
                dataset=r["dataset"],
                source=Source(r["source"]),
                split=Split(r["split"]),
                relation="direct" if depth[seq] == 0 else "derived",
                depth=depth[seq],
                records=held.get(seq, 0),
                batch_records=r["records"],
                derived_from=sorted(tables.parents.get(seq, [])),
                origin=r["origin"],
                file=r["file_name"],
            )
        )
    names = sorted({b.dataset for b in batches})
    datasets = []
    for name in names:
        owner, context = tables.owners.get(name, (None, None))
        datasets.append(
            LineageDataset(
                dataset=name,
                owner=owner,
                context=None if context is None else Context(context),
                batches=[b.batch_id for b in batches if b.dataset == name],
                records=sum(b.records for b in batches if b.dataset == name),
            )
        )
    models = []
    for (seq, name), on in sorted(tables.models.items()):
        # A model reaches the batches of its datasets registered before it.
        reached = [b.batch_id for b in batches if b.dataset in on and seqs[b.batch_id] < seq]
        if reached:
            models.append(LineageModel(name=name, seq=seq, datasets=list(on), batches=reached))
    return _Reach(batches, datasets, models, seqs)


def _query_hash(
    ledger: Ledger, subject: str | None, record: str | None, text: str | None
) -> tuple[QueryBy, bytes]:
    asked: tuple[tuple[QueryBy, str | None], ...] = (
        ("subject", subject),
        ("record", record),
        ("text", text),
    )
    given = [(by, value) for by, value in asked if value is not None]
    if len(given) != 1:
        raise InputError("look up exactly one of a subject id, a record hash or a text")
    by, value = given[0]
    if by == "subject":
        return by, _subject_digest(ledger, value)
    if by == "record":
        return by, parse_hash(value, "record")
    return by, content_hash(value)


def _subject_digest(ledger: Ledger, subject: str) -> bytes:
    require_utf8(subject, "subject", show=False)
    if not normalise_subject(subject):
        raise InputError("the subject id is empty", field="subject")
    return subject_hash(ledger.subject_key, subject)


def lineage(
    ledger: Ledger,
    *,
    subject: str | None = None,
    record: str | None = None,
    text: str | None = None,
    near: bool = False,
) -> Lineage:
    """Look up one subject id, record hash (hex) or text; see the module docstring (a
    subject matches on the first eight bytes of its HMAC, a record on its full hash).
    With ``near`` (a text only), records that are near copies of the text match too
    (``provledger.similarity.near_duplicates``: sharing an LSH band key, estimated Jaccard of about
    0.8 up).

    Raises InputError unless exactly one is given, when a record hash is not 64 hex
    digits, or for ``near`` without a text. Nothing matching is not an error: the result
    is empty (``found`` False).
    """
    by, digest = _query_hash(ledger, subject, record, text)
    if near and by != "text":
        raise InputError("--near finds near copies of a text: use it with --text")
    store = ledger.store
    tables = _tables(store)
    same: list[_Match] = []
    if by == "subject":
        # The set an erasure of this subject covers: every copy of the subject's records.
        found = _erasure_set(store, tables, digest, use_keys=True)
        direct = {(m.batch_seq, m.ord) for m in found.matched}
        matches, same = found.copies, found.same_text
    else:
        matches = _matches(store, tables, by, digest)
        direct = {(m.batch_seq, m.ord) for m in matches}
        if by == "record":
            same = _same_text(store, tables, [digest])
        if near and text is not None:
            matches = _with_near(store, tables, matches, text)
    query = LineageQuery(by=by, hash=digest.hex(), near=near and text is not None)
    if not matches:
        return Lineage(query=query)
    reach = _reach(tables, Counter(m.batch_seq for m in matches))
    ids = {seq: batch_id for batch_id, seq in reach.seqs.items()}
    known = tables.erasures
    erasures = [known[s] for s in sorted({m.erased_seq for m in matches if m.erased_seq})]
    refs = {e.seq: e.request_ref for e in erasures}
    other: MatchedBy = "near" if near else "record_hash"
    return Lineage(
        query=query,
        records=[
            LineageRecord(
                batch_id=ids[m.batch_seq],
                ord=m.ord,
                record_hash=bytes(m.record_hash).hex(),
                erased=m.erased_seq is not None,
                erased_by=refs.get(m.erased_seq) if m.erased_seq is not None else None,
                matched_by=by if (m.batch_seq, m.ord) in direct else other,
            )
            for m in matches
        ],
        batches=reach.batches,
        datasets=reach.datasets,
        models=reach.models,
        erasures=erasures,
        same_text=[
            SameTextRecord(
                batch_id=tables.batches[m.batch_seq]["batch_id"],
                ord=m.ord,
                record_hash=bytes(m.record_hash).hex(),
                erased=m.erased_seq is not None,
            )
            for m in same
        ],
    )


def _with_near(store: Store, tables: _Tables, exact: list[_Match], text: str) -> list[_Match]:
    """``exact`` plus every sketched near copy of ``text``, in batch and record order."""
    seen = {(m.batch_seq, m.ord) for m in exact}
    erased = tables.erased
    more = [
        _Match(b, o, h, erased.get((b, o)))
        for b, o, h in near_record_rows(store, text)
        if (b, o) not in seen
    ]
    return sorted([*exact, *more], key=lambda m: (m.batch_seq, m.ord))


# -- erasure -----------------------------------------------------------------------------
ERASURE_BY_REF = "SELECT seq, subject_hash FROM erasures WHERE request_ref = ?"
INSERT_ERASURE = "INSERT INTO erasures VALUES (?, ?, ?, ?)"
# Every copy of the given records: the rows holding one of the record hashes, anywhere.
ROWS_WITH_HASHES = """
    SELECT r.batch_seq, r.ord, r.record_hash FROM records r
    SEMI JOIN (SELECT unnest($hashes::BLOB[]) AS h) q ON r.record_hash = q.h
"""
# The rows with the same normalised text as one of the given records but another record
# hash. Records without text (NULL) or with empty text ($empty) are left out.
SAME_TEXT_ROWS = """
    WITH given AS (SELECT unnest($hashes::BLOB[]) AS h),
    texts AS (
        SELECT DISTINCT r.content_hash AS c FROM records r
        SEMI JOIN given ON r.record_hash = given.h
        WHERE r.content_hash IS NOT NULL AND r.content_hash <> $empty
    )
    SELECT r.batch_seq, r.ord, r.record_hash FROM records r
    SEMI JOIN texts ON r.content_hash = texts.c
    ANTI JOIN given ON r.record_hash = given.h
"""
EMPTY_TEXT = content_hash("")
INSERT_ERASED = """
    INSERT INTO erased_records
    SELECT $seq, unnest($batch_seqs::INTEGER[]), unnest($ords::INTEGER[]),
           unnest($hashes::BLOB[])
"""
# Per batch, how many records an erasure covered.
ERASED_PER_BATCH = """
    SELECT b.batch_id, count(*) AS records
    FROM erased_records e JOIN batches b ON b.seq = e.batch_seq
    WHERE e.seq = ? GROUP BY b.batch_id
"""
BATCHES_BY_ID = """
    SELECT b.batch_id, b.dataset, b.source, b.origin, b.file_name,
           coalesce((SELECT list(parent_id ORDER BY parent_id) FROM batch_parents p
                     WHERE p.batch_id = b.batch_id), []) AS derived_from
    FROM batches b WHERE list_contains($ids::VARCHAR[], b.batch_id) ORDER BY b.seq
"""
MODELS_BY_NAME = """
    SELECT m.seq, m.name, list(md.dataset ORDER BY md.dataset) AS datasets
    FROM models m JOIN model_datasets md USING (seq)
    WHERE list_contains($names::VARCHAR[], m.name) GROUP BY m.seq, m.name ORDER BY m.seq
"""


def row_dicts(rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"batch_id": b, "ord": o, "record_hash": h} for b, o, h in rows]


def row_refs(rows: list[list[Any]]) -> list[RowRef]:
    return [RowRef(batch_id=b, ord=o, record_hash=h) for b, o, h in rows]


def _erasure_from_entry(entry: Entry, already: bool) -> Erasure:
    p = entry.payload
    return Erasure(
        request_ref=p["request_ref"],
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        entry_hash=entry.entry_hash,
        subject_hash=p["subject_hash"],
        record_hashes=list(p["record_hashes"]),
        batches=list(p["batches"]),
        derived_batches=list(p["derived_batches"]),
        models=list(p["models"]),
        records=erased_row_count(p),
        same_text=row_refs(p.get("same_text", [])),
        same_text_erased=p.get("same_text_erased", False),
        already_recorded=already,
    )


def _check_ref(request_ref: str) -> None:
    require_utf8(request_ref, "request", show=False)
    if not request_ref.strip() or request_ref != request_ref.strip():
        raise InputError(
            "the request reference must be non-empty, without leading or trailing spaces",
            field="request",
        )
    if len(request_ref) > MAX_REF_LENGTH or not request_ref.isprintable():
        raise InputError(
            f"the request reference must be printable text of at most {MAX_REF_LENGTH} characters",
            field="request",
        )


def _copies(store: Store, tables: _Tables, hashes: list[bytes]) -> list[_Match]:
    """Every stored row, in any batch of any dataset, whose record hash is one of
    ``hashes``: read from ``records`` itself, never from the lookup keys."""
    if not hashes:
        return []
    rows = store.rows(ROWS_WITH_HASHES, {"hashes": hashes})
    erased = tables.erased
    return [_Match(b, o, bytes(h), erased.get((b, o))) for b, o, h in sorted(rows)]


def _same_text(store: Store, tables: _Tables, hashes: list[bytes]) -> list[_Match]:
    """Rows elsewhere whose normalised text (content hash) equals that of a record in
    ``hashes`` but whose record hash differs. Records without text, or with empty text,
    share no content with anything."""
    if not hashes:
        return []
    rows = store.rows(SAME_TEXT_ROWS, {"hashes": hashes, "empty": EMPTY_TEXT})
    erased = tables.erased
    return [_Match(b, o, bytes(h), erased.get((b, o))) for b, o, h in sorted(rows)]


@dataclass
class _ErasureSet:
    """What erasing a subject reaches: ``copies`` are every row holding one of the
    subject's record hashes (the erasure set); ``same_text`` the rows elsewhere with the
    same normalised text but another record hash (for review)."""

    matched: list[_Match]
    copies: list[_Match]
    same_text: list[_Match]


def _erasure_set(store: Store, tables: _Tables, digest: bytes, *, use_keys: bool) -> _ErasureSet:
    """``use_keys`` lets lineage find the copies of a few records through the lookup keys;
    erase reads ``records`` itself."""
    matched = _matches(store, tables, "subject", digest, use_keys=use_keys)
    hashes = sorted({m.record_hash for m in matched})
    if use_keys and len(hashes) <= KEYED_COPIES:
        found = {
            (m.batch_seq, m.ord): m for h in hashes for m in _matches(store, tables, "record", h)
        }
        copies = [found[k] for k in sorted(found)]
    else:
        copies = _copies(store, tables, hashes)
    same = _same_text(store, tables, hashes)
    return _ErasureSet(matched, copies, same)


def _row_ref(tables: _Tables, m: _Match) -> list[Any]:
    return [tables.batches[m.batch_seq]["batch_id"], m.ord, bytes(m.record_hash).hex()]


def erase(
    ledger: Ledger, subject: str, request_ref: str, *, include_same_text: bool = False
) -> Erasure:
    """Record erasure request ``request_ref`` for a data subject: every active copy of
    the subject's records (every row with the same record hash, in every batch and
    dataset, whether or not its batch named a subject field) is excluded from audits and
    exports from now on. Rows elsewhere with the same normalised text but another record
    hash are listed in the entry (``same_text``) for review, and erased too only when
    ``include_same_text`` is set.

    The same ``request_ref`` again returns the recorded erasure (``already_recorded``)
    and writes nothing. Raises InputError for an empty subject or a bad reference,
    Conflict when the reference was used for another subject or every record of the
    subject is already erased, and NotFound when no record matches the subject.
    """
    _check_ref(request_ref)
    digest = _subject_digest(ledger, subject)
    store = ledger.store
    earlier = store.row(ERASURE_BY_REF, [request_ref])
    if earlier is not None:
        if bytes(earlier[1]) != digest:
            raise Conflict(
                f"request '{request_ref}' was already recorded at seq {earlier[0]} for another "
                "subject; give this request its own reference"
            )
        entry = store.entry(earlier[0])
        assert entry is not None
        return _erasure_from_entry(entry, already=True)
    with ledger.appending() as app:
        tables = _tables(store)
        found = _erasure_set(store, tables, digest, use_keys=False)
        if not found.matched:
            raise NotFound("no records match this subject: nothing to erase (no entry was written)")
        targets = found.copies + (found.same_text if include_same_text else [])
        active = sorted(
            (m for m in targets if m.erased_seq is None), key=lambda m: (m.batch_seq, m.ord)
        )
        if not active:
            known = tables.erasures
            named = ", ".join(
                f"'{known[seq].request_ref}' (seq {seq})"
                for seq in sorted({m.erased_seq for m in targets if m.erased_seq is not None})
            )
            raise Conflict(
                f"every record of this subject is already erased, by request {named}; "
                "no entry was written"
            )
        reach = _reach(tables, Counter(m.batch_seq for m in active))
        store.execute(INSERT_ERASURE, [app.seq, request_ref, digest, len(active)])
        store.execute(
            INSERT_ERASED,
            {
                "seq": app.seq,
                "batch_seqs": [m.batch_seq for m in active],
                "ords": [m.ord for m in active],
                "hashes": [bytes(m.record_hash) for m in active],
            },
        )
        entry = app.write_entry(
            EntryKind.erasure_requested,
            {
                "request_ref": request_ref,
                "subject_hash": digest.hex(),
                "record_hashes": list(dict.fromkeys(bytes(m.record_hash).hex() for m in active)),
                "erased": [_row_ref(tables, m) for m in active],
                "same_text": [_row_ref(tables, m) for m in found.same_text],
                "same_text_erased": include_same_text,
                "batches": [b.batch_id for b in reach.batches if b.relation == "direct"],
                "derived_batches": [b.batch_id for b in reach.batches if b.relation == "derived"],
                "models": [m.name for m in reach.models],
            },
        )
    return _erasure_from_entry(entry, already=False)
