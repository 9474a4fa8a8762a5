"""The near-duplicate SQL over the stored LSH band keys (``provledger.similarity.sketch_tables``)
and over the facts worked out at registration (``provledger.similarity.near_facts``), for
``provledger.similarity.near_duplicates`` (what the figures mean is said there). SQL only:
opening a ledger imports this (verify rebuilds the facts with it), so it stays free of
the report models.
"""

# The SQL here is assembled from module constants (band column names, fixed split lists);
# every value reaches DuckDB as a parameter.
# ruff: noqa: S608

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from provledger.similarity.sketch_tables import BAND_COLUMNS

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "FACTS_UNUSABLE",
    "NEAR_ANY_KEY",
    "NEAR_FACTS",
    "NEAR_FACT_REFERENCE",
    "NEAR_MODELS_ANY_KEY",
    "NEAR_MODELS_SEVERAL_KEYS",
    "NEAR_SEVERAL_KEYS",
    "NEAR_TEXT",
    "params_for",
    "run_query",
]

NOT_TRAINING = "('reference', 'benchmark')"


def _band_rows(source: str, columns: str) -> str:
    """One row per band key of every row of ``source``: ``columns``, band, key."""
    return " UNION ALL ".join(
        f"SELECT {columns}, {i} AS band, {name} AS key FROM {source}"
        for i, name in enumerate(BAND_COLUMNS)
    )


def _per_batch(pairs: str) -> str:
    """Per batch of the (record, other batch) rows of CTE ``pairs``: its records that have
    a near copy, and those other batches."""
    return f"""
    SELECT batch_id, count(DISTINCT (batch_seq, ord)) AS records,
           list(DISTINCT other ORDER BY other) AS others
    FROM {pairs} GROUP BY batch_id, batch_seq ORDER BY batch_seq
"""


# The band keys of every active record of a benchmark batch (any dataset) at the cut.
_BENCHMARK_KEYS = f"""
    bench AS (
        SELECT s.*, b.batch_id
        FROM record_sketches s JOIN batches b ON s.batch_seq = b.seq
        WHERE b.split = 'benchmark' AND b.seq <= $cut
          AND NOT EXISTS (
            SELECT 1 FROM erased_records e
            WHERE e.batch_seq = s.batch_seq AND e.ord = s.ord AND e.seq <= $erased_by)
    ),
    bench_keys AS ({_band_rows("bench", "batch_id, batch_seq, ord")}),"""

# The dataset's active sketched records with their split, one row per band key; and the
# band keys of every active record of a benchmark batch (any dataset) at the cut. Then
# ``pairs``: validation/test records and the train batches holding a near copy, and
# ``exact``: the same by content hash (for batches registered without sketches).
_OPENING = f"""
    WITH dsb AS (
        SELECT seq, batch_id, split FROM batches
        WHERE dataset = $dataset AND seq <= $cut AND split NOT IN {NOT_TRAINING}
    ),
    act AS (
        SELECT s.*, dsb.batch_id, dsb.split
        FROM record_sketches s JOIN dsb ON s.batch_seq = dsb.seq
        WHERE NOT EXISTS (
            SELECT 1 FROM erased_records e
            WHERE e.batch_seq = s.batch_seq AND e.ord = s.ord AND e.seq <= $erased_by)
    ),
    keys AS ({_band_rows("act", "batch_seq, ord, batch_id, split")}),
    train AS (SELECT * FROM keys WHERE split = 'train'),
{_BENCHMARK_KEYS}"""

