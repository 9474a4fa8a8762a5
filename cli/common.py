"""Options and helpers every command shares. Imports nothing heavy at module level."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from provledger.errors import DEFAULT_WAIT
from provledger.ingest.limits import ReadLimits, parse_size

if TYPE_CHECKING:
    from provledger.ledger import Ledger
    from provledger.tlog.keys import PublicKey

Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="PROVLEDGER_HOME",
        metavar="DIR",
        help="Ledger home folder (default ./.provledger).",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Wait = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="Seconds to wait for another provledger process to release the ledger.",
    ),
]
PubKeyPin = Annotated[
    Path | None,
    typer.Option(
        "--pubkey",
        metavar="FILE",
        help="Pin the signing key: a PEM copy of signing.pub kept outside the home. "
        "Refuses a ledger signed with any other key.",
    ),
]
VKeyPin = Annotated[
    str | None,
    typer.Option(
        "--vkey",
        help="Pin the signing key as a C2SP verifier key (name+keyid+base64), as "
        "'provledger init --json' prints it (verifier_key).",
    ),
]


def open_ledger(
    home: Path | None,
    *,
    read_only: bool = False,
    wait: float = DEFAULT_WAIT,
    pin: PublicKey | None = None,
    verifying: bool = False,
) -> Ledger:
    # Deferred for start-up time: loads cryptography, duckdb, msgspec, numpy, orjson, rfc8785
    from provledger.ledger import Ledger

    return Ledger.open(home, read_only=read_only, wait=wait, pin=pin, verifying=verifying)


def load_pin(pubkey: Path | None, vkey: str | None) -> PublicKey | None:
    """The pinned signing key from --pubkey or --vkey (at most one; None without)."""
    # Deferred for start-up time: loads cryptography
    from provledger.tlog.pins import pinned_key

    return pinned_key(pubkey, vkey)


def emit_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    # Deferred for start-up time: loads orjson
    import orjson

    sys.stdout.write(
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )


def print_rich(renderable: Any) -> None:
    """Print rich tables at the terminal's width; when stdout is not a terminal (a pipe, a
    file), as wide as the widest line needs, so nothing is broken mid-word at 80 columns."""
    from rich.console import Console  # rich loads only in commands that print tables

    console = Console(soft_wrap=False)
    if not console.is_terminal:
        unbounded = console.options.update_width(100_000)
        console.width = max(console.width, console.measure(renderable, options=unbounded).maximum)
    console.print(renderable)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``Error: message`` to stderr and return the Exit to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def read_note_file(path: Path) -> str:
    """The text of a signed note file the user named, or a clean error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read checkpoint {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise fail(f"{path}: not a signed checkpoint note (not UTF-8 text)") from None


MaxLineSize = Annotated[
    str,
    typer.Option(
        "--max-line-size",
        metavar="SIZE",
        help="Refuse a line (JSONL) longer than this, e.g. 64MiB, 1GiB; memory use peaks "
        "at a few times the longest line.",
    ),
]
MaxInputSize = Annotated[
    str,
    typer.Option(
        "--max-input-size",
        metavar="SIZE",
        help="Refuse a file that expands to more than this (gzip JSONL decompressed, "
        "Parquet uncompressed), e.g. 32GiB.",
    ),
]
DEFAULT_MAX_LINE = "64MiB"
DEFAULT_MAX_INPUT = "32GiB"


def read_limits(max_line: str, max_input: str) -> Any:
    """The ``provledger.ingest.limits.ReadLimits`` the two size flags ask for."""
    return ReadLimits(
        max_line=parse_size(max_line, "max-line-size"),
        max_input=parse_size(max_input, "max-input-size"),
    )
