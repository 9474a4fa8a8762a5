"""The checked-in JSON Schemas match the models, and schema and model agree on samples.

``conforms`` is a small reference validator for the JSON Schema keywords our generated
schemas use; it checks the schemas say what the models enforce (within what a schema can
express).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger import manifests, schemas, vocabulary
from ledger.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
REGISTRIES_DOC = ROOT / "docs" / "registries.md"

HANDLED = {
    "$schema", "title", "description", "default", "type", "properties", "required",
    "additionalProperties", "propertyNames", "items", "enum", "minLength", "pattern",
    "minimum", "maximum", "minItems", "anyOf", "format",
}  # fmt: skip
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """Does ``value`` satisfy ``schema`` (for the keywords in HANDLED)?"""
    unknown = set(schema) - HANDLED
    assert not unknown, f"reference validator lacks {unknown}"
    if "anyOf" in schema and not any(conforms(value, s) for s in schema["anyOf"]):
        return False
    if "type" in schema and not _TYPES[schema["type"]](value):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        if schema.get("format") == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return False
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return False
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return False
        if "items" in schema and not all(conforms(v, schema["items"]) for v in value):
            return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        if any(k not in value for k in schema.get("required", [])):
            return False
        if "propertyNames" in schema and not all(
            conforms(k, schema["propertyNames"]) for k in value
        ):
            return False
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            sub = props.get(key, extra)
            if sub is False or (isinstance(sub, dict) and not conforms(item, sub)):
                return False
    return True


def checked_in(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        (schemas.SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    )
    return result


def model_accepts(name: str, value: Any) -> bool:
    try:
        manifests.validate(schemas.SCHEMAS[name], value)  # type: ignore[type-var]
    except InputError:
        return False
    return True


LICENSE = {
    "id": "support-corpus",
    "version": 1,
    "title": "Support conversations",
    "licensor": "Acme Data Ltd",
    "grants": ["train", "evaluate"],
    "effective_from": "2025-01-01",
    "expires_on": None,
    "spdx": "CC-BY-4.0",
    "document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}
CONSENT = {
    "policy": "support-tos",
    "version": 3,
    "effective_from": "2025-06-01",
    "permits": [],
    "retention_days": None,
    "prior_versions": {"1": "revoked", "2": "grandfathered"},
}
DATASET = {"name": "support.v2", "owner": "ml", "context": "regulated", "uses": ["train"]}

VALID = [
    ("license", LICENSE),
    ("license", {k: v for k, v in LICENSE.items() if k not in ("expires_on", "spdx")}),
    ("consent", CONSENT),
    (
        "consent",
        {"policy": "p", "version": 1, "effective_from": "2024-01-01", "permits": ["train"]},
    ),
    ("dataset", DATASET),
]
# Refused by schema and model alike.
INVALID = [
    ("license", {**LICENSE, "extra": 1}),
    ("license", {**LICENSE, "version": "1"}),
    ("license", {**LICENSE, "version": 0}),
    ("license", {**LICENSE, "version": True}),
    ("license", {**LICENSE, "grants": ["resell"]}),
    ("license", {**LICENSE, "grants": []}),
    ("license", {**LICENSE, "document_sha256": "ABC"}),
    ("license", {**LICENSE, "effective_from": "2025-1-1"}),
    ("license", {**LICENSE, "id": "a@b"}),
    ("license", {k: v for k, v in LICENSE.items() if k != "title"}),
    ("consent", {**CONSENT, "prior_versions": {"1": "forgotten", "2": "revoked"}}),
    ("consent", {**CONSENT, "prior_versions": {"one": "revoked", "2": "revoked"}}),
    ("consent", {**CONSENT, "retention_days": 0}),
    ("consent", {**CONSENT, "permits": "train"}),
    ("dataset", {**DATASET, "context": "public"}),
    ("dataset", {**DATASET, "name": ""}),
    ("dataset", {**DATASET, "uses": []}),
]
# What only the model can check: a schema cannot compare fields or consult SPDX.
MODEL_ONLY = [
    ("license", {**LICENSE, "expires_on": "2024-12-31"}),
    ("license", {**LICENSE, "spdx": "Foo-1.0"}),
    ("license", {**LICENSE, "grants": ["train", "train"]}),
    ("consent", {**CONSENT, "prior_versions": {"1": "revoked"}}),
]


@pytest.mark.parametrize("name", sorted(schemas.SCHEMAS))
def test_checked_in_schema_matches_model(name: str) -> None:
    path = schemas.SCHEMA_DIR / f"{name}.schema.json"
    assert path.exists(), f"{path} missing: run 'python -m ledger.schemas'"
    assert path.read_text(encoding="utf-8") == schemas.schema_text(name, schemas.SCHEMAS[name]), (
        f"{path} is out of date: run 'python -m ledger.schemas'"
    )


def test_schemas_are_draft_2020_12_and_closed() -> None:
    for name in ("license", "consent", "dataset"):
        schema = checked_in(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["title"] == name
        assert schema["additionalProperties"] is False
    assert checked_in("license")["properties"]["grants"]["items"]["enum"] == list(vocabulary.USES)
    assert checked_in("dataset")["properties"]["context"]["enum"] == list(vocabulary.CONTEXTS)


@pytest.mark.parametrize(("name", "sample"), VALID)
def test_valid_samples(name: str, sample: dict[str, Any]) -> None:
    assert conforms(sample, checked_in(name))
    assert model_accepts(name, sample)


@pytest.mark.parametrize(("name", "sample"), INVALID)
def test_invalid_samples_refused_by_both(name: str, sample: dict[str, Any]) -> None:
    assert not conforms(sample, checked_in(name))
    assert not model_accepts(name, sample)


@pytest.mark.parametrize(("name", "sample"), MODEL_ONLY)
def test_rules_only_the_model_checks(name: str, sample: dict[str, Any]) -> None:
    assert conforms(sample, checked_in(name))
    assert not model_accepts(name, sample)


def test_documented_manifests_are_valid() -> None:
    text = REGISTRIES_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    kinds = []
    for block in blocks:
        manifest = json.loads(block)
        name = "license" if "id" in manifest else "consent"
        assert conforms(manifest, checked_in(name)), block
        assert model_accepts(name, manifest), block
        kinds.append(name)
    assert kinds == ["license", "consent"]


def test_write_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schemas.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}.schema.json" for n in schemas.SCHEMAS
    )
    assert schemas.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "license.schema.json").write_text("{}\n", encoding="utf-8")
    assert schemas.stale(tmp_path) == ["license.schema.json"]
    assert schemas.main(["--check", str(tmp_path)]) == 1
    assert "license.schema.json is out of date" in capsys.readouterr().err
