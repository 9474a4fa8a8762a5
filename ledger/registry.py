"""Licenses, consent policy versions and datasets: what a batch is registered against.

Each is described by a strict model (unknown fields, wrong types and unknown vocabulary
are refused, never coerced) and each change is one signed ledger entry written together
with its projection row:

    license-added            -> licenses           (one row per id@version, never changed)
    consent-version-added    -> consent_versions   (versions of a policy added 1, 2, 3, ...)
    dataset-created          -> dataset_states     (the first state of a dataset)
    dataset-context-changed  -> dataset_states     (a new state; the latest seq is current)

The vocabularies every module shares (uses, sources, splits, contexts, consent fates) are
defined here, as ``Literal`` types and as tuples of their values.

Lookups for other modules: ``get_license(store, "id@version")``,
``get_consent(store, "policy@version")`` and ``get_dataset(store, name)`` return the model
or raise ``NotFound``; ``parse_ref`` splits an ``id@version`` reference strictly.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlmodel import SQLModel

from ledger.canonical import canonical_json, parse_json
from ledger.errors import CanonicalError, Conflict, InputError, NotFound
from ledger.vocabulary import (
    CONTEXTS,
    FATES,
    SOURCES,
    SPLITS,
    USES,
    Context,
    Fate,
    Source,
    Split,
    Use,
)

if TYPE_CHECKING:
    from pydantic import ValidationInfo

    from ledger.ledger import Ledger
    from ledger.store import Store

__all__ = [
    "CONTEXTS",
    "FATES",
    "SOURCES",
    "SPLITS",
    "USES",
    "ConsentVersion",
    "Context",
    "Dataset",
    "Fate",
    "License",
    "Manifest",
    "Source",
    "Split",
    "Use",
    "add_consent",
    "add_license",
    "create_dataset",
    "dataset_history",
    "get_consent",
    "get_dataset",
    "get_license",
    "list_consent",
    "list_datasets",
    "list_licenses",
    "load_manifest",
    "normalise_spdx",
    "parse_ref",
    "set_context",
    "validate",
]

# The vocabularies live in ledger.vocabulary (imported above) and are re-exported here.

# What a manifest argument may be: the parsed JSON object, or the path of a JSON file.
Manifest = dict[str, Any] | str | os.PathLike[str]

# Names that appear in "id@version" references and on the command line.
NAME_PATTERN = r"^[A-Za-z0-9._-]+$"
HEX64_PATTERN = r"^[0-9a-f]{64}$"
_PATTERN_MEANING = {
    NAME_PATTERN: "only letters, digits, '.', '_' and '-'",
    HEX64_PATTERN: "64 lowercase hex characters (a SHA-256 digest)",
}
_REF = re.compile(r"([A-Za-z0-9._-]+)@([1-9][0-9]*)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# DuckDB INTEGER columns hold versions and retention days.
MAX_INT32 = 2**31 - 1
# SPDX lets a document name its own licenses: LicenseRef-x or DocumentRef-y:LicenseRef-x.
_SPDX_REF = re.compile(r"(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+")


def _iso_date(value: Any) -> date:
    """Dates are 'YYYY-MM-DD' strings (or ``date`` objects from Python); nothing looser."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "date_value",
                "'{value}' is not a valid date: {reason}",
                {"value": value, "reason": str(exc)},
            ) from None
    raise PydanticCustomError(
        "date_type", "expected a date as 'YYYY-MM-DD', got {got}", {"got": _show(value)}
    )


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Name = Annotated[str, Field(min_length=1, pattern=NAME_PATTERN)]
Text = Annotated[str, Field(min_length=1)]
Version = Annotated[int, Field(ge=1, le=MAX_INT32)]


def _no_duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise PydanticCustomError("duplicate", "lists '{value}' twice", {"value": value})
        seen.add(value)
    return values


