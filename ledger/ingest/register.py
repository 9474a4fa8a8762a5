"""Registering a batch: read a file (or Arrow table), hash every record, build the batch's
Merkle root, and commit records, batch row and entry in one transaction.

Per record (see ``provledger.ingest.hashing``): ``record_hash`` over the RFC 8785 canonical JSON,
``content_hash`` over the normalised text field, ``subject_hash`` as HMAC of the subject
field. Large plain JSONL files are split into byte ranges hashed by worker processes (one
per core); the main process inserts each range's hashes into DuckDB as an Arrow batch and
folds its leaves into the Merkle root, so memory stays flat whatever the file size. With
hash shards each worker writes its range's hashes as a shard itself and hands back only
the shard's entry (``provledger.ingest.shard_writer.write_range_shard``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provledger import interrupts
from provledger.errors import Conflict, InputError, NotFound
from provledger.ingest.batch_metadata import TOKENIZER, metadata_for
from provledger.ingest.limits import DEFAULT_LIMITS, LINE_TOO_LONG, ReadLimits, line_too_long
from provledger.ingest.readers import Chunk, detect_format
from provledger.ingest.readers.csv_reader import read_csv
from provledger.ingest.readers.json_array_reader import read_json_array
from provledger.ingest.readers.jsonl_reader import byte_ranges, read_lines, split_range
from provledger.ingest.readers.parquet_reader import read_parquet, read_parquet_dir
from provledger.ingest.record_hashes import Hashed, Totals, hash_items
from provledger.ingest.workers import exit_with_parent
from provledger.lineage.index import index_batch
from provledger.registry import operations as registry
from provledger.similarity.near_facts import write_near_facts
from provledger.similarity.sketch_tables import SketchWriter
from provledger.storage.entry_kinds import EntryKind
from provledger.storage.shards import ShardFile, attach, sharded_batches
from provledger.tlog.canonical import require_utf8
from provledger.tlog.merkle import compact_range
from provledger.vocabulary import SOURCES, SPLITS

if TYPE_CHECKING:
    from provledger.ingest.readers.memory_reader import InMemory
    from provledger.ingest.shard_writer import RangeShard, ShardTarget
    from provledger.ingest.staging import Staged
    from provledger.ledger import Ledger

__all__ = ["BatchSpec", "RegisterResult", "register"]

# Plain JSONL files above this size are hashed by worker processes in ranges of RANGE_BYTES.
PARALLEL_MIN_BYTES = 16 << 20
RANGE_BYTES = 4 << 20
# Where records are hashed: this machine's processes, or a Ray cluster
# (provledger.ingest.engine_ray).
ENGINES = ("local", "ray")
# Inputs of at least this many bytes (files, or a folder's Parquet shards) are hashed with
# the ledger closed and staged on disk, so other processes can read it meanwhile (see
# provledger.ingest.staging); smaller ones hash inside the transaction, saving the reopen.
RELEASE_MIN_BYTES = 8 << 20
# DuckDB's buffer memory while a batch is written (see register()).
WRITE_MEMORY = "192MB"

# Called with (done, total): bytes of a plain JSONL file, rows of an Arrow table, else
# records so far and None. ``progress_unit`` names the unit for a file.
Progress = Callable[[int, int | None], None]


@dataclass
class BatchSpec:
    """What a registration says about its batch (the CLI flags of ``register``).

    The obvious Python types are accepted and normalised here, once: ``derived_from`` and
    ``languages`` take one string or a sequence of them, ``collected_at`` an ISO-8601
    string, a ``date`` or a ``datetime``. Registering never changes the spec it is given.
    """

    dataset: str
    source: str
    license: str | None = None
    consent: str | None = None
    origin: str | None = None
    collected_at: str | date | None = None
    split: str = "train"
    text_field: str = "text"
    subject_field: str | None = None
    derived_from: Sequence[str] = field(default_factory=list)
    generator: str | None = None
    cost: float | None = None
    # Declared metadata (see provledger.ingest.batch_metadata): channel defaults per source type,
    # modality to text; opt_out is a dict or the path of a JSON file.
    channel: str | None = None
    modality: str | None = None
    languages: Sequence[str] = field(default_factory=list)
    crawler: str | None = None
    opt_out: dict[str, Any] | str | os.PathLike[str] | None = None
    generator_model: str | None = None
    generator_terms: str | None = None
    processing: str | None = None
    hours: float | None = None
    # Near-duplicate signatures and the n-gram profile (provledger.similarity.sketches); on by
    # default.
    sketches: bool = True

    def __post_init__(self) -> None:
        # A single string is one batch id (or language), never a sequence of characters.
        self.derived_from = _strings(self.derived_from)
        self.languages = _strings(self.languages)
        if isinstance(self.collected_at, date):  # datetime is a date too
            self.collected_at = self.collected_at.isoformat()


def _strings(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass
class RegisterResult:
    """The outcome of one registration (``register --json``)."""

    batch_id: str
    dataset: str
    source: str
    records: int
    merkle_root: str
    seq: int
    split: str
    file: str | None
    format: str
    channel: str = "other"
    bytes: int = 0
    words: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- hashing (runs in worker processes too, so module-level and picklable) ------------------
def _hash_range(
    path: str,
    start: int,
    end: int,
    first_index: int,
    max_line: int,
    text_field: str,
    subject_field: str | None,
    subject_key: bytes | None,
    sketch: bool,
    target: ShardTarget | None = None,
    index: int = 0,
) -> tuple[Hashed | RangeShard | InputError, int]:
    """Worker task: read and hash bytes [start, end) of a JSONL file.

    Returns (hashes or the error, physical lines in the range); line numbers in an error
    are relative to the range. The hashes carry the range's Merkle subtrees, computed on
    the assumption that its first record is record ``first_index`` of the batch. With a
    shard ``target`` the worker writes the range's hashes as shard ``index`` itself and
    returns only what the entry signs of it (``RangeShard``); ``first_index`` is then
    exact (the caller counted the range's records).
    """
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    lines = split_range(data, at_file_start=start == 0)
    items: list[bytes] = []
    locations: list[int] = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip(b"\r")
        if len(line) > max_line:
            return InputError(LINE_TOO_LONG, line=number), len(lines)
        if line.strip():
            items.append(line)
            locations.append(number)
    try:
        hashed = hash_items(items, locations, True, text_field, subject_field, subject_key, sketch)
    except InputError as exc:
        return exc, len(lines)
    leaves = hashed.leaves
    hashed.first_index = first_index
    hashed.subtrees = compact_range(
        [leaves[i : i + 32] for i in range(0, len(leaves), 32)], first_index
    )
    if target is not None and hashed.count:
        # Deferred for start-up time: loads pyarrow
        from provledger.ingest.shard_writer import write_range_shard

        try:
            return write_range_shard(target, index, first_index, hashed), len(lines)
        except InputError as exc:
            return exc, 0
    return hashed, len(lines)


# A line that is empty or starts with whitespace (it may be blank), or a byte-order mark.
MAYBE_BLANK = re.compile(rb"(?:\A|\n)\s|\A\xef\xbb\xbf")


def records_in(data: bytes, at_file_start: bool) -> int:
    """The records (non-blank lines) ``_hash_range`` finds in a range's bytes: its newline
    count when no line can be blank (one regular-expression scan), else line by line."""
    if not data:
        return 0
    if MAYBE_BLANK.search(data) is None:
        return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return sum(1 for line in split_range(data, at_file_start) if line.strip())


# -- reading ------------------------------------------------------------------------------
@contextmanager
def _memory_named(name: Path | str) -> Iterator[None]:
    """Turn running out of memory while reading ``name`` into an InputError naming it (a
    line within the limit can still be too much for the memory this process has)."""
    try:
        yield
    except MemoryError:
        raise InputError(
            "ran out of memory while reading it; lower the line limit (--max-line-size) "
            "or give the process more memory",
            file=name,
        ) from None


def progress_unit(path: str | os.PathLike[str]) -> str:
    """What ``progress`` counts while registering ``path``: "bytes" or "records"."""
    try:
        return "bytes" if detect_format(Path(path)) == "jsonl" else "records"
    except InputError:
        return "records"


def _chunks(path: Path, fmt: str, limits: ReadLimits) -> Iterator[Chunk]:
    if fmt in ("jsonl", "jsonl.gz"):
        return read_lines(path, gz=fmt == "jsonl.gz", limits=limits)
    if fmt in ("csv", "csv.gz"):
        return read_csv(path, gz=fmt == "csv.gz")
    if fmt == "json":
        return read_json_array(path)
    if fmt == "parquet-dir":
        return read_parquet_dir(path)

    return read_parquet(path, limits=limits)


def _require_input(path: Path) -> None:
    """A file, or a folder (of Parquet shards); else InputError."""
    if not (path.is_file() or path.is_dir()):
        raise InputError("no such file", file=path)


def iter_record_hashes(
    path: str | os.PathLike[str], text_field: str = "text", limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[tuple[list[int], bytes]]:
    """A data file's record hashes, computed exactly as ``register`` computes them, chunk
    by chunk: (line or row numbers, the chunk's 32-byte record hashes concatenated). For
    checking a file against the ledger without registering it. Raises InputError."""
    file = Path(path)
    _require_input(file)
    chunks = _chunks(file, detect_format(file), limits)
    with _memory_named(file):
        for chunk in chunks:
            try:
                hashed = hash_items(chunk.items, chunk.locations, chunk.raw, text_field, None, None)
            except InputError as exc:
                raise exc.located(file=chunk.file or file) from None
            yield chunk.locations, hashed.record_hashes


@dataclass
class EngineInput:
    """A dataset that an engine hashes where it lives: a ``ray.data.Dataset`` ("ray") or a
    PySpark DataFrame ("spark"), and the name errors give it."""

    format: str
    name: str
    data: Any


def _engine_input(data: Any) -> EngineInput | None:
    """Recognise a Ray or Spark dataset by its module (neither library is imported)."""
    module = type(data).__module__
    if module.startswith("ray.data") and hasattr(data, "map_batches"):
        return EngineInput("ray", "<ray dataset>", data)
    if module.startswith("pyspark.sql") and hasattr(data, "mapInArrow"):
        return EngineInput("spark", "<spark dataframe>", data)
    return None


def _hashed_chunks(
    data: Path | InMemory | EngineInput,
    fmt: str,
    spec: BatchSpec,
    subject_key: bytes | None,
    progress: Progress | None,
    limits: ReadLimits,
    engine: str = "local",
    target: ShardTarget | None = None,
) -> Generator[Hashed | RangeShard, None, None]:
    """Hashes of the whole input, chunk by chunk, in record order. With a shard
    ``target``, input hashed by worker processes comes back as the shards the workers
    wrote (``RangeShard``); other input as hashes, for the caller's ``ShardWriter``."""
    name = str(data) if isinstance(data, Path) else data.name
    args = (spec.text_field, spec.subject_field, subject_key, spec.sketches)
    if isinstance(data, Path) and fmt == "jsonl" and data.stat().st_size >= PARALLEL_MIN_BYTES:
        yield from _hash_parallel(data, args, progress, limits, target)
        return
    if engine == "ray" or isinstance(data, EngineInput):
        # Deferred for start-up time: loads pyarrow
        from provledger.ingest.arrow_hashing import HashConfig

        config = HashConfig(*args)
        if fmt == "spark":
            # Deferred for start-up time: loads pyarrow (PySpark is the caller's)
            from provledger.ingest.engine_spark import hash_on_spark

            assert isinstance(data, EngineInput)
            yield from hash_on_spark(data.data, config, progress, name)
            return
        # Deferred for start-up time: loads ray (seconds), pyarrow
        from provledger.ingest.engine_ray import hash_on_ray

        assert isinstance(data, Path | EngineInput)
        yield from hash_on_ray(
            data if isinstance(data, Path) else data.data,
            config,
            progress,
            name,
            limits,
            target if isinstance(data, Path) else None,  # a Dataset's blocks: no positions
        )
        return
    if isinstance(data, Path) and fmt == "parquet":
        # Deferred for start-up time: loads pyarrow
        from provledger.ingest import parquet_ranges

        # Deferred for start-up time: loads pyarrow
        from provledger.ingest.arrow_hashing import HashConfig

        if parquet_ranges.parquet_rows(data) >= parquet_ranges.PARALLEL_MIN_ROWS:
            config = HashConfig(*args)
            yield from parquet_ranges.hash_parquet_parallel(
                data, config, progress, limits, target=target
            )
            return
    # Plain JSONL reports bytes of the file, an Arrow table, DataFrame or Dataset its rows;
    # other files and streams report records with the total unknown.
    in_bytes = fmt == "jsonl"
    if isinstance(data, Path):
        chunks: Iterable[Chunk] = _chunks(data, fmt, limits)
        total: int | None = data.stat().st_size if in_bytes else None
    else:
        assert not isinstance(data, EngineInput)
        chunks, total = data.chunks, data.total
    done = 0
    for chunk in chunks:
        try:
            hashed = hash_items(chunk.items, chunk.locations, chunk.raw, *args)
        except InputError as exc:
            raise exc.located(file=chunk.file or name) from None
        if progress is not None:
            done += sum(len(i) + 1 for i in chunk.items) if in_bytes else len(chunk.items)
            progress(min(done, total) if total is not None else done, total)
        yield hashed


def _hash_parallel(
    path: Path,
    args: tuple[str, str | None, bytes | None, bool],
    progress: Progress | None,
    limits: ReadLimits,
    target: ShardTarget | None = None,
) -> Iterator[Hashed | RangeShard]:
    total = path.stat().st_size
    workers = max(1, min(os.cpu_count() or 1, 8))

    def tasks() -> Iterator[tuple[int, int, int]]:
        # Count each range's lines as it is handed out, so every worker knows where its
        # records sit in the batch and can build its part of the Merkle tree itself. A
        # worker writing its shard needs the exact count (its rows' ``ord``): blank lines
        # are counted out; without shards a blank line only costs the fold its shortcut.
        first = 0
        with open(path, "rb") as fh:
            for start, end in byte_ranges(path, RANGE_BYTES, limits):
                fh.seek(start)
                data = fh.read(end - start)
                yield start, end, first
                if target is not None:
                    first += records_in(data, start == 0)
                else:
                    first += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)

    todo = tasks()
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=exit_with_parent, initargs=(os.getpid(),)
    )
    pending: list[tuple[int, Any]] = []
    done = [0]  # ranges taken back: with the ones pending, the next range's index

    def submit() -> None:
        task = next(todo, None)
        if task is not None:
            start, end, first = task
            text_field, subject_field, subject_key, sketch = args
            job = pool.submit(
                _hash_range, str(path), start, end, first, limits.max_line,
                text_field, subject_field, subject_key, sketch, target, len(pending) + done[0],
            )  # fmt: skip
            pending.append((end, job))

    try:
        # The workers are forked by the first submit: with the signals blocked, so each
        # can ignore them before one arrives (provledger.interrupts).
        with interrupts.blocked():
            for _ in range(workers * 2):  # a bounded window of ranges in flight: flat memory
                submit()
        line_base = 0
        while pending:
            end, future = pending.pop(0)
            done[0] += 1
            submit()
            result, line_count = future.result()
            if isinstance(result, InputError):
                for _, other in pending:
                    other.cancel()
                if result.file is not None:  # a shard the worker could not write
                    raise result
                line = line_base + (result.line or 0)
                if result.reason == LINE_TOO_LONG:
                    raise line_too_long(path, limits, line)
                raise InputError(result.reason, file=path, line=line, field=result.field)
            line_base += line_count
            if progress is not None:
                progress(end, total)
            yield result
    finally:
        # However this ends (done, bad input, interrupted, the caller closing us): drop
        # the ranges not started and wait for the running ones, so no worker outlives us.
        with interrupts.deferred():
            pool.shutdown(wait=True, cancel_futures=True)


