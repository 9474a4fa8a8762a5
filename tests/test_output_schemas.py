"""The JSON outputs published in schemas/ describe what the commands really print."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from provledger.demo import run_demo

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def test_the_worked_examples_audit_matches_its_schema(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "home")
    assert result.audit is not None
    schema = json.loads((SCHEMAS / "audit-report.schema.json").read_text(encoding="utf-8"))
    document = result.audit.as_dict()
    jsonschema.validate(document, schema)
    # and the schema is not vacuous: a report missing a required figure fails it
    del document["blend"]
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as exc:
        assert "'blend' is a required property" in exc.message
    else:
        raise AssertionError("a report without 'blend' passed its schema")
