"""``provledger key``, ``provledger consistency`` and ``provledger publish``: what an
outsider needs to check the log without provledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provledger.cli.common import (
    DEFAULT_WAIT,
    Home,
    Json,
    Wait,
    emit_json,
    open_ledger,
    read_note_file,
)


def key(home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT) -> None:
    """Print the ledger's public verification key: Ed25519 public key (PEM and raw), key
    ids, and the C2SP signed-note verifier key that checks its checkpoint notes.

    The verifier key is NAME+KEYID+KEY: NAME is the notes' origin line, KEYID the first
    4 bytes of SHA-256(NAME || 0x0A || 0x01 || public key) in hex, and KEY the base64 of
    0x01 || public key. Nothing private is ever printed.
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        info = led.key_info()
    if json:
        emit_json(info.as_dict())
        return
    typer.echo(f"origin          {info.origin}")
    typer.echo(f"verifier key    {info.verifier_key}")
    typer.echo(f"note key id     {info.note_key_id}")
    typer.echo(f"ledger key id   {info.key_id}")
    typer.echo(f"public key hex  {info.public_key_hex}")
    typer.echo(f"public key b64  {info.public_key_base64}")
    typer.echo(info.public_key_pem, nl=False)


def consistency(
    old_note: Annotated[Path, typer.Argument(help="The older signed checkpoint note.")],
    new_note: Annotated[Path, typer.Argument(help="The newer signed checkpoint note.")],
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Print the RFC 9162 consistency proof that the log of OLD_NOTE is a prefix of the
    log of NEW_NOTE, after checking both notes' signatures and that this ledger's log has
    both roots.
    """
    old_text, new_text = read_note_file(old_note), read_note_file(new_note)
    with open_ledger(home, read_only=True, wait=wait) as led:
        proof = led.prove_consistency(
            old_text, new_text, old_source=str(old_note), new_source=str(new_note)
        )
    if json:
        emit_json(proof.as_dict())
        return
    typer.echo(f"log         {proof.origin}")
    typer.echo(f"old         size {proof.old_size}, root {proof.old_root}")
    typer.echo(f"new         size {proof.new_size}, root {proof.new_root}")
    for i, node in enumerate(proof.path):
        typer.echo(f"path[{i}]     {node}")


def publish(
    directory: Annotated[Path, typer.Argument(help="Directory to write (or extend).")],
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Write the log as static C2SP tlog-tiles (checkpoint, hash tiles, entry bundles) for
    any web server to host. Run it again on the same directory to extend it: files
    already there never change.
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        result = led.publish(directory)
    if json:
        emit_json(result.as_dict())
        return
    typer.echo(
        f"Published {result.size} entries to {result.directory} (root {result.root}): "
        f"{result.written} files written, {result.unchanged} unchanged; "
        f"{result.files} files, {result.bytes:,} bytes in all"
    )