# -- registering --------------------------------------------------------------------------
# An earlier batch of the same dataset with the same Merkle root: the same content again.
SAME_CONTENT = (
    "SELECT batch_id FROM batches WHERE dataset = ? AND merkle_root = ? ORDER BY seq LIMIT 1"
)
BATCH_EXISTS = "SELECT 1 FROM batches WHERE batch_id = ?"
INSERT_BATCH = """
    INSERT INTO batches BY NAME
    SELECT $seq AS seq, $batch_id AS batch_id, $dataset AS dataset, $source AS source,
           $license AS license, $consent AS consent, $origin AS origin,
           CAST($collected_at AS TIMESTAMP) AS collected_at, $split AS split,
           CAST($cost AS DOUBLE) AS cost, $generator AS generator, $file_name AS file_name,
           $file_format AS file_format, $text_field AS text_field,
           $subject_field AS subject_field, $records AS records, $merkle_root AS merkle_root
"""
INSERT_PARENT = "INSERT INTO batch_parents VALUES (?, ?, ?)"


def _check_spec(ledger: Ledger, spec: BatchSpec) -> tuple[BatchSpec, dict[str, Any]]:
    """Apply the registration rules before reading a byte of the file; return the spec as
    it will be recorded (a copy: the caller's is never changed) and the batch's declared
    metadata as it will be signed."""
    for name, value in asdict(spec).items():
        if name != "opt_out":
            require_utf8(value, name)
    store = ledger.store
    registry.require_dataset(store, spec.dataset)
    if spec.source not in SOURCES:
        raise InputError(
            f"unknown source '{spec.source}' (expected one of {', '.join(SOURCES)})", field="source"
        )
    if spec.split not in SPLITS:
        raise InputError(
            f"unknown split '{spec.split}' (expected one of {', '.join(SPLITS)})", field="split"
        )
    if spec.source == "licensed" and not spec.license:
        raise InputError("a licensed batch needs --license ID@VERSION", field="license")
    if spec.license:
        registry.require_license(store, spec.license)
    if spec.source == "first_party":
        if not spec.consent:
            raise InputError("a first_party batch needs --consent POLICY@VERSION", field="consent")
        if not spec.subject_field:
            raise InputError(
                "a first_party batch needs --subject-field naming the data subject id column",
                field="subject_field",
            )
    if spec.consent:
        registry.require_consent(store, spec.consent)
    if spec.source == "synthetic" and not spec.generator:
        raise InputError(
            "a synthetic batch needs --generator describing what produced it", field="generator"
        )
    for parent in spec.derived_from:
        if store.row(BATCH_EXISTS, [parent]) is None:
            raise NotFound(f"unknown batch '{parent}' in --derived-from")
    if spec.cost is not None and spec.cost < 0:
        raise InputError("cost must not be negative", field="cost")
    if spec.cost is not None and not math.isfinite(spec.cost):
        raise InputError(f"cost must be a finite number, got {spec.cost}", field="cost")
    # From 2**53 a double no longer holds every integer, so a cost that large cannot be
    # kept exactly (and is surely a mistake).
    if spec.cost is not None and spec.cost >= 2**53:
        raise InputError(f"cost must be below 2**53, got {spec.cost:g}", field="cost")
    if spec.collected_at is not None:
        spec = replace(spec, collected_at=_iso_utc(str(spec.collected_at)))
    return spec, metadata_for(
        source=spec.source,
        channel=spec.channel,
        modality=spec.modality,
        languages=list(spec.languages),
        crawler=spec.crawler,
        opt_out=spec.opt_out,
        generator_model=spec.generator_model,
        generator_terms=spec.generator_terms,
        processing=spec.processing,
        hours=spec.hours,
    )


