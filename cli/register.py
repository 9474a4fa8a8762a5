"""``provledger register`` and ``provledger prove``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from provledger.cli.common import (
    DEFAULT_MAX_INPUT,
    DEFAULT_MAX_LINE,
    DEFAULT_WAIT,
    Home,
    Json,
    MaxInputSize,
    MaxLineSize,
    Wait,
    emit_json,
    fail,
    open_ledger,
    read_limits,
    read_note_file,
)


def register(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL (.jsonl, .jsonl.gz), CSV (.csv, .csv.gz), a JSON array (.json), "
            "Parquet, or a folder of Parquet shards (one batch, in file-name order)."
        ),
    ],
    dataset: Annotated[
        str, typer.Option("--dataset", help="Dataset the batch joins (must exist).")
    ],
    source: Annotated[
        str,
        typer.Option("--source", help="scraped | licensed | first_party | synthetic."),
    ],
    license: Annotated[
        str | None,
        typer.Option(
            "--license", metavar="ID@VERSION", help="License ID@VERSION (required for licensed)."
        ),
    ] = None,
    consent: Annotated[
        str | None,
        typer.Option(
            "--consent",
            metavar="POLICY@VERSION",
            help="Consent POLICY@VERSION (required for first_party).",
        ),
    ] = None,
    origin: Annotated[
        str | None, typer.Option("--origin", metavar="URI", help="Where the data came from (URI).")
    ] = None,
    collected_at: Annotated[
        str | None,
        typer.Option("--collected-at", metavar="DATE", help="When it was collected (ISO-8601)."),
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
        str,
        typer.Option("--text-field", metavar="FIELD", help="Field whose text is content-hashed."),
    ] = "text",
    subject_field: Annotated[
        str | None,
        typer.Option(
            "--subject-field",
            metavar="FIELD",
            help="Field holding the data subject id (HMAC'd, never stored).",
        ),
    ] = None,
    derived_from: Annotated[
        list[str] | None,
        typer.Option(
            "--derived-from", metavar="BATCH", help="Parent batch id; repeat for several."
        ),
    ] = None,
    generator: Annotated[
        str | None,
        typer.Option(
            "--generator", metavar="TEXT", help="What generated it (required for synthetic)."
        ),
    ] = None,
    cost: Annotated[
        float | None,
        typer.Option("--cost", metavar="AMOUNT", help="Acquisition cost of the batch."),
    ] = None,
    sketches: Annotated[
        bool,
        typer.Option(
            "--sketches/--no-sketches",
            help="Store near-duplicate signatures (40 bytes a record) and the batch's n-gram "
            "profile, for near-duplicate, distribution and diversity figures.",
        ),
    ] = True,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            help="How it was acquired: public_dataset | own_crawl | third_party_crawl | "
            "rightsholder_license | data_broker | user_data_this_service | "
            "user_data_other_service | synthetic | other. Default: own_crawl (scraped), "
            "rightsholder_license (licensed), user_data_this_service (first_party), "
            "synthetic (synthetic).",
        ),
    ] = None,
    modality: Annotated[
        str | None,
        typer.Option(
            "--modality",
            help="text | image | audio | video | tabular | code | other (default text).",
        ),
    ] = None,
    language: Annotated[
        list[str] | None,
        typer.Option(
            "--language",
            metavar="TAG",
            help="BCP 47 language tag of the content; repeat for several.",
        ),
    ] = None,
    crawler: Annotated[
        str | None,
        typer.Option(
            "--crawler",
            metavar="AGENT",
            help="User agent of the crawler that collected it (crawls).",
        ),
    ] = None,
    opt_out: Annotated[
        Path | None,
        typer.Option(
            "--opt-out",
            metavar="FILE",
            help="JSON file of the opt-out checks made at collection (crawls): checked_at, "
            "robots_txt {sha256, agents, verdict}, tdmrep {reserved, policy}, "
            "ai_preference {train_ai}. See docs/disclosures.md.",
        ),
    ] = None,
    generator_model: Annotated[
        str | None,
        typer.Option(
            "--generator-model", metavar="MODEL", help="Model that generated it (synthetic)."
        ),
    ] = None,
    generator_terms: Annotated[
        str | None,
        typer.Option(
            "--generator-terms", metavar="TERMS", help="Terms of use of that model (synthetic)."
        ),
    ] = None,
    processing: Annotated[
        str | None,
        typer.Option(
            "--processing", metavar="TEXT", help="How it was cleaned or processed, and why."
        ),
    ] = None,
    hours: Annotated[
        float | None,
        typer.Option("--hours", metavar="HOURS", help="Hours of content (audio and video)."),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="local|ray",
            help="local | ray: where records are hashed. ray hashes a Parquet file's row "
            "ranges on the cluster in RAY_ADDRESS (else a local Ray); needs provledger[ray].",
        ),
    ] = "local",
    shards: Annotated[
        Path | None,
        typer.Option(
            "--shards",
            metavar="DIR",
            help="Folder to write the records' hashes to as Parquet hash shards, instead of "
            "the ledger file (crawl scale; the signed entry lists each shard's SHA-256).",
        ),
    ] = None,
    shard_rows: Annotated[
        int | None,
        typer.Option(
            "--shard-rows",
            metavar="N",
            help="Records per shard with --shards: a power of two (default 1048576). "
            "Input hashed by worker processes (large JSONL and Parquet files) is written "
            "by the workers, one shard per range, and ignores it.",
        ),
    ] = None,
    max_line_size: MaxLineSize = DEFAULT_MAX_LINE,
    max_input_size: MaxInputSize = DEFAULT_MAX_INPUT,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Register one batch: hash every record, build its Merkle root, and append a signed
    entry, all in one transaction. Large inputs are hashed before the ledger is locked,
    so audits and look-ups can run meanwhile.

    Example:

      provledger register tickets.jsonl --dataset support --source first_party
        --consent support-tos@2 --subject-field customer_id --collected-at 2026-03-01
    """
    # Deferred for start-up time: loads duckdb, msgspec, numpy, orjson, rfc8785
    from provledger.ingest.register import BatchSpec, progress_unit

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
        channel=channel,
        modality=modality,
        languages=list(language or []),
        crawler=crawler,
        opt_out=opt_out,
        generator_model=generator_model,
        generator_terms=generator_terms,
        processing=processing,
        hours=hours,
    )
    limits = read_limits(max_line_size, max_input_size)
    show_progress = not json and sys.stderr.isatty()
    with open_ledger(home, wait=wait) as led:
        if show_progress:
            # Deferred for start-up time: loads rich
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
                    limits=limits,
                    engine=engine,
                    shards=shards,
                    shard_rows=shard_rows,
                )
        else:
            result = led.register(
                file,
                spec=spec,
                limits=limits,
                engine=engine,
                shards=shards,
                shard_rows=shard_rows,
            )
    if json:
        emit_json(result.as_dict())
    else:
        typer.echo(
            f"Registered {result.records:,} records from {file} as batch {result.batch_id} "
            f"({result.source}, {result.split}) in dataset {result.dataset}; "
            f"Merkle root {result.merkle_root} (seq {result.seq})"
        )


