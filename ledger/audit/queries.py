"""The audit's named SQL, one commented query per figure, and ``run``, which sends one
through ``Store`` with the parameters it uses.

Parameters: ``$dataset``; ``$cut``, the last entry seq the audit sees (``--as-of T`` cuts
at the last entry recorded at or before T, and every projection row carries the seq of
the entry that wrote it, so the cut is exact); ``$today``, the audit date (the date of
``--as-of``, else today, UTC) against which retention, expiry and age are measured;
``$sources``, the source types in report order; ``$horizon``, the days before expiry a
license is flagged; ``$seeds``, the real batches synthetic batches descend from.

Counts are *active* records: registered records minus those an erasure recorded at or
before the cut reached.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provledger.storage.store import Store

__all__ = [
    "BATCHES",
    "BLEND",
    "CADENCE",
    "CONSENT",
    "CONSENT_GAINED_VERSION",
    "CONTAMINATION",
    "COST",
    "CRAWL_OPT_OUT",
    "DATASET_STATES",
    "ERASURE",
    "LAST_SEQ",
    "LICENSES",
    "PROVENANCE_EVIDENCE",
    "STAKES",
    "SYNTHETIC_LINEAGE",
    "run",
]

# The last entry of the log: the cut when no --as-of is given.
LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM entries"

# Every state of the dataset (created, then each context change), oldest first.
DATASET_STATES = """
    SELECT s.seq, e.recorded_at, e.kind, s.owner, s.context, s.uses
    FROM dataset_states s JOIN entries e ON e.seq = s.seq
    WHERE s.dataset = $dataset
    ORDER BY s.seq
"""

# The opening every per-dataset query shares: the dataset's batches as the ledger stood at
# $cut, each with its erased and active (registered minus erased) record counts, and the
# dataset's latest state at $cut. A record erased by two requests counts once.
_ACTIVE_BATCHES = """
    WITH erased AS (
        SELECT batch_seq, count(DISTINCT ord) AS n
        FROM erased_records
        WHERE seq <= $cut
        GROUP BY batch_seq
    ),
    ds AS (
        SELECT b.*, coalesce(e.n, 0) AS erased, b.records - coalesce(e.n, 0) AS active
        FROM batches b LEFT JOIN erased e ON e.batch_seq = b.seq
        WHERE b.dataset = $dataset AND b.seq <= $cut
          AND b.split NOT IN ('reference', 'benchmark')  -- not training data
    ),
    state AS (
        SELECT arg_max(context, seq) AS context, arg_max(uses, seq) AS uses, max(seq) AS seq
        FROM dataset_states
        WHERE dataset = $dataset AND seq <= $cut
    )"""


def _over_active_batches(query: str) -> str:
    """``query`` preceded by the shared opening (it may add CTEs after a leading comma)."""
    return _ACTIVE_BATCHES + query


# Every batch of the dataset, oldest first, with its registered, erased and active counts.
BATCHES = _over_active_batches(
    """
    SELECT ds.batch_id, ds.seq, e.recorded_at, ds.source, ds.split, ds.license, ds.consent,
           ds.origin, ds.collected_at, ds.cost, ds.generator, ds.records AS registered,
           ds.erased, ds.active
    FROM ds JOIN entries e ON e.seq = ds.seq
    ORDER BY ds.seq
"""
)

# Blend: active records, share of the dataset and batches per source type; every source
# type appears, with zeros when the dataset has none of it.
BLEND = _over_active_batches(
    """
    SELECT s.source,
           coalesce(sum(ds.active), 0) AS records,
           coalesce(sum(ds.active) / nullif(sum(sum(ds.active)) OVER (), 0), 0) AS share,
           count(ds.seq) AS batches
    FROM (SELECT unnest($sources) AS source) s
    LEFT JOIN ds ON ds.source = s.source
    GROUP BY s.source