@cache
def _spdx_licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def normalise_spdx(expression: str) -> str:
    """The SPDX expression in its canonical spelling ('mit or apache-2.0' -> 'MIT OR
    Apache-2.0'). Raises ValueError naming the first unknown license or the syntax error.
    ``LicenseRef-...`` symbols are accepted, as SPDX allows."""
    from license_expression import ExpressionError

    if not expression.strip():
        raise ValueError("empty SPDX expression (use null when there is none)")
    licensing = _spdx_licensing()
    try:
        parsed = licensing.parse(expression, validate=False, strict=True)
    except ExpressionError as exc:
        raise ValueError(f"invalid SPDX expression '{expression}': {exc}") from None
    unknown = [
        key for key in licensing.unknown_license_keys(parsed) if not _SPDX_REF.fullmatch(key)
    ]
    if unknown:
        raise ValueError(
            f"unknown SPDX license '{unknown[0]}' in '{expression}' "
            "(see https://spdx.org/licenses/; use LicenseRef-NAME for a custom license)"
        )
    return str(parsed)


class _Strict(SQLModel):
    # strict: "1" is not a version and 1.0 is not a day count; extra: a misspelt field
    # is an error, not silently dropped.
    model_config = ConfigDict(extra="forbid", strict=True)  # type: ignore[assignment]


