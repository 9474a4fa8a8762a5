"""Batch metadata at registration: defaults per source type, refused combinations (clear
error, ledger unchanged), counts made while hashing (serial and in worker processes), the
signed payload, older entries without metadata, and the CRAWL_OPTOUT_MISSING finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger import ingest
from ledger.audit import audit
from ledger.disclose import generate
from ledger.errors import InputError
from ledger.ledger import Ledger
from ledger.store import Appender

OPT_OUT = {
    "checked_at": "2025-03-10T09:00:00+01:00",
    "robots_txt": {"sha256": "cd" * 32, "agents": ["ExampleBot"], "verdict": "disallowed"},
}


def _jsonl(path: Path, texts: list[str], **extra: Any) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "i": i, **extra}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def led(ledger: Ledger) -> Ledger:
    ledger.add_license(
        {
            "id": "lic",
            "version": 1,
            "title": "T",
            "licensor": "L",
            "grants": ["train"],
            "effective_from": "2025-01-01",
        }
    )
    ledger.add_consent(
        {"policy": "tos", "version": 1, "effective_from": "2024-01-01", "permits": ["train"]}
    )
    ledger.create_dataset("d", owner="o", context="customer_facing", uses=["train"])
    return ledger


def _metadata(led: Ledger, seq: int) -> dict[str, Any]:
    return led.store.entry(seq).payload["metadata"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("source", "extra", "channel"),
    [
        ("scraped", {}, "own_crawl"),
        ("licensed", {"license": "lic@1"}, "rightsholder_license"),
        ("first_party", {"consent": "tos@1", "subject_field": "u"}, "user_data_this_service"),
        ("synthetic", {"generator": "g"}, "synthetic"),
    ],
)
def test_default_channel_per_source(
    led: Ledger, tmp_path: Path, source: str, extra: dict[str, Any], channel: str
) -> None:
    result = led.register(
        _jsonl(tmp_path / "a.jsonl", ["x"], u="s1"), dataset="d", source=source, **extra
    )
    assert result.channel == channel
    meta = _metadata(led, result.seq)
    assert (meta["channel"], meta["modality"], meta["languages"]) == (channel, "text", [])


def test_counts_and_signed_metadata(led: Ledger, tmp_path: Path) -> None:
    # "héllo  wörld x": 3 words, 16 UTF-8 bytes (é and ö take two each); "a b": 2 words, 3.
    result = led.register(
        _jsonl(tmp_path / "a.jsonl", ["héllo  wörld x", "a b"]),
        dataset="d",
        source="scraped",
        crawler="ExampleBot",
        opt_out=OPT_OUT,
        languages=["EN-gb", "de"],
        processing="deduplicated",
        origin="https://example.org/",
    )
    assert (result.words, result.bytes) == (5, 19)
    assert _metadata(led, result.seq) == {
        "channel": "own_crawl",
        "modality": "text",
        "languages": ["en-GB", "de"],
        "crawler": "ExampleBot",
        "opt_out": {
            "checked_at": "2025-03-10T08:00:00Z",
            "robots_txt": {"sha256": "cd" * 32, "agents": ["ExampleBot"], "verdict": "disallowed"},
        },
        "generator_model": None,
        "generator_terms": None,
        "processing": "deduplicated",
        "hours": None,
        "bytes": 19,
        "words": 5,
        "tokens": 5,
        "tokenizer": "whitespace-words",
    }
    assert led.verify().ok


def test_worker_processes_count_the_same(
    led: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"word {i} " + "x " * (i % 7) for i in range(400)]
    words = sum(len(t.split()) for t in texts)
    size = sum(len(t) for t in texts)
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(ingest, "RANGE_BYTES", 2048)  # several ranges, several workers
    result = led.register(_jsonl(tmp_path / "big.jsonl", texts), dataset="d", source="scraped")
    assert (result.records, result.words, result.bytes) == (400, words, size)


REFUSED = [
    (
        {"source": "scraped", "channel": "synthetic"},
        "field 'channel': channel 'synthetic' does not fit source 'scraped' (a scraped batch "
        "is one of own_crawl, third_party_crawl, public_dataset, other)",
    ),
    (
        {"source": "scraped", "channel": "crawl"},
        "field 'channel': unknown channel 'crawl' (expected one of public_dataset, own_crawl, "
        "third_party_crawl, rightsholder_license, data_broker, user_data_this_service, "
        "user_data_other_service, synthetic, other)",
    ),
    (
        {"source": "scraped", "modality": "pictures"},
        "field 'modality': unknown modality 'pictures' (expected one of text, image, audio, "
        "video, tabular, code, other)",
    ),
    (
        {"source": "scraped", "languages": ["english"]},
        "field 'languages': 'english' is not a BCP 47 language tag (e.g. 'en', 'de-AT', 'sr-Latn')",
    ),
    (
        {"source": "scraped", "languages": ["en-gb", "EN-GB"]},
        "field 'languages': lists 'en-GB' twice",
    ),
    (
        {"source": "licensed", "license": "lic@1", "crawler": "Bot"},
        "field 'crawler': --crawler names the crawler of a crawled batch; channel "
        "'rightsholder_license' is not a crawl (own_crawl or third_party_crawl)",
    ),
    (
        {"source": "scraped", "channel": "public_dataset", "opt_out": OPT_OUT},
        "field 'opt_out': opt-out evidence belongs to a crawled batch; channel "
        "'public_dataset' is not a crawl (own_crawl or third_party_crawl)",
    ),
    (
        {"source": "scraped", "generator_model": "m"},
        "field 'generator_model': only a synthetic batch has a generating model; this "
        "batch's channel is 'own_crawl'",
    ),
    (
        {"source": "scraped", "hours": 2.0},
        "field 'hours': hours are counted for audio and video batches; this batch is 'text'",
    ),
    (
        {"source": "scraped", "opt_out": {"checked_at": "2025-01-01"}},
        "field 'opt_out': give at least one of robots_txt, tdmrep, ai_preference (the "
        "protocols checked)",
    ),
    (
        {"source": "scraped", "opt_out": {"checked_at": "x", "tdmrep": {"reserved": False}}},
        "field 'opt_out.checked_at': 'x' is not an ISO-8601 time",
    ),
    (
        {
            "source": "scraped",
            "opt_out": {"checked_at": "2025-01-01", "ai_preference": {"train_ai": "no"}},
        },
        "field 'opt_out.ai_preference.train_ai': unknown train-ai signal 'no' (expected one "
        "of y, n, unset)",
    ),
]


@pytest.mark.parametrize(("spec", "message"), REFUSED)
def test_refused_and_nothing_written(
    led: Ledger, tmp_path: Path, spec: dict[str, Any], message: str
) -> None:
    before = led.store.entry_count()
    with pytest.raises(InputError) as err:
        led.register(_jsonl(tmp_path / "a.jsonl", ["x"]), dataset="d", **spec)
    assert str(err.value) == message
    assert led.store.entry_count() == before


def test_cli_flags_and_errors(led: Ledger, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = _jsonl(tmp_path / "a.jsonl", ["one two", "three"])
    evidence = tmp_path / "optout.json"
    evidence.write_text(json.dumps(OPT_OUT | {"robots_txt": {"sha256": "zz"}}), encoding="utf-8")
    home = str(led.home)
    led.close()
    bad = cli("register", str(data), "--dataset", "d", "--source", "scraped", "--opt-out",
              str(evidence), "--home", home)  # fmt: skip
    assert bad.exit_code == 1
    assert bad.stderr == (
        f"Error: {evidence}, field 'opt_out.robots_txt.sha256': expected the SHA-256 (64 "
        "lowercase hex) of the robots.txt fetched\n"
    )
    evidence.write_text(json.dumps(OPT_OUT), encoding="utf-8")
    ok = cli("register", str(data), "--dataset", "d", "--source", "scraped", "--channel",
             "third_party_crawl", "--crawler", "ExampleBot", "--opt-out", str(evidence),
             "--language", "en", "--language", "fr-CA", "--modality", "text", "--processing",
             "boilerplate removed", "--json", "--home", home)  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert (out["channel"], out["words"], out["bytes"]) == ("third_party_crawl", 3, 12)
    with Ledger.open(home) as again:
        meta = _metadata(again, out["seq"])
    assert meta["languages"] == ["en", "fr-CA"]
    assert meta["crawler"] == "ExampleBot"
    assert meta["processing"] == "boilerplate removed"
    assert meta["opt_out"]["robots_txt"]["verdict"] == "disallowed"


def test_entries_without_metadata_still_verify_audit_and_disclose(
    led: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger written before batches declared metadata: payloads lack the key."""
    original = Appender.write_entry

    def old_style(self: Appender, kind: str, payload: dict[str, Any]) -> Any:
        if kind == "batch-registered":
            payload = {k: v for k, v in payload.items() if k != "metadata"}
        return original(self, kind, payload)

    monkeypatch.setattr(Appender, "write_entry", old_style)
    led.register(_jsonl(tmp_path / "a.jsonl", ["a b", "c"]), dataset="d", source="scraped")
    led.register(_jsonl(tmp_path / "b.jsonl", ["d"]), dataset="d", source="licensed",
                 license="lic@1")  # fmt: skip
    led.register_model("m", ["d"])
    monkeypatch.undo()
    assert "metadata" not in led.store.entry(5).payload  # type: ignore[union-attr]
    assert led.verify().ok
    report = audit(led.store, "d")
    assert report.crawl_opt_out.crawl_batches == ["b5"]  # scraped: own_crawl by default
    assert [f.code for f in report.findings] == ["CRAWL_OPTOUT_MISSING"]
    doc = generate(led.store, "m", "eu-gpai-summary")
    assert doc.field("2.3", "used").value == "Yes: 2 records in b5"
    assert doc.field("2.2.1", "used").value == "Yes: 1 record in b6"
    size = doc.field("1.3", "size_text")
    assert (size.status, size.value) == ("missing", None)  # no signed counts to sum