def prove(
    batch_id: Annotated[
        str | None, typer.Argument(help="Batch id, as printed by register (e.g. b7).")
    ] = None,
    record_hash: Annotated[
        str | None, typer.Argument(help="The record's SHA-256 hash (hex).")
    ] = None,
    index: Annotated[
        int | None,
        typer.Option(
            "--index",
            min=0,
            help="Leaf index to prove when the batch holds the record more than once "
            "(default: the first; every index is listed).",
        ),
    ] = None,
    entry: Annotated[
        int | None,
        typer.Option(
            "--entry", min=1, help="Prove that log entry SEQ is in the log at a checkpoint."
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="With --entry: the signed note to prove against (default: the latest).",
        ),
    ] = None,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Print an RFC 9162 inclusion proof: of a record in a batch, or (--entry) of a log
    entry in the log at a checkpoint's size.

    Any RFC 9162 (Certificate Transparency v2) implementation can check either. For a
    record: leaf = SHA-256(0x00 || record hash bytes), root = the batch's Merkle root. For
    an entry: leaf = SHA-256(0x00 || entry hash bytes), leaf index = seq - 1, root = the
    note's root; the entry hash is the SHA-256 of the printed canonical entry. Tie a record
    to a signed checkpoint with both: 'prove BATCH HASH' then 'prove --entry SEQ' of the
    batch's batch-registered entry.
    """
    if entry is not None:
        if batch_id is not None or index is not None:
            raise fail("give either --entry SEQ or BATCH_ID RECORD_HASH, not both")
        note = read_note_file(checkpoint) if checkpoint is not None else None
        with open_ledger(home, read_only=True, wait=wait) as led:
            entry_proof = led.prove_entry(entry, note, source=str(checkpoint))
        if json:
            emit_json(entry_proof.as_dict())
            return
        e = entry_proof.entry
        typer.echo(f"entry       seq {e['seq']} ({e['kind']})")
        typer.echo(f"entry hash  {e['entry_hash']}")
        typer.echo(f"leaf index  {entry_proof.leaf_index} of {entry_proof.tree_size}")
        typer.echo(f"root        {entry_proof.root}")
        for i, node in enumerate(entry_proof.path):
            typer.echo(f"path[{i}]     {node}")
        typer.echo(f"canonical   {entry_proof.canonical_entry}")
        typer.echo("checkpoint:")
        typer.echo(entry_proof.note, nl=False)
        return
    if checkpoint is not None:
        raise fail("--checkpoint goes with --entry SEQ")
    if batch_id is None or record_hash is None:
        raise fail("give BATCH_ID RECORD_HASH, or --entry SEQ")
    with open_ledger(home, read_only=True, wait=wait) as led:
        proof = led.prove(batch_id, record_hash, index)
        checked = led.read_check()
    if json:
        emit_json(proof.as_dict() | {"checked": checked.as_dict()})
        return
    typer.echo(f"batch       {proof.batch_id}")
    typer.echo(f"record      {proof.record_hash}")
    typer.echo(f"leaf index  {proof.leaf_index} of {proof.tree_size}")
    if len(proof.occurrences) > 1:
        at = ", ".join(str(i) for i in proof.occurrences)
        typer.echo(f"occurs at   leaf index {at} (choose one with --index)")
    typer.echo(f"root        {proof.root}")
    for i, node in enumerate(proof.path):
        typer.echo(f"path[{i}]     {node}")
