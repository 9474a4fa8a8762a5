"""What a batch declares beyond its source type, for disclosures and the audit: acquisition
channel, modality, languages, the crawler and its opt-out evidence, the model that generated
synthetic data and its terms, a processing description, and (for audio and video) hours.

``metadata_for`` checks a registration's declared values and returns them as the
``metadata`` object of the signed batch-registered payload, to which ``register`` adds the
counts it makes while hashing (``bytes``, ``words``, ``tokens``, ``tokenizer``). Disclosures
and the audit read that object straight from the signed payload (``METADATA_SQL``), so
``verify``'s entry hash check covers every value; entries written before these fields
existed have none, and ``effective_channel`` gives them the default of their source type.

Counting rule (``TOKENIZER``): ``bytes`` are the UTF-8 bytes of each record's text field;
``words`` the number of whitespace-separated words of its normalised text (the
content-hash normalisation of ``ledger.hashing``: NFKC, case-folded, whitespace runs
collapsed, so this is ``len(normalise_text(text).split())``), and ``tokens`` the same
number: the default tokenisation is a whitespace word count, named ``whitespace-words``
wherever a token figure is shown.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.canonical import parse_json
from ledger.errors import CanonicalError, InputError
from ledger.vocabulary import CHANNELS, MODALITIES

__all__ = [
    "ALLOWED_CHANNELS",
    "CRAWL_CHANNELS",
    "DEFAULT_CHANNEL",
    "METADATA_SQL",
    "TOKENIZER",
    "effective_channel",
    "load_opt_out",
    "metadata_for",
    "normalise_language",
    "opt_out_reserved",
]

TOKENIZER = "whitespace-words"

# The channel a batch gets when none is declared, and the channels each source type allows.
DEFAULT_CHANNEL: dict[str, str] = {
    "scraped": "own_crawl",
    "licensed": "rightsholder_license",
    "first_party": "user_data_this_service",
    "synthetic": "synthetic",
}
ALLOWED_CHANNELS: dict[str, tuple[str, ...]] = {
    "scraped": ("own_crawl", "third_party_crawl", "public_dataset", "other"),
    "licensed": ("rightsholder_license", "data_broker", "public_dataset", "other"),
    "first_party": ("user_data_this_service", "user_data_other_service", "other"),
    "synthetic": ("synthetic",),
}
# Data crawled by the provider or on its behalf: the channels a crawler and opt-out
# evidence belong to (EU summary section 2.3).
CRAWL_CHANNELS = ("own_crawl", "third_party_crawl")
HOURS_MODALITIES = ("audio", "video")

# The declared metadata of every batch, read from its signed payload (NULL for entries
# written before batches declared any): batch seq and the JSON text of the object.
METADATA_SQL = """
    SELECT seq, json_extract(payload, '$.metadata')::VARCHAR AS metadata
    FROM entries
    WHERE kind = 'batch-registered' AND seq <= $cut