def _iso_utc(text: str) -> str:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"'{text}' is not an ISO-8601 date or time", field="collected_at"
        ) from None
    if when.tzinfo is not None:
        try:
            when = when.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 falls before year 1 in UTC
            raise InputError(
                f"'{text}' is outside the years 1-9999 in UTC", field="collected_at"
            ) from None
    return when.isoformat()


def _records_table(seq: int, first_ord: int, hashed: Hashed) -> Any:
    # Deferred for start-up time: loads pyarrow
    import pyarrow as pa

    n = hashed.count

    def column(blob: bytes | None) -> Any:
        if blob is None:
            return pa.nulls(n, pa.binary())
        # DuckDB reads fixed-size binary as BLOB: no copy into variable-size binary needed.
        return pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(blob)])

    return pa.table(
        {
            "batch_seq": pa.array([seq] * n, pa.int32()),
            "ord": pa.array(range(first_ord, first_ord + n), pa.int32()),
            "record_hash": column(hashed.record_hashes),
            "content_hash": column(hashed.content_hashes),
            "subject_hash": column(hashed.subject_hashes),
        }
    )


def register(
    ledger: Ledger,
    data: str | os.PathLike[str] | Any,
    spec: BatchSpec,
    progress: Progress | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    engine: str = "local",
    shards: str | os.PathLike[str] | None = None,
    shard_rows: int | None = None,
) -> RegisterResult:
    """Register one batch from a file path (JSONL, JSONL.gz, CSV, CSV.gz, a JSON array,
    Parquet, or a folder of Parquet shards), an in-memory input (a pyarrow Table or
    RecordBatchReader, a pandas DataFrame, a Hugging Face ``datasets.Dataset``, or an
    iterable of dicts, streamed: see ``provledger.ingest.readers.memory_reader``), or a
    dataset an engine hashes where it lives (a ``ray.data.Dataset``, a PySpark DataFrame).
    ``engine="ray"`` hashes a Parquet file on Ray (``provledger.ingest.engine_ray``).
    With ``shards`` (a folder) the records' hashes are written there as Parquet hash
    shards of ``shard_rows`` records instead of into the ledger file
    (``provledger.ingest.shard_writer``, ``provledger.storage.shards``).

    Large inputs are hashed first with the ledger closed, into a staging file, and the
    writer lock is taken only to commit (``provledger.ingest.staging``). All or nothing:
    records, batch row and entry commit together. Raises InputError for bad input (naming
    file, line, field), for input beyond ``limits``, and when memory runs out while
    reading; NotFound for unknown references; and Conflict when the dataset already holds
    a batch with the same Merkle root.
    """
    path: Path | None = None
    source: Path | InMemory | EngineInput
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        require_utf8(str(path), "file")
        _require_input(path)
        fmt = detect_format(path)
        source = path
    elif (found := _engine_input(data)) is not None:
        source, fmt = found, found.format
    else:
        # Imports pyarrow: only for in-memory inputs, which already hold Arrow or Python data.
        from provledger.ingest.readers.memory_reader import in_memory

        source = in_memory(data)
        fmt = source.format
    _check_engine(engine, fmt, path)
    if shard_rows is not None and shards is None:
        raise InputError("--shard-rows needs --shards DIR", field="shard_rows")
    spec, metadata = _check_spec(ledger, spec)
    subject_key = ledger.subject_key if spec.subject_field else None
    name = source if isinstance(source, Path) else source.name
    writer = None
    if shards is not None:
        # Deferred for start-up time: loads pyarrow
        from provledger.ingest.shard_writer import DEFAULT_SHARD_ROWS, ShardWriter

        writer = ShardWriter(Path(shards), shard_rows or DEFAULT_SHARD_ROWS)
        writer.lingering = engine == "ray"  # Ray tasks may still be writing when we stop
    target = writer.target if writer is not None else None
    chunks = _hashed_chunks(source, fmt, spec, subject_key, progress, limits, engine, target)
    # Closed at once if anything stops the hashing, so hashing workers end with it.
    with closing(chunks), _memory_named(name), ExitStack() as staging:
        staged: Staged | None = None
        if shards is not None or _hash_before_locking(source, fmt, engine):
            # Deferred for start-up time: loads pyarrow
            from provledger.ingest.staging import stage

            with ledger.released():  # readers and look-ups get in while this hashes
                staged = staging.enter_context(stage(ledger.home, chunks, writer))
        try:
            return _commit(ledger, spec, metadata, chunks, staged, path, fmt, name)
        except Exception:
            if shards is not None:  # `records` must not read the uncommitted batch's shards
                attach(ledger.store, sharded_batches(ledger.store))
            raise


