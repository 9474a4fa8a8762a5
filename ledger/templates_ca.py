"""California AB 2013 (Civil Code §3111(a)(1)-(12)): the high-level summary of each dataset
used in developing a generative AI system, from the ``Facts`` of a model (every dataset it
was trained on) or of one dataset.

Every batch of the dataset counts (all splits: the law covers datasets used in
development, not only training), up to the model's registration (or the disclosure's
ledger seq for a dataset). Field ids are ``KEY:DATASET``; where each value comes from is
documented in docs/disclosures.md.
"""

from __future__ import annotations

from ledger.batch_metadata import CRAWL_CHANNELS
from ledger.disclosure import (
    Batch,
    DisclosureField,
    Facts,
    Section,
    bucket_ab2013,
    declared,
    ledger_value,
    missing,
    records_in,
)

__all__ = ["PUBLIC_DOMAIN_SPDX", "TEMPLATE", "TITLES", "sections"]

TEMPLATE = "ca-ab2013"
# SPDX identifiers that dedicate a work to the public domain.
PUBLIC_DOMAIN_SPDX = ("CC0-1.0", "PDDL-1.0", "Unlicense", "CC-PDDC")
USER_CHANNELS = ("user_data_this_service", "user_data_other_service")

TITLES = {
    "1": "Sources or owners of the datasets",
    "2": "How the datasets further the intended purpose of the system",
    "3": "Number of data points",
    "4": "Types of data points",
    "5": "Copyrighted, trademarked or patented data, or public domain",
    "6": "Whether the datasets were purchased or licensed",
    "7": "Whether the datasets include personal information",
    "8": "Whether the datasets include aggregate consumer information",
    "9": "Cleaning, processing or other modification, and its purpose",
    "10": "Time period of data collection",
    "11": "Dates the datasets were first used in development",
    "12": "Whether synthetic data generation was used",
}


def _seqs(batches: list[Batch]) -> list[int]:
    return [b.seq for b in batches]