"""

# BCP 47 (RFC 5646) language tag, the common shape: language (2-3 letters: no 4-8 letter
# language subtag is registered), optional extlang, script (4 letters), region (2 letters
# or 3 digits), variants, extensions and a private-use part. A light syntactic check, not a
# registry lookup: "xx" passes, "english" and "en_US" do not.
_BCP47 = re.compile(
    r"[a-z]{2,3}(?:-[a-z]{3}){0,3}"
    r"(?:-[a-z]{4})?"
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
    r"(?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*"
    r"(?:-x(?:-[a-z0-9]{1,8})+)?"
    r"|x(?:-[a-z0-9]{1,8})+",
    re.IGNORECASE,
)

_VERDICTS = ("allowed", "disallowed", "absent")
_TRAIN_AI = ("y", "n", "unset")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PROTOCOLS = ("robots_txt", "tdmrep", "ai_preference")


def normalise_language(tag: str) -> str:
    """A BCP 47 tag in its conventional case ('EN-gb' -> 'en-GB', 'sr-latn' -> 'sr-Latn').
    Raises InputError (field 'languages') when the tag is not BCP 47 shaped."""
    if not isinstance(tag, str) or not _BCP47.fullmatch(tag):
        raise InputError(
            f"'{tag}' is not a BCP 47 language tag (e.g. 'en', 'de-AT', 'sr-Latn')",
            field="languages",
        )
    parts = tag.split("-")
    out = [parts[0].lower()]
    # After a singleton (an extension or 'x' for private use) every subtag is lowercase.
    lower_rest = len(parts[0]) == 1
    for part in parts[1:]:
        if lower_rest or len(part) == 1:
            lower_rest = True
            out.append(part.lower())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be non-empty text", field=field)
    return value


def _utc(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InputError("expected an ISO-8601 time", field=field)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"'{value}' is not an ISO-8601 time", field=field) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _only(obj: Any, field: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError("expected an object", field=field)
    extra = [k for k in obj if k not in keys]
    if extra:
        raise InputError(
            f"unknown field '{extra[0]}' (expected one of {', '.join(keys)})", field=field
        )
    return obj


def _check_opt_out(data: Any) -> dict[str, Any]:
    """The opt-out evidence in its signed form; InputError naming the field otherwise."""
    doc = _only(data, "opt_out", ("checked_at", *_PROTOCOLS))
    if "checked_at" not in doc:
        raise InputError("required field is missing", field="opt_out.checked_at")
    out: dict[str, Any] = {"checked_at": _utc(doc["checked_at"], "opt_out.checked_at")}
    robots = doc.get("robots_txt")
    if robots is not None:
        r = _only(robots, "opt_out.robots_txt", ("sha256", "agents", "verdict"))
        sha = r.get("sha256")
        if r.get("verdict") != "absent" and not (isinstance(sha, str) and _HEX64.fullmatch(sha)):
            raise InputError(
                "expected the SHA-256 (64 lowercase hex) of the robots.txt fetched",
                field="opt_out.robots_txt.sha256",
            )
        agents = r.get("agents")
        if (
            not isinstance(agents, list)
            or not agents
            or not all(isinstance(a, str) and a.strip() for a in agents)
        ):
            raise InputError(
                'list the user agents whose rules were read (e.g. ["LarkspurBot", "*"])',
                field="opt_out.robots_txt.agents",
            )
        if r.get("verdict") not in _VERDICTS:
            raise InputError(
                f"unknown verdict {r.get('verdict')!r} (expected one of {', '.join(_VERDICTS)})",
                field="opt_out.robots_txt.verdict",
            )
        out["robots_txt"] = {"sha256": sha, "agents": list(agents), "verdict": r["verdict"]}
    tdm = doc.get("tdmrep")
    if tdm is not None:
        t = _only(tdm, "opt_out.tdmrep", ("reserved", "policy"))
        if type(t.get("reserved")) is not bool:
            raise InputError("expected true or false", field="opt_out.tdmrep.reserved")
        out["tdmrep"] = {
            "reserved": t["reserved"],
            "policy": _text(t.get("policy"), "opt_out.tdmrep.policy"),
        }
    pref = doc.get("ai_preference")
    if pref is not None:
        a = _only(pref, "opt_out.ai_preference", ("train_ai",))
        if a.get("train_ai") not in _TRAIN_AI:
            raise InputError(
                f"unknown train-ai signal {a.get('train_ai')!r} (expected one of "
                f"{', '.join(_TRAIN_AI)})",
                field="opt_out.ai_preference.train_ai",
            )
        out["ai_preference"] = {"train_ai": a["train_ai"]}
    if not any(p in out for p in _PROTOCOLS):
        raise InputError(
            f"give at least one of {', '.join(_PROTOCOLS)} (the protocols checked)",
            field="opt_out",
        )
    return out


def load_opt_out(evidence: dict[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """Opt-out evidence from a dict or a JSON file, checked. Raises InputError naming the
    file and field."""
    if isinstance(evidence, dict):
        return _check_opt_out(evidence)
    path = Path(evidence)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from None
    try:
        data = parse_json(raw)
        return _check_opt_out(data)
    except CanonicalError as exc:
        raise exc.located(file=path) from None
    except InputError as exc:
        raise exc.located(file=path) from None


def opt_out_reserved(evidence: dict[str, Any]) -> bool:
    """Whether the evidence shows the rightsholder reserved text-and-data mining: robots.txt
    disallows the named agents, a TDMRep reservation, or the AI preference ``train-ai=n``."""
    return (
        (evidence.get("robots_txt") or {}).get("verdict") == "disallowed"
        or bool((evidence.get("tdmrep") or {}).get("reserved"))
        or (evidence.get("ai_preference") or {}).get("train_ai") == "n"
    )


def effective_channel(source: str, metadata: dict[str, Any] | None) -> str:
    """The batch's declared channel, or its source type's default for older entries."""
    if metadata and metadata.get("channel"):
        return str(metadata["channel"])
    return DEFAULT_CHANNEL.get(source, "other")


def metadata_for(
    *,
    source: str,
    channel: str | None,
    modality: str | None,
    languages: list[str],
    crawler: str | None,
    opt_out: dict[str, Any] | str | os.PathLike[str] | None,
    generator_model: str | None,
    generator_terms: str | None,
    processing: str | None,
    hours: float | None,
) -> dict[str, Any]:
    """Check a batch's declared metadata against its source type and return it as signed.

    Raises InputError naming the field: an unknown channel or modality, a channel the
    source type does not allow, a malformed or repeated language tag, crawler or opt-out
    evidence on a batch that was not crawled, generator model or terms on a batch that is
    not synthetic, hours on a batch that is neither audio nor video.
    """
    chosen = channel or DEFAULT_CHANNEL.get(source, "other")
    if chosen not in CHANNELS:
        raise InputError(
            f"unknown channel '{chosen}' (expected one of {', '.join(CHANNELS)})", field="channel"
        )
    allowed = ALLOWED_CHANNELS.get(source, CHANNELS)
    if chosen not in allowed:
        raise InputError(
            f"channel '{chosen}' does not fit source '{source}' (a {source} batch is one of "
            f"{', '.join(allowed)})",
            field="channel",
        )
    kind = modality or "text"
    if kind not in MODALITIES:
        raise InputError(
            f"unknown modality '{kind}' (expected one of {', '.join(MODALITIES)})",
            field="modality",
        )
    tags: list[str] = []
    for tag in languages:
        norm = normalise_language(tag)
        if norm in tags:
            raise InputError(f"lists '{norm}' twice", field="languages")
        tags.append(norm)
    crawled = chosen in CRAWL_CHANNELS
    if not crawled and crawler is not None:
        raise InputError(
            f"--crawler names the crawler of a crawled batch; channel '{chosen}' is not a "
            f"crawl ({' or '.join(CRAWL_CHANNELS)})",
            field="crawler",
        )
    if not crawled and opt_out is not None:
        raise InputError(
            f"opt-out evidence belongs to a crawled batch; channel '{chosen}' is not a crawl "
            f"({' or '.join(CRAWL_CHANNELS)})",
            field="opt_out",
        )
    if chosen != "synthetic":
        generated = (("generator_model", generator_model), ("generator_terms", generator_terms))
        for name, value in generated:
            if value is not None:
                raise InputError(
                    f"only a synthetic batch has a generating model; this batch's channel is "
                    f"'{chosen}'",
                    field=name,
                )
    if hours is not None:
        if kind not in HOURS_MODALITIES:
            raise InputError(
                f"hours are counted for audio and video batches; this batch is '{kind}'",
                field="hours",
            )
        if type(hours) not in (int, float) or not 0 <= hours < 2**53 or hours != hours:
            raise InputError(f"hours must be a number from 0, got {hours!r}", field="hours")
    return {
        "channel": chosen,
        "modality": kind,
        "languages": tags,
        "crawler": _text(crawler, "crawler"),
        "opt_out": load_opt_out(opt_out) if opt_out is not None else None,
        "generator_model": _text(generator_model, "generator_model"),
        "generator_terms": _text(generator_terms, "generator_terms"),
        "processing": _text(processing, "processing"),
        "hours": hours,
    }
