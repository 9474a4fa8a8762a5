"""Coverage-guided fuzzing of everything a user can hand ``register`` and ``license add``,
with atheris (libFuzzer for Python). Not part of ``make test``; run it for as long as you
like:

    .venv/bin/python -m pip install atheris
    .venv/bin/python tests/fuzz/fuzz_register.py -max_total_time=300

(``-runs=N`` stops after N inputs; a folder argument keeps the corpus between runs. The
scratch ledger is made under /tmp/provledger-fuzz-*; libFuzzer exits without running
Python's exit handlers, so remove it afterwards.)

Each input becomes a JSONL, CSV or Parquet file (Parquet: a valid file with the input's
bytes XOR-ed in) or a license manifest, and is registered into one ledger. The property is
the one tests/test_hostile_input.py checks: it registers, adding exactly one entry and
batch, or raises provledger's own LedgerError and changes nothing. Any other exception,
or a ledger that stops verifying, is a finding: atheris stops and saves the input.
"""

from __future__ import annotations

import atexit
import io
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Every module an input passes through, imported here so atheris instruments it
    # (the ledger imports most of them lazily, inside the functions that need them).
    from provledger.errors import LedgerError
    from provledger.ledger import Ledger
    from provledger.registry import operations as registry

TABLES = ("entries", "batches", "records", "licenses")
KINDS = (".jsonl", ".csv", ".parquet", ".json")
VERIFY_EVERY = 500

_folder = Path(tempfile.mkdtemp(prefix="provledger-fuzz-"))
atexit.register(shutil.rmtree, _folder, ignore_errors=True)
_ledger = Ledger.init(_folder / "home")
registry.create_dataset(_ledger, "fuzz", owner="fuzz", context="internal", uses=["train"])
_buffer = io.BytesIO()
pq.write_table(pa.table({"text": [f"row {i}" for i in range(50)], "n": list(range(50))}), _buffer)
_PARQUET = _buffer.getvalue()
_inputs = 0


def _counts() -> dict[str, int]:
    return {t: _ledger.store.row(f"SELECT count(*) FROM {t}")[0] for t in TABLES}  # type: ignore[index]


def _file(kind: str, data: bytes) -> Path:
    if kind == ".parquet":
        spoiled = bytearray(_PARQUET)
        for i in range(0, len(data) - 2, 3):
            spoiled[int.from_bytes(data[i : i + 2], "big") % len(spoiled)] ^= data[i + 2]
        data = bytes(spoiled)
    path = _folder / f"input{kind}"
    path.write_bytes(data)
    return path


def test_one_input(data: bytes) -> None:
    global _inputs
    fdp = atheris.FuzzedDataProvider(data)
    kind = KINDS[fdp.ConsumeIntInRange(0, len(KINDS) - 1)]
    path = _file(kind, fdp.ConsumeBytes(fdp.remaining_bytes()))
    before = _counts()
    try:
        if kind == ".json":
            registry.add_license(_ledger, path)
            grew = {"entries": 1, "licenses": 1}
        else:
            result = _ledger.register(path, dataset="fuzz", source="scraped")
            grew = {"entries": 1, "batches": 1, "records": result.records}
    except LedgerError as exc:
        if not str(exc).strip():
            raise AssertionError("an error without a message") from exc
        if _counts() != before:
            raise AssertionError(f"a refused input changed the ledger: {exc}") from exc
    else:
        after = _counts()
        expected = {t: before[t] + grew.get(t, 0) for t in TABLES}
        if after != expected:
            raise AssertionError(f"registration wrote {after}, expected {expected}")
    _inputs += 1
    if _inputs % VERIFY_EVERY == 0:
        report = _ledger.verify()
        if not report.ok:
            raise AssertionError(f"verify failed at seq {report.first_bad_seq}: {report.problem}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
