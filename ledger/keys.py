"""The ledger home's key files: the Ed25519 signing key and the subject HMAC key.

- ``signing.key``: Ed25519 private key, PKCS8 PEM, encrypted with the passphrase in
  ``PROVLEDGER_KEY_PASSPHRASE`` when it is set at ``init``. Mode 0600.
- ``signing.pub``: the matching public key (SubjectPublicKeyInfo PEM); verification needs
  only this file, never the passphrase.
- ``subject.key``: 32 random bytes keying HMAC-SHA256 over data subject ids. Mode 0600.

Secret key files whose mode lets group or others read them are refused: a ledger whose
keys others can read cannot prove who wrote it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import KeyFileError

__all__ = [
    "PASSPHRASE_ENV",
    "PublicKey",
    "Signer",
    "create_keys",
    "load_public_key",
    "load_signer",
    "load_subject_key",
]

PASSPHRASE_ENV = "PROVLEDGER_KEY_PASSPHRASE"
SIGNING_KEY = "signing.key"
PUBLIC_KEY = "signing.pub"
SUBJECT_KEY = "subject.key"


def _write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the first byte on (never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)


def _read_secret(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} is missing", path) from None
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(
            f"key file {path} has mode {stat.S_IMODE(mode):04o}; it must be readable by its "
            f"owner only (chmod 600 {path})",
            path,
        )
    return path.read_bytes()


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key and its short id (first 16 hex digits of SHA-256 of the raw key)."""

    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def pem(self) -> str:
        """SubjectPublicKeyInfo PEM, as in ``signing.pub``."""
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's signature over ``message``."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """The ledger's private signing key. Never printed, never stored in the database."""

    key: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)

    def __repr__(self) -> str:  # keep key material out of tracebacks and logs
        return f"Signer(key_id={self.public.key_id})"


def create_keys(home: Path) -> PublicKey:
    """Write a new signing key pair and subject key into ``home`` (which must exist)."""
    private = Ed25519PrivateKey.generate()
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    _write_secret(
        home / SIGNING_KEY,
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ),
    )
    _write_secret(home / SUBJECT_KEY, secrets.token_bytes(32))
    public = private.public_key()
    (home / PUBLIC_KEY).write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return PublicKey(public)


def load_signer(home: Path) -> Signer:
    """Load the signing key, decrypting it with PROVLEDGER_KEY_PASSPHRASE when needed."""
    path = home / SIGNING_KEY
    data = _read_secret(path)
    passphrase = _passphrase()
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        if passphrase is None:
            raise KeyFileError(
                f"signing key {path} is encrypted: set {PASSPHRASE_ENV}", path
            ) from None
        raise KeyFileError(
            f"signing key {path} is not encrypted: unset {PASSPHRASE_ENV}", path
        ) from None
    except ValueError:
        raise KeyFileError(
            f"cannot decrypt signing key {path}: wrong passphrase in {PASSPHRASE_ENV}, "
            "or the file is damaged",
            path,
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"signing key {path} is not an Ed25519 key", path)
    return Signer(key)


def load_public_key(home: Path) -> PublicKey:
    """Load the ledger's public key (no passphrase needed)."""
    path = home / PUBLIC_KEY
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise KeyFileError(f"public key {path} is missing", path) from None
    except ValueError:
        raise KeyFileError(f"public key {path} is damaged", path) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"public key {path} is not an Ed25519 key", path)
    return PublicKey(key)


def load_subject_key(home: Path) -> bytes:
    """Load the 32-byte subject HMAC key."""
    path = home / SUBJECT_KEY
    data = _read_secret(path)
    if len(data) != 32:
        raise KeyFileError(f"subject key {path} is {len(data)} bytes, expected 32", path)
    return data