class License(_Strict):
    """A license (or contract) version that batches are registered under, as
    --license ID@VERSION. A version, once added, never changes: add a new version."""

    id: Name = Field(description="License identifier, e.g. 'support-corpus'.")
    version: Version = Field(description="Integer version, 1 or more.")
    title: Text = Field(description="Human-readable name of the license or contract.")
    licensor: Text = Field(description="Who granted the license.")
    grants: list[Use] = Field(min_length=1, description="The uses the license allows.")
    effective_from: IsoDate = Field(description="First day the license applies (YYYY-MM-DD).")
    expires_on: IsoDate | None = Field(default=None, description="Last day of the grant, or null.")
    spdx: str | None = Field(
        default=None, description="SPDX license expression, e.g. 'CC-BY-4.0', or null."
    )
    document_sha256: Annotated[str, Field(pattern=HEX64_PATTERN)] | None = Field(
        default=None, description="SHA-256 (lowercase hex) of the signed contract document."
    )

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @field_validator("grants")
    @classmethod
    def _grants_unique(cls, value: list[str]) -> list[str]:
        return _no_duplicates(value)

    @field_validator("expires_on")
    @classmethod
    def _expires_after_effective(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("effective_from")
        if value is not None and start is not None and value < start:
            raise PydanticCustomError(
                "date_order",
                "{expires} precedes effective_from {start}",
                {"expires": value.isoformat(), "start": start.isoformat()},
            )
        return value

    @field_validator("spdx")
    @classmethod
    def _spdx_known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_spdx(value)
        except ValueError as exc:
            raise PydanticCustomError("spdx", "{reason}", {"reason": str(exc)}) from None


class ConsentVersion(_Strict):
    """One version of a consent policy, as --consent POLICY@VERSION. Versions of a policy
    are added in order; each says what becomes of records collected under every earlier
    version."""

    policy: Name = Field(description="Policy identifier, e.g. 'support-tos'.")
    version: Version = Field(description="Integer version; 1 first, then 2, 3, ...")
    effective_from: IsoDate = Field(description="Day this version takes effect (YYYY-MM-DD).")
    permits: list[Use] = Field(description="The uses data subjects consented to.")
    retention_days: Annotated[int, Field(ge=1, le=MAX_INT32)] | None = Field(
        default=None, description="How long records may be kept after collection, or null."
    )
    prior_versions: dict[str, Fate] = Field(
        default_factory=dict,
        validate_default=True,  # a missing field must still name the versions it lacks
        description=(
            "For each earlier version ('1' .. version-1, all of them): what becomes of "
            "records collected under it."
        ),
        json_schema_extra={"propertyNames": {"pattern": "^[1-9][0-9]*$"}},
    )

    @property
    def ref(self) -> str:
        return f"{self.policy}@{self.version}"

    @field_validator("permits")
    @classmethod
    def _permits_unique(cls, value: list[str]) -> list[str]:
        return _no_duplicates(value)

    @field_validator("prior_versions")
    @classmethod
    def _every_earlier_version(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        version = info.data.get("version")
        if version is None:  # already refused; its own error says why
            return value
        expected = [str(v) for v in range(1, version)]
        missing = [k for k in expected if k not in value]
        extra = [k for k in value if k not in expected]
        if not missing and not extra:
            return {k: value[k] for k in expected}
        wanted = (
            f"version {version} must give the fate of every earlier version, and only "
            f"those: {', '.join(expected)}"
            if expected
            else "version 1 has no earlier versions: leave it empty"
        )
        found = []
        if missing:
            found.append(f"missing {', '.join(repr(k) for k in missing)}")
        if extra:
            found.append(f"unexpected {', '.join(repr(k) for k in extra)}")
        raise PydanticCustomError(
            "prior_versions", "{wanted} ({found})", {"wanted": wanted, "found": "; ".join(found)}
        )


class Dataset(_Strict):
    """A named dataset: who owns it, where models trained on it are used, and what for."""

    name: Name = Field(description="Letters, digits, '.', '_' and '-' only.")
    owner: Text = Field(description="Accountable person or team.")
    context: Context = Field(description="Where models trained on it are used.")
    uses: list[Use] = Field(min_length=1, description="Intended uses.")

    @field_validator("uses")
    @classmethod
    def _uses_unique(cls, value: list[str]) -> list[str]:
        return _no_duplicates(value)


# -- turning validation errors into one clear line ---------------------------------------
# The vocabulary each field draws its words from, for "unknown use 'x' (expected ...)".
_VOCABULARY = {
    "grants": ("use", USES),
    "permits": ("use", USES),
    "uses": ("use", USES),
    "context": ("context", CONTEXTS),
    "prior_versions": ("fate", FATES),
}
_EXPECTED_TYPE = {
    "int_type": "an integer",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "bool_type": "true or false",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"string '{value}'"
    if isinstance(value, list | tuple | dict):
        return _json_type(value)
    if isinstance(value, bool | int | float) or value is None:
        return f"{_json_type(value)} {orjson.dumps(value).decode()}"
    return _json_type(value)


def _field_path(loc: tuple[int | str, ...]) -> str | None:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item != "[key]":
            parts.append(f".{item}" if parts else item)
    return "".join(parts) or None


def _explain(error: Any, model: type[SQLModel]) -> str:
    """One sentence for one pydantic error, in the manifest's own terms."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown field (expected one of {', '.join(model.model_fields)})"
    if kind == "literal_error":
        noun, words = _VOCABULARY.get(str(loc[0]), ("value", ()))
        shown = f"'{value}'" if isinstance(value, str) else _show(value)
        return f"unknown {noun} {shown} (expected one of {', '.join(words)})"
    if kind in _EXPECTED_TYPE:
        return f"expected {_EXPECTED_TYPE[kind]}, got {_show(value)}"
    if kind == "greater_than_equal":
        return f"must be {ctx['ge']} or more, got {_show(value)}"
    if kind == "less_than_equal":
        return f"must be {ctx['le']} or less, got {_show(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        noun = _VOCABULARY.get(str(loc[0]), ("item",))[0]
        return f"must list at least one {noun}"
    if kind == "string_pattern_mismatch":
        meaning = _PATTERN_MEANING.get(ctx.get("pattern", ""), f"to match {ctx.get('pattern')}")
        return f"expected {meaning}, got {_show(value)}"
    return str(error["msg"])


M = TypeVar("M", bound=SQLModel)


def validate(model: type[M], data: Any, *, file: str | Path | None = None) -> M:
    """Validate ``data`` against ``model``. Raises InputError naming the file (when given)
    and the field path of the first problem, with a count of any others."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        message = _explain(first, model)
        if len(errors) > 1:
            more = len(errors) - 1
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise InputError(message, file=file, field=_field_path(first["loc"])) from None


def load_manifest(model: type[M], manifest: Manifest) -> M:
    """Validate a manifest given as a dict or as the path of a JSON file.

    Files are parsed strictly (duplicate keys, NaN and malformed JSON are refused). Raises
    InputError naming the file and field."""
    if not isinstance(manifest, str | os.PathLike):
        return validate(model, manifest)
    path = Path(manifest)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a JSON file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    try:
        data = parse_json(raw)
    except CanonicalError as exc:
        raise exc.located(file=path) from None
    return validate(model, data, file=path)


def parse_ref(text: str, what: str = "license") -> tuple[str, int]:
    """Split 'name@version' into (name, version). Raises InputError when malformed."""
    match = _REF.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        example = {"license": "ID@VERSION, e.g. 'support-corpus@1'"}.get(
            what, "POLICY@VERSION, e.g. 'support-tos@2'"
        )
        raise InputError(f"malformed {what} reference '{text}': expected {example}", field=what)
    return match.group(1), int(match.group(2))


# -- SQL (run through Store) --------------------------------------------------------------
_AS_OF_ALL = 2**62  # a seq cut above every seq: "now"

# Projection rows: one per entry, keyed by the entry's seq.
INSERT_LICENSE = "INSERT INTO licenses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_CONSENT = "INSERT INTO consent_versions VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_DATASET_STATE = "INSERT INTO dataset_states VALUES (?, ?, ?, ?, ?)"

# Every license version recorded up to a seq, with when it was recorded.
LICENSES = """
    SELECT l.seq, e.recorded_at, l.id, l.version, l.title, l.licensor, l.grants,
           l.effective_from, l.expires_on, l.spdx, l.document_sha256
    FROM licenses l JOIN entries e ON e.seq = l.seq
    WHERE l.seq <= $as_of AND ($id IS NULL OR l.id = $id)
    ORDER BY l.id, l.version
"""

# Every consent version up to a seq, and the next version of its policy if there is one.
CONSENT_VERSIONS = """
    SELECT c.seq, e.recorded_at, c.policy, c.version, c.effective_from, c.permits,
           c.retention_days, c.prior_versions,
           lead(c.version) OVER (PARTITION BY c.policy ORDER BY c.version) AS superseded_by
    FROM consent_versions c JOIN entries e ON e.seq = c.seq
    WHERE c.seq <= $as_of AND ($policy IS NULL OR c.policy = $policy)
    ORDER BY c.policy, c.version
"""

# Each dataset's current state (its latest state row) and its history: number of states,
# when it was created, and the last state whose context differs from the state before it.
DATASETS = """
    WITH states AS (
        SELECT s.seq, e.recorded_at, s.dataset, s.owner, s.context, s.uses,
               lag(s.context) OVER (PARTITION BY s.dataset ORDER BY s.seq) AS prev_context
        FROM dataset_states s JOIN entries e ON e.seq = s.seq
        WHERE s.seq <= $as_of AND ($dataset IS NULL OR s.dataset = $dataset)
    )
    SELECT dataset,
           arg_max(owner, seq) AS owner,
           arg_max(context, seq) AS context,
           arg_max(uses, seq) AS uses,
           max(seq) AS seq,
           arg_max(recorded_at, seq) AS updated_at,
           min(seq) AS created_seq,
           arg_min(recorded_at, seq) AS created_at,
           count(*) AS states,
           max(seq) FILTER (WHERE context <> prev_context) AS context_changed_seq,
           arg_max(recorded_at, seq) FILTER (WHERE context <> prev_context) AS context_changed_at
    FROM states
    GROUP BY dataset
    ORDER BY dataset
"""

# Every state of one dataset, oldest first.
DATASET_HISTORY = """
    SELECT s.seq, e.recorded_at, e.kind, s.owner, s.context, s.uses
    FROM dataset_states s JOIN entries e ON e.seq = s.seq
    WHERE s.dataset = ? AND s.seq <= ?
    ORDER BY s.seq
"""


def _cut(as_of: int | None) -> int:
    return _AS_OF_ALL if as_of is None else as_of


# -- licenses -------------------------------------------------------------------------------
def _license_from_row(row: dict[str, Any]) -> License:
    # Rows were validated on the way in; re-validating would re-parse every SPDX expression.
    return License.model_construct(
        id=row["id"],
        version=row["version"],
        title=row["title"],
        licensor=row["licensor"],
        grants=list(row["grants"]),
        effective_from=row["effective_from"],
        expires_on=row["expires_on"],
        spdx=row["spdx"],
        document_sha256=row["document_sha256"],
    )


def _license_view(lic: License, seq: int, recorded_at: str) -> dict[str, Any]:
    return {
        "license": lic.ref,
        **lic.model_dump(mode="json"),
        "seq": seq,
        "recorded_at": recorded_at,
    }


def _license_rows(store: Store, id: str | None, as_of: int | None) -> list[dict[str, Any]]:
    return store.dicts(LICENSES, {"as_of": _cut(as_of), "id": id})


def add_license(ledger: Ledger, manifest: Manifest) -> dict[str, Any]:
    """Record a license version from a manifest (dict or JSON file path).

    Returns the license as ``list_licenses`` shows it. Raises InputError for a bad
    manifest and Conflict when ``id@version`` is already recorded; nothing is written then.
    """
    lic = load_manifest(License, manifest)
    store = ledger.store
    with ledger.appending() as app:
        for row in _license_rows(store, lic.id, None):
            if row["version"] == lic.version:
                raise Conflict(
                    f"license '{lic.ref}' is already in the ledger (seq {row['seq']}): "
                    "a changed license needs a new version"
                )
        store.execute(
            INSERT_LICENSE,
            [
                app.seq,
                lic.id,
                lic.version,
                lic.title,
                lic.licensor,
                list(lic.grants),
                lic.effective_from,
                lic.expires_on,
                lic.spdx,
                lic.document_sha256,
            ],
        )
        entry = app.write_entry("license-added", lic.model_dump(mode="json"))
    return _license_view(lic, entry.seq, entry.recorded_at)


def list_licenses(store: Store, *, as_of: int | None = None) -> list[dict[str, Any]]:
    """Every license version (as of a seq, default now), by id then version."""
    return [
        _license_view(_license_from_row(r), r["seq"], r["recorded_at"])
        for r in _license_rows(store, None, as_of)
    ]


def get_license(store: Store, ref: str, *, as_of: int | None = None) -> License:
    """The license ``ref`` ('id@version'). Raises InputError when ``ref`` is malformed and
    NotFound when the ledger (as of a seq) does not hold it."""
    id, version = parse_ref(ref, "license")
    rows = _license_rows(store, id, as_of)
    for row in rows:
        if row["version"] == version:
            return _license_from_row(row)
    known = (
        f" (recorded versions of '{id}': {', '.join(str(r['version']) for r in rows)})"
        if rows
        else ""
    )
    raise NotFound(
        f"unknown license '{ref}'{known}: add it with 'provledger license add FILE.json'"
    )


# -- consent policy versions ------------------------------------------------------------
def _consent_from_row(row: dict[str, Any]) -> ConsentVersion:
    return ConsentVersion.model_construct(
        policy=row["policy"],
        version=row["version"],
        effective_from=row["effective_from"],
        permits=list(row["permits"]),
        retention_days=row["retention_days"],
        prior_versions=orjson.loads(row["prior_versions"]),
    )


def _consent_view(
    consent: ConsentVersion, seq: int, recorded_at: str, superseded_by: int | None
) -> dict[str, Any]:
    return {
        "consent": consent.ref,
        **consent.model_dump(mode="json"),
        "superseded_by": superseded_by,
        "seq": seq,
        "recorded_at": recorded_at,
    }


def _consent_rows(store: Store, policy: str | None, as_of: int | None) -> list[dict[str, Any]]:
    return store.dicts(CONSENT_VERSIONS, {"as_of": _cut(as_of), "policy": policy})


def add_consent(ledger: Ledger, manifest: Manifest) -> dict[str, Any]:
    """Record a consent policy version from a manifest (dict or JSON file path).

    Version 1 of a policy comes first, then 2, 3, ...; a duplicate or a gap raises
    Conflict, as does a version taking effect before the one it follows. Raises InputError
    for a bad manifest. Nothing is written when it raises.
    """
    consent = load_manifest(ConsentVersion, manifest)
    store = ledger.store
    with ledger.appending() as app:
        _check_consent_order(consent, _consent_rows(store, consent.policy, None))
        store.execute(
            INSERT_CONSENT,
            [
                app.seq,
                consent.policy,
                consent.version,
                consent.effective_from,
                list(consent.permits),
                consent.retention_days,
                canonical_json(consent.prior_versions).decode("utf-8"),
            ],
        )
        entry = app.write_entry("consent-version-added", consent.model_dump(mode="json"))
    return _consent_view(consent, entry.seq, entry.recorded_at, None)


def _check_consent_order(consent: ConsentVersion, earlier: list[dict[str, Any]]) -> None:
    policy, version = consent.policy, consent.version
    for row in earlier:
        if row["version"] == version:
            raise Conflict(
                f"consent version '{consent.ref}' is already in the ledger (seq {row['seq']}): "
                f"a changed policy needs a new version ({policy}@{earlier[-1]['version'] + 1})"
            )
    latest = earlier[-1] if earlier else None
    if latest is None and version != 1:
        raise Conflict(
            f"consent version '{consent.ref}' skips ahead: policy '{policy}' has no versions "
            f"yet, add '{policy}@1' first"
        )
    if latest is not None and version != latest["version"] + 1:
        raise Conflict(
            f"consent version '{consent.ref}' skips ahead: the latest version of '{policy}' "
            f"is {latest['version']}, add '{policy}@{latest['version'] + 1}' first"
        )
    if latest is not None and consent.effective_from < latest["effective_from"]:
        raise Conflict(
            f"consent version '{consent.ref}' takes effect {consent.effective_from}, before "
            f"'{policy}@{latest['version']}' ({latest['effective_from']}): versions must take "
            "effect in order"
        )


def list_consent(store: Store, *, as_of: int | None = None) -> list[dict[str, Any]]:
    """Every consent policy version (as of a seq, default now), by policy then version,
    each with the version that superseded it (or None)."""
    return [
        _consent_view(_consent_from_row(r), r["seq"], r["recorded_at"], r["superseded_by"])
        for r in _consent_rows(store, None, as_of)
    ]


def get_consent(store: Store, ref: str, *, as_of: int | None = None) -> ConsentVersion:
    """The consent version ``ref`` ('policy@version'). Raises InputError when ``ref`` is
    malformed and NotFound when the ledger (as of a seq) does not hold it."""
    policy, version = parse_ref(ref, "consent")
    rows = _consent_rows(store, policy, as_of)
    for row in rows:
        if row["version"] == version:
            return _consent_from_row(row)
    known = (
        f" (recorded versions of '{policy}': {', '.join(str(r['version']) for r in rows)})"
        if rows
        else ""
    )
    raise NotFound(
        f"unknown consent version '{ref}'{known}: add it with 'provledger consent add FILE.json'"
    )


# -- datasets -------------------------------------------------------------------------------
def _dataset_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset": row["dataset"],
        "owner": row["owner"],
        "context": row["context"],
        "uses": list(row["uses"]),
        "seq": row["seq"],
        "updated_at": row["updated_at"],
        "created_seq": row["created_seq"],
        "created_at": row["created_at"],
        "states": row["states"],
        "context_changed_seq": row["context_changed_seq"],
        "context_changed_at": row["context_changed_at"],
    }


def _dataset_rows(store: Store, name: str | None, as_of: int | None) -> list[dict[str, Any]]:
    return store.dicts(DATASETS, {"as_of": _cut(as_of), "dataset": name})


def _as_list(uses: Any) -> Any:
    # A lone string would otherwise be read as a list of letters.
    if uses is None or isinstance(uses, str | list):
        return uses
    try:
        return list(uses)
    except TypeError:
        return uses


def _unknown_dataset(name: str) -> NotFound:
    return NotFound(
        f"unknown dataset '{name}': create it with 'provledger dataset create {name} "
        "--owner WHO --context CONTEXT --use USE'"
    )


def create_dataset(
    ledger: Ledger, name: str, *, owner: str, context: str, uses: list[str]
) -> dict[str, Any]:
    """Create a dataset. Returns it as ``list_datasets`` shows it.

    Raises InputError for a bad name, context or use, and Conflict when a dataset of that
    name exists; nothing is written then.
    """
    spec = validate(
        Dataset, {"name": name, "owner": owner, "context": context, "uses": _as_list(uses)}
    )
    store = ledger.store
    with ledger.appending() as app:
        existing = _dataset_rows(store, spec.name, None)
        if existing:
            raise Conflict(
                f"dataset '{spec.name}' already exists (created at seq "
                f"{existing[0]['created_seq']}): change it with 'provledger dataset set-context'"
            )
        store.execute(
            INSERT_DATASET_STATE, [app.seq, spec.name, spec.owner, spec.context, list(spec.uses)]
        )
        app.write_entry(
            "dataset-created",
            {"dataset": spec.name, "owner": spec.owner, "context": spec.context, "uses": spec.uses},
        )
    return _dataset_view(_dataset_rows(store, spec.name, None)[0])


def set_context(
    ledger: Ledger, name: str, *, context: str, uses: list[str] | None = None
) -> dict[str, Any]:
    """Record a new use context (and, when given, new intended uses) for a dataset; its
    earlier states stay in the ledger. ``uses=None`` keeps the current uses.

    Raises NotFound for an unknown dataset, InputError for a bad context or use, and
    Conflict ("nothing changed") when context and uses equal the current ones, so every
    dataset-context-changed entry records a real change.
    """
    store = ledger.store
    with ledger.appending() as app:
        rows = _dataset_rows(store, name, None)
        if not rows:
            raise _unknown_dataset(name)
        current = rows[0]
        spec = validate(
            Dataset,
            {
                "name": name,
                "owner": current["owner"],
                "context": context,
                "uses": list(current["uses"]) if uses is None else _as_list(uses),
            },
        )
        if spec.context == current["context"] and set(spec.uses) == set(current["uses"]):
            raise Conflict(
                f"dataset '{name}' already has context '{spec.context}' and uses "
                f"{', '.join(current['uses'])}: nothing changed"
            )
        store.execute(
            INSERT_DATASET_STATE, [app.seq, spec.name, spec.owner, spec.context, list(spec.uses)]
        )
        app.write_entry(
            "dataset-context-changed",
            {
                "dataset": spec.name,
                "owner": spec.owner,
                "context": spec.context,
                "uses": spec.uses,
                "previous": {"context": current["context"], "uses": list(current["uses"])},
            },
        )
    return _dataset_view(_dataset_rows(store, spec.name, None)[0])


def list_datasets(store: Store, *, as_of: int | None = None) -> list[dict[str, Any]]:
    """Every dataset's state as of a seq (default now), by name: owner, context, uses,
    number of states, when created and when its context last changed (None if never)."""
    return [_dataset_view(r) for r in _dataset_rows(store, None, as_of)]


def get_dataset(store: Store, name: str, *, as_of: int | None = None) -> Dataset:
    """The dataset's state as of a seq (default now). Raises NotFound when unknown."""
    rows = _dataset_rows(store, name, as_of)
    if not rows:
        raise _unknown_dataset(name)
    row = rows[0]
    return Dataset.model_construct(
        name=row["dataset"], owner=row["owner"], context=row["context"], uses=list(row["uses"])
    )


def dataset_history(store: Store, name: str, *, as_of: int | None = None) -> list[dict[str, Any]]:
    """Every state of a dataset, oldest first, each with the entry kind that set it.
    Raises NotFound when unknown."""
    rows = store.dicts(DATASET_HISTORY, [name, _cut(as_of)])
    if not rows:
        raise _unknown_dataset(name)
    return [{**r, "uses": list(r["uses"])} for r in rows]
