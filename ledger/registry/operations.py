"""Licenses, consent policy versions and datasets: what a batch is registered against.

Each change is one signed ledger entry written together with its projection row:

    license-added            -> licenses           (one row per id@version, never changed)
    consent-version-added    -> consent_versions   (versions of a policy added 1, 2, 3, ...)
    dataset-created          -> dataset_states     (the first state of a dataset)
    dataset-context-changed  -> dataset_states     (a new state; the latest seq is current)

Manifests are checked by the strict models of ``provledger.registry.manifests``, imported
only by the four functions that validate one (add a license or a consent version, create a
dataset, change its context): checks of references and listings build the typed views of
``provledger.registry.views`` straight from the rows, and need no model, so they never pay
SQLModel's import (about 0.5 s of CPU, see docs/dependencies.md).

Lookups for other modules: ``require_license(store, "id@version")``,
``require_consent(store, "policy@version")`` and ``require_dataset(store, name)`` check
that the ledger holds it and raise ``NotFound`` when not. ``parse_ref`` splits an
``id@version`` reference strictly. Past states are the audit's business (its ``--as-of``
cut); these read the ledger as it stands.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from provledger.errors import Conflict, InputError, NotFound
from provledger.registry.views import ConsentView, DatasetView, LicenseView
from provledger.storage.entry_kinds import EntryKind
from provledger.tlog.canonical import canonical_json
from provledger.vocabulary import Context, Fate, Use

if TYPE_CHECKING:
    from provledger.ledger import Ledger
    from provledger.registry.manifests import ConsentVersion, Dataset, Manifest
    from provledger.storage.store import Appender, Store

__all__ = [
    "ConsentView",
    "DatasetView",
    "LicenseView",
    "add_consent",
    "add_license",
    "create_dataset",
    "list_consent",
    "list_datasets",
    "list_licenses",
    "parse_ref",
    "require_consent",
    "require_dataset",
    "require_license",
    "set_context",
]

# The vocabularies live in provledger.vocabulary (imported above) and are re-exported here.

# An "id@version" reference, as the command line and batch specs give it.
_REF = re.compile(r"([A-Za-z0-9._-]+)@([1-9][0-9]*)")


def parse_ref(text: str, what: str = "license") -> tuple[str, int]:
    """Split 'name@version' into (name, version). Raises InputError when malformed."""
    match = _REF.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        example = {"license": "ID@VERSION, e.g. 'support-corpus@1'"}.get(
            what, "POLICY@VERSION, e.g. 'support-tos@2'"
        )
        raise InputError(f"malformed {what} reference '{text}': expected {example}", field=what)
    return match.group(1), int(match.group(2))


# -- SQL (run through Store) --------------------------------------------------------------
# Projection rows: one per entry, keyed by the entry's seq.
INSERT_LICENSE = "INSERT INTO licenses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_CONSENT = "INSERT INTO consent_versions VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_DATASET_STATE = "INSERT INTO dataset_states VALUES (?, ?, ?, ?, ?)"

# Every license version recorded (of one id, or of all), with when it was recorded.
LICENSES = """
    SELECT l.seq, e.recorded_at, l.id, l.version, l.title, l.licensor, l.grants,
           l.effective_from, l.expires_on, l.spdx, l.document_sha256
    FROM licenses l JOIN entries e ON e.seq = l.seq
    WHERE $id IS NULL OR l.id = $id
    ORDER BY l.id, l.version
"""

# Every consent version, and the next version of its policy if there is one.
CONSENT_VERSIONS = """
    SELECT c.seq, e.recorded_at, c.policy, c.version, c.effective_from, c.permits,
           c.retention_days, c.prior_versions,
           lead(c.version) OVER (PARTITION BY c.policy ORDER BY c.version) AS superseded_by
    FROM consent_versions c JOIN entries e ON e.seq = c.seq
    WHERE $policy IS NULL OR c.policy = $policy
    ORDER BY c.policy, c.version
