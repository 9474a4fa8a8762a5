"""``provledger disclose`` and ``provledger profile``: regulator-facing summaries generated
from the signed ledger, and the organisation profile they take declared values from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provledger.cli.common import DEFAULT_WAIT, Home, Json, Wait, emit_json, fail, open_ledger

profile_app = typer.Typer(
    name="profile",
    help="The organisation profile disclosures declare values from (provider, contact, "
    "intended purpose, measures).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@profile_app.command("set")
def profile_set(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.json", help="The profile manifest (schemas/profile.schema.json)."
        ),
    ],
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Record the organisation profile as a signed entry; the latest one is current."""
    with open_ledger(home, wait=wait) as led:
        result = led.set_profile(file)
    if json:
        emit_json(result.as_dict())
    else:
        typer.echo(
            f"Set the organisation profile of {result.profile['provider']['name']} "
            f"(seq {result.seq})"
        )


@profile_app.command("show")
def profile_show(home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT) -> None:
    """Print the current organisation profile."""
    with open_ledger(home, read_only=True, wait=wait) as led:
        current = led.profile()
    if current is None:
        raise fail("no organisation profile yet: set one with 'provledger profile set FILE.json'")
    if json:
        emit_json({"seq": current.seq, "profile": current.profile})
    else:
        # Deferred for start-up time: loads orjson
        import orjson

        typer.echo(f"Organisation profile (seq {current.seq}):")
        typer.echo(orjson.dumps(current.profile, option=orjson.OPT_INDENT_2).decode())


def disclose(
    subject: Annotated[
        str,
        typer.Argument(
            metavar="MODEL|DATASET",
            help="A registered model; for ca-ab2013 a dataset may be given instead.",
        ),
    ],
    template: Annotated[
        str,
        typer.Option(
            "--template",
            help="eu-gpai-summary (EU AI Act art. 53(1)(d) training-content summary) | "
            "ca-ab2013 (California AB 2013 training-data documentation).",
        ),
    ],
    format: Annotated[
        str, typer.Option("--format", help="markdown (the public page) | html | json.")
    ] = "markdown",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the page to this file."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Generate without recording a disclosure-published entry."),
    ] = False,
    diff_since: Annotated[
        str | None,
        typer.Option(
            "--diff-since",
            metavar="SEQ|DATE",
            help="Show what changed since the last disclosure of this template published at "
            "or before SEQ or DATE (records nothing).",
        ),
    ] = None,
    as_of_seq: Annotated[
        int | None,
        typer.Option(
            "--as-of-seq",
            metavar="SEQ",
            help="Regenerate as the ledger stood at SEQ (records nothing), e.g. to check a "
            "published content hash.",
        ),
    ] = None,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Generate a regulator's training-data summary from the signed ledger, every value with
    its status (ledger, declared, missing) and the entries that prove it.

    Unless --dry-run, --as-of-seq or --diff-since is given, a signed disclosure-published
    entry records the page's content hash. Values to declare before publishing are listed
    at the top. Example:

      provledger disclose ticket-router --template eu-gpai-summary -o summary.md
    """
    # Deferred for start-up time: loads msgspec, orjson, pydantic, rfc8785
    from provledger.exports.disclose import check_format, diff_markdown, render

    fmt = "json" if json else format
    check_format(fmt)
    if diff_since is not None and fmt == "html":
        raise fail("--diff-since prints Markdown or JSON (--format markdown or --json)")
    if diff_since is not None and output is not None:
        raise fail("--diff-since prints on stdout; leave out --output")
    try:  # a page that cannot be saved must not leave a disclosure-published entry behind
        sink = open(output, "a", encoding="utf-8") if output is not None else None  # noqa: SIM115
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    read_only = dry_run or diff_since is not None or as_of_seq is not None
    with open_ledger(home, read_only=read_only, wait=wait) as led:
        if diff_since is not None:
            diff = led.disclosure_diff(subject, template, diff_since)
            text = None
        else:
            doc, entry = led.disclose(subject, template, publish=not read_only, as_of_seq=as_of_seq)
            text = render(doc, fmt)
    if diff_since is not None:
        if fmt == "json":
            emit_json(diff.as_dict())
        else:
            typer.echo(diff_markdown(diff), nl=False)
        return
    assert text is not None
    if sink is not None:
        with sink:
            sink.truncate(0)
            sink.write(text)
    else:
        typer.echo(text, nl=False)
    recorded = f"recorded as seq {entry.seq}" if entry is not None else "not recorded"
    note = (
        f"{template} disclosure of {doc.subject}: {len(doc.missing)} missing value"
        f"{'' if len(doc.missing) == 1 else 's'}; content SHA-256 {doc.content_sha256} "
        f"({recorded})"
    )
    if output is not None:
        note += f"; written to {output}"
    typer.echo(note, err=True)
