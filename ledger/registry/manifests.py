"""The manifest models: License, ConsentVersion and Dataset, as strict SQLModel classes.

Unknown fields, wrong types and unknown vocabulary are refused, never coerced;
``validate`` and ``load_manifest`` turn the first problem into one ``InputError`` naming
the file and field. Kept apart from ``provledger.registry.operations`` because importing SQLModel
costs
about 230 ms, which a command that only checks a reference should not pay.
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

from provledger.errors import CanonicalError, InputError
from provledger.tlog.canonical import parse_json
from provledger.vocabulary import CONTEXTS, FATES, USES, ContextName, FateName, UseName

if TYPE_CHECKING:
    from pydantic import ValidationInfo

__all__ = [
    "ConsentVersion",
    "Dataset",
    "License",
    "Manifest",
    "Profile",
    "load_manifest",
    "normalise_spdx",
    "validate",
]

# What a manifest argument may be: the parsed JSON object, or the path of a JSON file.
Manifest = dict[str, Any] | str | os.PathLike[str]

# Names that appear in "id@version" references and on the command line.
NAME_PATTERN = r"^[A-Za-z0-9._-]+$"
HEX64_PATTERN = r"^[0-9a-f]{64}$"
_PATTERN_MEANING = {
    NAME_PATTERN: "only letters, digits, '.', '_' and '-'",
    HEX64_PATTERN: "64 lowercase hex characters (a SHA-256 digest)",
}
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
    # Deferred for start-up time: loads license_expression
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def normalise_spdx(expression: str) -> str:
    """The SPDX expression in its canonical spelling ('mit or apache-2.0' -> 'MIT OR
    Apache-2.0'). Raises ValueError naming the first unknown license or the syntax error.
    ``LicenseRef-...`` symbols are accepted, as SPDX allows."""
    # Deferred for start-up time: loads license_expression
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
    grants: list[UseName] = Field(min_length=1, description="The uses the license allows.")
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
    permits: list[UseName] = Field(description="The uses data subjects consented to.")
    retention_days: Annotated[int, Field(ge=1, le=MAX_INT32)] | None = Field(
        default=None, description="How long records may be kept after collection, or null."
    )
    prior_versions: dict[str, FateName] = Field(
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
    context: ContextName = Field(description="Where models trained on it are used.")
    uses: list[UseName] = Field(min_length=1, description="Intended uses.")

    @field_validator("uses")
    @classmethod
    def _uses_unique(cls, value: list[str]) -> list[str]:
        return _no_duplicates(value)


class ProviderInfo(_Strict):
    name: Text = Field(description="The provider's legal name, as published.")
    contact: Text = Field(description="Contact point for the public (address, e-mail or URL).")


class ModelInfo(_Strict):
    version: Text | None = Field(default=None, description="Version name of the release.")
    placed_on_market: IsoDate | None = Field(
        default=None, description="Date placed on the market (YYYY-MM-DD), or null."
    )
    based_on: list[Text] | None = Field(
        default=None,
        description="Models it is based on or depends on ([] for none; null: not declared).",
    )


class CrawlerInfo(_Strict):
    purpose: Text = Field(description="What the crawler collects data for.")
    behaviour: Text | None = Field(
        default=None, description="How it behaves: rate limits, paywalls, login walls, ..."
    )


class DatasetInfo(_Strict):
    purpose: Text | None = Field(
        default=None, description="How the dataset furthers the system's intended purpose."
    )
    collection_ongoing: bool | None = Field(
        default=None, description="Whether collection of the dataset is still ongoing."
    )


class Profile(_Strict):
    """The organisation profile: what disclosures need and only people can say (provider,
    contact, intended purpose, measures taken). Set with 'provledger profile set FILE.json';
    the latest one as of a disclosure's ledger seq is the one it uses."""

    provider: ProviderInfo
    intended_purpose: Text = Field(description="The intended purpose of the AI systems.")
    models: dict[str, ModelInfo] = Field(
        default_factory=dict, description="Per registered model: version, market date, bases."
    )
    crawlers: dict[str, CrawlerInfo] = Field(
        default_factory=dict, description="Per crawler name (as given to --crawler)."
    )
    datasets: dict[str, DatasetInfo] = Field(default_factory=dict, description="Per dataset name.")
    optout_measures: Text | None = Field(
        default=None, description="Measures taken to honour text-and-data-mining opt-outs."
    )
    illegal_content_measures: Text | None = Field(
        default=None, description="Measures taken to remove illegal content from the data."
    )
    ip_statement: Text | None = Field(
        default=None,
        description="Whether the data includes trademarked or patented material (AB 2013).",
    )
    aggregate_consumer_information: bool | None = Field(
        default=None,
        description="Whether the data includes aggregate consumer information (AB 2013).",
    )


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