"""

# Each dataset's current state (its latest state row) and its history: number of states,
# when it was created, and the last state whose context differs from the state before it.
DATASETS = """
    WITH states AS (
        SELECT s.seq, e.recorded_at, s.dataset, s.owner, s.context, s.uses,
               lag(s.context) OVER (PARTITION BY s.dataset ORDER BY s.seq) AS prev_context
        FROM dataset_states s JOIN entries e ON e.seq = s.seq
        WHERE $dataset IS NULL OR s.dataset = $dataset
    )
    SELECT dataset,
           arg_max(owner, seq) AS owner,
           arg_max(context, seq) AS context,
           arg_max(uses, seq) AS uses,
           max(seq) AS seq,
           arg_max(recorded_at, seq) AS updated_at,
           min(seq) AS created_seq,
           arg_min(recorded_at, seq) AS created_at,
           count(*) AS states,
           max(seq) FILTER (WHERE context <> prev_context) AS context_changed_seq,
           arg_max(recorded_at, seq) FILTER (WHERE context <> prev_context) AS context_changed_at
    FROM states
    GROUP BY dataset
    ORDER BY dataset
"""


# -- licenses -------------------------------------------------------------------------------
def _license_view(row: dict[str, Any], seq: int, recorded_at: str) -> LicenseView:
    """The view of a license version from its row (or a just-validated manifest's fields):
    rows were validated on the way in, so no model (and no SQLModel import) is needed."""
    return LicenseView(
        license=f"{row['id']}@{row['version']}",
        id=row["id"],
        version=row["version"],
        title=row["title"],
        licensor=row["licensor"],
        grants=[Use(u) for u in row["grants"]],
        effective_from=row["effective_from"],
        expires_on=row["expires_on"],
        spdx=row["spdx"],
        document_sha256=row["document_sha256"],
        seq=seq,
        recorded_at=recorded_at,
    )


def _license_rows(store: Store, id: str | None) -> list[dict[str, Any]]:
    return store.dicts(LICENSES, {"id": id})


def add_license(ledger: Ledger, manifest: Manifest) -> LicenseView:
    """Record a license version from a manifest (dict or JSON file path).

    Returns the license as ``list_licenses`` shows it. Raises InputError for a bad
    manifest and Conflict when ``id@version`` is already recorded; nothing is written then.
    """
    # Deferred for start-up time: loads sqlmodel (and sqlalchemy); only manifest writes need it
    from provledger.registry.manifests import License, load_manifest

    lic = load_manifest(License, manifest)
    store = ledger.store
    with ledger.appending() as app:
        for row in _license_rows(store, lic.id):
            if row["version"] == lic.version:
                raise Conflict(
                    f"license '{lic.ref}' is already in the ledger (seq {row['seq']}): "
                    "a changed license needs a new version"
                )
        store.execute(
            INSERT_LICENSE,
            [
                app.seq,
                lic.id,
                lic.version,
                lic.title,
                lic.licensor,
                list(lic.grants),
                lic.effective_from,
                lic.expires_on,
                lic.spdx,
                lic.document_sha256,
            ],
        )
        entry = app.write_entry(EntryKind.license_added, lic.model_dump(mode="json"))
    return _license_view(dict(lic), entry.seq, entry.recorded_at)


def list_licenses(store: Store) -> list[LicenseView]:
    """Every license version by id then version."""
    return [_license_view(r, r["seq"], r["recorded_at"]) for r in _license_rows(store, None)]


def _license_row(store: Store, ref: str) -> dict[str, Any]:
    id, version = parse_ref(ref, "license")
    return _pick_version(_license_rows(store, id), id, version, ref, "license", "license")


def _pick_version(
    rows: list[dict[str, Any]], name: str, version: int, ref: str, what: str, command: str
) -> dict[str, Any]:
    """The row of ``version`` among the recorded versions of ``name``; NotFound naming the
    recorded ones (and the ``provledger COMMAND add`` that records more) when it is not."""
    for row in rows:
        if row["version"] == version:
            return row
    known = (
        f" (recorded versions of '{name}': {', '.join(str(r['version']) for r in rows)})"
        if rows
        else ""
    )
    raise NotFound(
        f"unknown {what} '{ref}'{known}: add it with 'provledger {command} add FILE.json'"
    )


def require_license(store: Store, ref: str) -> None:
    """Check that the ledger holds the license ``ref`` ('id@version'),
    building no model. Raises InputError when ``ref`` is malformed and NotFound when the
    ledger does not hold it."""
    _license_row(store, ref)


# -- consent policy versions ------------------------------------------------------------
def _consent_view(
    row: dict[str, Any], seq: int, recorded_at: str, superseded_by: int | None
) -> ConsentView:
    """The view of a consent version from its row (``prior_versions`` as stored JSON) or a
    just-validated manifest's fields; no model needed."""
    prior = row["prior_versions"]
    if isinstance(prior, str):
        prior = orjson.loads(prior)
    return ConsentView(
        consent=f"{row['policy']}@{row['version']}",
        policy=row["policy"],
        version=row["version"],
        effective_from=row["effective_from"],
        permits=[Use(u) for u in row["permits"]],
        retention_days=row["retention_days"],
        prior_versions={k: Fate(v) for k, v in prior.items()},
        superseded_by=superseded_by,
        seq=seq,
        recorded_at=recorded_at,
    )


def _consent_rows(store: Store, policy: str | None) -> list[dict[str, Any]]:
    return store.dicts(CONSENT_VERSIONS, {"policy": policy})


def add_consent(ledger: Ledger, manifest: Manifest) -> ConsentView:
    """Record a consent policy version from a manifest (dict or JSON file path).

    Version 1 of a policy comes first, then 2, 3, ...; a duplicate or a gap raises
    Conflict, as does a version taking effect before the one it follows. Raises InputError
    for a bad manifest. Nothing is written when it raises.
    """
    # Deferred for start-up time: loads sqlmodel (and sqlalchemy); only manifest writes need it
    from provledger.registry.manifests import ConsentVersion, load_manifest

    consent = load_manifest(ConsentVersion, manifest)
    store = ledger.store
    with ledger.appending() as app:
        _check_consent_order(consent, _consent_rows(store, consent.policy))
        store.execute(
            INSERT_CONSENT,
            [
                app.seq,
                consent.policy,
                consent.version,
                consent.effective_from,
                list(consent.permits),
                consent.retention_days,
                canonical_json(consent.prior_versions).decode("utf-8"),
            ],
        )
        entry = app.write_entry(EntryKind.consent_version_added, consent.model_dump(mode="json"))
    return _consent_view(dict(consent), entry.seq, entry.recorded_at, None)


def _check_consent_order(consent: ConsentVersion, earlier: list[dict[str, Any]]) -> None:
    policy, version = consent.policy, consent.version
    for row in earlier:
        if row["version"] == version:
            raise Conflict(
                f"consent version '{consent.ref}' is already in the ledger (seq {row['seq']}): "
                f"a changed policy needs a new version ({policy}@{earlier[-1]['version'] + 1})"
            )
    latest = earlier[-1] if earlier else None
    if latest is None and version != 1:
        raise Conflict(
            f"consent version '{consent.ref}' skips ahead: policy '{policy}' has no versions "
            f"yet, add '{policy}@1' first"
        )
    if latest is not None and version != latest["version"] + 1:
        raise Conflict(
            f"consent version '{consent.ref}' skips ahead: the latest version of '{policy}' "
            f"is {latest['version']}, add '{policy}@{latest['version'] + 1}' first"
        )
    if latest is not None and consent.effective_from < latest["effective_from"]:
        raise Conflict(
            f"consent version '{consent.ref}' takes effect {consent.effective_from}, before "
            f"'{policy}@{latest['version']}' ({latest['effective_from']}): versions must take "
            "effect in order"
        )


def list_consent(store: Store) -> list[ConsentView]:
    """Every consent policy version by policy then version,
    each with the version that superseded it (or None)."""
    return [
        _consent_view(r, r["seq"], r["recorded_at"], r["superseded_by"])
        for r in _consent_rows(store, None)
    ]


def _consent_row(store: Store, ref: str) -> dict[str, Any]:
    policy, version = parse_ref(ref, "consent")
    rows = _consent_rows(store, policy)
    return _pick_version(rows, policy, version, ref, "consent version", "consent")


def require_consent(store: Store, ref: str) -> None:
    """Check that the ledger holds the consent version ``ref``
    ('policy@version'), building no model. Raises InputError when ``ref`` is malformed and
    NotFound when the ledger does not hold it."""
    _consent_row(store, ref)


# -- datasets -------------------------------------------------------------------------------
def _dataset_view(row: dict[str, Any]) -> DatasetView:
    return DatasetView(
        dataset=row["dataset"],
        owner=row["owner"],
        context=Context(row["context"]),
        uses=[Use(u) for u in row["uses"]],
        seq=row["seq"],
        updated_at=row["updated_at"],
        created_seq=row["created_seq"],
        created_at=row["created_at"],
        states=row["states"],
        context_changed_seq=row["context_changed_seq"],
        context_changed_at=row["context_changed_at"],
    )


def _dataset_rows(store: Store, name: str | None) -> list[dict[str, Any]]:
    return store.dicts(DATASETS, {"dataset": name})


def _as_list(uses: Any) -> Any:
    # A lone string would otherwise be read as a list of letters.
    if uses is None or isinstance(uses, str | list):
        return uses
    try:
        return list(uses)
    except TypeError:
        return uses


def _unknown_dataset(name: str) -> NotFound:
    return NotFound(
        f"unknown dataset '{name}': create it with 'provledger dataset create {name} "
        "--owner WHO --context CONTEXT --use USE'"
    )


def _write_state(app: Appender, kind: str, spec: Dataset, **extra: Any) -> None:
    """A dataset's new state: its projection row and the signed entry that records it."""
    app.store.execute(
        INSERT_DATASET_STATE, [app.seq, spec.name, spec.owner, spec.context, list(spec.uses)]
    )
    state = {"dataset": spec.name, "owner": spec.owner, "context": spec.context, "uses": spec.uses}
    app.write_entry(kind, {**state, **extra})


def create_dataset(
    ledger: Ledger, name: str, *, owner: str, context: str, uses: list[str]
) -> DatasetView:
    """Create a dataset. Returns it as ``list_datasets`` shows it.

    Raises InputError for a bad name, context or use, and Conflict when a dataset of that
    name exists; nothing is written then.
    """
    # Deferred for start-up time: loads sqlmodel (and sqlalchemy); only manifest writes need it
    from provledger.registry.manifests import Dataset, validate

    spec = validate(
        Dataset, {"name": name, "owner": owner, "context": context, "uses": _as_list(uses)}
    )
    store = ledger.store
    with ledger.appending() as app:
        existing = _dataset_rows(store, spec.name)
        if existing:
            raise Conflict(
                f"dataset '{spec.name}' already exists (created at seq "
                f"{existing[0]['created_seq']}): change it with 'provledger dataset set-context'"
            )
        _write_state(app, EntryKind.dataset_created, spec)
    return _dataset_view(_dataset_rows(store, spec.name)[0])


def set_context(
    ledger: Ledger, name: str, *, context: str, uses: list[str] | None = None
) -> DatasetView:
    """Record a new use context (and, when given, new intended uses) for a dataset; its
    earlier states stay in the ledger. ``uses=None`` keeps the current uses.

    Raises NotFound for an unknown dataset, InputError for a bad context or use, and
    Conflict ("nothing changed") when context and uses equal the current ones, so every
    dataset-context-changed entry records a real change.
    """
    # Deferred for start-up time: loads sqlmodel (and sqlalchemy); only manifest writes need it
    from provledger.registry.manifests import Dataset, validate

    store = ledger.store
    with ledger.appending() as app:
        rows = _dataset_rows(store, name)
        if not rows:
            raise _unknown_dataset(name)
        current = rows[0]
        spec = validate(
            Dataset,
            {
                "name": name,
                "owner": current["owner"],
                "context": context,
                "uses": list(current["uses"]) if uses is None else _as_list(uses),
            },
        )
        if spec.context == current["context"] and set(spec.uses) == set(current["uses"]):
            raise Conflict(
                f"dataset '{name}' already has context '{spec.context}' and uses "
                f"{', '.join(current['uses'])}: nothing changed"
            )
        previous = {"context": current["context"], "uses": list(current["uses"])}
        _write_state(app, EntryKind.dataset_context_changed, spec, previous=previous)
    return _dataset_view(_dataset_rows(store, spec.name)[0])


def list_datasets(store: Store) -> list[DatasetView]:
    """Every dataset's state, by name: owner, context, uses,
    number of states, when created and when its context last changed (None if never)."""
    return [_dataset_view(r) for r in _dataset_rows(store, None)]


def _dataset_row(store: Store, name: str) -> dict[str, Any]:
    rows = _dataset_rows(store, name)
    if not rows:
        raise _unknown_dataset(name)
    return rows[0]


def require_dataset(store: Store, name: str) -> None:
    """Check that the dataset exists, building no model. Raises
    NotFound when unknown."""
    _dataset_row(store, name)
