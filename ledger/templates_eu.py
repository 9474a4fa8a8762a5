"""The EU AI Act training-content summary (Article 53(1)(d); the AI Office's template of
24 July 2025), section by section, from a model's ``Facts``.

It covers the model's training batches: the train split of every batch registered to its
datasets before the model was registered. Where each value comes from is documented field
by field in docs/disclosures.md. Channels map to sections: public_dataset 2.1,
rightsholder_license 2.2.1, data_broker 2.2.2, own_crawl and third_party_crawl 2.3,
user_data_this_service and user_data_other_service 2.4, synthetic 2.5, other 2.6.
"""

from __future__ import annotations

import math
from collections import defaultdict

from ledger.batch_metadata import CRAWL_CHANNELS, opt_out_reserved
from ledger.disclosure import (
    Batch,
    DisclosureField,
    Facts,
    Section,
    bucket_eu,
    declared,
    ledger_value,
    missing,
    records_in,
)

__all__ = ["LARGE_SHARE", "TEMPLATE", "TOP_DOMAIN_SHARE", "sections"]

TEMPLATE = "eu-gpai-summary"
# A publicly available dataset is "large" above this share of all public data of its
# modality (the template's 3%).
LARGE_SHARE = 0.03
# The share of crawled domains listed, by bytes (the template's top 10%; at least one).
TOP_DOMAIN_SHARE = 0.10
NOT_APPLICABLE = "Not applicable: no such data"


def _seqs(batches: list[Batch]) -> list[int]:
    return [b.seq for b in batches]


def _used(
    id: str, label: str, chosen: list[Batch], every: list[Batch], f: Facts
) -> DisclosureField:
    """Yes with the batches that make it so, or No with every batch examined."""
    if chosen:
        return ledger_value(id, label, f"Yes: {records_in(chosen)}", _seqs(chosen))
    return ledger_value(id, label, "No", _seqs(every) or [f.subject_seq])


def _not_applicable(id: str, label: str, every: list[Batch], f: Facts) -> DisclosureField:
    return ledger_value(id, label, NOT_APPLICABLE, _seqs(every) or [f.subject_seq])


def _size(modality: str, batches: list[Batch]) -> tuple[float | None, list[Batch]]:
    """Total size of a modality's batches in the template's unit, or None when a batch
    lacks the count (registered before counts were signed, or no --hours)."""
    chosen = [b for b in batches if b.modality == modality]
    total = 0.0
    for b in chosen:
        if modality == "text":
            value = b.meta("tokens")
        elif modality == "image":
            value = b.records
        else:
            value = b.meta("hours")
        if value is None:
            return None, chosen
        total += value
    return total, chosen


def _general(f: Facts, train: list[Batch]) -> list[Section]:
    p, ps = f.profile, f.profile_seq
    provider = p.get("provider") or {}
    model = (p.get("models") or {}).get(f.subject) or {}
    based_on = model.get("based_on")
    s11 = Section(
        id="1.1",
        title="Provider identification",
        fields=[
            declared("provider_name", "Provider name", provider.get("name"), ps, "provider.name"),
            declared(
                "provider_contact", "Contact", provider.get("contact"), ps, "provider.contact"
            ),
        ],
    )
    s12 = Section(
        id="1.2",
        title="Model identification",
        fields=[
            ledger_value("model_name", "Model name", f.subject, [f.subject_seq]),
            declared(
                "model_version",
                "Model version",
                model.get("version"),
                ps,
                f"models.{f.subject}.version",
            ),
            declared(
                "model_dependencies",
                "Models it is based on",
                (list(based_on) or "None") if based_on is not None else None,
                ps,
                f"models.{f.subject}.based_on",
            ),
            declared(
                "placed_on_market",
                "Date placed on the market",
                model.get("placed_on_market"),
                ps,
                f"models.{f.subject}.placed_on_market",
            ),
            ledger_value(
                "training_datasets",
                "Datasets trained on",
                list(f.datasets),
                [f.subject_seq, *f.dataset_seqs.values()],
            ),
        ],
    )
    fields = [
        ledger_value("modalities", "Modalities", sorted({b.modality for b in train}), _seqs(train)),
    ]
    for modality, label in (
        ("text", "Size of text data (tokens: whitespace words)"),
        ("image", "Size of image data (images)"),
        ("audio", "Size of audio data (hours)"),
        ("video", "Size of video data (hours)"),
    ):
        total, chosen = _size(modality, train)
        if not chosen:
            fields.append(_not_applicable(f"size_{modality}", label, train, f))
        elif total is None:
            fields.append(
                missing(
                    f"size_{modality}",
                    label,
                    "register every batch of this modality with this provledger (counts "
                    "are signed at registration; audio and video need --hours)",
                )
            )
        else:
            fields.append(
                ledger_value(f"size_{modality}", label, bucket_eu(modality, total), _seqs(chosen))
            )
    dated = [b for b in train if b.collected_at]
    latest = max(dated, key=lambda b: b.collected_at or "") if dated else None
    fields.append(
        ledger_value(
            "latest_acquisition",
            "Latest date of data acquisition",
            latest.collected_at[:10] if latest and latest.collected_at else None,
            [latest.seq] if latest else [],
            "register batches with --collected-at",
        )
    )
    with_languages = [b for b in train if b.meta("languages")]
    fields.append(
        ledger_value(
            "languages",
            "Languages (BCP 47)",
            sorted({tag for b in with_languages for tag in b.meta("languages")}),
            _seqs(with_languages),
            "register batches with --language TAG",
        )
    )
    s13 = Section(
        id="1.3", title="Modalities, overall training data size and other characteristics",
        fields=fields,
    )  # fmt: skip
    return [s11, s12, s13]