# With one shared key enough (the default), every query joins a record's keys with the
# *distinct* keys of each other batch, or ranks each key's rows: its size stays in
# proportion to the records, however many share a key (templated or boilerplate text).
_ANY_KEY = {
    # The train rows holding a validation/test key are found first (a probe of every
    # train row against the few validation/test keys, cheaper than collapsing them all).
    "pairs": """
    held AS (
        SELECT DISTINCT t.band, t.key, t.batch_id FROM train t
        WHERE (t.band, t.key) IN (SELECT band, key FROM keys WHERE split <> 'train')
    ),
    pairs AS (
        SELECT DISTINCT q.batch_seq, q.ord, q.batch_id, q.split, t.batch_id AS train_batch
        FROM (SELECT * FROM keys WHERE split <> 'train') q
        JOIN held t ON q.band = t.band AND q.key = t.key
    ),""",
    # A record with an earlier near copy is not the first of some band key's rows; its
    # "other" is the batch of that key's first row. (A hash aggregate of the keys held
    # more than once, then a join: no sort of every key row, as a window would need.)
    "later": """,
    firsts AS (
        SELECT band, key, min((batch_seq::BIGINT << 32) | ord) AS first,
               arg_min(batch_id, (batch_seq::BIGINT << 32) | ord) AS other
        FROM train GROUP BY band, key HAVING count(*) > 1
    ),
    later AS (
        SELECT DISTINCT t.batch_seq, t.ord, t.batch_id, f.other
        FROM train t JOIN firsts f
          ON t.band = f.band AND t.key = f.key
         AND ((t.batch_seq::BIGINT << 32) | t.ord) > f.first
    )""",
    "hits": """,
    hits AS (
        SELECT DISTINCT t.batch_seq, t.ord, t.batch_id, b.batch_id AS other
        FROM train t JOIN (SELECT DISTINCT band, key, batch_id FROM bench_keys) b
          ON t.band = b.band AND t.key = b.key
    )""",
}
# With several shared keys required, pairs of records are counted: a key shared by k
# records makes k**2 pairs, so this grows quadratically with heavy duplication.
_SEVERAL_KEYS = {
    "pairs": """
    pairs AS (
        SELECT DISTINCT q.batch_seq, q.ord, q.batch_id, q.split, t.batch_id AS train_batch
        FROM (SELECT * FROM keys WHERE split <> 'train') q
        JOIN train t ON q.band = t.band AND q.key = t.key
        GROUP BY q.batch_seq, q.ord, q.batch_id, q.split, t.batch_id, t.batch_seq, t.ord
        HAVING count(*) >= $min_bands
    ),""",
    "later": """,
    later AS (
        SELECT DISTINCT b.batch_seq, b.ord, b.batch_id, a.batch_id AS other
        FROM train a JOIN train b
          ON a.band = b.band AND a.key = b.key
         AND (a.batch_seq < b.batch_seq OR (a.batch_seq = b.batch_seq AND a.ord < b.ord))
        GROUP BY b.batch_seq, b.ord, b.batch_id, a.batch_id, a.batch_seq, a.ord
        HAVING count(*) >= $min_bands
    )""",
    "hits": """,
    hits AS (
        SELECT DISTINCT t.batch_seq, t.ord, t.batch_id, b.batch_id AS other
        FROM train t JOIN bench_keys b ON t.band = b.band AND t.key = b.key
        GROUP BY t.batch_seq, t.ord, t.batch_id, b.batch_id, b.batch_seq, b.ord
        HAVING count(*) >= $min_bands
    )""",
}
_EXACT = """
    exact AS (
        SELECT r.batch_seq, r.ord, q.batch_id, q.split, t.batch_id AS train_batch
        FROM records r JOIN dsb q ON r.batch_seq = q.seq AND q.split <> 'train'
        JOIN (SELECT DISTINCT r2.content_hash, d2.batch_id FROM records r2
              JOIN dsb d2 ON r2.batch_seq = d2.seq AND d2.split = 'train'
              WHERE NOT EXISTS (
                  SELECT 1 FROM erased_records e
                  WHERE e.batch_seq = r2.batch_seq AND e.ord = r2.ord AND e.seq <= $erased_by)
             ) t ON t.content_hash = r.content_hash
        WHERE NOT EXISTS (
            SELECT 1 FROM erased_records e
            WHERE e.batch_seq = r.batch_seq AND e.ord = r.ord AND e.seq <= $erased_by)
    ),
    cross_split AS (SELECT * FROM pairs UNION SELECT * FROM exact)"""


def _queries(parts: dict[str, str]) -> dict[str, str]:
    head = _OPENING + parts["pairs"] + _EXACT
    return {
        # Per validation/test batch: records with a near copy in train, and those batches.
        "cross_split": head
        + """
    SELECT batch_id, any_value(split) AS split,
           count(DISTINCT (batch_seq, ord)) AS records,
           list(DISTINCT train_batch ORDER BY train_batch) AS others
    FROM cross_split GROUP BY batch_id, batch_seq ORDER BY batch_seq
""",
        # Per train batch: records with an earlier near copy in train.
        "duplicates": head + parts["later"] + _per_batch("later"),
        # Per train batch: records with a near copy in a benchmark batch, and those.
        "benchmark": head + parts["hits"] + _per_batch("hits"),
        # Totals (a record sits in one batch, so the cross-split total is the sum of the
        # per-batch figures, each counting a record once however many batches it is near).
        "totals": head
        + """
    SELECT (SELECT count(*) FROM act) AS sketched,
           (SELECT list(batch_id ORDER BY seq) FROM dsb
            WHERE seq NOT IN (SELECT DISTINCT batch_seq FROM record_sketches)) AS unsketched
""",
    }


