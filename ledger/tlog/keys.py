"""The ledger home's key files: the Ed25519 signing key and the subject HMAC key.

- ``signing.key``: Ed25519 private key, PKCS8 PEM, encrypted with the passphrase in
  ``PROVLEDGER_KEY_PASSPHRASE`` when it is set at ``init``. Mode 0600.
- ``signing.pub``: the matching public key (SubjectPublicKeyInfo PEM); verification needs
  only this file, never the passphrase.
- ``subject.key``: 32 random bytes keying HMAC-SHA256 over data subject ids. Mode 0600.
  It may live outside the home: ``PROVLEDGER_SUBJECT_KEY`` names its path (``init`` creates
  it there when the file does not exist yet). The ledger's first entry records a key check
  value (``subject_key_check``, a truncated HMAC of a fixed label), so a different key is
  refused instead of silently matching nothing.

Secret key files whose mode lets group or others read them are refused: a ledger whose
keys others can read cannot prove who wrote it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provledger.errors import KeyFileError

__all__ = [
    "PASSPHRASE_ENV",
    "SUBJECT_KEY_ENV",
    "KeyInfo",
    "PublicKey",
    "Signer",
    "create_keys",
    "load_public_key",
    "load_public_key_file",
    "load_signer",
    "load_subject_key",
    "subject_key_check",
    "subject_key_path",
]

PASSPHRASE_ENV = "PROVLEDGER_KEY_PASSPHRASE"
SIGNING_KEY = "signing.key"
PUBLIC_KEY = "signing.pub"
SUBJECT_KEY = "subject.key"
SUBJECT_KEY_ENV = "PROVLEDGER_SUBJECT_KEY"
# The key check value is an HMAC of this label: it identifies the key, and reveals nothing
# of it nor of any subject id.
SUBJECT_KEY_CHECK_LABEL = b"provledger subject key check v1"


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


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A ledger's public verification material (``provledger key --json``): the public key
    as PEM, hex and base64, its key id, and the C2SP signed-note key name, key id and
    verifier key that check its checkpoint notes. Never anything private."""

    origin: str
    key_id: str
    public_key_pem: str
    public_key_hex: str
    public_key_base64: str
    note_key_name: str
    note_key_id: str
    verifier_key: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def subject_key_path(home: Path) -> Path:
    """Where the subject key lives: $PROVLEDGER_SUBJECT_KEY, else ``home/subject.key``."""
    outside = os.environ.get(SUBJECT_KEY_ENV)
    return Path(outside) if outside else home / SUBJECT_KEY


def subject_key_check(key: bytes) -> str:
    """The key check value of a subject key: 16 hex digits of HMAC-SHA256(key, label)."""
    return hmac.new(key, SUBJECT_KEY_CHECK_LABEL, hashlib.sha256).hexdigest()[:16]


def create_keys(home: Path) -> PublicKey:
    """Write a new signing key pair into ``home`` (which must exist), and a new subject key
    at ``subject_key_path(home)`` unless a key file is already there (a subject key kept
    outside the home, shared by ledgers that must key subject ids alike)."""
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
    subject = subject_key_path(home)
    if subject.parent != home and subject.exists():
        _load_subject_key_file(subject)  # refuse a loose or malformed one now
    else:
        _write_secret(subject, secrets.token_bytes(32))
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


def load_public_key_file(path: Path) -> PublicKey:
    """Load an Ed25519 public key from a PEM file (a copy of ``signing.pub`` kept elsewhere),
    to pin the key a ledger must be signed with."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc.strerror}", path) from None
    except ValueError:
        raise KeyFileError(f"{path} is not a PEM public key", path) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"public key {path} is not an Ed25519 key", path)
    return PublicKey(key)


def load_subject_key(home: Path) -> bytes:
    """Load the 32-byte subject HMAC key (from $PROVLEDGER_SUBJECT_KEY when it is set)."""
    return _load_subject_key_file(subject_key_path(home))


def _load_subject_key_file(path: Path) -> bytes:
    data = _read_secret(path)
    if len(data) != 32:
        raise KeyFileError(f"subject key {path} is {len(data)} bytes, expected 32", path)
    return data
