"""What the registry returns: a license version, a consent policy version and a dataset as
the ledger holds them, each with the entry that recorded it. Frozen dataclasses with the
vocabulary's enums and real dates; ``as_dict()`` gives the JSON shape ``license list
--json``, ``consent list --json`` and ``dataset list --json`` print (dates as
'YYYY-MM-DD'), key for key. Light on purpose: no pydantic, no SQLModel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from provledger.vocabulary import Context, Fate, Use

__all__ = ["ConsentView", "DatasetView", "LicenseView", "ProfileState"]


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class LicenseView:
    """A license version (``license``: its 'id@version' reference), recorded at ``seq``."""

    license: str
    id: str
    version: int
    title: str
    licensor: str
    grants: list[Use]
    effective_from: date
    expires_on: date | None
    spdx: str | None
    document_sha256: str | None
    seq: int
    recorded_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "license": self.license,
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "licensor": self.licensor,
            "grants": [str(u) for u in self.grants],
            "effective_from": _day(self.effective_from),
            "expires_on": _day(self.expires_on),
            "spdx": self.spdx,
            "document_sha256": self.document_sha256,
            "seq": self.seq,
            "recorded_at": self.recorded_at,
        }


@dataclass(frozen=True, slots=True)
class ConsentView:
    """A consent policy version (``consent``: its 'policy@version' reference), recorded at
    ``seq``; ``superseded_by`` is the next version of the policy, or None."""

    consent: str
    policy: str
    version: int
    effective_from: date
    permits: list[Use]
    retention_days: int | None
    prior_versions: dict[str, Fate]
    superseded_by: int | None
    seq: int
    recorded_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "consent": self.consent,
            "policy": self.policy,
            "version": self.version,
            "effective_from": _day(self.effective_from),
            "permits": [str(u) for u in self.permits],
            "retention_days": self.retention_days,
            "prior_versions": {k: str(v) for k, v in self.prior_versions.items()},
            "superseded_by": self.superseded_by,
            "seq": self.seq,
            "recorded_at": self.recorded_at,
        }


@dataclass(frozen=True, slots=True)
class DatasetView:
    """A dataset's current state (set at ``seq``, ``updated_at``) and its history: created
    at ``created_seq``, ``states`` states in all, and the last change of context (None if
    it never changed)."""

    dataset: str
    owner: str
    context: Context
    uses: list[Use]
    seq: int
    updated_at: str
    created_seq: int
    created_at: str
    states: int
    context_changed_seq: int | None
    context_changed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "owner": self.owner,
            "context": str(self.context),
            "uses": [str(u) for u in self.uses],
            "seq": self.seq,
            "updated_at": self.updated_at,
            "created_seq": self.created_seq,
            "created_at": self.created_at,
            "states": self.states,
            "context_changed_seq": self.context_changed_seq,
            "context_changed_at": self.context_changed_at,
        }


@dataclass(frozen=True, slots=True)
class ProfileState:
    """The organisation profile set at ``seq``. ``profile`` is the manifest exactly as its
    entry signed it (the JSON object ``schemas/profile.schema.json`` describes), kept as
    that document rather than rebuilt as a model: reading it back should not load SQLModel."""

    seq: int
    recorded_at: str
    profile: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "recorded_at": self.recorded_at, "profile": self.profile}
