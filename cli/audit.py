"""``provledger audit``: one dataset's audit as rich tables, JSON, Markdown or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provledger.cli.common import DEFAULT_WAIT, Home, Json, Wait, fail, open_ledger, print_rich
from provledger.vocabulary import AuditFormat, Severity
from provledger.wording import plural

# Exit code when --fail-on finds a finding at or above its severity (1 is an error,
# 2 a usage error).
FAIL_ON_EXIT = 3


def audit(
    dataset: Annotated[str, typer.Argument(help="The dataset to audit.")],
    format: Annotated[
        AuditFormat,
        typer.Option("--format", "-f", help="table (terminal), json, markdown or html."),
    ] = AuditFormat.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the report to this file, not stdout."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="ISO-8601",
            help="Audit the ledger as it stood then (a date is its midnight, UTC).",
        ),
    ] = None,
    fail_on: Annotated[
        Severity | None,
        typer.Option(
            "--fail-on",
            help=f"Exit {FAIL_ON_EXIT} when a finding at or above this severity exists "
            "(after writing the report): high, medium or low.",
        ),
    ] = None,
    near_threshold: Annotated[
        float,
        typer.Option(
            "--near-threshold",
            metavar="J",
            help="Estimated word 5-gram Jaccard similarity at which two records count as "
            "near copies (0 < J <= 1; 0.8 needs one shared band key of ten).",
        ),
    ] = 0.8,
    json: Json = False,
    home: Home = None,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Audit a dataset: blend of sources, provenance certainty, consent drift, license
    scope, synthetic anchoring, contamination, stakes, cadence, cost and erasure, with
    findings by severity and recommendations.

    Counts are active records (erased ones excluded). --json is short for --format json.

    Example:

      provledger audit support-ticket-classifier --format html --output audit.html
    """
    fmt = AuditFormat.json if json else format
    with open_ledger(home, read_only=True, wait=wait) as led:
        report = led.audit(dataset, as_of, near_threshold=near_threshold)
    if output is None and fmt is AuditFormat.table:
        # Deferred for start-up time: loads cryptography, duckdb, msgspec, numpy, orjson, ...
        from provledger.exports.reports import table

        print_rich(table(report))
    else:
        # Deferred for start-up time: loads cryptography, duckdb, msgspec, numpy, orjson, ...
        from provledger.exports.reports import render

        text = render(report, fmt)
        if output is None:
            typer.echo(text, nl=False)
        else:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise fail(f"cannot write {output}: {exc.strerror}") from None
            typer.echo(f"Wrote the {fmt.value} audit of {dataset} to {output}", err=True)
    if fail_on is not None:
        failing = report.fails(fail_on.value)
        if failing:
            codes = ", ".join(dict.fromkeys(f.code for f in failing))
            typer.echo(
                f"Failing: {plural(len(failing), 'finding')} at or above {fail_on.value} ({codes})",
                err=True,
            )
            raise typer.Exit(FAIL_ON_EXIT)
