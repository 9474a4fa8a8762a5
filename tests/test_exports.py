"""Standard exports (issue 15): Croissant validated by ``mlcroissant``, OpenLineage events
read back into ``openlineage-python``'s classes, W3C PROV round-tripped by ``prov``; the
RAI fields, the custom facet and the graph checked by value on a small ledger counted by
hand (every source type, a derivation, a model and an erasure) and validated over the
worked example. Erased records appear in no export."""

from __future__ import annotations

import http.server
import importlib.util
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import mlcroissant as mlc
import pyarrow.parquet as pq
import pytest
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.serde import Serde
from prov.model import ProvDocument

from provledger.demo import DemoResult, run_demo
from provledger.exports.openlineage import ProvledgerBatchFacet, ProvledgerErasureFacet
from provledger.ledger import NOTE_FILE, Ledger

STANDARD = ("croissant", "openlineage", "prov", "prov-n")
# mlcroissant builds an rdflib ConjunctiveGraph, which rdflib 7.x deprecates: theirs, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


# -- a small ledger counted by hand ------------------------------------------------------
def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def small(tmp_path: Path, home: Path) -> dict[str, Any]:
    """scraped (3 records), licensed (2), first_party (4: subjects u1, u1, u2, u3),
    synthetic (2, derived from first_party); model m on it; subject u1 erased (2 records)."""
    with Ledger.init(home) as led:
        led.add_license(
            {"id": "acme", "version": 1, "title": "Acme corpus", "licensor": "Acme Data Ltd.",
             "grants": ["train"], "effective_from": "2025-01-01", "expires_on": None,
             "spdx": "CC-BY-4.0", "document_sha256": None}
        )  # fmt: skip
        led.add_consent(
            {"policy": "tos", "version": 1, "effective_from": "2024-01-01",
             "permits": ["train"], "retention_days": 365, "prior_versions": {}}
        )  # fmt: skip
        led.create_dataset("d", owner="Team A", context="internal", uses=["train", "evaluate"])
        scraped = led.register(
            _jsonl(tmp_path / "s.jsonl", [{"text": f"s{i}"} for i in range(3)]),
            dataset="d", source="scraped", origin="https://forum.example/",
            collected_at="2025-01-01",
        )  # fmt: skip
        licensed = led.register(
            _jsonl(tmp_path / "l.jsonl", [{"text": f"l{i}"} for i in range(2)]),
            dataset="d", source="licensed", license="acme@1", collected_at="2025-02-01",
        )  # fmt: skip
        first = led.register(
            _jsonl(
                tmp_path / "f.jsonl",
                [{"text": f"f{i}", "uid": u} for i, u in enumerate(["u1", "u1", "u2", "u3"])],
            ),
            dataset="d", source="first_party", consent="tos@1", subject_field="uid",
            collected_at="2025-03-01",
        )  # fmt: skip
        synthetic = led.register(
            [{"text": "g0"}, {"text": "g1"}],
            dataset="d", source="synthetic", generator="gen-1 (v2)",
            derived_from=[first.batch_id], collected_at="2025-04-01",
        )  # fmt: skip
        model = led.register_model("m", ["d"])
        erasure = led.erase("u1", "REQ-1")
        erased = [
            bytes(r[0]).hex() for r in led.store.rows("SELECT record_hash FROM erased_records")
        ]
        subjects = [
            bytes(r[0]).hex()
            for r in led.store.rows("SELECT subject_hash FROM records WHERE subject_hash NOTNULL")
        ]
        entries = led.store.entry_count()
    assert len(erased) == 2
    return {
        "batches": [scraped, licensed, first, synthetic],
        "model": model,
        "erasure": erasure,
        "erased": erased,
        "subjects": subjects,
        "entries": entries,
    }