def _check_engine(engine: str, fmt: str, path: Path | None) -> None:
    if engine not in ENGINES:
        raise InputError(
            f"unknown engine '{engine}' (expected one of {', '.join(ENGINES)})", field="engine"
        )
    if fmt == "spark" and engine != "local":
        raise InputError(
            "a PySpark DataFrame is hashed by Spark itself: leave the engine unset", field="engine"
        )
    if engine == "ray" and fmt not in ("parquet", "ray"):
        raise InputError(
            f"--engine ray reads Parquet files and ray.data.Datasets; register {fmt} input "
            "with the local engine",
            file=path,
            field="engine",
        )


def _hash_before_locking(source: Path | InMemory | EngineInput, fmt: str, engine: str) -> bool:
    """Whether to hash with the ledger closed, staging the hashes (provledger.ingest.staging):
    on an engine, and for inputs of RELEASE_MIN_BYTES or more (files, Arrow tables)."""
    if engine != "local" or isinstance(source, EngineInput):
        return True
    if isinstance(source, Path):
        size = source.stat().st_size if source.is_file() else 0
        if fmt == "parquet-dir":
            size = sum(f.stat().st_size for f in source.iterdir() if f.is_file())
        return size >= RELEASE_MIN_BYTES
    return False


def _staged_records(seq: int, first_ord: int, table: Any) -> Any:
    """Staged hashes as ``records`` rows: the batch's seq and each record's position first."""
    # Deferred for start-up time: loads pyarrow (loaded already by the staging)
    import pyarrow as pa

    n = table.num_rows
    return pa.table(
        {
            "batch_seq": pa.array([seq] * n, pa.int32()),
            "ord": pa.array(range(first_ord, first_ord + n), pa.int32()),
            "record_hash": table.column("record_hash"),
            "content_hash": table.column("content_hash"),
            "subject_hash": table.column("subject_hash"),
        }
    )