def _size_of(b: Batch) -> int:
    """A batch's size for comparing public datasets of one modality: tokens for text
    (records when not counted), records otherwise."""
    if b.modality == "text" and b.meta("tokens") is not None:
        return int(b.meta("tokens"))
    return b.records


def _public(f: Facts, train: list[Batch]) -> Section:
    chosen = [b for b in train if b.channel == "public_dataset"]
    fields = [_used("used", "Publicly available datasets used", chosen, train, f)]
    if not chosen:
        fields.append(
            _not_applicable("large_datasets", "Large publicly available datasets", train, f)
        )
    else:
        per_name: dict[tuple[str, str], list[Batch]] = defaultdict(list)
        for b in chosen:
            per_name[(b.modality, b.origin or b.batch_id)].append(b)
        totals: dict[str, int] = defaultdict(int)
        for b in chosen:
            totals[b.modality] += _size_of(b)
        large = {
            key: batches
            for key, batches in per_name.items()
            if sum(_size_of(b) for b in batches) > LARGE_SHARE * totals[key[0]]
        }
        fields.append(
            ledger_value(
                "large_datasets",
                "Large publicly available datasets (over 3% of public data of a modality)",
                [f"{name} ({modality})" for modality, name in sorted(large)] or "None",
                [b.seq for batches in large.values() for b in batches],
            )
        )
    return Section(id="2.1", title="Publicly available datasets", fields=fields)


def _licensed(f: Facts, train: list[Batch]) -> list[Section]:
    licensed = [b for b in train if b.channel == "rightsholder_license"]
    fields = [_used("used", "Data licensed from rightsholders", licensed, train, f)]
    if licensed:
        refs = sorted({b.license for b in licensed if b.license})
        described = [
            f"{f.licenses[r]['title']} ({r}), licensed by {f.licenses[r]['licensor']}"
            for r in refs
            if r in f.licenses
        ]
        fields.append(
            ledger_value(
                "licenses",
                "Licenses",
                described,
                _seqs(licensed) + [f.licenses[r]["seq"] for r in refs if r in f.licenses],
            )
        )
    else:
        fields.append(_not_applicable("licenses", "Licenses", train, f))
    broker = [b for b in train if b.channel == "data_broker"]
    other = [_used("used", "Private data obtained from other third parties", broker, train, f)]
    if broker:
        names = sorted(
            {
                (f.licenses[b.license]["licensor"] if b.license in f.licenses else None)
                or b.origin
                or b.batch_id
                for b in broker
            }
        )
        evidence = _seqs(broker) + [
            f.licenses[b.license]["seq"] for b in broker if b.license in f.licenses
        ]
        other.append(ledger_value("sources", "Third parties", names, evidence))
    else:
        other.append(_not_applicable("sources", "Third parties", train, f))
    return [
        Section(id="2.2.1", title="Commercially licensed data from rightsholders", fields=fields),
        Section(id="2.2.2", title="Private data obtained from other third parties", fields=other),
    ]