# Models trained on the dataset at the cut (``mods``), and every train batch each reached
# (``reached``: of any of its datasets, registered before the model).
_MODELS_REACHED = """
    mods AS (
        SELECT DISTINCT m.seq AS model_seq, m.name
        FROM models m JOIN model_datasets md ON md.seq = m.seq
        WHERE md.dataset = $dataset AND m.seq <= $cut
    ),
    reached AS (
        SELECT mods.name, b.seq
        FROM mods JOIN model_datasets md ON md.seq = mods.model_seq
        JOIN batches b ON b.dataset = md.dataset AND b.seq < mods.model_seq
        WHERE b.split = 'train'
    )"""
# Those models and batches, with the active sketched records of the batches one row per
# band key. ``model_hits`` (model, record, benchmark batch) is filled in by the
# threshold's join; the closing SELECT gives one row per model.
_MODEL_OPENING = f"""
    WITH {_MODELS_REACHED},
    mrec AS (
        SELECT reached.name, s.*
        FROM record_sketches s JOIN reached ON s.batch_seq = reached.seq
        WHERE NOT EXISTS (
            SELECT 1 FROM erased_records e
            WHERE e.batch_seq = s.batch_seq AND e.ord = s.ord AND e.seq <= $erased_by)
    ),
    mkeys AS ({_band_rows("mrec", "name, batch_seq, ord")}),
{_BENCHMARK_KEYS}"""
_MODEL_HITS = {
    "any": """
    model_hits AS (
        SELECT DISTINCT k.name, k.batch_seq, k.ord, b.batch_id AS bench
        FROM mkeys k JOIN (SELECT DISTINCT band, key, batch_id FROM bench_keys) b
          ON k.band = b.band AND k.key = b.key
    ),""",
    "several": """
    model_hits AS (
        SELECT DISTINCT k.name, k.batch_seq, k.ord, b.batch_id AS bench
        FROM mkeys k JOIN bench_keys b ON k.band = b.band AND k.key = b.key
        GROUP BY k.name, k.batch_seq, k.ord, b.batch_id, b.batch_seq, b.ord
        HAVING count(*) >= $min_bands
    ),""",
}
_MODEL_CLOSING = """
    per_bench AS (
        SELECT h.name, h.bench, count(*) AS records,
               list(DISTINCT b.batch_id ORDER BY b.batch_id) AS others
        FROM model_hits h JOIN batches b ON b.seq = h.batch_seq
        GROUP BY h.name, h.bench
    ),
    totals AS (
        SELECT name, count(DISTINCT (batch_seq, ord)) AS records FROM model_hits GROUP BY name
    )
    SELECT m.name, m.model_seq,
           (SELECT list(md.dataset ORDER BY md.dataset) FROM model_datasets md
            WHERE md.seq = m.model_seq) AS datasets,
           coalesce(t.records, 0) AS records,
           coalesce((SELECT list({'batch_id': p.bench, 'records': p.records,
                                  'others': p.others} ORDER BY p.bench)
                     FROM per_bench p WHERE p.name = m.name), []) AS benchmarks
    FROM mods m LEFT JOIN totals t ON t.name = m.name
    ORDER BY m.model_seq
"""
# Per model trained on the dataset: its train records near a benchmark, through all its
# datasets (one shared key, or several).
NEAR_MODELS_ANY_KEY = _MODEL_OPENING + _MODEL_HITS["any"] + _MODEL_CLOSING
NEAR_MODELS_SEVERAL_KEYS = _MODEL_OPENING + _MODEL_HITS["several"] + _MODEL_CLOSING


NEAR_ANY_KEY = _queries(_ANY_KEY)
NEAR_SEVERAL_KEYS = _queries(_SEVERAL_KEYS)

# What ``verify`` rebuilds the precomputed facts from (``provledger.similarity.near_facts``),
# at one shared key, as rows (batch_seq, ord, other seq): per table, the dataset's
# validation/test records and the train batches holding a near copy (``pairs``), and its
# train records and the benchmark batches holding one (``hits``).
NEAR_FACT_REFERENCE = {
    "near_cross_split": _OPENING
    + _ANY_KEY["pairs"]
    + _EXACT
    + """
    SELECT p.batch_seq, p.ord, b.seq AS other
    FROM pairs p JOIN batches b ON b.batch_id = p.train_batch
""",
    "near_benchmark": _OPENING
    + _ANY_KEY["pairs"]
    + _EXACT
    + _ANY_KEY["hits"]
    + """
    SELECT h.batch_seq, h.ord, b.seq AS other
    FROM hits h JOIN batches b ON b.batch_id = h.other
""",
}


