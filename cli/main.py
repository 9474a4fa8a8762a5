"""Entry point: the root command, its core commands, and the groups added from their files.

Library errors (``LedgerError``) become ``Error: <message>`` on stderr with exit code 1;
anything else is a bug and keeps its traceback (without local variables, so no key
material can reach a log).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cli.common import (
    DEFAULT_WAIT,
    Home,
    Json,
    PubKeyPin,
    VKeyPin,
    Wait,
    emit_json,
    fail,
    load_pin,
    open_ledger,
)
from cli.placeholders import name_placeholders
from ledger.errors import LedgerError
from ledger.wording import plural


class LedgerGroup(TyperGroup):
    """Turns library errors into one clean line on stderr, for every subcommand, and
    names every placeholder in help with a word (cli/placeholders.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name_placeholders(self)

    def main(self, args: Any = None, *rest: Any, **options: Any) -> Any:
        # Python hands invalid UTF-8 in argv over as lone surrogates, which no file name,
        # dataset name or hash can hold: refuse them here, once, for every command.
        for arg in sys.argv[1:] if args is None else args:
            if isinstance(arg, str) and not _is_utf8(arg):
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                typer.echo(f"Error: argument '{shown}' is not valid UTF-8 text", err=True)
                sys.exit(1)
        return super().main(args, *rest, **options)

    # ``ctx`` is typed Any: the base class declares typer's vendored (private) click Context.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


app = typer.Typer(
    cls=LedgerGroup,
    name="provledger",
    help=(
        "A provenance ledger for AI training data: register every batch with its source, "
        "license or consent version and content hash in an append-only, signed DuckDB "
        "ledger; audit datasets; answer deletion requests by lineage."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"provledger {version('provledger')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A provenance ledger for AI training data."""


@app.command()
def init(home: Home = None, json: Json = False) -> None:
    """Create a ledger home: DuckDB file, Ed25519 signing key and subject HMAC key.

    The signing key is encrypted when PROVLEDGER_KEY_PASSPHRASE is set. Refuses to touch
    a folder that is not empty.
    """
    from ledger.ledger import Ledger

    with Ledger.init(home) as led:
        result = {
            "home": str(led.home),
            "key_id": led.public.key_id,
            "origin": led.origin,
            "verifier_key": led.verifier_key,
        }
    if json:
        emit_json(result)
    else:
        typer.echo(f"Initialised ledger at {result['home']} (signing key {result['key_id']})")


@app.command()
def log(home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT) -> None:
    """List every entry of the append-only log, oldest first."""
    with open_ledger(home, read_only=True, wait=wait) as led:
        entries = led.entries()
    if json:
        emit_json([e.as_dict() for e in entries])
        return
    kind = max((len(e.kind) for e in entries), default=0)
    subject = max((len(e.subject or "-") for e in entries), default=0)
    for e in entries:
        typer.echo(
            f"{e.seq:>6}  {e.recorded_at}  {e.kind:<{kind}}  {e.subject or '-':<{subject}}  "
            f"{e.entry_hash[:16]}"
        )


@app.command()
def verify(
    home: Home = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint note saved earlier: prove the ledger only grew since.",
        ),
    ] = None,
    pubkey: PubKeyPin = None,
    vkey: VKeyPin = None,
    restore_note: Annotated[
        bool,
        typer.Option(
            "--restore-note",
            help="The home's checkpoint.note is gone on purpose (e.g. restored from a "
            "backup): once everything verifies, record a note-restored entry and write a "
            "new note.",
        ),
    ] = False,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Recompute every entry hash, chain link, signature, batch Merkle root, projection
    row and the catalog; check the note kept in the home and any --checkpoint.

    Exits 0 only when everything holds; otherwise names the first bad seq and exits 1.
    Against someone who holds the home, pin the key (--pubkey/--vkey) or pass a note kept
    elsewhere (--checkpoint): without them a re-signed ledger verifies.
    """
    note = None
    if checkpoint is not None:
        try:
            note = checkpoint.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot read checkpoint {checkpoint}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise fail(f"{checkpoint}: not a signed checkpoint note (not UTF-8 text)") from None
    pin = load_pin(pubkey, vkey)
    with open_ledger(home, read_only=not restore_note, wait=wait, pin=pin, verifying=True) as led:
        report = led.verify(
            note, source=str(checkpoint) if checkpoint else "checkpoint", restore_note=restore_note
        )
    if json:
        emit_json(report.as_dict())
    elif report.ok:
        typer.echo(
            f"OK: {plural(report.entries, 'entry')}, {plural(report.batches, 'batch')}, "
            f"{plural(report.records, 'record')}; "
            f"log root {report.root}"
        )
        for c in report.checkpoints:
            typer.echo(f"OK: consistent with checkpoint {c['source']} (size {c['size']})")
        if report.restored_note_at is not None:
            typer.echo(f"Restored the checkpoint note (recorded at seq {report.restored_note_at})")
    if not report.ok:
        where = f" at seq {report.first_bad_seq}" if report.first_bad_seq is not None else ""
        raise fail(f"verification failed{where}: {report.problem}")


@app.command()
def checkpoint(
    home: Home = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the signed note to this file.")
    ] = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Record a signed checkpoint (log size and root) and print it as a C2SP signed note.

    Keep the note outside the ledger; 'provledger verify --checkpoint FILE' later proves the
    ledger is a consistent extension of it. With --json: origin, size, root (hex) and the
    note text.
    """
    from ledger.checkpoint import parse_note

    try:  # a note that cannot be saved must not leave a checkpoint entry behind
        sink = open(output, "a", encoding="utf-8") if output is not None else None  # noqa: SIM115
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    with open_ledger(home, wait=wait) as led:
        note = led.checkpoint()
        signed = parse_note(note, led.public)
    if sink is not None:
        with sink:
            sink.truncate(0)
            sink.write(note)
        typer.echo(f"Checkpoint written to {output}", err=True)
    if json:
        emit_json(
            {
                "origin": signed.origin,
                "size": signed.size,
                "root": signed.root.hex(),
                "note": note,
                "output": str(output) if output else None,
            }
        )
    elif output is None:
        typer.echo(note, nl=False)


from cli.audit import audit  # noqa: E402
from cli.demo import demo  # noqa: E402
from cli.register import prove, register  # noqa: E402

app.command()(register)
app.command()(prove)
app.command()(demo)

from cli.lineage import check, erase, export, lineage, model_app, verify_receipt  # noqa: E402

app.command()(lineage)
app.command()(erase)
app.command(name="verify-receipt")(verify_receipt)
app.command()(export)
app.command()(check)
app.add_typer(model_app, name="model")
app.command()(audit)

from cli.registry import consent_app, dataset_app, license_app  # noqa: E402

app.add_typer(license_app, name="license")
app.add_typer(consent_app, name="consent")
app.add_typer(dataset_app, name="dataset")

from cli.transparency import consistency, key, publish  # noqa: E402

app.command()(key)
app.command()(consistency)
app.command()(publish)

from cli.disclose import disclose, profile_app  # noqa: E402

app.add_typer(profile_app, name="profile")
app.command()(disclose)


def run() -> None:
    """Console-script entry point."""
    app()
