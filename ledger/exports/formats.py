"""``export``: one entry point for every export format, dispatching to one module each.

    parquet      the active record manifest (``provledger.lineage.manifest.export``), the default
    croissant    Croissant 1.1 JSON-LD with the RAI vocabulary (``provledger.exports.croissant``)
    openlineage  OpenLineage 2-0-2 RunEvents as JSON lines (``provledger.exports.openlineage``)
    prov         W3C PROV-JSON (``provledger.exports.prov``)
    prov-n       W3C PROV-N, the same graph as text
    prov-svg     the same graph drawn by Graphviz (needs pydot and the ``dot`` program)

Every format leaves erased records out; the standard formats carry counts, batch Merkle
roots and the signed checkpoint, never a record or subject hash. Each standard format's
library is imported only when that format is asked for: they are optional (the
``export`` extra) and cost start-up time.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provledger.atomic import write_atomically
from provledger.errors import InputError
from provledger.lineage.manifest import export as export_parquet

if TYPE_CHECKING:
    from provledger.exports.facts import DatasetFacts
    from provledger.ledger import Ledger
    from provledger.lineage.manifest import ExportResult

__all__ = ["FORMATS", "StandardExport", "export"]

FORMATS = ("parquet", "croissant", "openlineage", "prov", "prov-n", "prov-svg")
# The package that brings each standard format's library.
EXTRAS = {
    "openlineage": "openlineage-python",
    "prov": "prov",
    "prov-n": "prov",
    "prov-svg": "prov and pydot (and Graphviz's dot program)",
}


@dataclass(frozen=True)
class StandardExport:
    """What a standard-format export wrote: ``items`` counts events (OpenLineage), graph
    records (PROV) or file objects (Croissant)."""

    dataset: str
    format: str
    output: str
    records: int
    erased_left_out: int
    items: int
    bytes: int
    emitted: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` only once it is complete."""
    if not path.parent.is_dir():
        raise InputError("its folder does not exist", file=path)
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise InputError(f"cannot write it: {exc.strerror}", file=path) from None


def _missing(fmt: str, exc: ImportError) -> InputError:
    return InputError(
        f"format {fmt} needs {EXTRAS.get(fmt, exc.name)}: install provledger[export] "
        f"({exc.name} is missing)",
        field="format",
    )


def export(
    ledger: Ledger,
    dataset: str,
    output: str | os.PathLike[str],
    fmt: str = "parquet",
    *,
    emit: str | None = None,
) -> ExportResult | StandardExport:
    """Export ``dataset`` to ``output`` in ``fmt`` (see the module docstring).

    ``emit`` (openlineage only) also posts every event to that OpenLineage endpoint. Returns
    ``provledger.lineage.manifest.ExportResult`` for parquet, ``StandardExport`` otherwise. Raises
    NotFound for an unknown dataset, InputError for an unknown format, a missing optional
    library, an unwritable output or a failed post.
    """
    if fmt not in FORMATS:
        raise InputError(
            f"unknown format '{fmt}' (expected one of {', '.join(FORMATS)})", field="format"
        )
    if emit is not None and fmt != "openlineage":
        raise InputError("--emit posts OpenLineage events: use it with --format openlineage")
    if fmt == "parquet":
        return export_parquet(ledger, dataset, output)
    # Deferred for start-up time: loads cryptography, msgspec, orjson, rfc8785
    from provledger.exports.facts import read_facts

    facts = read_facts(ledger, dataset)
    path = Path(output)
    emitted = None
    try:
        if fmt == "croissant":
            # Deferred for start-up time: loads cryptography, msgspec, orjson, rfc8785
            from provledger.exports.croissant import croissant

            doc = croissant(facts)
            data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
            items = len(doc["distribution"])
        elif fmt == "openlineage":
            # openlineage-python costs start-up time: only for this format.
            from provledger.exports import openlineage as ol

            events = ol.events(facts)
            data = ol.to_lines(events).encode()
            items = len(events)
            if emit is not None:
                emitted = ol.emit(events, emit)
        else:
            data, items = _prov(facts, fmt, path)
    except ImportError as exc:
        raise _missing(fmt, exc) from None
    _write(path, data)
    return StandardExport(
        dataset,
        fmt,
        str(path),
        facts.active_records,
        facts.erased_records,
        items,
        len(data),
        emitted,
    )


def _prov(facts: DatasetFacts, fmt: str, path: Path) -> tuple[bytes, int]:
    # prov (with rdflib, networkx) costs start-up time: only for these formats.
    from provledger.exports.prov import prov_document

    doc = prov_document(facts)
    items = len(list(doc.get_records()))
    if fmt == "prov":
        return (str(doc.serialize(format="json", indent=2)) + "\n").encode(), items
    if fmt == "prov-n":
        return (doc.get_provn() + "\n").encode(), items
    if shutil.which("dot") is None:
        raise InputError(
            "format prov-svg needs Graphviz's dot program on the PATH "
            "(e.g. apt-get install graphviz); prov and prov-n need nothing more",
            field="format",
        )
    from prov.dot import prov_to_dot  # needs pydot: only for pictures

    picture = prov_to_dot(doc).create(format="svg")
    return picture if isinstance(picture, bytes) else picture.encode(), items