# Records whose band keys share >= $min_bands with the given ten keys ($k0 .. $k9).
NEAR_TEXT = (
    "SELECT s.batch_seq, s.ord, r.record_hash FROM record_sketches s "
    "JOIN records r ON r.batch_seq = s.batch_seq AND r.ord = s.ord WHERE "
    + " + ".join(f"({name} = $k{i})::INTEGER" for i, name in enumerate(BAND_COLUMNS))
    + " >= $min_bands"
)

_PARAM = re.compile(r"\$([a-z_0-9]+)")


def params_for(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Those of ``params`` that ``sql`` names (DuckDB refuses any other)."""
    wanted = set(_PARAM.findall(sql))
    return {k: v for k, v in params.items() if k in wanted}


def run_query(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run ``sql`` with those of ``params`` it names, as dicts."""
    return store.dicts(sql, params_for(sql, params))


# -- the precomputed facts (provledger.similarity.near_facts) -----------------------------------
# Every batch the figures read at the cut: the dataset's (reference and benchmark batches
# aside), every benchmark batch, and the train batches its models reached. The first of
# them without near facts (registered before they existed, or without sketches), and the
# first erasure at or before the cut that reaches one of their records.
FACTS_UNUSABLE = f"""
    WITH {_MODELS_REACHED},
    relevant AS (
        SELECT seq, batch_id FROM batches
        WHERE seq <= $cut
          AND ((dataset = $dataset AND split NOT IN {NOT_TRAINING})
               OR split = 'benchmark' OR seq IN (SELECT seq FROM reached))
    )
    SELECT (SELECT arg_min(batch_id, seq) FROM relevant
            WHERE seq NOT IN (SELECT seq FROM near_batches)) AS without_facts,
           (SELECT min(e.seq) FROM erased_records e
            WHERE e.seq <= $cut AND e.batch_seq IN (SELECT seq FROM relevant)) AS erasure
"""
# The same figures as NEAR_ANY_KEY, summed from the facts as of the cut: a fact row's seq
# is the registration that found it, the later of its two batches.
NEAR_FACTS = {
    "cross_split": """
    SELECT b.batch_id, any_value(b.split) AS split, count(DISTINCT x.ord) AS records,
           list(DISTINCT t.batch_id ORDER BY t.batch_id) AS others
    FROM near_cross_split x JOIN batches b ON b.seq = x.batch_seq
    JOIN batches t ON t.seq = x.train_seq
    WHERE b.dataset = $dataset AND x.seq <= $cut
    GROUP BY b.batch_id, x.batch_seq ORDER BY x.batch_seq
""",
    "duplicates": """
    SELECT b.batch_id, f.duplicates AS records, f.firsts AS others
    FROM near_batches f JOIN batches b ON b.seq = f.seq
    WHERE b.dataset = $dataset AND b.split = 'train' AND f.seq <= $cut AND f.duplicates > 0
    ORDER BY f.seq
""",
    "benchmark": """
    SELECT t.batch_id, count(DISTINCT h.ord) AS records,
           list(DISTINCT k.batch_id ORDER BY k.batch_id) AS others
    FROM near_benchmark h JOIN batches t ON t.seq = h.batch_seq
    JOIN batches k ON k.seq = h.bench_seq
    WHERE t.dataset = $dataset AND h.seq <= $cut
    GROUP BY t.batch_id, h.batch_seq ORDER BY h.batch_seq
""",
    # Every batch read has facts, so every one was registered with sketches.
    "totals": f"""
    SELECT coalesce(sum(records), 0) AS sketched, []::VARCHAR[] AS unsketched FROM batches
    WHERE dataset = $dataset AND seq <= $cut AND split NOT IN {NOT_TRAINING}
""",
    "models": f"""
    WITH {_MODELS_REACHED},
    model_hits AS (
        SELECT DISTINCT r.name, h.batch_seq, h.ord, k.batch_id AS bench
        FROM near_benchmark h JOIN reached r ON r.seq = h.batch_seq
        JOIN batches k ON k.seq = h.bench_seq
        WHERE h.seq <= $cut
    ),"""
    + _MODEL_CLOSING,
}