"""
)

# Synthetic lineage. Walks from each synthetic batch of the dataset up its parents
# (batch_parents, any dataset) through synthetic generations, stopping at real batches.
# Per synthetic batch: its generation depth (1 when generated from real data, 2 when a
# parent is itself synthetic, ...), its seeds (the real batches reached) and its dead ends
# (synthetic ancestors, itself included, that name no parent). No seed: unanchored.
SYNTHETIC_LINEAGE = """
    WITH RECURSIVE walk(batch_id, node, depth) AS (
        SELECT batch_id, batch_id, 1
        FROM batches
        WHERE dataset = $dataset AND seq <= $cut AND source = 'synthetic'
          AND split NOT IN ('reference', 'benchmark')
        UNION
        SELECT w.batch_id, p.parent_id,
               w.depth + CASE WHEN pb.source = 'synthetic' THEN 1 ELSE 0 END
        FROM walk w
        JOIN batches nb ON nb.batch_id = w.node AND nb.source = 'synthetic'
        JOIN batch_parents p ON p.batch_id = w.node
        JOIN batches pb ON pb.batch_id = p.parent_id
    ),
    parent_counts AS (
        SELECT batch_id, count(*) AS parents FROM batch_parents GROUP BY batch_id
    ),
    nodes AS (
        SELECT w.batch_id, w.node, w.depth, nb.seq AS node_seq,
               nb.source = 'synthetic' AS synthetic, coalesce(pc.parents, 0) AS parents
        FROM walk w
        JOIN batches nb ON nb.batch_id = w.node
        LEFT JOIN parent_counts pc ON pc.batch_id = w.node
    )
    SELECT batch_id,
           max(depth) AS depth,
           coalesce(list(DISTINCT node) FILTER (WHERE NOT synthetic), []) AS seeds,
           coalesce(list(DISTINCT node) FILTER (WHERE synthetic AND parents = 0), [])
               AS dead_ends
    FROM nodes
    GROUP BY batch_id
"""

# Evidence behind each batch's provenance level, for the dataset's batches and the real
# seed batches ($seeds, possibly of other datasets) its synthetic batches descend from:
# the license's document hash and validity window, the consent version's effective date,
# and the first later version of that consent policy already in effect on the collection
# day (if any, the batch's version was no longer in force when it was collected).
PROVENANCE_EVIDENCE = """
    WITH lic AS (
        SELECT concat(id, '@', version) AS ref, document_sha256, effective_from, expires_on
        FROM licenses WHERE seq <= $cut
    ),
    con AS (
        SELECT concat(policy, '@', version) AS ref, policy, version, effective_from
        FROM consent_versions WHERE seq <= $cut
    )
    SELECT b.batch_id, b.source, b.origin, b.collected_at,
           b.license, l.document_sha256 IS NOT NULL AS license_document,
           l.effective_from AS license_from, l.expires_on AS license_until,
           b.consent, c.effective_from AS consent_from,
           (SELECT min(n.version) FROM con n
            WHERE n.policy = c.policy AND n.version > c.version
              AND n.effective_from <= b.collected_at::DATE) AS superseded_by
    FROM batches b
    LEFT JOIN lic l ON l.ref = b.license
    LEFT JOIN con c ON c.ref = b.consent
    WHERE b.seq <= $cut AND (b.dataset = $dataset OR list_contains($seeds, b.batch_id))
    ORDER BY b.seq
"""

# Consent drift, per consent version of the dataset's first-party batches: active records,
# the latest version of the policy as of $cut, this version's fate in the latest version's
# prior_versions, the dataset's intended uses it does not permit, and records collected
# more than retention_days before $today. A record is noncompliant when its version was
# revoked or needs re-consent, lacks an intended use, or its retention has run out.
CONSENT = _over_active_batches(
    """,
    con AS (
        SELECT concat(policy, '@', version) AS ref, * FROM consent_versions WHERE seq <= $cut
    ),
    latest AS (SELECT policy, max(version) AS version FROM con GROUP BY policy),
    fp AS (
        SELECT ds.batch_id, ds.seq, ds.active, c.ref, c.policy, c.version, c.retention_days,
               l.version AS latest_version,
               json_extract_string(lc.prior_versions, concat('/', c.version)) AS fate,
               list_filter((SELECT uses FROM state),
                           lambda u: NOT list_contains(c.permits, u)) AS missing_uses,
               coalesce(ds.collected_at::DATE + c.retention_days < $today, false)
                   AS retention_exceeded
        FROM ds
        JOIN con c ON c.ref = ds.consent
        JOIN latest l ON l.policy = c.policy
        JOIN con lc ON lc.policy = l.policy AND lc.version = l.version
        WHERE ds.source = 'first_party'
    )
    SELECT ref AS consent, policy, version, latest_version,
           any_value(fate) AS fate,
           any_value(missing_uses) AS missing_uses,
           any_value(retention_days) AS retention_days,
           sum(active) AS records,
           coalesce(sum(active) FILTER (WHERE retention_exceeded), 0) AS retention_exceeded,
           coalesce(sum(active) FILTER (
               WHERE coalesce(fate IN ('revoked', 'reconsent_required'), false)
                  OR len(missing_uses) > 0
                  OR retention_exceeded), 0) AS noncompliant,
           list(batch_id ORDER BY seq) AS batches
    FROM fp
    GROUP BY ref, policy, version, latest_version
    ORDER BY policy, version
