"""The worked example: the committed sample is what its generator writes, its manifests
are valid, and the demo's audit shows exactly the figures sample_datasets/README.md states."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.demo import SAMPLE_DIR, DemoResult, load_plan, run_demo

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MANIFESTS = {
    "license.json": "license",
    "consent-v1.json": "consent",
    "consent-v2.json": "consent",
    "dataset.json": "dataset",
}


def readme_figures() -> dict[str, Any]:
    """The fenced JSON block after '<!-- expected-figures -->' in the sample README."""
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- expected-figures -->\s*```json\n(.*?)\n```", text, re.DOTALL)
    assert match, "sample_datasets/README.md has no expected-figures block"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo") / "home")


def test_committed_sample_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("generate", SAMPLE_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate
    spec.loader.exec_module(generate)
    assert generate.main(["--check"]) == 0, "run 'python sample_datasets/generate.py'"


@pytest.mark.parametrize("manifest", sorted(MANIFESTS))
def test_manifest_is_valid_against_its_schema(manifest: str) -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMAS / f"{MANIFESTS[manifest]}.schema.json").read_text())
    document = json.loads((SAMPLE_DIR / manifest).read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
    assert errors == []


def test_license_names_the_contract_by_its_digest() -> None:
    license = json.loads((SAMPLE_DIR / "license.json").read_text())
    contract = (SAMPLE_DIR / "licensed" / "contract.txt").read_bytes()
    assert license["document_sha256"] == hashlib.sha256(contract).hexdigest()


def test_sample_exercises_every_reader() -> None:
    files = [b["file"] for b in load_plan()["batches"]]
    assert {Path(f).suffix for f in files} == {".jsonl", ".csv", ".parquet"}


def test_demo_registers_every_file_of_the_sample(demo: DemoResult) -> None:
    expected = readme_figures()
    assert {f: r.records for f, r in demo.batches.items()} == {
        f: info["records"] for f, info in expected["files"].items()
    }
    assert sum(r.records for r in demo.batches.values()) == expected["records_before_erasure"]


def test_demo_ledger_verifies(demo: DemoResult) -> None:
    assert demo.verify is not None and demo.verify.ok


def test_demo_command_refuses_a_home_that_is_not_empty(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("mine")
    result = cli("demo", "--home", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path} already exists and is not empty: refusing to initialise over it "
        "(nothing was changed)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
