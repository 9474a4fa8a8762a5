"""``provledger register`` and ``provledger prove``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DEFAULT_WAIT, Home, Json, Wait, emit_json, open_ledger


def register(
    file: Annotated[Path, typer.Argument(help="JSONL (.jsonl, .jsonl.gz), CSV or Parquet file.")],
    dataset: Annotated[
        str, typer.Option("--dataset", help="Dataset the batch joins (must exist).")
    ],
    source: Annotated[
        str,
        typer.Option("--source", help="scraped | licensed | first_party | synthetic."),
    ],
    license: Annotated[
        str | None, typer.Option("--license", help="License ID@VERSION (required for licensed).")
    ] = None,
    consent: Annotated[
        str | None,
        typer.Option("--consent", help="Consent POLICY@VERSION (required for first_party)."),
    ] = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="Where the data came from (URI).")
    ] = None,
    collected_at: Annotated[
        str | None, typer.Option("--collected-at", help="When it was collected (ISO-8601).")
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="train | validation | test | reference (a production sample, the yardstick "
            "for distribution match) | benchmark (a public eval set to guard against).",
        ),
    ] = "train",
    text_field: Annotated[
        str, typer.Option("--text-field", help="Field whose text is content-hashed.")
    ] = "text",
    subject_field: Annotated[
        str | None,
        typer.Option(
            "--subject-field", help="Field holding the data subject id (HMAC'd, never stored)."
        ),
    ] = None,
    derived_from: Annotated[
        list[str] | None,
        typer.Option("--derived-from", help="Parent batch id; repeat for several."),
    ] = None,
    generator: Annotated[
        str | None, typer.Option("--generator", help="What generated it (required for synthetic).")
    ] = None,
    cost: Annotated[
        float | None, typer.Option("--cost", help="Acquisition cost of the batch.")
    ] = None,
    sketches: Annotated[
        bool,
        typer.Option(
            "--sketches/--no-sketches",
            help="Store near-duplicate signatures (40 bytes a record) and the batch's n-gram "
            "profile, for near-duplicate, distribution and diversity figures.",
        ),
    ] = True,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Register one batch: hash every record, build its Merkle root, and append a signed
    entry, all in one transaction.

    Example:

      provledger register tickets.jsonl --dataset support --source first_party
        --consent support-tos@2 --subject-field customer_id --collected-at 2026-03-01
    """
    from ledger.ingest import BatchSpec, progress_unit

    spec = BatchSpec(
        dataset=dataset,
        source=source,
        license=license,
        consent=consent,
        origin=origin,
        collected_at=collected_at,
        split=split,
        text_field=text_field,
        subject_field=subject_field,
        derived_from=list(derived_from or []),
        generator=generator,
        cost=cost,
        sketches=sketches,
    )
    show_progress = not json and sys.stderr.isatty()
    with open_ledger(home, wait=wait) as led:
        if show_progress:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            unit = progress_unit(file)
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                TextColumn("{task.completed:,.0f} " + unit),
                TimeElapsedColumn(),
                transient=True,
            ) as bar:
                task = bar.add_task(f"hashing {file.name}", total=None)
                result = led.register(
                    file,
                    spec=spec,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        else:
            result = led.register(file, spec=spec)
    if json:
        emit_json(result.as_dict())
    else:
        typer.echo(
            f"Registered {result.records:,} records from {file} as batch {result.batch_id} "
            f"({result.source}, {result.split}) in dataset {result.dataset}; "
            f"Merkle root {result.merkle_root} (seq {result.seq})"
        )


def prove(
    batch_id: Annotated[str, typer.Argument(help="Batch id, as printed by register (e.g. b7).")],
    record_hash: Annotated[str, typer.Argument(help="The record's SHA-256 hash (hex).")],
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Print an RFC 9162 inclusion proof that a record belongs to a batch.

    Any RFC 9162 (Certificate Transparency v2) implementation can check it: leaf =
    SHA-256(0x00 || record hash bytes), path in RFC order, root = the batch's Merkle root.
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        proof = led.prove(batch_id, record_hash)
    if json:
        emit_json(proof.as_dict())
        return
    typer.echo(f"batch       {proof.batch_id}")
    typer.echo(f"record      {proof.record_hash}")
    typer.echo(f"leaf index  {proof.leaf_index} of {proof.tree_size}")
    typer.echo(f"root        {proof.root}")
    for i, node in enumerate(proof.path):
        typer.echo(f"path[{i}]     {node}")
