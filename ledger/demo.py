"""The worked example as one library call: build a fresh ledger from ``sample_datasets/``,
register every batch, register a model, answer a deletion request, verify, and audit.

    from provledger.demo import run_demo
    result = run_demo("/tmp/demo-home", say=print)
    result.audit_json["consent"]["noncompliant"]

What it does is read from ``sample_datasets/batches.json`` (written by
``sample_datasets/generate.py``), so the demo, the sample's README and its tests describe
the same files. ``say`` receives one progress line per step.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provledger.errors import InputError, IntegrityError
from provledger.wording import plural

if TYPE_CHECKING:
    from provledger.audit import AuditReport
    from provledger.exports.disclosure import Disclosure
    from provledger.ingest.register import RegisterResult
    from provledger.ledger import Ledger
    from provledger.lineage.models import RegisteredModel
    from provledger.lineage.results import Lineage
    from provledger.verify import VerifyReport

__all__ = ["SAMPLE_DIR", "DemoResult", "load_plan", "run_demo"]

# The sample ships inside the package (sample_datasets/ in a checkout), so the demo runs
# from an installed wheel too.
SAMPLE_DIR = Path(str(files("provledger.sample_datasets")))
PLAN_FILE = "batches.json"
RECEIPTS_DIR = "receipts"
REPORTS_DIR = "reports"

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo built, and where it wrote its files."""

    home: Path
    dataset: str
    subject: str | None = None
    request_ref: str | None = None
    batches: dict[str, RegisterResult] = field(default_factory=dict)
    model: RegisteredModel | None = None
    lineage: Lineage | None = None
    receipt: dict[str, Any] | None = None
    receipt_path: Path | None = None
    verify: VerifyReport | None = None
    audit: AuditReport | None = None
    audit_json: dict[str, Any] | None = None
    report_path: Path | None = None
    # template -> the published disclosure of the model, and where its Markdown page is
    disclosures: dict[str, Disclosure] = field(default_factory=dict)
    disclosure_paths: dict[str, Path] = field(default_factory=dict)


