"""``provledger demo``: the worked example, end to end, in a fresh ledger."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from provledger.cli.common import Json, emit_json, print_rich
from provledger.demo import run_demo


def demo(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            metavar="DIR",
            help="Build the demo ledger here (a new or empty folder). "
            "Default: a new temporary folder, kept so you can explore it.",
            show_default=False,
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Build the worked example in a fresh ledger and audit it.

    Registers every file of sample_datasets/ (scraped, licensed, first-party and synthetic
    support-ticket data), registers a model, answers a deletion request (lineage, erase,
    signed receipt), verifies the ledger and prints the audit, in which every failure mode
    shows up with the figures sample_datasets/README.md predicts, then publishes and prints
    the model's EU training-content summary and California AB 2013 page. It never uses
    ./.provledger or PROVLEDGER_HOME.
    """

    target = home if home is not None else Path(tempfile.mkdtemp(prefix="provledger-demo-"))
    try:
        result = run_demo(target, say=None if json else typer.echo)
    except BaseException:
        if home is None:
            shutil.rmtree(target, ignore_errors=True)
        raise
    if json:
        emit_json(
            {
                "home": str(result.home),
                "dataset": result.dataset,
                "batches": {f: r.batch_id for f, r in result.batches.items()},
                "model": result.model.as_dict() if result.model else None,
                "erasure": {
                    "subject": result.subject,
                    "request_ref": result.request_ref,
                    "receipt": str(result.receipt_path),
                },
                "verified": bool(result.verify and result.verify.ok),
                "report": str(result.report_path),
                "audit": result.audit_json,
                "disclosures": {t: d.as_dict() for t, d in result.disclosures.items()},
            }
        )
        return
    # Deferred for start-up time: loads cryptography, duckdb, msgspec, numpy, orjson, pydantic, ...
    from provledger.exports.reports import table

    typer.echo("")
    assert result.audit is not None
    print_rich(table(result.audit))
    typer.echo("")
    typer.echo(f"HTML report:     {result.report_path}")
    typer.echo(f"Erasure receipt: {result.receipt_path}")
    for template, path in result.disclosure_paths.items():
        typer.echo(f"{template + ':':<16} {path} (also .html, .json)")
    typer.echo(f"Ledger home:     {result.home}")
    typer.echo(
        f"Explore it with --home {result.home}: e.g. 'provledger log', "
        f"'provledger audit {result.dataset} --format markdown', "
        f"'provledger lineage --subject {result.subject}'"
    )
    # Deferred for start-up time: loads msgspec, orjson, pydantic, rfc8785
    from provledger.exports.disclose import render

    for doc in result.disclosures.values():
        typer.echo("")
        typer.echo(render(doc, "markdown"), nl=False)
