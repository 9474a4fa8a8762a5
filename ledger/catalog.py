"""The catalog of the ledger database, pinned: every table (with its columns and types),
view, macro or function, trigger, index, constraint, sequence, type and schema the file
holds, as one sorted list of lines and its SHA-256 fingerprint.

A read trusts the catalog as much as the rows: a persisted macro named like a built-in
(``CREATE MACRO list_contains(l, x) AS true``) changes what every query computes, and a
view put in place of a table can answer differently to different queries. So the ledger
holds exactly what its migrations create and nothing else. ``expected_lines`` builds that
catalog by running the migrations on an empty in-memory database; the fingerprint of the
full set is recorded in a signed entry whenever migrations run (``ledger-created`` or
``schema-migrated``, field ``catalog``), and every open compares the file's catalog with
it before any other query runs (see ``ledger.precheck``).

The catalog queries call only the system catalog functions by their qualified names
(``system.main.duckdb_tables()``) and filter in Python: a user macro can shadow an
unqualified name, never a qualified system one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATALOG_QUERIES",
    "CatalogObject",
    "describe_differences",
    "fingerprint",
    "objects_from_rows",
]

# Each query reads one system catalog function by its qualified name and applies no
# function or filter of its own (filtering happens in Python, out of a macro's reach).
CATALOG_QUERIES: dict[str, str] = {
    "table": "SELECT database_name, schema_name, table_name FROM system.main.duckdb_tables()",
    "column": (
        "SELECT database_name, schema_name, table_name, column_index, column_name, data_type, "
        "is_nullable, column_default, is_generated, generation_expression "
        "FROM system.main.duckdb_columns()"
    ),
    "view": (
        "SELECT database_name, schema_name, view_name, sql, internal, temporary "
        "FROM system.main.duckdb_views()"
    ),
    "function": (
        "SELECT database_name, schema_name, function_name, function_type, parameters, "
        "macro_definition, internal FROM system.main.duckdb_functions()"
    ),
    "trigger": (
        "SELECT database_name, schema_name, trigger_name, table_name, action_timing, "
        "event_manipulation, for_each, sql, temporary FROM system.main.duckdb_triggers()"
    ),
    "index": (
        "SELECT database_name, schema_name, index_name, table_name, is_unique, is_primary, sql "
        "FROM system.main.duckdb_indexes()"
    ),
    "constraint": (
        "SELECT database_name, schema_name, table_name, constraint_type, "
        "constraint_column_names, constraint_text FROM system.main.duckdb_constraints()"
    ),
    "sequence": (
        "SELECT database_name, schema_name, sequence_name, sql, temporary "
        "FROM system.main.duckdb_sequences()"
    ),
    "type": (
        "SELECT database_name, schema_name, type_name, logical_type, internal "
        "FROM system.main.duckdb_types()"
    ),
    "schema": "SELECT database_name, schema_name, internal FROM system.main.duckdb_schemas()",
}
# Catalogs that are not the ledger file: DuckDB's own and this connection's temporary one.
_NOT_THE_FILE = ("system", "temp")


@dataclass(frozen=True, order=True)
class CatalogObject:
    """One object of the catalog: its kind, its (schema-qualified) name, and what defines it."""

    kind: str
    name: str
    definition: str

    @property
    def line(self) -> str:
        return f"{self.kind} {self.name}: {self.definition}"


def _qualified(schema: str, name: str) -> str:
    return name if schema == "main" else f"{schema}.{name}"


def objects_from_rows(rows: dict[str, list[tuple[Any, ...]]]) -> list[CatalogObject]:
    """The catalog objects of the ledger file from the rows of ``CATALOG_QUERIES``, sorted."""

    def mine(kind: str) -> list[tuple[Any, ...]]:
        return [r for r in rows[kind] if r[0] not in _NOT_THE_FILE]

    out: list[CatalogObject] = []
    tables = {(str(r[1]), str(r[2])) for r in mine("table")}
    columns: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for _db, schema, table, index, name, dtype, nullable, default, generated, expr in mine(
        "column"
    ):
        key = (str(schema), str(table))
        if key not in tables:
            continue  # a view's columns: the view's definition covers them
        text = f"{name} {dtype}{'' if nullable else ' NOT NULL'}"
        if default is not None:
            text += f" DEFAULT {default}"
        if generated:
            text += f" GENERATED {expr}"
        columns.setdefault(key, []).append((int(str(index)), text))
    for schema, table in tables:
        cols = ", ".join(text for _, text in sorted(columns.get((schema, table), [])))
        out.append(CatalogObject("table", _qualified(schema, table), cols))
    for _db, schema, name, sql, internal, temporary in mine("view"):
        if not internal and not temporary:
            out.append(CatalogObject("view", _qualified(str(schema), str(name)), str(sql)))
    for _db, schema, name, ftype, params, macro, internal in mine("function"):
        if not internal:
            out.append(
                CatalogObject(
                    str(ftype).replace("_", " "),
                    _qualified(str(schema), str(name)),
                    f"({', '.join(map(str, params or []))}) {macro or ''}".strip(),
                )
            )
    for _db, schema, name, table, timing, event, each, sql, temporary in mine("trigger"):
        if not temporary:
            out.append(
                CatalogObject(
                    "trigger", _qualified(str(schema), str(name)), f"{timing} {event} ON {table} "
                    f"FOR EACH {each}: {sql}"
                )
            )  # fmt: skip
    for _db, schema, name, table, unique, primary, sql in mine("index"):
        out.append(
            CatalogObject(
                "index",
                _qualified(str(schema), str(name)),
                f"ON {table} unique={unique} primary={primary}: {sql}",
            )
        )
    for _db, schema, table, ctype, cols, text in mine("constraint"):
        out.append(
            CatalogObject(
                "constraint",
                f"{_qualified(str(schema), str(table))}.{ctype}({','.join(map(str, cols or []))})",
                str(text),
            )
        )
    for _db, schema, name, sql, temporary in mine("sequence"):
        if not temporary:
            out.append(CatalogObject("sequence", _qualified(str(schema), str(name)), str(sql)))
    for _db, schema, name, logical, internal in mine("type"):
        if not internal:
            out.append(CatalogObject("type", _qualified(str(schema), str(name)), str(logical)))
    for _db, schema, internal in mine("schema"):
        if not internal:
            out.append(CatalogObject("schema", str(schema), ""))
    return sorted(out)


def fingerprint(objects: Iterable[CatalogObject]) -> str:
    """Hex SHA-256 over the sorted catalog lines, one per line."""
    text = "".join(o.line + "\n" for o in sorted(objects))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def describe_differences(found: list[CatalogObject], expected: list[CatalogObject]) -> str:
    """One line naming every object that is extra, missing or changed in ``found``."""
    have = {(o.kind, o.name): o for o in found}
    want = {(o.kind, o.name): o for o in expected}
    # A table that is extra or missing takes its constraints with it: name the table only.
    tables = {n for k, n in have.keys() ^ want.keys() if k == "table"}
    parts: list[str] = []
    for key in sorted(have.keys() | want.keys()):
        kind, name = key
        if kind == "constraint" and name.split(".NOT NULL(")[0].split(".")[0] in tables:
            continue
        if key not in want:
            parts.append(f"extra {kind} {name}")
        elif key not in have:
            parts.append(f"missing {kind} {name}")
        elif have[key] != want[key]:
            parts.append(f"changed {kind} {name}")
    return "; ".join(parts)
