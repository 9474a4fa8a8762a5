"""The words every manifest, batch and report shares, in one light module (no SQLModel,
no DuckDB) so the command line and the audit can use them without loading either.

uses: what a license grants, a consent version permits and a dataset is for.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "CHANNELS",
    "CONTEXTS",
    "FATES",
    "MODALITIES",
    "SOURCES",
    "SPLITS",
    "USES",
    "Channel",
    "Context",
    "Fate",
    "Modality",
    "Source",
    "Split",
    "Use",
]

Use = Literal[
    "train", "evaluate", "synthetic_seed", "external_release", "redistribute", "commercial"
]
Source = Literal["scraped", "licensed", "first_party", "synthetic"]  # report order
Split = Literal["train", "validation", "test"]
Context = Literal["internal", "customer_facing", "regulated"]
Fate = Literal["grandfathered", "reconsent_required", "revoked"]
# How a batch was acquired, finer than its source type: one channel per section of the EU
# training-content summary (see ledger.batch_metadata for the default of each source).
Channel = Literal[
    "public_dataset",
    "own_crawl",
    "third_party_crawl",
    "rightsholder_license",
    "data_broker",
    "user_data_this_service",
    "user_data_other_service",
    "synthetic",
    "other",
]
Modality = Literal["text", "image", "audio", "video", "tabular", "code", "other"]

USES: tuple[str, ...] = get_args(Use)
SOURCES: tuple[str, ...] = get_args(Source)
SPLITS: tuple[str, ...] = get_args(Split)
CONTEXTS: tuple[str, ...] = get_args(Context)
FATES: tuple[str, ...] = get_args(Fate)
CHANNELS: tuple[str, ...] = get_args(Channel)
MODALITIES: tuple[str, ...] = get_args(Modality)