def load_plan(sample: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The demo plan (``batches.json``) of a sample folder. Raises InputError when it is
    missing or malformed."""
    # Deferred for start-up time: loads msgspec, orjson, rfc8785
    from provledger.tlog.canonical import parse_json

    folder = Path(sample) if sample is not None else SAMPLE_DIR
    path = folder / PLAN_FILE
    try:
        raw = path.read_bytes()
    except OSError:
        raise InputError(
            "no demo plan here: the demo needs the sample_datasets/ folder that ships with "
            "provledger",
            file=path,
        ) from None
    plan = parse_json(raw)
    if not isinstance(plan, dict) or not isinstance(plan.get("batches"), list):
        raise InputError("expected an object with a 'batches' list", file=path)
    return plan


def _register_batches(
    led: Ledger, folder: Path, plan: dict[str, Any], say: Say
) -> dict[str, RegisterResult]:
    # Deferred for start-up time: loads duckdb, msgspec, numpy, orjson, rfc8785
    from provledger.ingest.register import BatchSpec

    results: dict[str, RegisterResult] = {}
    for item in plan["batches"]:
        parents = []
        for parent in item.get("derived_from", []):
            if parent not in results:
                raise InputError(
                    f"batch '{item['file']}' is derived from '{parent}', which is not "
                    "registered before it",
                    file=folder / PLAN_FILE,
                )
            parents.append(results[parent].batch_id)
        spec = BatchSpec(
            dataset=plan["dataset"],
            source=item["source"],
            license=item.get("license"),
            consent=item.get("consent"),
            origin=item.get("origin"),
            collected_at=item.get("collected_at"),
            split=item.get("split", "train"),
            text_field=item.get("text_field", "text"),
            subject_field=item.get("subject_field"),
            derived_from=parents,
            generator=item.get("generator"),
            cost=item.get("cost"),
            channel=item.get("channel"),
            modality=item.get("modality"),
            languages=list(item.get("languages", [])),
            crawler=item.get("crawler"),
            opt_out=item.get("opt_out"),
            generator_model=item.get("generator_model"),
            generator_terms=item.get("generator_terms"),
            processing=item.get("processing"),
        )
        result = led.register(folder / item["file"], spec)
        results[item["file"]] = result
        under = spec.license or spec.consent or ""
        if parents:
            under = "derived from " + ", ".join(parents)
        elif spec.source == "synthetic":
            under = "no seed batches"
        say(
            f"Registered {result.records:>3} records from {item['file']} as batch "
            f"{result.batch_id} ({spec.source}, {spec.split}{', ' + under if under else ''})"
        )
    return results


def _answer_deletion_request(
    led: Ledger, home: Path, subject: str, request: str, result: DemoResult, say: Say
) -> None:
    """Lineage first (what the request reaches), then the erasure and its signed receipt."""
    # Deferred for start-up time: loads orjson
    import orjson

    found = led.lineage(subject=subject)
    result.lineage = found
    direct = [b.batch_id for b in found.batches if b.relation == "direct"]
    derived = [b.batch_id for b in found.batches if b.relation == "derived"]
    models = [m.name for m in found.models]
    say(
        f"Deletion request {request} for customer {subject}: lineage finds "
        f"{len(found.records)} records in batches {', '.join(direct)}"
        + (f", derived batches {', '.join(derived)}" if derived else "")
        + (f", model {', '.join(models)}" if models else "")
    )
    erasure = led.erase(subject, request)
    receipt = led.receipt(request)
    path = home / RECEIPTS_DIR / f"{request}.json"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(orjson.dumps(receipt, option=orjson.OPT_INDENT_2) + b"\n")
    led.verify_receipt(path.read_bytes(), source=str(path))
    result.receipt, result.receipt_path = receipt, path
    say(
        f"Erased {erasure.records} records (entry seq {erasure.seq}); "
        f"signed receipt written and verified: {path}"
    )


def run_demo(
    home: str | os.PathLike[str],
    *,
    sample: str | os.PathLike[str] | None = None,
    say: Say | None = None,
) -> DemoResult:
    """Build the worked example in a new ledger at ``home`` (which must not exist or be an
    empty folder) and return what it built: the batches, the model, the lineage and signed
    receipt of the deletion request, the verification, and the audit (also written as HTML
    into ``home/reports/``).

    Raises HomeError when ``home`` is not empty (nothing is changed then), InputError when
    the sample folder is missing or malformed, and any ``LedgerError`` a step raises.
    """
    # Deferred for start-up time: loads cryptography, duckdb, msgspec, numpy, orjson, pydantic, ...
    from provledger.exports.reports import to_html

    # Deferred for start-up time: loads cryptography, duckdb, msgspec, numpy, orjson, rfc8785
    from provledger.ledger import Ledger

    # Deferred for start-up time: loads msgspec, orjson, pydantic, rfc8785, sqlalchemy, sqlmodel
    from provledger.registry.manifests import Dataset, load_manifest

    emit: Say = say or (lambda _line: None)
    folder = Path(sample) if sample is not None else SAMPLE_DIR
    plan = load_plan(folder)
    dataset = plan["dataset"]
    result = DemoResult(home=Path(home), dataset=dataset)
    with Ledger.init(home) as led:
        emit(f"Created a ledger in {led.home} (signing key {led.public.key_id})")
        lic = led.add_license(folder / plan["license"])
        emit(f"Added license {lic.license}: grants {', '.join(lic.grants)}")
        for manifest in plan["consent"]:
            version = led.add_consent(folder / manifest)
            fates = ", ".join(f"v{k} {v}" for k, v in version.prior_versions.items())
            emit(
                f"Added consent policy {version.consent}: permits "
                f"{', '.join(version.permits)}{'; ' + fates if fates else ''}"
            )
        ds = load_manifest(Dataset, folder / plan["dataset_manifest"])
        led.create_dataset(ds.name, owner=ds.owner, context=ds.context, uses=list(ds.uses))
        emit(f"Created dataset {ds.name} ({ds.context}; uses {', '.join(ds.uses)})")
        result.batches = _register_batches(led, folder, plan, emit)
        result.model = led.register_model(plan["model"], [dataset])
        emit(f"Registered model {plan['model']}, trained on {dataset}")
        erasure = plan["erasure"]
        result.subject, result.request_ref = erasure["subject"], erasure["request"]
        _answer_deletion_request(
            led, led.home, erasure["subject"], erasure["request"], result, emit
        )
        result.verify = led.verify()
        emit(
            f"Verified {plural(result.verify.entries, 'entry')}, "
            f"{plural(result.verify.batches, 'batch')}, {plural(result.verify.records, 'record')}: "
            f"{'OK' if result.verify.ok else 'FAILED'}"
        )
        if not result.verify.ok:
            raise IntegrityError(
                f"the demo ledger does not verify at seq {result.verify.first_bad_seq}: "
                f"{result.verify.problem}",
                result.verify.first_bad_seq,
            )
        audited = led.audit(dataset)
        result.audit, result.audit_json = audited, audited.as_dict()
        report = led.home / REPORTS_DIR / f"{dataset}.html"
        report.parent.mkdir(mode=0o700, exist_ok=True)
        report.write_text(to_html(audited), encoding="utf-8")
        result.report_path = report
        if plan.get("profile"):
            _publish_disclosures(led, folder, plan, result, emit)
    return result


DISCLOSURE_NAMES = {
    "eu-gpai-summary": "EU training-content summary",
    "ca-ab2013": "California AB 2013 page",
}


def _publish_disclosures(
    led: Ledger, folder: Path, plan: dict[str, Any], result: DemoResult, say: Say
) -> None:
    """Set the organisation profile, then publish both disclosures of the model and write
    each as Markdown, HTML and JSON into ``home/reports/``."""
    # Deferred for start-up time: loads msgspec, orjson, pydantic, rfc8785
    from provledger.exports.disclose import disclose, render

    profile = led.set_profile(folder / plan["profile"])
    say(f"Set the organisation profile of {profile.profile['provider']['name']}")
    model = plan["model"]
    for template, name in DISCLOSURE_NAMES.items():
        doc, entry = disclose(led, model, template)
        assert entry is not None
        for fmt, ext in (("markdown", "md"), ("html", "html"), ("json", "json")):
            path = led.home / REPORTS_DIR / f"{model}.{template}.{ext}"
            path.write_text(render(doc, fmt), encoding="utf-8")
        result.disclosures[template] = doc
        result.disclosure_paths[template] = led.home / REPORTS_DIR / f"{model}.{template}.md"
        missing = len(doc.missing)
        say(
            f"Published the {name} of {model} (entry seq {entry.seq}): "
            f"{missing} value{'' if missing == 1 else 's'} still to declare"
        )
