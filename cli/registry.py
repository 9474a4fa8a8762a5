"""``provledger license``, ``provledger consent`` and ``provledger dataset``: the things a
batch is registered against. Each command opens the ledger, calls one
``provledger.registry.operations``
function and renders its result; every rule lives in the library."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from provledger.cli.common import DEFAULT_WAIT, Home, Json, Wait, emit_json, open_ledger, print_rich
from provledger.vocabulary import CONTEXTS, USES
from provledger.wording import cell

if TYPE_CHECKING:
    from provledger.registry.views import DatasetView

_USE_HELP = " | ".join(USES)
_CONTEXT_HELP = " | ".join(CONTEXTS)

ManifestFile = Annotated[
    Path,
    typer.Argument(metavar="FILE.json", help="The manifest (JSON object).", show_default=False),
]
UseOption = Annotated[
    list[str] | None,
    typer.Option(
        "--use",
        metavar="USE",
        help=f"Intended use; repeat for several: {_USE_HELP}.",
        show_default=False,
    ),
]

license_app = typer.Typer(
    name="license",
    help="Licenses batches are registered under (--license ID@VERSION).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
consent_app = typer.Typer(
    name="consent",
    help="Consent policy versions first-party batches are registered under "
    "(--consent POLICY@VERSION).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
dataset_app = typer.Typer(
    name="dataset",
    help="Datasets: owner, use context and intended uses.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _cell(value: Any) -> str:
    if isinstance(value, dict):  # a consent version's fates of earlier versions
        return ", ".join(f"v{k}: {v}" for k, v in value.items()) or "-"
    return cell(value)


def _changed(row: DatasetView) -> str | None:
    when = row.context_changed_at
    return f"{when[:10]} (seq {row.context_changed_seq})" if when else None


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    # Deferred for start-up time: loads rich
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for i, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=i == 0)
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    print_rich(table)


# -- license ------------------------------------------------------------------------------
@license_app.command("add")
def license_add(
    file: ManifestFile, home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT
) -> None:
    """Record a license version from a JSON manifest, as a signed entry.

    A version never changes once added: a changed contract is a new version. Unknown
    fields, unknown uses, an unknown SPDX license, a malformed hash or an expiry before
    the effective date are refused, naming the field.

    \b
    Example license.json:
      {"id": "support-corpus", "version": 1, "title": "Support conversations",
       "licensor": "Acme Data Ltd", "grants": ["train", "evaluate"],
       "effective_from": "2025-01-01", "expires_on": "2026-12-31",
       "spdx": null, "document_sha256": null}

    \b
      provledger license add license.json
      provledger register chats.jsonl --dataset support --source licensed --license support-corpus@1
    """
    with open_ledger(home, wait=wait) as led:
        added = led.add_license(file)
    if json:
        emit_json(added.as_dict())
    else:
        typer.echo(f"Added license {added.license} (seq {added.seq})")


@license_app.command("list")
def license_list(home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT) -> None:
    """List every license version, by id then version.

    \b
      provledger license list
      provledger license list --json
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        rows = led.licenses()
    if json:
        emit_json([r.as_dict() for r in rows])
    elif not rows:
        typer.echo("No licenses yet: add one with 'provledger license add FILE.json'")
    else:
        _table(
            "Licenses",
            ["license", "licensor", "grants", "effective", "expires", "spdx", "seq"],
            [
                [r.license, r.licensor, r.grants, r.effective_from, r.expires_on,
                 r.spdx, r.seq]
                for r in rows
            ],
        )  # fmt: skip


# -- consent ------------------------------------------------------------------------------
@consent_app.command("add")
def consent_add(
    file: ManifestFile, home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT
) -> None:
    """Record a consent policy version from a JSON manifest, as a signed entry.

    Versions of a policy are added in order (1, then 2, ...), and each version gives the
    fate of records collected under every earlier one: grandfathered, reconsent_required
    or revoked.

    \b
    Example consent-v2.json:
      {"policy": "support-tos", "version": 2, "effective_from": "2025-06-01",
       "permits": ["train", "evaluate"], "retention_days": 365,
       "prior_versions": {"1": "reconsent_required"}}

    \b
      provledger consent add consent-v2.json
    """
    with open_ledger(home, wait=wait) as led:
        added = led.add_consent(file)
    if json:
        emit_json(added.as_dict())
    else:
        typer.echo(f"Added consent version {added.consent} (seq {added.seq})")


