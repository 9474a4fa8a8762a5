"""The words every manifest, batch and report shares, in one light module (no SQLModel,
no DuckDB, no pydantic) so the command line and the audit can use them without loading
either.

Each vocabulary is declared once, as a ``StrEnum`` whose members are the words in the
order reports list them; a member equals, hashes and formats as its word, so it goes
into JSON, SQL parameters and messages unchanged. The tuples (``SOURCES``, ...) hold the
plain words for messages and SQL lists. The manifest models validate with the ``...Name``
``Literal`` types: a Literal of the enum's members, because pydantic's strict mode refuses
a plain string for an Enum field, and a Literal keeps the inline ``"enum"`` in the
published manifest schemas.

- ``Use``: what a license grants, a consent version permits and a dataset is for.
- ``Source``, ``Split``: a batch's source type and split.
- ``Context``: where models trained on a dataset are used. ``Fate``: what a consent
  version decides about an earlier one.
- ``Severity``: of an audit finding, highest first (``audit --fail-on``).
- ``AuditFormat``: the formats ``provledger audit --format`` writes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

__all__ = [
    "AUDIT_FORMATS",
    "CHANNELS",
    "CONTEXTS",
    "FATES",
    "MODALITIES",
    "SEVERITIES",
    "SOURCES",
    "SPLITS",
    "USES",
    "AuditFormat",
    "Channel",
    "Context",
    "ContextName",
    "Fate",
    "FateName",
    "Modality",
    "Severity",
    "Source",
    "Split",
    "Use",
    "UseName",
]


class Use(StrEnum):
    train = "train"
    evaluate = "evaluate"
    synthetic_seed = "synthetic_seed"
    external_release = "external_release"
    redistribute = "redistribute"
    commercial = "commercial"


class Source(StrEnum):
    """A batch's source type, in report order."""

    scraped = "scraped"
    licensed = "licensed"
    first_party = "first_party"
    synthetic = "synthetic"


class Split(StrEnum):
    """The split a batch belongs to."""

    train = "train"
    validation = "validation"
    test = "test"
    # A sample of production traffic, the yardstick for distribution match.
    reference = "reference"
    # A public evaluation set registered to guard against. Neither is training data.
    benchmark = "benchmark"


class Context(StrEnum):
    internal = "internal"
    customer_facing = "customer_facing"
    regulated = "regulated"


class Fate(StrEnum):
    grandfathered = "grandfathered"
    reconsent_required = "reconsent_required"
    revoked = "revoked"


# high: legal or contractual exposure today; medium: a risk to the data's fitness or a
# compliance gap still open to repair; low: hygiene.
class Severity(StrEnum):
    """How serious an audit finding is, highest first."""

    high = "high"
    medium = "medium"
    low = "low"


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


class Channel(StrEnum):
    """How a batch was acquired, finer than its source type: one channel per section of
    the EU training-content summary (see provledger.ingest.batch_metadata for each source's
    default)."""

    public_dataset = "public_dataset"
    own_crawl = "own_crawl"
    third_party_crawl = "third_party_crawl"
    rightsholder_license = "rightsholder_license"
    data_broker = "data_broker"
    user_data_this_service = "user_data_this_service"
    user_data_other_service = "user_data_other_service"
    synthetic = "synthetic"
    other = "other"


class Modality(StrEnum):
    text = "text"
    image = "image"
    audio = "audio"
    video = "video"
    tabular = "tabular"
    code = "code"
    other = "other"


UseName = Literal[
    Use.train,
    Use.evaluate,
    Use.synthetic_seed,
    Use.external_release,
    Use.redistribute,
    Use.commercial,
]
ContextName = Literal[Context.internal, Context.customer_facing, Context.regulated]
FateName = Literal[Fate.grandfathered, Fate.reconsent_required, Fate.revoked]

USES: tuple[str, ...] = tuple(u.value for u in Use)
SOURCES: tuple[str, ...] = tuple(s.value for s in Source)
SPLITS: tuple[str, ...] = tuple(s.value for s in Split)
CONTEXTS: tuple[str, ...] = tuple(c.value for c in Context)
FATES: tuple[str, ...] = tuple(f.value for f in Fate)
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
AUDIT_FORMATS: tuple[str, ...] = tuple(f.value for f in AuditFormat)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
MODALITIES: tuple[str, ...] = tuple(m.value for m in Modality)
