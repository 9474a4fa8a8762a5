"""The kinds of ledger entries: one enum shared by the writer, the projections, the
verifier, the listing and the CLI. Each kind says what its signed payload is about, so a
one-line listing never guesses from payload keys.

    ledger-created           the ledger's origin, keys' check values, catalog fingerprint
    schema-migrated          a migration ran: the new catalog fingerprint
    note-restored            a checkpoint note rewritten on purpose after a full verify
    license-added            -> licenses
    consent-version-added    -> consent_versions
    dataset-created          -> dataset_states
    dataset-context-changed  -> dataset_states
    batch-registered         -> batches, batch_parents, records, lookup keys
    model-registered         -> models, model_datasets
    erasure-requested        -> erasures, erased_records
    checkpoint               a signed checkpoint handed out (size and root)
    profile-set              the organisation profile disclosures declare from
    disclosure-published     a published disclosure's content hash
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

__all__ = ["EntryKind", "subject_of"]


class EntryKind(StrEnum):
    ledger_created = "ledger-created"
    schema_migrated = "schema-migrated"
    note_restored = "note-restored"
    license_added = "license-added"
    consent_version_added = "consent-version-added"
    dataset_created = "dataset-created"
    dataset_context_changed = "dataset-context-changed"
    batch_registered = "batch-registered"
    model_registered = "model-registered"
    erasure_requested = "erasure-requested"
    checkpoint = "checkpoint"
    profile_set = "profile-set"
    disclosure_published = "disclosure-published"


Payload = dict[str, Any]

# What each kind's entry is about, for a one-line listing ('' for kinds about the log).
_SUBJECTS: dict[str, Callable[[Payload], Any]] = {
    EntryKind.license_added: lambda p: f"{p['id']}@{p['version']}",
    EntryKind.consent_version_added: lambda p: f"{p['policy']}@{p['version']}",
    EntryKind.dataset_created: lambda p: p["dataset"],
    EntryKind.dataset_context_changed: lambda p: p["dataset"],
    EntryKind.batch_registered: lambda p: p["batch_id"],
    EntryKind.model_registered: lambda p: p["name"],
    EntryKind.erasure_requested: lambda p: p["request_ref"],
    EntryKind.profile_set: lambda p: (p.get("provider") or {}).get("name", ""),
    EntryKind.disclosure_published: lambda p: p["subject"],
}


def subject_of(kind: str, payload: Payload) -> str:
    """What an entry of ``kind`` with ``payload`` is about: a license or consent version,
    a dataset, a batch id, a model, an erasure request ... ('' when the kind is about the
    log itself, or unknown to this version)."""
    subject = _SUBJECTS.get(kind)
    return str(subject(payload) or "") if subject is not None else ""
