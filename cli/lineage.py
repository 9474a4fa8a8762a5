"""``provledger lineage``, ``erase``, ``verify-receipt``, ``export``, ``check`` and the
``model`` group: answering a deletion request. Each command opens the ledger, calls one
``provledger.lineage`` function (through ``Ledger``) and renders its result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from provledger.atomic import write_atomically
from provledger.cli.common import (
    DEFAULT_MAX_INPUT,
    DEFAULT_MAX_LINE,
    DEFAULT_WAIT,
    Home,
    Json,
    MaxInputSize,
    MaxLineSize,
    PubKeyPin,
    VKeyPin,
    Wait,
    emit_json,
    fail,
    load_pin,
    open_ledger,
    read_limits,
)
from provledger.exports.formats import StandardExport
from provledger.wording import count, plural

if TYPE_CHECKING:
    from provledger.lineage.results import Lineage

model_app = typer.Typer(
    name="model",
    help="Models (training runs or releases) and the datasets they consumed.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SubjectOption = Annotated[
    str | None,
    typer.Option(
        "--subject",
        metavar="ID",
        help="Data subject id (keyed with the ledger's subject key, never stored or shown); "
        "'-' reads it from stdin.",
        show_default=False,
    ),
]


def _subject(value: str | None) -> str | None:
    # '-' keeps the id out of the shell history and the process list.
    if value == "-":
        return sys.stdin.readline().rstrip("\r\n")
    return value


def _ids(values: list[str]) -> str:
    return ", ".join(values) or "-"


def lineage(
    subject: SubjectOption = None,
    record: Annotated[
        str | None,
        typer.Option("--record", metavar="HASH", help="Record hash (64 hex digits)."),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", help="A text, normalised and hashed like content_hash."),
    ] = None,
    near: Annotated[
        bool,
        typer.Option(
            "--near",
            help="With --text: also near copies (word 5-gram Jaccard of about 0.8 and up, "
            "estimated from the stored signatures).",
        ),
    ] = False,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Find the records of a data subject, a record hash or a text; the batches that hold
    them and every batch derived from those; their datasets; and the models trained on
    them. Exits 0 whether or not anything matches.

    Example:

      provledger lineage --subject C-100482
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        result = led.lineage(subject=_subject(subject), record=record, text=text, near=near)
        checked = led.read_check()
    if json:
        emit_json(result.as_dict() | {"checked": checked.as_dict()})
    else:
        _show_lineage(result)


def _show_lineage(result: Lineage) -> None:
    by = result.query.by
    what = {
        "subject": "this subject",
        "record": f"record hash {result.query.hash}",
        "text": "this text or a near copy" if result.query.near else "this text",
    }[by]
    if not result.found:
        typer.echo(f"No records match {what}.")
        return
    direct = [b for b in result.batches if b.relation == "direct"]
    derived = [b for b in result.batches if b.relation == "derived"]
    typer.echo(
        f"{plural(len(result.records), 'record')} "
        f"{'match' if len(result.records) > 1 else 'matches'} {what}, "
        f"in {plural(len(direct), 'batch')}; reached: {plural(len(derived), 'derived batch')}, "
        f"{plural(len(result.datasets), 'dataset')}, {plural(len(result.models), 'model')}."
    )
    typer.echo("records (batch:ord, record hash)")
    width = max(len(f"{r.batch_id}:{r.ord}") for r in result.records)
    for r in result.records:
        state = f"  erased by {r.erased_by}" if r.erased else ""
        where = f"{r.batch_id}:{r.ord}"
        typer.echo(f"  {where:<{width}}  {r.record_hash}{state}")
    typer.echo("batches")
    for b in result.batches:
        held = (
            f"{count(b.records)} of {plural(b.batch_records, 'record')}"
            if b.relation == "direct"
            else f"from {_ids(b.derived_from)}"
        )
        where = b.file or b.origin or "-"
        typer.echo(f"  {b.batch_id:<6} {b.relation:<8} {b.dataset}  {b.source}  {held}  {where}")
    typer.echo("datasets")
    for d in result.datasets:
        typer.echo(
            f"  {d.dataset}  owner {d.owner or '-'}  context {d.context or '-'}  "
            f"batches {_ids(d.batches)}"
        )
    typer.echo("models")
    for m in result.models:
        typer.echo(f"  {m.name}  (seq {m.seq})  via {_ids(m.batches)}")
    if not result.models:
        typer.echo("  none")
    if result.same_text:
        typer.echo("same text, other record hash (for review; 'erase --include-same-text')")
        for t in result.same_text:
            state = "  erased" if t.erased else ""
            typer.echo(f"  {t.batch_id}:{t.ord}  {t.record_hash}{state}")
    if result.erased:
        refs = ", ".join(f"{e.request_ref} (seq {e.seq})" for e in result.erasures)
        typer.echo(f"Erased: yes, by request {refs}")
    elif result.erasures:
        typer.echo("Erased: partly; the records without 'erased by' are still active")
    else:
        typer.echo("Erased: no")


def erase(
    subject: Annotated[
        str,
        typer.Option(
            "--subject",
            metavar="ID",
            help="Data subject id (keyed with the ledger's subject key, never stored or "
            "shown); '-' reads it from stdin.",
            show_default=False,
        ),
    ],
    request: Annotated[
        str, typer.Option("--request", metavar="REF", help="The deletion request's reference.")
    ],
    receipt: Annotated[
        Path | None,
        typer.Option("--receipt", metavar="FILE", help="Write the signed receipt here."),
    ] = None,
    include_same_text: Annotated[
        bool,
        typer.Option(
            "--include-same-text",
            help="Also erase the records elsewhere whose normalised text equals one of the "
            "subject's records but whose record hash differs (without it they are only "
            "listed for review).",
        ),
    ] = False,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Record an erasure request: every active copy of the subject's records (the same
    record hash, in every batch and dataset) is left out of audits and exports from now
    on. History is not rewritten and 'verify' still passes. The same request again changes
    nothing (and writes the receipt again).

    Example:

      provledger erase --subject C-100482 --request DSR-2026-0142 --receipt dsr.json
    """
    with open_ledger(home, wait=wait) as led:
        result = led.erase(_subject(subject) or "", request, include_same_text=include_same_text)
        document = led.receipt(request) if receipt is not None else None
    if receipt is not None and document is not None:
        try:
            write_atomically(receipt, _json_bytes(document))
        except OSError as exc:
            raise fail(
                f"erasure {result.request_ref} is committed at seq {result.seq}, but its "
                f"receipt could not be written to {receipt}: {exc.strerror}. Run the same "
                "'provledger erase' command again with another --receipt path to write it "
                "(the erasure is not recorded twice)."
            ) from None
    if json:
        emit_json(result.as_dict() | {"receipt": str(receipt) if receipt else None})
        return
    if result.already_recorded:
        typer.echo(f"Request {result.request_ref} was already recorded at seq {result.seq}; "
                   "nothing changed.")  # fmt: skip
    else:
        typer.echo(
            f"Erasure {result.request_ref} recorded at seq {result.seq}: "
            f"{plural(result.records, 'record')} in {plural(len(result.batches), 'batch')} "
            f"({_ids(result.batches)})."
        )
        typer.echo(
            f"Rebuild or review: derived batches {_ids(result.derived_batches)}; "
            f"models {_ids(result.models)}."
        )
    if result.same_text and not result.already_recorded:
        state = (
            "erased too (--include-same-text)"
            if result.same_text_erased
            else "not erased; review them, and erase them too with --include-same-text"
        )
        where = _ids([f"{r.batch_id}:{r.ord}" for r in result.same_text])
        typer.echo(
            f"Same text, other record hash: {plural(len(result.same_text), 'record')} "
            f"({where}), {state}."
        )
    if receipt is not None:
        typer.echo(f"Receipt written to {receipt}")