@consent_app.command("list")
def consent_list(home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT) -> None:
    """List every consent policy version, by policy then version.

    \b
      provledger consent list
      provledger consent list --json
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        rows = led.consent_versions()
    if json:
        emit_json([r.as_dict() for r in rows])
    elif not rows:
        typer.echo(
            "No consent policy versions yet: add one with 'provledger consent add FILE.json'"
        )
    else:
        _table(
            "Consent policy versions",
            ["consent", "effective", "permits", "retention days", "earlier versions",
             "superseded by", "seq"],
            [
                [r.consent, r.effective_from, r.permits, r.retention_days,
                 r.prior_versions, r.superseded_by, r.seq]
                for r in rows
            ],
        )  # fmt: skip


# -- dataset ------------------------------------------------------------------------------
@dataset_app.command("create")
def dataset_create(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="Letters, digits, '.', '_' and '-' only.", show_default=False
        ),
    ],
    owner: Annotated[
        str,
        typer.Option(
            "--owner", metavar="WHO", help="Accountable person or team.", show_default=False
        ),
    ],
    context: Annotated[
        str,
        typer.Option(
            "--context",
            metavar="CONTEXT",
            help=f"Where models trained on it are used: {_CONTEXT_HELP}.",
            show_default=False,
        ),
    ],
    use: UseOption = None,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Create a dataset, as a signed entry.

    \b
      provledger dataset create support-tickets --owner ml-platform \\
        --context customer_facing --use train --use evaluate
    """
    with open_ledger(home, wait=wait) as led:
        created = led.create_dataset(name, owner=owner, context=context, uses=list(use or []))
    if json:
        emit_json(created.as_dict())
    else:
        typer.echo(
            f"Created dataset {created.dataset} (owner {created.owner}, context "
            f"{created.context}, uses {', '.join(created.uses)}; seq {created.seq})"
        )


@dataset_app.command("set-context")
def dataset_set_context(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="An existing dataset.", show_default=False)
    ],
    context: Annotated[
        str,
        typer.Option(
            "--context",
            metavar="CONTEXT",
            help=f"New context: {_CONTEXT_HELP}.",
            show_default=False,
        ),
    ],
    use: UseOption = None,
    home: Home = None,
    json: Json = False,
    wait: Wait = DEFAULT_WAIT,
) -> None:
    """Record a dataset's new use context, and new intended uses when --use is given
    (without --use the uses stay as they are). Earlier states stay in the ledger; audits
    use the latest. Refused when nothing would change.

    \b
      provledger dataset set-context support-tickets --context regulated
      provledger dataset set-context support-tickets --context regulated --use evaluate
    """
    with open_ledger(home, wait=wait) as led:
        changed = led.set_context(name, context=context, uses=list(use) if use else None)
    if json:
        emit_json(changed.as_dict())
    else:
        typer.echo(
            f"Dataset {changed.dataset}: context {changed.context}, uses "
            f"{', '.join(changed.uses)} (seq {changed.seq}, state {changed.states})"
        )


@dataset_app.command("list")
def dataset_list(home: Home = None, json: Json = False, wait: Wait = DEFAULT_WAIT) -> None:
    """List every dataset's current state, with how many states it has had and when its
    context last changed.

    \b
      provledger dataset list
      provledger dataset list --json
    """
    with open_ledger(home, read_only=True, wait=wait) as led:
        rows = led.datasets()
    if json:
        emit_json([r.as_dict() for r in rows])
    elif not rows:
        typer.echo(
            "No datasets yet: create one with 'provledger dataset create NAME --owner WHO "
            "--context CONTEXT --use USE'"
        )
    else:
        _table(
            "Datasets",
            ["dataset", "owner", "context", "uses", "states", "context changed", "seq"],
            [
                [r.dataset, r.owner, r.context, r.uses, r.states,
                 _changed(r), r.seq]
                for r in rows
            ],
        )  # fmt: skip