def _dataset_fields(f: Facts, name: str) -> dict[str, list[DisclosureField]]:
    """Section id -> this dataset's fields."""
    batches = f.of(name)
    every = _seqs(batches) or [f.dataset_seqs.get(name, f.subject_seq)]
    lic = f.licenses
    p, ps = f.profile, f.profile_seq
    info = (p.get("datasets") or {}).get(name) or {}
    out: dict[str, list[DisclosureField]] = {}

    def key(k: str) -> str:
        return f"{k}:{name}"

    sources = []
    for b in batches:
        owner = lic[b.license]["licensor"] if b.license in lic else None
        where = b.origin or "origin not recorded"
        sources.append(
            f"{b.batch_id}: {b.channel}, {where}" + (f" (owner: {owner})" if owner else "")
        )
    license_seqs = [lic[b.license]["seq"] for b in batches if b.license in lic]
    out["1"] = [
        ledger_value(key("sources"), f"Sources or owners ({name})", sources, every + license_seqs)
    ]
    out["2"] = [
        declared(
            key("purpose"),
            f"How it furthers the intended purpose ({name})",
            info.get("purpose"),
            ps,
            f"datasets.{name}.purpose",
        )
    ]
    total = sum(b.records for b in batches)
    out["3"] = [
        ledger_value(
            key("data_points"), f"Number of data points ({name})", bucket_ab2013(total), every
        )
    ]
    kinds = sorted({f"{b.modality} ({b.split})" for b in batches})
    out["4"] = [ledger_value(key("types"), f"Types of data points ({name})", kinds, every)]

    licensed = [b for b in batches if b.license is not None and b.license in lic]
    public_domain = [
        b for b in licensed if (lic[str(b.license)]["spdx"] or "") in PUBLIC_DOMAIN_SPDX
    ]
    protected = [b for b in licensed if b not in public_domain]
    crawled = [b for b in batches if b.channel in CRAWL_CHANNELS or b.channel == "public_dataset"]
    crawled = [b for b in crawled if b not in licensed]
    parts = []
    if protected:
        refs = sorted({b.license or "" for b in protected})
        parts.append(
            f"Copyrighted material used under license ({', '.join(refs)}): "
            f"{sum(b.records for b in protected):,} records"
        )
    if public_domain:
        parts.append(f"Public domain: {sum(b.records for b in public_domain):,} records")
    if crawled:
        parts.append(
            "Publicly available or crawled material whose copyright status is not established: "
            f"{sum(b.records for b in crawled):,} records"
        )
    rest = [b for b in batches if b not in licensed and b not in crawled]
    if rest:
        parts.append(
            "The provider's own, user-provided or synthetic material: "
            f"{sum(b.records for b in rest):,} records"
        )
    entirely_public = bool(batches) and len(public_domain) == len(batches)
    if entirely_public:
        parts = ["Entirely public domain"]
    out["5"] = [
        ledger_value(
            key("copyright"), f"Copyright and public domain ({name})", parts, every + license_seqs
        ),
        declared(
            key("trademark_patent"),
            f"Trademarked or patented data ({name})",
            p.get("ip_statement"),
            ps,
            "ip_statement",
        ),
    ]

    bought = [
        b
        for b in batches
        if b.license in lic or b.channel in ("rightsholder_license", "data_broker")
    ]
    if bought:
        refs = sorted({b.license for b in bought if b.license})
        value: str | list[str] = [
            f"Licensed: {r} from {lic[r]['licensor']}" for r in refs if r in lic
        ] + [
            f"Purchased from a data broker: {b.batch_id} ({b.origin or 'origin not recorded'})"
            for b in bought
            if b.channel == "data_broker"
        ]
        out["6"] = [
            ledger_value(
                key("purchased_licensed"),
                f"Purchased or licensed ({name})",
                value,
                _seqs(bought) + license_seqs,
            )
        ]
    else:
        out["6"] = [
            ledger_value(key("purchased_licensed"), f"Purchased or licensed ({name})", "No", every)
        ]

    personal = [b for b in batches if b.subject_field or b.channel in USER_CHANNELS]
    if personal:
        pi = f"Yes: {records_in(personal)}"
        out["7"] = [
            ledger_value(
                key("personal_information"), f"Personal information ({name})", pi, _seqs(personal)
            )
        ]
    else:
        out["7"] = [
            ledger_value(
                key("personal_information"),
                f"Personal information ({name})",
                "None registered: no batch carries data-subject ids or user data",
                every,
            )
        ]
    aggregate = p.get("aggregate_consumer_information")
    out["8"] = [
        declared(
            key("aggregate_consumer"),
            f"Aggregate consumer information ({name})",
            aggregate,
            ps,
            "aggregate_consumer_information",
        )
    ]

    described = [b for b in batches if b.meta("processing")]
    steps = [f"{b.batch_id}: {b.meta('processing') or 'no processing declared'}" for b in batches]
    out["9"] = [
        ledger_value(key("processing"), f"Cleaning and processing ({name})", steps, every)
        if described
        else missing(
            key("processing"),
            f"Cleaning and processing ({name})",
            "register batches with --processing TEXT",
        )
    ]

    dated = sorted((b.collected_at[:10], b.seq) for b in batches if b.collected_at)
    period = f"{dated[0][0]} to {dated[-1][0]}" if dated else None
    out["10"] = [
        ledger_value(
            key("period"),
            f"Collection period ({name})",
            period,
            [s for _, s in dated],
            "register batches with --collected-at",
        ),
        declared(
            key("ongoing"),
            f"Collection ongoing ({name})",
            info.get("collection_ongoing"),
            ps,
            f"datasets.{name}.collection_ongoing",
        ),
    ]
    first = next((u for u in f.model_uses if u["dataset"] == name), None)
    out["11"] = [
        ledger_value(
            key("first_used"),
            f"First used in development ({name})",
            f"{first['recorded_at'][:10]} (model {first['model']})" if first else None,
            [first["seq"]] if first else [],
            f"register a model trained on it: 'provledger model register NAME --dataset {name}'",
        )
    ]
    synthetic = [b for b in batches if b.channel == "synthetic"]
    used = f"Yes: {records_in(synthetic)}" if synthetic else "No"
    out["12"] = [
        ledger_value(key("synthetic"), f"Synthetic data ({name})", used, _seqs(synthetic) or every)
    ]
    return out


def sections(f: Facts) -> list[Section]:
    """Sections 1 to 12, each with one field (two in 5 and 10) per dataset."""
    per = [_dataset_fields(f, name) for name in f.datasets]
    return [
        Section(id=sid, title=title, fields=[field for d in per for field in d[sid]])
        for sid, title in TITLES.items()
    ]