def _json_bytes(value: Any) -> bytes:
    # Deferred for start-up time: loads orjson
    import orjson

    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


def verify_receipt(
    file: Annotated[Path, typer.Argument(help="A receipt written by 'erase --receipt'.")],
    home: Home = None,
    pubkey: PubKeyPin = None,
    vkey: VKeyPin = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Check an erasure receipt: its Ed25519 signature against this ledger's public key,
    and that the ledger holds its erasure entry with the same hash. Exits 1 if not.

    Pin the key (--pubkey/--vkey) when whoever holds the home could have replaced it."""
    try:
        document = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from None
    pin = load_pin(pubkey, vkey)
    with open_ledger(home, read_only=True, wait=wait, pin=pin) as led:
        result = led.verify_receipt(document, source=str(file))
    if json:
        emit_json(result.as_dict())
        return
    typer.echo(
        f"OK: receipt for request {result.request_ref} is signed by this ledger's key "
        f"{result.key_id} and matches entry seq {result.seq} ({result.entry_hash})"
    )


ExportFormat = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="parquet (the active record manifest), croissant (Croissant 1.1 JSON-LD with "
        "RAI fields), openlineage (RunEvents as JSON lines), prov (W3C PROV-JSON), prov-n "
        "(PROV-N text) or prov-svg (a Graphviz picture).",
    ),
]


def export(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="File to write."),
    ],
    format: ExportFormat = "parquet",
    emit: Annotated[
        str | None,
        typer.Option(
            "--emit",
            metavar="URL",
            help="With --format openlineage: also POST each event to this OpenLineage "
            "endpoint (URL/api/v1/lineage, e.g. a Marquez server).",
        ),
    ] = None,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Export a dataset, erased records always left out. The default, parquet, writes the
    active record manifest (batch_id, record_hash, content_hash): purge a copy of the data
    with an anti-join. The standard formats describe the dataset's provenance for other
    tools (counts, Merkle roots and the signed checkpoint; no record hashes); see
    docs/exports.md.

    Example:

      provledger export support-ticket-classifier --format croissant -o croissant.json
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        result = led.export(dataset, output, format=format, emit=emit)
        checked = led.read_check()
    if json:
        emit_json(result.as_dict() | {"checked": checked.as_dict()})
        return
    if not isinstance(result, StandardExport):
        typer.echo(
            f"Wrote {plural(result.records, 'active record')} of dataset {result.dataset} to "
            f"{result.output} ({plural(result.erased_left_out, 'erased record')} left out)"
        )
        return
    typer.echo(
        f"Wrote {format} export of dataset {result.dataset} to {result.output} "
        f"({result.bytes:,} bytes, {result.records} active records, "
        f"{result.erased_left_out} erased records left out)"
    )
    if result.emitted is not None:
        typer.echo(f"Posted {result.emitted} OpenLineage events to {emit}")


def check(
    file: Annotated[
        Path, typer.Argument(help="A rebuilt data file (any format 'register' reads).")
    ],
    dataset: Annotated[str, typer.Option("--dataset", help="The dataset it was rebuilt for.")],
    text_field: Annotated[
        str | None,
        typer.Option("--text-field", metavar="FIELD", help="Text field (default: the dataset's)."),
    ] = None,
    max_line_size: MaxLineSize = DEFAULT_MAX_LINE,
    max_input_size: MaxInputSize = DEFAULT_MAX_INPUT,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Confirm that a rebuilt data file holds no erased record (erased from this dataset
    or any other); list the lines of any it does and exit 1."""
    with open_ledger(home, read_only=True, wait=wait) as led:
        result = led.check(
            file, dataset, text_field=text_field, limits=read_limits(max_line_size, max_input_size)
        )
        checked = led.read_check()
    if json:
        emit_json(result.as_dict() | {"checked": checked.as_dict()})
    elif result.ok:
        typer.echo(
            f"OK: {file} holds none of the {result.erased_records} erased records in the "
            f"ledger ({result.records} records checked)"
        )
    if not result.ok:
        lines = ", ".join(f"line {f.line} ({f.request_ref})" for f in result.found)
        raise fail(f"{file} still holds {len(result.found)} erased records: {lines}")


@model_app.command("register")
def model_register(
    name: Annotated[str, typer.Argument(help="Model name, e.g. ticket-router-2026.03.")],
    dataset: Annotated[
        list[str],
        typer.Option("--dataset", metavar="NAME", help="A dataset it used; repeat for several."),
    ],
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Record that a model consumed these datasets as the ledger stands now: lineage
    reaches it only through batches registered before it."""
    with open_ledger(home, wait=wait) as led:
        result = led.register_model(name, list(dataset))
    if json:
        emit_json(result.as_dict())
        return
    typer.echo(
        f"Registered model {result.name} at seq {result.seq}: trained on "
        f"{_ids(result.datasets)} as the ledger stood at seq {result.as_of_seq}"
    )


@model_app.command("list")
def model_list(home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT) -> None:
    """List every registered model, oldest first."""
    with open_ledger(home, read_only=True, wait=wait) as led:
        models = led.models()
    if json:
        emit_json([m.as_dict() for m in models])
        return
    if not models:
        typer.echo("No models registered.")
        return
    name = max(len("model"), *(len(m.name) for m in models))
    when = max(len("recorded at"), *(len(m.recorded_at) for m in models))
    typer.echo(f"{'seq':>6}  {'recorded at':<{when}}  {'model':<{name}}  datasets")
    for m in models:
        typer.echo(f"{m.seq:>6}  {m.recorded_at:<{when}}  {m.name:<{name}}  {_ids(m.datasets)}")