"""
)

# License scope and expiry, per license the dataset's batches are registered under: the
# dataset's intended uses the license does not grant, whether it expired before $today or
# expires within $horizon days of it, and the active records under it.
LICENSES = _over_active_batches(
    """,
    lic AS (
        SELECT concat(id, '@', version) AS ref, grants, expires_on,
               document_sha256 IS NOT NULL AS document
        FROM licenses WHERE seq <= $cut
    ),
    used AS (
        SELECT l.ref, l.grants, l.expires_on, l.document,
               sum(ds.active) AS records, list(ds.batch_id ORDER BY ds.seq) AS batches
        FROM ds JOIN lic l ON l.ref = ds.license
        GROUP BY l.ref, l.grants, l.expires_on, l.document
    )
    SELECT ref AS license, grants, expires_on, document, records, batches,
           list_filter((SELECT uses FROM state),
                       lambda u: NOT list_contains(grants, u)) AS missing_uses,
           coalesce(expires_on < $today, false) AS expired,
           coalesce(expires_on >= $today AND expires_on <= $today + $horizon, false)
               AS expiring
    FROM used
    ORDER BY ref
"""
)

# Contamination and duplicates, over the dataset's active records grouped by content hash:
# duplicate_records = active records minus distinct content hashes; cross_split_records =
# validation/test records whose content hash also occurs in a train-split record. The only
# query of the audit that reads the records table. For speed it works in two steps and
# stays exact. First it sorts a 4-byte key per row, k = the top 32 bits of
# hash(content_hash), and keeps the keys that occur more than once (sorting 10M small keys
# is far cheaper than grouping 10M 32-byte hashes). A row whose key is unique has unique
# content, so it can be neither a duplicate nor cross-split. Then only the rows of
# repeated keys (the real repeats, plus chance collisions of the 32-bit key) are grouped
# by the full content hash.
CONTAMINATION = """
    WITH dsb AS (
        SELECT seq, split = 'train' AS train
        FROM batches WHERE dataset = $dataset AND seq <= $cut
          AND split NOT IN ('reference', 'benchmark')
    ),
    active AS NOT MATERIALIZED (
        SELECT (hash(r.content_hash) >> 32)::UINTEGER AS k, r.content_hash, dsb.train
        FROM records r JOIN dsb ON r.batch_seq = dsb.seq
        WHERE NOT EXISTS (
            SELECT 1 FROM erased_records e
            WHERE e.batch_seq = r.batch_seq AND e.ord = r.ord AND e.seq <= $cut)
    ),
    repeated AS (
        SELECT DISTINCT k
        FROM (SELECT k, lag(k) OVER (ORDER BY k) AS previous FROM active)
        WHERE k = previous
    ),
    per_content AS (
        SELECT count(*) AS n, count(*) FILTER (WHERE train) AS in_train
        FROM active
        WHERE k IN (SELECT k FROM repeated)
        GROUP BY content_hash
    )
    SELECT coalesce(sum(n) - count(*), 0) AS duplicate_records,
           coalesce(sum(n - in_train) FILTER (WHERE in_train > 0), 0) AS cross_split_records
    FROM per_content
"""

# Stakes: scraped active records, and the batches registered after the dataset's context
# was last set (they were chosen under the current stakes; earlier ones were not).
STAKES = _over_active_batches(
    """
    SELECT coalesce(sum(active) FILTER (WHERE source = 'scraped'), 0) AS scraped_records,
           coalesce(list(batch_id ORDER BY seq)
                    FILTER (WHERE seq > (SELECT seq FROM state)), []) AS batches_after,
           coalesce(sum(active) FILTER (WHERE seq > (SELECT seq FROM state)), 0)
               AS records_after,
           count(*) FILTER (WHERE seq < (SELECT seq FROM state)) AS batches_before
    FROM ds
