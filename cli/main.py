"""Entry point: the root command, its core commands, and the groups added from their files.

Library errors (``LedgerError``) become ``Error: <message>`` on stderr with exit code 1;
anything else is a bug and keeps its traceback (without local variables, so no key
material can reach a log).
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from provledger import interrupts
from provledger.cli.common import (
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
from provledger.cli.placeholders import name_placeholders
from provledger.errors import LedgerError
from provledger.wording import plural


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
        except Exception as exc:
            if not _out_of_memory(exc):
                raise
            # The library names the file where it can; this is the net.
            done = interrupts.commits()
            state = f"after {' and '.join(done)}" if done else "nothing was written to the ledger"
            why = str(exc).splitlines()[0].removeprefix("Out of Memory Error: ") if str(exc) else ""
            typer.echo(f"Error: out of memory{f' ({why})' if why else ''}; {state}", err=True)
            raise typer.Exit(1) from None


def _out_of_memory(exc: BaseException) -> bool:
    """Python's MemoryError, or DuckDB's out-of-memory error (an exception DuckDB can only
    raise once it is loaded, so it is looked up rather than imported here)."""
    duckdb = sys.modules.get("duckdb")
    return isinstance(exc, MemoryError) or (
        duckdb is not None and isinstance(exc, duckdb.OutOfMemoryException)
    )


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
    # Deferred for start-up time: loads cryptography, duckdb, msgspec, numpy, orjson, rfc8785
    from provledger.ledger import Ledger

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
            metavar="FILE",
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
            typer.echo(f"OK: consistent with checkpoint {c.source} (size {c.size})")
        if report.restored_note_at is not None:
            typer.echo(f"Restored the checkpoint note (recorded at seq {report.restored_note_at})")
    if not report.ok:
        where = f" at seq {report.first_bad_seq}" if report.first_bad_seq is not None else ""
        raise fail(f"verification failed{where}: {report.problem}")


@app.command()
def checkpoint(
    home: Home = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the signed note to this file."),
    ] = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Record a signed checkpoint (log size and root) and print it as a C2SP signed note.

    Keep the note outside the ledger; 'provledger verify --checkpoint FILE' later proves the
    ledger is a consistent extension of it. --output writes the file atomically, and when it
    cannot be written nothing is recorded. With --json: origin, size, root (hex) and the
    note text.
    """
    # Deferred for start-up time: loads cryptography
    from provledger.tlog.checkpoint import parse_note

    with open_ledger(home, wait=wait) as led:
        note = led.checkpoint(output)
        signed = parse_note(note, led.public)
    if output is not None:
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


from provledger.cli.audit import audit  # noqa: E402
from provledger.cli.demo import demo  # noqa: E402
from provledger.cli.register import prove, register  # noqa: E402

app.command()(register)
app.command()(prove)
app.command()(demo)

from provledger.cli.lineage import check, erase, export, lineage, model_app, verify_receipt  # noqa: E402

app.command()(lineage)
app.command()(erase)
app.command(name="verify-receipt")(verify_receipt)
app.command()(export)
app.command()(check)
app.add_typer(model_app, name="model")
app.command()(audit)

from provledger.cli.registry import consent_app, dataset_app, license_app  # noqa: E402

app.add_typer(license_app, name="license")
app.add_typer(consent_app, name="consent")
app.add_typer(dataset_app, name="dataset")

from provledger.cli.transparency import consistency, key, publish  # noqa: E402

app.command()(key)
app.command()(consistency)
app.command()(publish)

from provledger.cli.disclose import disclose, profile_app  # noqa: E402

app.add_typer(profile_app, name="profile")
app.command()(disclose)


# What "nothing was ..." says when a command is interrupted before it committed anything.
NOTHING_DONE = {"register": "registered", "erase": "erased", "checkpoint": "recorded"}


def _command(argv: list[str]) -> str:
    """The subcommand named on the command line ('' when there is none)."""
    return next((a for a in argv if not a.startswith("-")), "")


def interrupted_line(argv: list[str]) -> str:
    """The one line an interrupted command prints: what, if anything, it committed."""
    done = interrupts.commits()
    if done:
        return f"interrupted after {' and '.join(done)}"
    return f"interrupted: nothing was {NOTHING_DONE.get(_command(argv), 'written to the ledger')}"


def run() -> None:
    """Console-script entry point. SIGINT and SIGTERM end the command with one line on
    stderr saying whether anything was committed, and exit code 128 + the signal number
    (130, 143); see provledger.interrupts."""
    code: int | str | None = 0
    try:
        try:
            interrupts.install()
            app()
        except SystemExit as exc:
            code = exc.code
        late = interrupts.finish()  # signals are ignored from here on
        if late is not None:  # arrived while the command was writing its output
            raise interrupts.Interrupted(late)
    except interrupts.Interrupted as exc:
        interrupts.finish()
        sys.stdout.flush()
        sys.stderr.write(interrupted_line(sys.argv[1:]) + "\n")
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    run()
