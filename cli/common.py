"""Options and helpers every command shares. Imports nothing heavy at module level."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ledger.ledger import Ledger

Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="PROVLEDGER_HOME",
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
        help="Seconds to wait for another provledger process to release the ledger.",
    ),
]
DEFAULT_WAIT = 30.0


def open_ledger(
    home: Path | None, *, read_only: bool = False, wait: float = DEFAULT_WAIT
) -> Ledger:
    from ledger.ledger import Ledger

    return Ledger.open(home, read_only=read_only, wait=wait)


def emit_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    import orjson

    sys.stdout.write(
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``Error: message`` to stderr and return the Exit to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


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
    """The ``ledger.limits.ReadLimits`` the two size flags ask for."""
    from ledger.limits import ReadLimits, parse_size

    return ReadLimits(
        max_line=parse_size(max_line, "max-line-size"),
        max_input=parse_size(max_input, "max-input-size"),
    )
