"""JSON Schemas generated from the models, checked in under ``schemas/``.

``SCHEMAS`` maps a schema name to its model; ``schemas/<name>.schema.json`` is that
model's generated schema, and ``tests/test_schemas.py`` fails when a checked-in file
differs. To publish a new schema (a manifest or a JSON output), add its model here and
run:

    python -m ledger.schemas            # rewrite schemas/*.schema.json
    python -m ledger.schemas --check    # exit 1 if any checked-in schema is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ledger.audit import AuditReport
from ledger.disclosure import Disclosure
from ledger.manifests import ConsentVersion, Dataset, License, Profile

__all__ = ["SCHEMAS", "SCHEMA_DIR", "generate", "main", "schema_text", "stale", "write_schemas"]

SCHEMAS: dict[str, type[BaseModel]] = {
    "license": License,
    "consent": ConsentVersion,
    "dataset": Dataset,
    "profile": Profile,
    "audit-report": AuditReport,  # the output of `provledger audit --format json`
    "disclosure": Disclosure,  # the output of `provledger disclose --format json`
}
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_text(name: str, model: type[BaseModel]) -> str:
    """The schema of ``model`` as the exact text checked in (stable key order, newline
    at the end), titled ``name``."""
    schema: dict[str, Any] = {"$schema": DRAFT, **model.model_json_schema(mode="validation")}
    schema["title"] = name
    if "description" in schema:  # a docstring: one line reads better in a schema
        schema["description"] = " ".join(schema["description"].split())
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """File name -> schema text, for every entry of ``SCHEMAS``."""
    return {f"{name}.schema.json": schema_text(name, model) for name, model in SCHEMAS.items()}


def write_schemas(directory: str | Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into ``directory`` (created if missing); return the paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in generate().items():
        path = folder / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(directory: str | Path = SCHEMA_DIR) -> list[str]:
    """File names in ``directory`` that are missing or differ from the generated schema."""
    folder = Path(directory)
    out = []
    for file_name, text in generate().items():
        path = folder / file_name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(file_name)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    folders = [a for a in args if a != "--check"]
    folder = Path(folders[0]) if folders else SCHEMA_DIR
    if check:
        out_of_date = stale(folder)
        for name in out_of_date:
            print(
                f"{folder / name} is out of date: run 'python -m ledger.schemas'", file=sys.stderr
            )
        return 1 if out_of_date else 0
    for path in write_schemas(folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
