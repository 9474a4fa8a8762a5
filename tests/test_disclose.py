"""Disclosures: every field of the EU training-content summary and the AB 2013 page against
values counted by hand from a ledger with every acquisition channel, each field's status,
the evidence entries, the size buckets at each boundary, the output formats checked by
their own parsers, publishing and --diff-since.

The ledger (seq: what):
     1  ledger-created
     2  license pd@1      Commons Archive, CC0-1.0
     3  license lic@1     Rights Co
     4  license broker@1  DataBroker Inc
     5  consent tos@1
     6  dataset d         customer_facing; train, commercial
     7  profile-set
     8  b8   licensed  public_dataset        2 recs  "a b c" "d e"            5 words  8 bytes
     9  b9   scraped   own_crawl (default)   3 recs  "one two three four" "five six" "seven"
                                                                        7 words 31 bytes
    10  b10  scraped   third_party_crawl     1 rec   "hello world"            2 words 11 bytes
    11  b11  licensed  rightsholder_license  2 recs  "x y" "z"                3 words
    12  b12  licensed  data_broker           1 rec   "bought text"            2 words
    13  b13  first_party this service        2 recs  "my ticket" "help me now"  5 words
    14  b14  first_party other service       1 rec   "other app"              2 words
    15  b15  synthetic  from b13             2 recs  "gen one" "gen two"      4 words
    16  b16  scraped    other                1 rec   "old archive text"       3 words
    17  b17  licensed  image                 3 recs  (captions)
    18  b18  licensed  audio, 12.5 hours     1 rec
    19  b19  scraped   own_crawl, test split 1 rec
    20  model m1 on d
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import html5lib
import jsonschema
import pytest
from markdown_it import MarkdownIt

from provledger.exports.disclose import diff_since, disclose, generate, published
from provledger.exports.disclosure import Disclosure, bucket_ab2013, bucket_eu, to_html, to_markdown
from provledger.ledger import Ledger

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "disclosure.schema.json"

PROFILE: dict[str, Any] = {
    "provider": {"name": "Example AI GmbH", "contact": "legal@example.ai"},
    "intended_purpose": "Route support tickets",
    "models": {"m1": {"version": "1.0", "placed_on_market": "2026-08-02", "based_on": ["base-2"]}},
    "crawlers": {
        "ExampleBot": {"purpose": "collect public forum posts", "behaviour": "1 req/s"},
        "ContractorBot": {"purpose": "news crawl on our behalf"},
    },
    "datasets": {"d": {"purpose": "teaches the router our tickets", "collection_ongoing": True}},
    "optout_measures": "robots.txt, TDMRep and ai-preferences are checked before a crawl",
    "illegal_content_measures": "CSAM hash filtering and manual review",
    "ip_statement": "No trademarked or patented material is known to be included",
    "aggregate_consumer_information": False,
}
OPT_OUT = {
    "checked_at": "2025-03-10T08:00:00Z",
    "robots_txt": {"sha256": "ab" * 32, "agents": ["ExampleBot", "*"], "verdict": "allowed"},
    "tdmrep": {"reserved": False, "policy": None},
    "ai_preference": {"train_ai": "unset"},
}


def _file(folder: Path, name: str, texts: list[str], **extra: Any) -> Path:
    path = folder / f"{name}.jsonl"
    lines = [json.dumps({"text": t, "n": i, **extra}) for i, t in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(led: Ledger, folder: Path, *, profile: bool = True) -> dict[str, Any]:
    for lic in (
        {"id": "pd", "licensor": "Commons Archive", "spdx": "CC0-1.0", "title": "Open Corpus"},
        {"id": "lic", "licensor": "Rights Co", "title": "Lic Corpus"},
        {"id": "broker", "licensor": "DataBroker Inc", "title": "Broker Feed"},
    ):
        led.add_license(
            {"version": 1, "grants": ["train", "commercial"], "effective_from": "2025-01-01"} | lic
        )
    led.add_consent(
        {"policy": "tos", "version": 1, "effective_from": "2024-01-01", "permits": ["train"]}
    )
    led.create_dataset("d", owner="ml", context="customer_facing", uses=["train", "commercial"])
    if profile:
        led.set_profile(PROFILE)
    else:
        led.create_dataset("spare", owner="ml", context="internal", uses=["train"])
    r: dict[str, Any] = {}

    def reg(name: str, texts: list[str], extra: dict[str, Any] | None = None, **spec: Any) -> None:
        r[name] = led.register(_file(folder, name, texts, **(extra or {})), dataset="d", **spec)

    reg("pub", ["a b c", "d e"], source="licensed", channel="public_dataset", license="pd@1",
        origin="https://data.example.net/open-corpus", languages=["en"],
        collected_at="2025-01-01")  # fmt: skip
    reg("crawl", ["one two three four", "five six", "seven"], source="scraped",
        crawler="ExampleBot", opt_out=OPT_OUT, origin="https://www.news.example.com/",
        languages=["en", "DE"], collected_at="2025-03-10")  # fmt: skip
    reg("crawl2", ["hello world"], source="scraped", channel="third_party_crawl",
        crawler="ContractorBot", origin="https://forum.example.org/x",
        collected_at="2025-04-01")  # fmt: skip
    reg("lic", ["x y", "z"], source="licensed", license="lic@1", origin="s3://bucket/corpus",
        collected_at="2025-02-01")  # fmt: skip
    reg("broker", ["bought text"], source="licensed", channel="data_broker",
        license="broker@1", origin="https://broker.example/feed")  # fmt: skip
    reg("user", ["my ticket", "help me now"], {"uid": "u1"}, source="first_party",
        consent="tos@1", subject_field="uid", processing="PII scrubbed",
        collected_at="2025-05-01")  # fmt: skip
    reg("user2", ["other app"], {"uid": "u2"}, source="first_party", consent="tos@1",
        subject_field="uid", channel="user_data_other_service")  # fmt: skip
    reg("syn", ["gen one", "gen two"], source="synthetic", generator="gen",
        generator_model="Gen-1", generator_terms="Gen terms v1",
        derived_from=[r["user"].batch_id], collected_at="2025-06-01")  # fmt: skip
    reg("other", ["old archive text"], source="scraped", channel="other",
        origin="cdrom://archive")  # fmt: skip
    reg("img", ["cat", "dog", "bird"], source="licensed", license="lic@1", modality="image")
    reg("audio", ["talk"], source="licensed", license="lic@1", modality="audio", hours=12.5)
    reg("test", ["held out"], source="scraped", split="test", crawler="ExampleBot",
        opt_out=OPT_OUT, collected_at="2025-07-01")  # fmt: skip
    r["model"] = led.register_model("m1", ["d"])
    return r


@pytest.fixture
def built(ledger: Ledger, tmp_path: Path) -> dict[str, Any]:
    return build(ledger, tmp_path)


TRAIN = list(range(8, 19))  # b8 .. b18; b19 is the test split


def _fields(doc: Disclosure) -> dict[tuple[str, str], tuple[Any, str, list[int]]]:
    return {(s.id, f.id): (f.value, f.status, f.evidence) for s in doc.sections for f in s.fields}


def test_the_ledger_is_as_the_docstring_says(ledger: Ledger, built: dict[str, Any]) -> None:
    ids = [r.batch_id for k, r in built.items() if k != "model"]
    assert ids == [f"b{n}" for n in range(8, 20)]
    assert built["model"].seq == 20
    assert (built["pub"].words, built["pub"].bytes) == (5, 8)
    assert (built["crawl"].words, built["crawl"].bytes) == (7, 31)
    assert ledger.verify().ok


def test_eu_summary_every_field(ledger: Ledger, built: dict[str, Any]) -> None:
    doc = generate(ledger.store, "m1", "eu-gpai-summary")
    na = "Not applicable: no such data"
    text_seqs = [8, 9, 10, 11, 12, 13, 14, 15, 16]
    expected = {
        ("1.1", "provider_name"): ("Example AI GmbH", "declared", [7]),
        ("1.1", "provider_contact"): ("legal@example.ai", "declared", [7]),
        ("1.2", "model_name"): ("m1", "ledger", [20]),
        ("1.2", "model_version"): ("1.0", "declared", [7]),
        ("1.2", "model_dependencies"): (["base-2"], "declared", [7]),
        ("1.2", "placed_on_market"): ("2026-08-02", "declared", [7]),
        ("1.2", "training_datasets"): (["d"], "ledger", [6, 20]),
        ("1.3", "modalities"): (["audio", "image", "text"], "ledger", TRAIN),
        # 5+7+2+3+2+5+2+4+3 = 33 whitespace words
        ("1.3", "size_text"): ("Less than 1 billion tokens", "ledger", text_seqs),
        ("1.3", "size_image"): ("Less than 1 million images", "ledger", [17]),
        ("1.3", "size_audio"): ("Less than 10 thousand hours", "ledger", [18]),
        ("1.3", "size_video"): (na, "ledger", TRAIN),
        # b15 (2025-06-01) is the newest train batch; b19 (2025-07-01) is the test split
        ("1.3", "latest_acquisition"): ("2025-06-01", "ledger", [15]),
        ("1.3", "languages"): (["de", "en"], "ledger", [8, 9]),
        ("2.1", "used"): ("Yes: 2 records in b8", "ledger", [8]),
        ("2.1", "large_datasets"): (["https://data.example.net/open-corpus (text)"], "ledger", [8]),
        ("2.2.1", "used"): ("Yes: 6 records in b11, b17, b18", "ledger", [11, 17, 18]),
        ("2.2.1", "licenses"): (
            ["Lic Corpus (lic@1), licensed by Rights Co"],
            "ledger",
            [3, 11, 17, 18],
        ),
        ("2.2.2", "used"): ("Yes: 1 record in b12", "ledger", [12]),
        ("2.2.2", "sources"): (["DataBroker Inc"], "ledger", [4, 12]),
        ("2.3", "used"): ("Yes: 4 records in b9, b10", "ledger", [9, 10]),
        ("2.3", "crawlers"): (["ContractorBot", "ExampleBot"], "ledger", [9, 10]),
        ("2.3", "purposes"): (
            ["ContractorBot: news crawl on our behalf", "ExampleBot: collect public forum posts"],
            "declared",
            [7],
        ),
        # ContractorBot's behaviour is not declared in the profile
        ("2.3", "behaviour"): (None, "missing", []),
        ("2.3", "collection_period"): ("2025-03-10 to 2025-04-01", "ledger", [9, 10]),
        # two domains (31 and 11 bytes): the top 10% rounds up to one
        ("2.3", "top_domains"): (["news.example.com"], "ledger", [9]),
        ("2.4", "this_service"): ("Yes: 2 records in b13", "ledger", [13]),
        ("2.4", "other_services"): ("Yes: 1 record in b14", "ledger", [14]),
        ("2.5", "used"): ("Yes: 2 records in b15", "ledger", [15]),
        ("2.5", "generating_models"): (["Gen-1"], "ledger", [15]),
        ("2.5", "model_terms"): (["Gen terms v1"], "ledger", [15]),
        ("2.6", "used"): ("Yes: 1 record in b16", "ledger", [16]),
        ("2.6", "description"): (["b16: cdrom://archive"], "ledger", [16]),
        ("3.1", "protocols"): (
            [
                "robots.txt (agents: *, ExampleBot)",
                "TDMRep (W3C TDM Reservation Protocol)",
                "IETF AI preferences (train-ai)",
            ],
            "ledger",
            [9],
        ),
        ("3.1", "coverage"): ("1 of 2", "ledger", [9, 10]),
        ("3.1", "reserved"): ("None", "ledger", [9]),
        ("3.1", "measures"): (PROFILE["optout_measures"], "declared", [7]),
        ("3.2", "measures"): (PROFILE["illegal_content_measures"], "declared", [7]),
    }
    assert _fields(doc) == expected
    assert [s.id for s in doc.sections] == [
        "1.1", "1.2", "1.3", "2.1", "2.2.1", "2.2.2", "2.3", "2.4", "2.5", "2.6", "3.1", "3.2"
    ]  # fmt: skip
    assert doc.missing == ["2.3 behaviour"]
    assert doc.batches == [f"b{n}" for n in range(8, 20)]
    assert doc.ledger_seq == 20
    assert doc.field("2.3", "behaviour").declare == (
        "profile: crawlers.NAME.behaviour for every crawler, and --crawler on every crawled batch"
    )


def test_ab2013_every_field(ledger: Ledger, built: dict[str, Any]) -> None:
    doc = generate(ledger.store, "m1", "ca-ab2013")
    every = list(range(8, 20))
    model_day = built["model"].recorded_at[:10]
    expected = {
        ("1", "sources:d"): (
            [
                "b8: public_dataset, https://data.example.net/open-corpus (owner: Commons Archive)",
                "b9: own_crawl, https://www.news.example.com/",
                "b10: third_party_crawl, https://forum.example.org/x",
                "b11: rightsholder_license, s3://bucket/corpus (owner: Rights Co)",
                "b12: data_broker, https://broker.example/feed (owner: DataBroker Inc)",
                "b13: user_data_this_service, origin not recorded",
                "b14: user_data_other_service, origin not recorded",
                "b15: synthetic, origin not recorded",
                "b16: other, cdrom://archive",
                "b17: rightsholder_license, origin not recorded (owner: Rights Co)",
                "b18: rightsholder_license, origin not recorded (owner: Rights Co)",
                "b19: own_crawl, origin not recorded",
            ],
            "ledger",
            [2, 3, 4, *every],
        ),
        ("2", "purpose:d"): ("teaches the router our tickets", "declared", [7]),
        # 2+3+1+2+1+2+1+2+1+3+1+1 = 20 records
        ("3", "data_points:d"): ("1 to 999", "ledger", every),
        ("4", "types:d"): (
            ["audio (train)", "image (train)", "text (test)", "text (train)"],
            "ledger",
            every,
        ),
        ("5", "copyright:d"): (
            [
                # b11 (2) + b12 (1) + b17 (3) + b18 (1)
                "Copyrighted material used under license (broker@1, lic@1): 7 records",
                "Public domain: 2 records",  # b8 under CC0-1.0
                # b9 (3) + b10 (1) + b19 (1)
                "Publicly available or crawled material whose copyright status is not "
                "established: 5 records",
                # b13 (2) + b14 (1) + b15 (2) + b16 (1)
                "The provider's own, user-provided or synthetic material: 6 records",
            ],
            "ledger",
            [2, 3, 4, *every],
        ),
        ("5", "trademark_patent:d"): (PROFILE["ip_statement"], "declared", [7]),
        ("6", "purchased_licensed:d"): (
            [
                "Licensed: broker@1 from DataBroker Inc",
                "Licensed: lic@1 from Rights Co",
                "Licensed: pd@1 from Commons Archive",
                "Purchased from a data broker: b12 (https://broker.example/feed)",
            ],
            "ledger",
            [2, 3, 4, 8, 11, 12, 17, 18],
        ),
        ("7", "personal_information:d"): ("Yes: 3 records in b13, b14", "ledger", [13, 14]),
        ("8", "aggregate_consumer:d"): (False, "declared", [7]),
        ("9", "processing:d"): (
            [f"b{n}: no processing declared" for n in range(8, 13)]
            + ["b13: PII scrubbed"]
            + [f"b{n}: no processing declared" for n in range(14, 20)],
            "ledger",
            every,
        ),
        ("10", "period:d"): ("2025-01-01 to 2025-07-01", "ledger", [8, 9, 10, 11, 13, 15, 19]),
        ("10", "ongoing:d"): (True, "declared", [7]),
        ("11", "first_used:d"): (f"{model_day} (model m1)", "ledger", [20]),
        ("12", "synthetic:d"): ("Yes: 2 records in b15", "ledger", [15]),
    }
    assert _fields(doc) == expected
    assert [s.id for s in doc.sections] == [str(n) for n in range(1, 13)]
    assert doc.missing == []
    # A dataset subject reads the same dataset up to the disclosure's seq.
    by_dataset = generate(ledger.store, "d", "ca-ab2013")
    assert by_dataset.subject_kind == "dataset"
    assert _fields(by_dataset) == expected


def test_evidence_exists_and_is_of_the_right_kind(ledger: Ledger, built: dict[str, Any]) -> None:
    kinds = {e.seq: e.kind for e in ledger.entries()}
    for template in ("eu-gpai-summary", "ca-ab2013"):
        doc = generate(ledger.store, "m1", template)
        assert {e.seq: e.kind for e in doc.entries} == {
            s: kinds[s] for s in {q for sec in doc.sections for f in sec.fields for q in f.evidence}
        }
        for section in doc.sections:
            for f in section.fields:
                cited = {kinds[s] for s in f.evidence}
                if f.status == "declared":
                    assert cited == {"profile-set"}, (section.id, f.id)
                elif f.status == "missing":
                    assert cited == set() and f.value is None and f.declare, (section.id, f.id)
                elif f.id in ("model_name",) or f.id.startswith("first_used"):
                    assert cited == {"model-registered"}, (section.id, f.id)
                elif f.id == "training_datasets":
                    assert cited == {"model-registered", "dataset-created"}
                else:
                    assert cited and cited <= {"batch-registered", "license-added"}, (
                        section.id,
                        f.id,
                    )
                if f.status != "missing":
                    assert f.declare is None


def test_without_a_profile_every_declared_value_is_missing(ledger: Ledger, tmp_path: Path) -> None:
    build(ledger, tmp_path, profile=False)
    doc = generate(ledger.store, "m1", "eu-gpai-summary")
    assert doc.missing == [
        "1.1 provider_name",
        "1.1 provider_contact",
        "1.2 model_version",
        "1.2 model_dependencies",
        "1.2 placed_on_market",
        "2.3 purposes",
        "2.3 behaviour",
        "3.1 measures",
        "3.2 measures",
    ]
    assert doc.field("1.1", "provider_name").declare == (
        "profile: provider.name ('provledger profile set FILE.json')"
    )


@pytest.mark.parametrize(
    ("modality", "size", "bucket"),
    [
        ("text", 10**9 - 1, "Less than 1 billion tokens"),
        ("text", 10**9, "1 billion to 10 trillion tokens"),
        ("text", 10**13, "1 billion to 10 trillion tokens"),
        ("text", 10**13 + 1, "More than 10 trillion tokens"),
        ("image", 10**6 - 1, "Less than 1 million images"),
        ("image", 10**6, "1 million to 1 billion images"),
        ("image", 10**9, "1 million to 1 billion images"),
        ("image", 10**9 + 1, "More than 1 billion images"),
        ("audio", 9999.5, "Less than 10 thousand hours"),
        ("audio", 10**4, "10 thousand to 1 million hours"),
        ("video", 10**6, "10 thousand to 1 million hours"),
        ("video", 10**6 + 0.5, "More than 1 million hours"),
    ],
)
def test_eu_buckets_at_each_boundary(modality: str, size: float, bucket: str) -> None:
    assert bucket_eu(modality, size) == bucket


@pytest.mark.parametrize(
    ("n", "bucket"),
    [
        (0, "None"),
        (1, "1 to 999"),
        (999, "1 to 999"),
        (1000, "1,000 to 9,999"),
        (9999, "1,000 to 9,999"),
        (10_000, "10,000 to 99,999"),
        (1_000_000, "1,000,000 to 9,999,999"),
    ],
)
def test_ab2013_buckets_at_each_boundary(n: int, bucket: str) -> None:
    assert bucket_ab2013(n) == bucket


def test_formats_pass_their_own_validators(ledger: Ledger, built: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for template, sections in (("eu-gpai-summary", 12), ("ca-ab2013", 12)):
        doc = generate(ledger.store, "m1", template)
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(doc.as_dict(), schema, cls=jsonschema.Draft202012Validator)
        tokens = MarkdownIt("commonmark").enable("table").parse(to_markdown(doc))
        assert sum(t.type == "table_open" for t in tokens) == sections
        rows = sum(t.type == "tr_open" for t in tokens)
        assert rows == sections + sum(len(s.fields) for s in doc.sections)
        page = to_html(doc)
        parser = html5lib.HTMLParser(strict=True)
        parser.parse(page)  # raises on any parse error
        for forbidden in ("<script", "src=", "href=", "@import", "url("):
            assert forbidden not in page


def test_publishing_records_the_content_hash(ledger: Ledger, built: dict[str, Any]) -> None:
    doc, entry = disclose(ledger, "m1", "eu-gpai-summary")
    assert entry is not None and entry.seq == 21 and doc.ledger_seq == 20
    assert entry.kind == "disclosure-published"
    assert entry.payload == {
        "template": "eu-gpai-summary",
        "subject": "m1",
        "subject_kind": "model",
        "ledger_seq": 20,
        "content_sha256": doc.content_sha256,
        "generated_at": doc.generated_at,
        "missing": 1,
    }
    # Regenerated later at the same seq: the same content hash, whatever was appended since.
    again = generate(ledger.store, "m1", "eu-gpai-summary", cut=20, generated_at="x")
    assert again.content_sha256 == doc.content_sha256
    # Generated now, it reflects a later seq (so another hash) with the same content.
    now = generate(ledger.store, "m1", "eu-gpai-summary")
    assert (now.ledger_seq, now.sections) == (21, doc.sections)
    assert now.content_sha256 != doc.content_sha256
    assert ledger.verify().ok
    assert [p["seq"] for p in published(ledger.store)] == [21]


def test_diff_since_shows_exactly_the_batches_added(
    ledger: Ledger, built: dict[str, Any], tmp_path: Path
) -> None:
    first, entry = disclose(ledger, "d", "ca-ab2013")
    assert entry is not None
    later = [
        ledger.register(_file(tmp_path, "late1", ["late one"]), dataset="d", source="scraped"),
        ledger.register(_file(tmp_path, "late2", ["late two two"]), dataset="d", source="scraped"),
    ]
    diff = diff_since(ledger.store, "d", "ca-ab2013", str(entry.seq))
    assert diff.batches_added == [r.batch_id for r in later] == ["b22", "b23"]
    assert diff.batches_removed == []
    assert diff.reproduced is True
    assert diff.since.seq == entry.seq
    assert diff.since.content_sha256 == first.content_sha256
    changed = {(c.section, c.field): (c.before, c.after) for c in diff.changed}
    # 20 -> 22 records stays in the range "1 to 999": section 3 does not change.
    assert set(changed) == {
        ("1", "sources:d"),
        ("5", "copyright:d"),
        ("9", "processing:d"),
    }
    assert changed[("5", "copyright:d")][1][2] == (
        "Publicly available or crawled material whose copyright status is not established: "
        "7 records"
    )
    # By date: the end of today includes the publication.
    today = entry.recorded_at[:10]
    assert diff_since(ledger.store, "d", "ca-ab2013", today).batches_added == ["b22", "b23"]


def test_diff_since_before_anything_was_published(ledger: Ledger, built: dict[str, Any]) -> None:
    from provledger.errors import NotFound

    with pytest.raises(NotFound) as err:
        diff_since(ledger.store, "m1", "eu-gpai-summary", "20")
    assert str(err.value) == (
        "no eu-gpai-summary disclosure was published at or before 20 (seq 20): publish one "
        "with 'provledger disclose m1 --template eu-gpai-summary'"
    )


def test_cli_profile_and_disclose(ledger: Ledger, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    build(ledger, tmp_path, profile=False)
    home = str(ledger.home)
    ledger.close()
    bad = tmp_path / "bad.json"
    bad.write_text('{"provider": {"name": "X"}, "intended_purpose": "p"}', encoding="utf-8")
    result = cli("profile", "set", str(bad), "--home", home)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad}, field 'provider.contact': required field is missing\n"
    good = tmp_path / "profile.json"
    good.write_text(json.dumps(PROFILE), encoding="utf-8")
    result = cli("profile", "set", str(good), "--home", home)
    assert result.exit_code == 0
    assert result.stdout == "Set the organisation profile of Example AI GmbH (seq 21)\n"
    again = cli("profile", "set", str(good), "--home", home)
    assert again.exit_code == 1
    assert again.stderr == (
        "Error: the organisation profile is already this one (seq 21): nothing changed\n"
    )

    dry = cli("disclose", "m1", "--template", "eu-gpai-summary", "--dry-run", "--home", home)
    assert dry.exit_code == 0
    assert dry.stdout.startswith(
        "# Public summary of training content (EU AI Act, Article 53(1)(d)): m1\n"
    )
    assert "- 2.3 Behaviour of the crawlers (`behaviour`): profile: crawlers.NAME.behaviour" in (
        dry.stdout
    )
    assert dry.stderr.endswith("(not recorded)\n")
    page = tmp_path / "ab2013.html"
    out = cli("disclose", "m1", "--template", "ca-ab2013", "--format", "html", "-o", str(page),
              "--home", home)  # fmt: skip
    assert out.exit_code == 0
    assert out.stdout == ""
    with Ledger.open(home, read_only=True) as reader:
        digest = generate(reader.store, "m1", "ca-ab2013", cut=21)
    assert out.stderr == (
        f"ca-ab2013 disclosure of m1: 0 missing values; content SHA-256 "
        f"{digest.content_sha256} (recorded as seq 22); written to {page}\n"
    )
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    as_json = cli("disclose", "m1", "--template", "ca-ab2013", "--as-of-seq", "21", "--json",
                  "--home", home)  # fmt: skip
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["content_sha256"] == digest.content_sha256
    diff = cli("disclose", "m1", "--template", "ca-ab2013", "--diff-since", "22", "--json",
               "--home", home)  # fmt: skip
    assert diff.exit_code == 0
    body = json.loads(diff.stdout)
    assert (body["reproduced"], body["batches_added"], body["changed"]) == (True, [], [])
    text = cli("disclose", "m1", "--template", "ca-ab2013", "--diff-since", "22",
               "--home", home)  # fmt: skip
    assert "- Batches added: none\n" in text.stdout
    assert "No field changed." in text.stdout
    unknown = cli("disclose", "d", "--template", "eu-gpai-summary", "--home", home)
    assert unknown.exit_code == 1
    assert unknown.stderr == (
        "Error: unknown model 'd': the eu-gpai-summary template is per model (register it "
        "with 'provledger model register d --dataset NAME')\n"
    )
    bad_since = cli("disclose", "m1", "--template", "ca-ab2013", "--diff-since", "last week",
                    "--home", home)  # fmt: skip
    assert bad_since.exit_code == 1
    assert bad_since.stderr == (
        "Error: field 'diff_since': --diff-since 'last week' is neither a seq nor an ISO-8601 "
        "date or time (e.g. 42, 2026-03-01 or 2026-03-01T12:00:00Z)\n"
    )
    html_diff = cli("disclose", "m1", "--template", "ca-ab2013", "--diff-since", "22",
                    "--format", "html", "--home", home)  # fmt: skip
    assert html_diff.exit_code == 1
    assert html_diff.stderr == (
        "Error: --diff-since prints Markdown or JSON (--format markdown or --json)\n"
    )
    pdf = cli("disclose", "m1", "--template", "ca-ab2013", "--format", "pdf", "--home", home)
    assert pdf.exit_code == 1
    assert pdf.stderr == (
        "Error: field 'format': unknown format 'pdf' (expected one of markdown, html, json)\n"
    )
    nowhere = tmp_path / "no-such-folder" / "page.md"
    unwritable = cli("disclose", "m1", "--template", "ca-ab2013", "-o", str(nowhere),
                     "--home", home)  # fmt: skip
    assert unwritable.exit_code == 1
    assert unwritable.stderr == f"Error: cannot write {nowhere}: No such file or directory\n"
    shown = cli("profile", "show", "--json", "--home", home)
    assert shown.exit_code == 0
    current = json.loads(shown.stdout)
    assert current["seq"] == 21
    # As signed: the manifest with every optional field it left out set to null.
    assert current["profile"]["provider"] == PROFILE["provider"]
    assert current["profile"]["crawlers"]["ContractorBot"] == {
        "purpose": "news crawl on our behalf",
        "behaviour": None,
    }
    listing = cli("log", "--home", home)
    assert re.search(r"  profile-set +Example AI GmbH  ", listing.stdout)
    assert re.search(r"  disclosure-published +m1  ", listing.stdout)
    log = cli("log", "--json", "--home", home)
    kinds = [e["kind"] for e in json.loads(log.stdout)]
    assert kinds.count("disclosure-published") == 1  # dry runs, --as-of-seq, diffs: none
    assert cli("verify", "--home", home).exit_code == 0


def _sample_figures() -> dict[str, Any]:
    import re

    from provledger.demo import SAMPLE_DIR

    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- expected-figures -->\s*```json\n(.*?)\n```", text, re.DOTALL)
    assert match
    return json.loads(match.group(1))["disclosure"]


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from provledger.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("worked") / "home")


def test_worked_example_counts_match_the_generator(worked: Any) -> None:
    want = _sample_figures()
    for file, result in worked.batches.items():
        assert (result.words, result.bytes) == (want["words"][file], want["bytes"][file]), file


def test_worked_example_eu_summary(worked: Any) -> None:
    want = _sample_figures()["eu"]
    doc = worked.disclosures["eu-gpai-summary"]
    status = {f"{s.id} {f.id}": f.status for s in doc.sections for f in s.fields}
    assert status == want["status"]
    ids = {file: r.batch_id for file, r in worked.batches.items()}
    value = {f"{s.id} {f.id}": f.value for s in doc.sections for f in s.fields}
    assert value["1.3 modalities"] == want["modalities"]
    assert value["1.3 size_text"] == want["size_text"]
    assert value["1.3 latest_acquisition"] == want["latest_acquisition"]
    assert value["1.3 languages"] == want["languages"]
    licensed = ids["licensed/support_conversations.jsonl"]
    crawl = ids["scraped/forum_posts.jsonl"]
    assert value["2.2.1 used"] == f"Yes: {want['licensed_records']} records in {licensed}"
    assert value["2.3 used"] == f"Yes: {want['crawled_records']} records in {crawl}"
    assert value["2.3 crawlers"] == want["crawlers"]
    assert value["2.3 collection_period"] == want["collection_period"]
    assert value["2.3 top_domains"] == want["top_domains"]
    user = [ids["first_party/tickets_2024.csv"], ids["first_party/tickets_2025.jsonl"]]
    assert value["2.4 this_service"] == f"Yes: {want['user_records']} records in {', '.join(user)}"
    assert value["2.5 used"].startswith(f"Yes: {want['synthetic_records']} records in ")
    assert value["2.5 generating_models"] == want["generating_models"]
    assert value["2.5 model_terms"] == want["model_terms"]
    assert value["3.1 coverage"] == want["coverage"]
    assert doc.missing == ["3.2 measures"]
    # The tokens the size bucket rests on: the train batches' signed counts.
    with Ledger.open(worked.home, read_only=True) as led:
        tokens = sum(
            led.store.entry(s).payload["metadata"]["tokens"]  # type: ignore[union-attr]
            for s in doc.field("1.3", "size_text").evidence
        )
    assert tokens == want["tokens"]


def test_worked_example_ab2013_page(worked: Any) -> None:
    want = _sample_figures()["ab2013"]
    doc = worked.disclosures["ca-ab2013"]
    status = {f"{s.id} {f.id}": f.status for s in doc.sections for f in s.fields}
    assert status == want["status"]
    d = "support-ticket-classifier"
    assert doc.field("3", f"data_points:{d}").value == want["data_points"]
    assert doc.field("4", f"types:{d}").value == want["types"]
    assert doc.field("5", f"copyright:{d}").value == want["copyright"]
    assert doc.field("7", f"personal_information:{d}").value.startswith(  # type: ignore[union-attr]
        f"Yes: {want['personal_information_records']} records in "
    )
    assert doc.field("10", f"period:{d}").value == want["period"]
    assert doc.field("12", f"synthetic:{d}").value.startswith(  # type: ignore[union-attr]
        f"Yes: {want['synthetic_records']} records in "
    )
    assert doc.missing == []
    assert sum(r.records for r in worked.batches.values()) == want["records"]
    for template, path in worked.disclosure_paths.items():
        assert path.read_text(encoding="utf-8") == to_markdown(worked.disclosures[template])


def test_an_edited_channel_is_caught_by_verify(home: Path, tmp_path: Path) -> None:
    """The metadata disclosures read is signed: editing it in the database breaks verify
    at that batch's entry."""
    import duckdb

    from provledger.ledger import DB_FILE
    from provledger.storage.migrations import guard_statements

    with Ledger.init(home) as led:
        build(led, tmp_path)
    con = duckdb.connect(str(home / DB_FILE))
    try:
        con.execute("DROP TRIGGER entries_no_update ON entries")
        con.execute(
            "UPDATE entries SET payload = replace(payload, '\"own_crawl\"', '\"public_dataset\"')"
            " WHERE seq = 9"
        )
        con.execute("DROP TRIGGER entries_no_delete ON entries")
        for statement in guard_statements("entries"):  # or the catalog check fails first
            con.execute(statement)
    finally:
        con.close()
    with Ledger.open(home, read_only=True) as led:
        assert generate(led.store, "m1", "eu-gpai-summary").field("2.1", "used").value == (
            "Yes: 5 records in b8, b9"
        )  # what a forger would want a reader to see ...
        report = led.verify()
    assert (report.ok, report.first_bad_seq) == (False, 9)  # ... and what verify says
