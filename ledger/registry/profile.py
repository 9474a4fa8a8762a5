"""The organisation profile: provider, contact, intended purpose and the measures only
people can declare, kept as a validated manifest (``provledger.registry.manifests.Profile``) in a
signed
``profile-set`` entry. Each set appends a new entry; a reader takes the latest one at or
before its seq cut, straight from the signed payload (so ``verify``'s entry check covers it
and no projection table is needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from provledger.errors import Conflict
from provledger.registry.views import ProfileState
from provledger.storage.entry_kinds import EntryKind

if TYPE_CHECKING:
    from provledger.ledger import Ledger
    from provledger.registry.manifests import Manifest
    from provledger.storage.store import Store

__all__ = ["PROFILE_KIND", "current_profile", "get_profile", "set_profile"]

PROFILE_KIND = EntryKind.profile_set

# The latest organisation profile at or before a seq.
LATEST_PROFILE = """
    SELECT seq, recorded_at, payload FROM entries
    WHERE kind = 'profile-set' AND seq <= $cut
    ORDER BY seq DESC LIMIT 1
"""


def get_profile(store: Store, cut: int | None = None) -> tuple[int, dict[str, Any]] | None:
    """(seq, profile as signed) of the latest profile at or before ``cut`` (default: now),
    or None when none was set."""
    row = store.row(LATEST_PROFILE, {"cut": 2**62 if cut is None else cut})
    if row is None:
        return None
    return int(row[0]), orjson.loads(row[2])


def current_profile(store: Store) -> ProfileState | None:
    """The latest organisation profile, or None when none was set."""
    row = store.row(LATEST_PROFILE, {"cut": 2**62})
    if row is None:
        return None
    return ProfileState(seq=int(row[0]), recorded_at=row[1], profile=orjson.loads(row[2]))


def set_profile(ledger: Ledger, manifest: Manifest) -> ProfileState:
    """Record the organisation profile from a manifest (dict or JSON file path).

    Returns the profile as set, with its entry's seq and time. Raises InputError naming the file and
    field for a bad manifest, Conflict when it equals the current profile; nothing is
    written then.
    """
    # Deferred for start-up time: loads sqlmodel (and sqlalchemy); only manifest writes need it
    from provledger.registry.manifests import Profile, load_manifest

    profile = load_manifest(Profile, manifest).model_dump(mode="json")
    with ledger.appending() as app:
        current = get_profile(ledger.store)
        if current is not None and current[1] == profile:
            raise Conflict(
                f"the organisation profile is already this one (seq {current[0]}): nothing changed"
            )
        entry = app.write_entry(PROFILE_KIND, profile)
    return ProfileState(seq=entry.seq, recorded_at=entry.recorded_at, profile=profile)