def _export(cli: Any, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"d.{fmt}"
    result = cli("export", "d", "--format", fmt, "--output", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


def _validate_croissant(path: Path) -> Any:
    """What ``mlcroissant validate --jsonld PATH`` does; no errors and no warnings."""
    dataset = mlc.Dataset(jsonld=str(path))
    issues = dataset.metadata.ctx.issues
    assert (issues.errors, issues.warnings) == (set(), set())
    return dataset.metadata


# -- Croissant ------------------------------------------------------------------------------
def test_croissant_validates_and_carries_the_rai_fields(
    cli: Any, tmp_path: Path, small: dict[str, Any], home: Path
) -> None:
    path = _export(cli, tmp_path, "croissant")
    metadata = _validate_croissant(path)
    scraped, licensed, first, synthetic = small["batches"]
    doc = json.loads(path.read_text())
    assert doc["conformsTo"] == [
        "http://mlcommons.org/croissant/1.1",
        "http://mlcommons.org/croissant/RAI/1.0",
    ]
    assert doc["rai:dataCollectionType"] == [
        "Others", "Passive Data Collection", "Secondary Data analysis", "Web Scraping"
    ]  # fmt: skip
    assert sorted(metadata.data_collection_type) == doc["rai:dataCollectionType"]
    assert doc["rai:dataCollectionTimeframe"] == ["2025-01-01T00:00:00", "2025-04-01T00:00:00"]
    assert doc["rai:dataCollection"] == (
        f"Registered in a provledger ledger ({doc['provledger:checkpoint']['provledger:origin']})"
        " batch by batch, each with its source type, license or consent-policy version and an "
        "RFC 9162 Merkle root over its record hashes: 3 records in 1 batch scraped from "
        "public web sources; 2 records in 1 batch licensed from a third party under a "
        "recorded license; 2 records in 1 batch first-party product data collected under a "
        "recorded consent policy; 2 records in 1 batch generated by a model (synthetic)."
    )
    assert doc["rai:personalSensitiveInformation"] == [
        f"Batch {first.batch_id}: 2 records carry a data subject id in field 'uid' under "
        "consent policy tos@1 (permits train; retention 365 days); the ledger keeps only a "
        "keyed hash (HMAC-SHA256) of each id.",
        "1 erasure request removed 2 records; they are left out of every count here.",
    ]
    assert metadata.personal_sensitive_information == doc["rai:personalSensitiveInformation"]
    assert doc["rai:dataUseCases"] == ["Intended uses: train, evaluate.", "Use context: internal."]
    assert doc["license"] == ["CC-BY-4.0"]
    files = {f["@id"]: f for f in doc["distribution"]}
    assert list(files) == [b.batch_id for b in small["batches"]]
    assert [f.name for f in metadata.distribution] == list(files)
    assert files[synthetic.batch_id]["prov:wasDerivedFrom"] == [{"@id": first.batch_id}]
    assert files[first.batch_id]["provledger:activeRecords"] == 2
    assert files[first.batch_id]["provledger:records"] == 4
    assert files[first.batch_id]["provledger:merkleRoot"] == first.merkle_root
    assert files[scraped.batch_id]["contentUrl"] == "https://forum.example/"
    assert files[licensed.batch_id]["provledger:license"] == "acme@1"
    assert all("sha256" not in f for f in files.values())  # file bytes are never hashed
    checkpoint = doc["provledger:checkpoint"]
    assert checkpoint["provledger:treeSize"] == small["entries"]
    assert checkpoint["provledger:signedNote"] == (home / NOTE_FILE).read_text()


# -- OpenLineage --------------------------------------------------------------------------
FACETS = {"provledger_batch": ProvledgerBatchFacet, "provledger_erasure": ProvledgerErasureFacet}


def _facets(raw: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, body in raw.items():
        fields = dict(body)
        producer, schema = fields.pop("_producer"), fields.pop("_schemaURL")
        facet = FACETS[name](producer=producer, **fields)
        assert facet._schemaURL == schema
        out[name] = facet
    return out


def _read_event(line: str) -> RunEvent:
    """Rebuild a RunEvent from its JSON with openlineage-python's classes (their
    validators check the run id, time and URLs) and check it serialises to the same line."""
    d = json.loads(line)
    event = RunEvent(
        eventType=RunState(d["eventType"]),
        eventTime=d["eventTime"],
        run=Run(runId=d["run"]["runId"]),
        job=Job(namespace=d["job"]["namespace"], name=d["job"]["name"]),
        producer=d["producer"],
        inputs=[
            InputDataset(i["namespace"], i["name"], facets=_facets(i["facets"]))
            for i in d["inputs"]
        ],
        outputs=[
            OutputDataset(o["namespace"], o["name"], facets=_facets(o["facets"]))
            for o in d["outputs"]
        ],
    )
    assert event.schemaURL == d["schemaURL"]
    assert d["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    assert Serde.to_json(event) == line
    return event


def test_openlineage_events_read_back_with_the_custom_facet(
    cli: Any, tmp_path: Path, small: dict[str, Any]
) -> None:
    lines = _export(cli, tmp_path, "openlineage").read_text().splitlines()
    events = [_read_event(line) for line in lines]
    first = small["batches"][2]
    assert [e.job.name for e in events] == ["provledger.register"] * 4 + [
        "provledger.model.register",
        "provledger.erase",
    ]
    assert len({e.run.runId for e in events}) == 6
    facet = events[2].outputs[0].facets["provledger_batch"]
    assert (events[2].outputs[0].name, facet) == (
        f"d/{first.batch_id}",
        ProvledgerBatchFacet(
            producer="urn:provledger",
            sourceType="first_party",
            consentVersion="tos@1",
            merkleRoot=first.merkle_root,
            records=2,
            registeredRecords=4,
            ledgerSeq=first.seq,
            split="train",
        ),
    )
    assert events[1].outputs[0].facets["provledger_batch"].license == "acme@1"
    assert [i.name for i in events[3].inputs] == [f"d/{first.batch_id}"]
    assert events[3].outputs[0].facets["provledger_batch"].generator == "gen-1 (v2)"
    assert [i.name for i in events[4].inputs] == [f"d/{b.batch_id}" for b in small["batches"]]
    assert [o.name for o in events[4].outputs] == ["model/m"]
    erased = events[5].outputs[0]
    assert erased.name == f"d/{first.batch_id}"
    assert erased.facets["provledger_erasure"] == ProvledgerErasureFacet(
        producer="urn:provledger", erasedRecords=2, ledgerSeq=small["erasure"].seq
    )


class _Collector(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def test_emit_posts_every_event_to_an_openlineage_endpoint(
    cli: Any,
    tmp_path: Path,
    small: dict[str, Any],
    endpoint: tuple[str, list[tuple[str, bytes]]],
) -> None:
    url, received = endpoint
    out = tmp_path / "ol.jsonl"
    result = cli("export", "d", "-f", "openlineage", "-o", str(out), "--emit", url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"Posted 6 OpenLineage events to {url}"
    assert [p for p, _ in received] == ["/api/v1/lineage"] * 6
    assert [b.decode() for _, b in received] == out.read_text().splitlines()


def test_emit_to_a_closed_port_fails_and_writes_nothing(
    cli: Any, tmp_path: Path, small: dict[str, Any]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "ol.jsonl"
    result = cli("export", "d", "-f", "openlineage", "-o", str(out), "--emit",
                 f"http://127.0.0.1:{port}")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: field 'emit': cannot post event 1 of 6 to http://127.0.0.1:{port}/api/v1/"
        "lineage: [Errno 111] Connection refused (0 delivered)\n"
    )
    assert not out.exists()


# -- PROV ---------------------------------------------------------------------------------
def test_prov_json_round_trips_and_holds_the_graph(
    cli: Any, tmp_path: Path, small: dict[str, Any]
) -> None:
    text = _export(cli, tmp_path, "prov").read_text()
    doc = ProvDocument.deserialize(content=text, format="json")
    assert ProvDocument.deserialize(content=doc.serialize(format="json"), format="json") == doc
    provn = _export(cli, tmp_path, "prov-n").read_text()
    # The same statements as the JSON read back (prov has no PROV-N reader; order differs).
    assert sorted(provn.splitlines()) == sorted(doc.get_provn().splitlines())
    first, synthetic = small["batches"][2:]
    data = json.loads(text)
    derived = [(r["prov:generatedEntity"], r["prov:usedEntity"])
               for r in data["wasDerivedFrom"].values()]  # fmt: skip
    assert derived == [(f"provledger:batch-{synthetic.batch_id}",
                        f"provledger:batch-{first.batch_id}")]  # fmt: skip
    invalidated = list(data["wasInvalidatedBy"].values())
    assert [(r["prov:entity"], r["prov:activity"]) for r in invalidated] == [
        (f"provledger:erased-{small['erasure'].seq}-{first.batch_id}",
         f"provledger:erasure-{small['erasure'].seq}")
    ]  # fmt: skip
    agents = data["agent"]
    labels = sorted(a["prov:label"] for a in agents.values() if "prov:label" in a)
    assert labels == ["Acme Data Ltd.", "Team A", "gen-1 (v2)"]
    subjects = agents[f"provledger:subjects-{first.batch_id}"]
    assert subjects["provledger:count"] == {"$": "2", "type": "xsd:int"}  # u1 was erased
    erased_part = data["entity"][f"provledger:erased-{small['erasure'].seq}-{first.batch_id}"]
    assert erased_part["provledger:records"] == {"$": "2", "type": "xsd:int"}
    assert set(data["activity"]) == {
        *(f"provledger:registration-{b.seq}" for b in small["batches"]),
        f"provledger:generation-{synthetic.batch_id}",
        f"provledger:erasure-{small['erasure'].seq}",
        f"provledger:model-registration-{small['model'].seq}",
    }


def test_prov_svg_without_graphviz_says_what_to_install(
    cli: Any, tmp_path: Path, small: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program here
    result = cli("export", "d", "-f", "prov-svg", "-o", str(tmp_path / "g.svg"))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: field 'format': format prov-svg needs Graphviz's dot program on the PATH "
        "(e.g. apt-get install graphviz); prov and prov-n need nothing more\n"
    )


# -- every format -------------------------------------------------------------------------
def test_no_export_holds_an_erased_record_or_a_subject_hash(
    cli: Any, tmp_path: Path, small: dict[str, Any]
) -> None:
    manifest = pq.read_table(_export(cli, tmp_path, "parquet")).to_pylist()
    assert len(manifest) == 9  # 3 + 2 + 4 + 2 registered, 2 erased
    assert not {r["record_hash"] for r in manifest} & set(small["erased"])
    for fmt in STANDARD:
        text = _export(cli, tmp_path, fmt).read_text()
        for digest in small["erased"] + small["subjects"]:
            assert digest not in text, (fmt, digest)


def printed_seq(cli: Any) -> int:
    """The head of the log, as `log --json` lists it."""
    return int(json.loads(cli("log", "--json").stdout)[-1]["seq"])


def test_the_cli_reports_what_it_wrote(cli: Any, tmp_path: Path, small: dict[str, Any]) -> None:
    out = tmp_path / "c.json"
    result = cli("export", "d", "-f", "croissant", "-o", str(out), "--json")
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed.pop("checked")["checked_through_seq"] == printed_seq(cli)
    assert printed == {
        "dataset": "d",
        "format": "croissant",
        "output": str(out),
        "records": 9,
        "erased_left_out": 2,
        "items": 4,
        "bytes": out.stat().st_size,
        "emitted": None,
    }
    result = cli("export", "d", "-f", "rdf", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: field 'format': unknown format 'rdf' (expected one of parquet, croissant, "
        "openlineage, prov, prov-n, prov-svg)\n"
    )
    result = cli("export", "d", "-o", str(out), "--emit", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --emit posts OpenLineage events: use it with --format openlineage\n"
    )


# -- the worked example -------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo") / "home")


def test_the_worked_example_exports_validate(demo: DemoResult, tmp_path: Path) -> None:
    with Ledger.open(demo.home, read_only=True) as led:
        erased = [
            bytes(r[0]).hex() for r in led.store.rows("SELECT record_hash FROM erased_records")
        ]
        results = {
            fmt: led.export(demo.dataset, tmp_path / f"out.{fmt}", format=fmt) for fmt in STANDARD
        }
    assert erased
    metadata = _validate_croissant(tmp_path / "out.croissant")
    assert len(metadata.distribution) == len(demo.batches)
    lines = (tmp_path / "out.openlineage").read_text().splitlines()
    events = [_read_event(line) for line in lines]
    assert len(events) == len(demo.batches) + 2  # every registration, the model, the erasure
    text = (tmp_path / "out.prov").read_text()
    doc = ProvDocument.deserialize(content=text, format="json")
    provn = (tmp_path / "out.prov-n").read_text()
    assert sorted(provn.splitlines()) == sorted(doc.get_provn().splitlines())
    for fmt, result in results.items():
        assert result.erased_left_out == len(erased)
        content = (tmp_path / f"out.{fmt}").read_text()
        assert not any(digest in content for digest in erased)


FACET_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "openlineage"


def test_the_custom_facets_match_their_published_schemas(
    cli: Any, tmp_path: Path, small: dict[str, Any]
) -> None:
    schemas = {
        "provledger_batch": json.loads(
            (FACET_SCHEMAS / "provledger-batch-facet-1.json").read_text()
        ),
        "provledger_erasure": json.loads(
            (FACET_SCHEMAS / "provledger-erasure-facet-1.json").read_text()
        ),
    }
    checked = 0
    for line in _export(cli, tmp_path, "openlineage").read_text().splitlines():
        event = json.loads(line)
        for dataset in event["inputs"] + event["outputs"]:
            for name, facet in dataset["facets"].items():
                assert facet["_schemaURL"] == schemas[name]["$id"]
                jsonschema.validate(facet, schemas[name])
                checked += 1
    assert checked == 4 + 4 + 2  # registrations, the model's inputs, the erasure (2 facets)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"_producer": "x"}, schemas["provledger_batch"])


def test_a_missing_export_library_says_what_to_install(
    cli: Any, tmp_path: Path, small: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "provledger.exports.prov", raising=False)
    monkeypatch.setitem(sys.modules, "prov.model", None)  # as if prov were not installed
    result = cli("export", "d", "-f", "prov", "-o", str(tmp_path / "p.json"))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: field 'format': format prov needs prov: install provledger[export] "
        "(prov.model is missing)\n"
    )


PROBE = """
import json, sys
from provledger.ledger import Ledger
with Ledger.open(sys.argv[1], read_only=True) as led:
    led.export("d", sys.argv[2])
print(json.dumps(sorted(sys.modules)))
"""


def test_the_parquet_export_loads_no_standard_library(
    small: dict[str, Any], home: Path, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(home), str(tmp_path / "m.parquet")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    modules = {m.split(".")[0] for m in json.loads(proc.stdout)}
    assert modules & {"openlineage", "prov", "mlcroissant", "rdflib", "pandas"} == set()
    assert pq.read_table(tmp_path / "m.parquet").num_rows == 9


@pytest.mark.skipif(
    shutil.which("dot") is None or importlib.util.find_spec("pydot") is None,
    reason="prov-svg needs Graphviz's dot program and pydot",
)
def test_prov_svg_draws_the_graph(cli: Any, tmp_path: Path, small: dict[str, Any]) -> None:
    svg = _export(cli, tmp_path, "prov-svg").read_text()
    assert "<svg" in svg
    assert f"batch-{small['batches'][3].batch_id}" in svg


def test_croissant_collection_type_follows_a_declared_channel(
    cli: Any, tmp_path: Path, home: Path
) -> None:
    """A batch that declared its acquisition channel is described by the channel's
    collection type (a public dataset scraped from nowhere is secondary data); batches
    without one by their source type's default."""
    with Ledger.init(home) as led:
        led.create_dataset("d", owner="Team A", context="internal", uses=["train"])
        led.register(
            _jsonl(tmp_path / "p.jsonl", [{"text": "public"}]),
            dataset="d", source="scraped", channel="public_dataset",
        )  # fmt: skip
        led.register(
            _jsonl(tmp_path / "s.jsonl", [{"text": "crawled"}]), dataset="d", source="scraped"
        )
    out = _export(cli, tmp_path, "croissant")
    _validate_croissant(out)
    doc = json.loads(out.read_text())
    assert doc["rai:dataCollectionType"] == ["Secondary Data analysis", "Web Scraping"]