def _crawl(led: Ledger, tmp_path: Path, dataset: str, **spec: Any) -> None:
    led.register(_jsonl(tmp_path / f"{dataset}.jsonl", ["p", "q", "r"]), dataset=dataset,
                 source="scraped", **spec)  # fmt: skip


def test_crawl_optout_finding_rule(led: Ledger, tmp_path: Path) -> None:
    # customer_facing, no evidence: the finding, with every crawled record.
    _crawl(led, tmp_path, "d")
    report = audit(led.store, "d")
    (finding,) = [f for f in report.findings if f.code == "CRAWL_OPTOUT_MISSING"]
    assert (finding.severity, finding.records) == ("high", 3)
    assert finding.message == (
        "3 crawled records in batch b5 carry no evidence that robots.txt, TDMRep or "
        "AI-preference opt-outs were checked at collection: register crawls with --crawler "
        "and --opt-out"
    )
    # internal and train only: opt-outs do not bind, no finding.
    led.create_dataset("lab", owner="o", context="internal", uses=["train", "evaluate"])
    _crawl(led, tmp_path, "lab")
    lab = audit(led.store, "lab")
    assert lab.crawl_opt_out.matters is False
    assert lab.crawl_opt_out.without_evidence == ["b7"]
    assert lab.findings == []
    # internal but commercial: binds again.
    led.create_dataset("biz", owner="o", context="internal", uses=["train", "commercial"])
    _crawl(led, tmp_path, "biz")
    assert [f.code for f in audit(led.store, "biz").findings] == ["CRAWL_OPTOUT_MISSING"]
    # With evidence: no finding; a disallowing robots.txt is reported as reserved.
    led.create_dataset("ok", owner="o", context="regulated", uses=["train"])
    _crawl(led, tmp_path, "ok", crawler="ExampleBot", opt_out=OPT_OUT)
    ok = audit(led.store, "ok")
    assert ok.crawl_opt_out.without_evidence == []
    assert ok.crawl_opt_out.reserved == ["b11"]
    assert "CRAWL_OPTOUT_MISSING" not in [f.code for f in ok.findings]
