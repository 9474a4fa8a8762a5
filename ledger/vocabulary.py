"""The words every manifest, batch and report shares, in one light module (no SQLModel,
no DuckDB) so the command line and the audit can use them without loading either.

uses: what a license grants, a consent version permits and a dataset is for.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "CONTEXTS",
    "FATES",
    "SOURCES",
    "SPLITS",
    "USES",
    "Context",
    "Fate",
    "Source",
    "Split",
    "Use",
]

Use = Literal[
    "train", "evaluate", "synthetic_seed", "external_release", "redistribute", "commercial"
]
Source = Literal["scraped", "licensed", "first_party", "synthetic"]  # report order
# reference: a sample of production traffic, the yardstick for distribution match;
# benchmark: a public evaluation set registered to guard against. Neither is training data.
Split = Literal["train", "validation", "test", "reference", "benchmark"]
Context = Literal["internal", "customer_facing", "regulated"]
Fate = Literal["grandfathered", "reconsent_required", "revoked"]

USES: tuple[str, ...] = get_args(Use)
SOURCES: tuple[str, ...] = get_args(Source)
SPLITS: tuple[str, ...] = get_args(Split)
CONTEXTS: tuple[str, ...] = get_args(Context)
FATES: tuple[str, ...] = get_args(Fate)