def _top_domains(crawled: list[Batch]) -> tuple[list[str], list[int]]:
    """The top 10% of domains (at least one) by bytes of text crawled from them."""
    weight: dict[str, int] = defaultdict(int)
    seqs: dict[str, list[int]] = defaultdict(list)
    for b in crawled:
        if b.domain is None or b.meta("bytes") is None:
            continue
        weight[b.domain] += int(b.meta("bytes"))
        seqs[b.domain].append(b.seq)
    ranked = sorted(weight, key=lambda d: (-weight[d], d))
    top = ranked[: max(1, math.ceil(len(ranked) * TOP_DOMAIN_SHARE))] if ranked else []
    return top, [s for d in top for s in seqs[d]]


def _crawled(f: Facts, train: list[Batch]) -> Section:
    crawled = [b for b in train if b.channel in CRAWL_CHANNELS]
    fields = [_used("used", "Data crawled by or on behalf of the provider", crawled, train, f)]
    if not crawled:
        for id, label in (
            ("crawlers", "Crawlers"),
            ("purposes", "Purposes of the crawlers"),
            ("behaviour", "Behaviour of the crawlers"),
            ("collection_period", "Collection period"),
            ("top_domains", "Most relevant domains (top 10% by bytes)"),
        ):
            fields.append(_not_applicable(id, label, train, f))
        return Section(
            id="2.3", title="Data crawled and scraped from online sources", fields=fields
        )
    named = [b for b in crawled if b.meta("crawler")]
    names = sorted({str(b.meta("crawler")) for b in named})
    unnamed = len(named) < len(crawled)
    fields.append(
        missing("crawlers", "Crawlers", "register every crawled batch with --crawler NAME")
        if unnamed
        else ledger_value("crawlers", "Crawlers", names, _seqs(named))
    )
    crawlers = f.profile.get("crawlers") or {}
    for id, label, key in (
        ("purposes", "Purposes of the crawlers", "purpose"),
        ("behaviour", "Behaviour of the crawlers", "behaviour"),
    ):
        values = [crawlers.get(n, {}).get(key) for n in names]
        complete = names and not unnamed and all(values)
        fields.append(
            declared(
                id,
                label,
                [f"{n}: {v}" for n, v in zip(names, values, strict=True)],
                f.profile_seq,
                f"crawlers.NAME.{key}",
            )
            if complete
            else missing(
                id,
                label,
                f"profile: crawlers.NAME.{key} for every crawler, and --crawler on every "
                "crawled batch",
            )
        )
    dated = sorted((b.collected_at[:10], b.seq) for b in crawled if b.collected_at)
    fields.append(
        ledger_value(
            "collection_period",
            "Collection period",
            f"{dated[0][0]} to {dated[-1][0]}" if dated else None,
            [s for _, s in dated],
            "register crawled batches with --collected-at",
        )
    )
    top, seqs = _top_domains(crawled)
    fields.append(
        ledger_value(
            "top_domains",
            "Most relevant domains (top 10% by bytes)",
            top,
            seqs,
            "register crawled batches with an http(s) --origin",
        )
    )
    return Section(id="2.3", title="Data crawled and scraped from online sources", fields=fields)