"""
)

# Cadence per source type: the newest collection time among batches that still hold
# active records, and its age in days at $today.
CADENCE = _over_active_batches(
    """
    SELECT s.source,
           max(ds.collected_at) AS newest_collected_at,
           date_diff('day', max(ds.collected_at)::DATE, $today) AS age_days
    FROM (SELECT unnest($sources) AS source) s
    LEFT JOIN ds ON ds.source = s.source AND ds.active > 0
    GROUP BY s.source
"""
)

# Crawl opt-out evidence: every batch with active records, its declared channel and its
# opt-out evidence, read from the signed batch-registered payload (NULL for entries written
# before batches declared metadata: their channel is their source type's default).
CRAWL_OPT_OUT = _over_active_batches(
    """
    SELECT ds.batch_id, ds.source, ds.active,
           json_extract_string(e.payload, '$.metadata.channel') AS channel,
           json_extract(e.payload, '$.metadata.opt_out')::VARCHAR AS opt_out
    FROM ds JOIN entries e ON e.seq = ds.seq
    WHERE ds.active > 0
    ORDER BY ds.seq
"""
)


# Cost per source type: the sum of recorded batch costs over the records still active
# (erasure shrinks the denominator, not the money spent). Batches without a cost are
# counted, not guessed.
COST = _over_active_batches(
    """
    SELECT s.source,
           sum(ds.cost) AS cost,
           coalesce(sum(ds.active), 0) AS usable_records,
           sum(ds.cost) / nullif(sum(ds.active), 0) AS cost_per_usable_record,
           count(ds.seq) FILTER (WHERE ds.cost IS NULL) AS uncosted_batches
    FROM (SELECT unnest($sources) AS source) s
    LEFT JOIN ds ON ds.source = s.source
    GROUP BY s.source
"""
)

# Erasure, per batch of the dataset that erasures (recorded at or before $cut) reached:
# the records erased and the erasure entries (requests) that did it, with their refs.
ERASURE = """
    WITH dsb AS (
        SELECT seq, batch_id FROM batches WHERE dataset = $dataset AND seq <= $cut
    )
    SELECT dsb.batch_id,
           count(DISTINCT er.ord) AS erased_records,
           list(DISTINCT er.seq) AS requests,
           list(DISTINCT x.request_ref) FILTER (WHERE x.request_ref IS NOT NULL) AS refs
    FROM erased_records er
    JOIN dsb ON dsb.seq = er.batch_seq
    LEFT JOIN erasures x ON x.seq = er.seq
    WHERE er.seq <= $cut
    GROUP BY dsb.batch_id, dsb.seq
    ORDER BY dsb.seq
"""

# Revisit trigger: consent policies that gained a version after some of the dataset's
# batches were registered under an earlier version of them.
CONSENT_GAINED_VERSION = _over_active_batches(
    """,
    con AS (
        SELECT concat(policy, '@', version) AS ref, * FROM consent_versions WHERE seq <= $cut
    ),
    latest AS (
        SELECT policy, max(version) AS version, arg_max(seq, version) AS seq
        FROM con GROUP BY policy
    )
    SELECT l.policy, l.version AS latest_version, e.recorded_at AS added_at,
           list(ds.batch_id ORDER BY ds.seq) AS batches, sum(ds.active) AS records
    FROM ds
    JOIN con c ON c.ref = ds.consent
    JOIN latest l ON l.policy = c.policy AND l.version > c.version AND l.seq > ds.seq
    JOIN entries e ON e.seq = l.seq
    GROUP BY l.policy, l.version, e.recorded_at
    ORDER BY l.policy
"""
)

_PARAM = re.compile(r"\$([a-z_]+)")


def run(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts, given the parameters of ``params`` it names."""
    # DuckDB refuses named parameters a statement does not use: pass only its own.
    wanted = set(_PARAM.findall(sql))
    return store.dicts(sql, {k: v for k, v in params.items() if k in wanted})
