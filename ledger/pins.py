"""Pinning the signing key: the key a ledger must be signed with, given from outside the
home (a PEM copy of ``signing.pub``, or a C2SP verifier key). Whoever holds the home can
replace its key files and re-sign the whole log; only a pinned key, or a checkpoint note
kept elsewhere, tells."""

from __future__ import annotations

from pathlib import Path

from ledger.checkpoint import parse_verifier_key
from ledger.errors import InputError
from ledger.keys import PublicKey, load_public_key_file

__all__ = ["pinned_key"]


def pinned_key(pubkey: Path | None, vkey: str | None) -> PublicKey | None:
    """The signing key pinned by a PEM file or a C2SP verifier key (InputError when both
    are given or the key is malformed, KeyFileError when the file cannot be read); None
    when neither is given."""
    if pubkey is not None and vkey is not None:
        raise InputError("give either --pubkey or --vkey, not both", field="pubkey")
    if pubkey is not None:
        return load_public_key_file(pubkey)
    if vkey is not None:
        return parse_verifier_key(vkey)[1]
    return None