def _rest(f: Facts, train: list[Batch]) -> list[Section]:
    this = [b for b in train if b.channel == "user_data_this_service"]
    other = [b for b in train if b.channel == "user_data_other_service"]
    s24 = Section(
        id="2.4",
        title="User data",
        fields=[
            _used("this_service", "User data from this model's services", this, train, f),
            _used(
                "other_services", "User data from the provider's other services", other, train, f
            ),
        ],
    )
    synthetic = [b for b in train if b.channel == "synthetic"]
    fields = [_used("used", "Synthetic data used", synthetic, train, f)]
    if synthetic:
        models = sorted({str(b.meta("generator_model") or b.generator) for b in synthetic})
        fields.append(
            ledger_value("generating_models", "Models that generated it", models, _seqs(synthetic))
        )
        terms = [b for b in synthetic if b.meta("generator_terms")]
        fields.append(
            ledger_value(
                "model_terms",
                "Terms of use of those models",
                sorted({str(b.meta("generator_terms")) for b in terms}),
                _seqs(terms),
            )
            if len(terms) == len(synthetic)
            else missing(
                "model_terms",
                "Terms of use of those models",
                "register every synthetic batch with --generator-terms",
            )
        )
    else:
        fields.append(_not_applicable("generating_models", "Models that generated it", train, f))
        fields.append(_not_applicable("model_terms", "Terms of use of those models", train, f))
    s25 = Section(id="2.5", title="Synthetic data", fields=fields)
    others = [b for b in train if b.channel == "other"]
    fields = [_used("used", "Other sources used", others, train, f)]
    if others:
        fields.append(
            ledger_value(
                "description",
                "Description",
                [
                    f"{b.batch_id}: {b.origin or 'origin not recorded'}"
                    + (f" ({b.meta('processing')})" if b.meta("processing") else "")
                    for b in others
                ],
                _seqs(others),
            )
        )
    else:
        fields.append(_not_applicable("description", "Description", train, f))
    s26 = Section(id="2.6", title="Other sources of data", fields=fields)
    return [s24, s25, s26]


PROTOCOLS = (
    ("robots_txt", "robots.txt"),
    ("tdmrep", "TDMRep (W3C TDM Reservation Protocol)"),
    ("ai_preference", "IETF AI preferences (train-ai)"),
)


def _processing(f: Facts, train: list[Batch]) -> list[Section]:
    crawled = [b for b in train if b.channel in CRAWL_CHANNELS]
    p, ps = f.profile, f.profile_seq
    fields: list[DisclosureField] = []
    if not crawled:
        fields.append(
            _not_applicable("protocols", "Opt-out protocols checked at collection", train, f)
        )
        fields.append(
            _not_applicable("coverage", "Crawled batches with opt-out evidence", train, f)
        )
        fields.append(
            _not_applicable("reserved", "Crawled batches collected despite a reservation", train, f)
        )
    else:
        evidenced = [b for b in crawled if b.meta("opt_out")]
        checked = []
        for key, name in PROTOCOLS:
            users = [b for b in evidenced if b.meta("opt_out").get(key)]
            if users:
                if key == "robots_txt":
                    agents = sorted({a for b in users for a in b.meta("opt_out")[key]["agents"]})
                    name = f"{name} (agents: {', '.join(agents)})"
                checked.append(name)
        fields.append(
            ledger_value(
                "protocols",
                "Opt-out protocols checked at collection",
                checked,
                _seqs(evidenced),
                "register crawled batches with --opt-out FILE.json",
            )
        )
        fields.append(
            ledger_value(
                "coverage",
                "Crawled batches with opt-out evidence",
                f"{len(evidenced)} of {len(crawled)}",
                _seqs(crawled),
            )
        )
        reserved = [b for b in evidenced if opt_out_reserved(b.meta("opt_out"))]
        if reserved:
            value: list[str] | str = [b.batch_id for b in reserved]
        elif evidenced:
            value = "None"
        else:
            value = "Unknown: no crawled batch carries opt-out evidence"
        fields.append(
            ledger_value(
                "reserved",
                "Crawled batches collected despite a reservation",
                value,
                _seqs(reserved) or _seqs(evidenced) or _seqs(crawled),
            )
        )
    fields.append(
        declared(
            "measures",
            "Measures to honour opt-outs",
            p.get("optout_measures"),
            ps,
            "optout_measures",
        )
    )
    s31 = Section(
        id="3.1",
        title="Respect of reservation of rights from the text and data mining exception",
        fields=fields,
    )
    s32 = Section(
        id="3.2",
        title="Removal of illegal content",
        fields=[
            declared(
                "measures",
                "Measures to remove illegal content",
                p.get("illegal_content_measures"),
                ps,
                "illegal_content_measures",
            )
        ],
    )
    return [s31, s32]


def sections(f: Facts) -> list[Section]:
    """Every section of the EU summary for the model in ``f``, in the template's order."""
    train = [b for b in f.batches if b.split == "train"]
    return [
        *_general(f, train),
        _public(f, train),
        *_licensed(f, train),
        _crawled(f, train),
        *_rest(f, train),
        *_processing(f, train),
    ]
