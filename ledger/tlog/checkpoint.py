"""Signed checkpoints of the entry log in the C2SP ``tlog-checkpoint`` signed-note format.

A checkpoint commits to the log's size and RFC 9162 root:

    provledger/<key id>          origin line
    42                           tree size (number of entries)
    <base64 root hash>
                                 (blank line ends the note body)
    — provledger/<key id> <base64(4-byte key hash || Ed25519 signature over the body)>

The key hash is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || raw public key),
as C2SP ``signed-note`` defines for Ed25519, so standard note verifiers can check it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provledger.errors import InputError
from provledger.tlog.keys import PublicKey, Signer

__all__ = [
    "Checkpoint",
    "note_key_hash",
    "parse_note",
    "parse_verifier_key",
    "verifier_key",
]

_DASH = "\u2014"


# C2SP signed-note signature type of Ed25519 keys.
_ED25519 = b"\x01"


def note_key_hash(name: str, public: PublicKey) -> bytes:
    """The signed-note key id: first 4 bytes of SHA-256(name || 0x0A || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public.raw).digest()[:4]


def verifier_key(name: str, public: PublicKey) -> str:
    """The C2SP signed-note verifier key: ``<name>+<hex key id>+<base64(0x01 || key)>``,
    the one string an outside note verifier needs (Go's ``note.NewVerifier`` reads it)."""
    encoded = base64.b64encode(_ED25519 + public.raw).decode()
    return f"{name}+{note_key_hash(name, public).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, PublicKey]:
    """The name and Ed25519 public key of a C2SP verifier key; InputError when it is
    malformed, not Ed25519, or its key id does not match its name and key."""
    # A key name holds no '+' (C2SP signed-note); the base64 key may.
    name, _, rest = text.strip().partition("+")
    key_id, _, rest = rest.partition("+")
    try:
        blob = base64.b64decode(rest, validate=True)
        want = bytes.fromhex(key_id)
    except ValueError:
        blob, want = b"", b""
    if not name or len(blob) != 33 or blob[:1] != _ED25519 or len(want) != 4:
        raise InputError(
            "not an Ed25519 verifier key (name+keyid+base64 of 0x01 and the 32-byte key)",
            field="vkey",
        )
    public = PublicKey(Ed25519PublicKey.from_public_bytes(blob[1:]))
    if note_key_hash(name, public) != want:
        raise InputError("verifier key id does not match its name and key", field="vkey")
    return name, public


@dataclass(frozen=True)
class Checkpoint:
    """The entry log's size and root at one moment."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, signer: Signer) -> str:
        """The signed note text."""
        body = self.body()
        sig = note_key_hash(self.origin, signer.public) + signer.sign(body.encode())
        return f"{body}\n{_DASH} {self.origin} {base64.b64encode(sig).decode()}\n"


def parse_note(
    text: str, public: PublicKey, *, source: str = "checkpoint", origin: str | None = None
) -> Checkpoint:
    """Parse a signed note and check its signature against ``public``.

    Raises InputError naming ``source`` when the note is malformed, its signature fails, or
    (when ``origin`` is given) it names another log.
    """
    body, sep, sigs = text.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3:
        raise InputError("not a signed checkpoint note", file=source)
    size_text, root_text = lines[1], lines[2]
    try:
        size = int(size_text)
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise InputError("checkpoint size or root is malformed", file=source) from None
    if size < 0 or len(root) != 32:
        raise InputError("checkpoint size or root is malformed", file=source)
    if origin is not None and lines[0] != origin:
        raise InputError(
            f"note is from log '{lines[0]}', not from this ledger's log '{origin}'", file=source
        )
    checkpoint = Checkpoint(lines[0], size, root)
    signed_body = (body + "\n").encode()
    want = note_key_hash(checkpoint.origin, public)
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH or parts[1] != checkpoint.origin:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if blob[:4] == want and public.verify(blob[4:], signed_body):
            return checkpoint
    raise InputError("checkpoint signature does not verify with this ledger's key", file=source)