def _commit(
    ledger: Ledger,
    spec: BatchSpec,
    metadata: dict[str, Any],
    chunks: Iterable[Hashed | RangeShard],
    staged: Staged | None,
    path: Path | None,
    fmt: str,
    name: Path | str,
) -> RegisterResult:
    """Write the records, sketches, batch row, lookup keys and entry in one transaction:
    from ``staged`` hashes when the input was staged, else hashing ``chunks`` meanwhile."""
    store = ledger.store
    # While worker processes hash, DuckDB's own threads would only compete with them
    # for the cores (measured: 2.3x slower on 2 cores); one thread keeps up. The memory
    # limit makes DuckDB spill the open transaction's rows to disk, so a batch of any
    # size registers in bounded memory (without it, about 200 MB more per 1M records).
    threads = 1 if staged is None else os.cpu_count() or 1
    with store.limits(threads=threads, memory=WRITE_MEMORY), ledger.appending() as app:
        batch_id = f"b{app.seq}"
        sketches = SketchWriter(store, app.seq) if spec.sketches else None
        if staged is None:
            # The Merkle root covers record hashes; the totals' digests cover the other two
            # hash columns, so verify also catches an edited content or subject hash.
            totals = Totals.empty()
            for hashed in chunks:
                if not isinstance(hashed, Hashed):  # only staged registrations have shards
                    raise TypeError("a range shard outside a sharded registration")
                if hashed.count:
                    store.insert_arrow("records", _records_table(app.seq, totals.count, hashed))
                    if sketches is not None:
                        sketches.add(totals.count, hashed.count, hashed.bands, hashed.profile)
                    totals.add(hashed)
        else:
            totals = staged.totals
            _insert_staged(store, app.seq, staged, sketches)
        text_bytes, words = totals.text_bytes, totals.words
        count = totals.count
        if count == 0:
            raise InputError("no records: the file is empty", file=name)
        sharded = staged.shards if staged is not None else None
        root = totals.builder.root().hex()
        earlier = store.row(SAME_CONTENT, [spec.dataset, root])
        if earlier is not None:
            raise Conflict(
                f"this content is already registered to dataset '{spec.dataset}' as batch "
                f"{earlier[0]} (same Merkle root {root[:16]}…); nothing was registered"
            )
        row = {
            "seq": app.seq,
            "batch_id": batch_id,
            "dataset": spec.dataset,
            "source": spec.source,
            "license": spec.license,
            "consent": spec.consent,
            "origin": spec.origin,
            "collected_at": spec.collected_at,
            "split": spec.split,
            "cost": spec.cost,
            "generator": spec.generator,
            "file_name": str(path) if path else None,
            "file_format": fmt,
            "text_field": spec.text_field,
            "subject_field": spec.subject_field,
            "records": count,
            "merkle_root": root,
        }
        store.execute(INSERT_BATCH, row)
        for parent in spec.derived_from:
            store.execute(INSERT_PARENT, [app.seq, batch_id, parent])
        payload = {k: v for k, v in row.items() if k not in ("seq", "file_name", "file_format")}
        payload |= {
            "derived_from": list(spec.derived_from),
            "file": path.name if path else None,
            "path": str(path) if path else None,
            "format": fmt,
            "content_digest": totals.content.hexdigest(),
            "subject_digest": totals.subject.hexdigest() if spec.subject_field else None,
            "metadata": metadata
            | {"bytes": text_bytes, "words": words, "tokens": words, "tokenizer": TOKENIZER},
        }
        if sketches is not None:
            payload |= sketches.finish()
        if sharded is not None:
            payload["shards"] = sharded
            # From here on `records` reads this batch's shards too (the lookup keys below).
            _attach_with(store, app.seq, payload)

        # The workers are done: the near-duplicate facts' probes and sorting the batch's
        # lookup keys may use every core.
        with store.limits(threads=os.cpu_count() or 1, memory=WRITE_MEMORY):
            if sketches is not None:
                write_near_facts(store, app.seq, spec.dataset, spec.split, count)
            index_batch(store, app.seq)
        entry = app.write_entry(EntryKind.batch_registered, payload)
    return RegisterResult(
        batch_id=batch_id,
        dataset=spec.dataset,
        source=spec.source,
        records=count,
        merkle_root=root,
        seq=entry.seq,
        split=spec.split,
        file=str(path) if path else None,
        format=fmt,
        channel=metadata["channel"],
        bytes=text_bytes,
        words=words,
    )


def _insert_staged(store: Any, seq: int, staged: Staged, sketches: SketchWriter | None) -> None:
    """Insert a staged batch's records and band keys; its profile, summed while staging,
    goes with the first chunk (the writer adds the chunks' profiles up)."""
    # Deferred for start-up time: loads pyarrow (loaded already by the staging)
    from provledger.ingest.arrow_hashing import BAND_BYTES, column_bytes

    done = 0
    profile = staged.totals.profile
    for table in staged.tables():
        n = table.num_rows
        if staged.shards is None:  # else the records are in the shard files
            store.insert_arrow("records", _staged_records(seq, done, table))
        if sketches is not None:
            bands = column_bytes(table.column("bands"), BAND_BYTES)
            sketches.add(done, n, bands, profile if done == 0 else bytes(len(profile or b"")))
        done += n


def _attach_with(store: Any, seq: int, payload: dict[str, Any]) -> None:
    """Attach the ledger's sharded batches and this one's (still being committed)."""
    sharded = sharded_batches(store)
    sharded[seq] = ShardFile.listed(seq, payload)
    attach(store, sharded)
