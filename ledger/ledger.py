"""``Ledger``: the library's front door. Opens a ledger home and offers every operation
the CLI has, as typed Python calls.

    from provledger import Ledger
    with Ledger.open("./.provledger") as led:
        led.register("tickets.jsonl", dataset="support", source="first_party", ...)
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from provledger import interrupts
from provledger.atomic import StagedFile, write_atomically
from provledger.errors import HomeError, InputError, KeyFileError, NotFound, ShardError
from provledger.exports.formats import export
from provledger.ingest.limits import DEFAULT_LIMITS, ReadLimits
from provledger.ingest.register import BatchSpec, register
from provledger.lineage.manifest import check
from provledger.lineage.models import RegisteredModel, list_models, register_model
from provledger.registry import operations as registry
from provledger.registry.profile import current_profile, set_profile
from provledger.registry.views import ConsentView, DatasetView, LicenseView, ProfileState
from provledger.storage.catalog import describe_differences, fingerprint
from provledger.storage.entry_kinds import EntryKind
from provledger.storage.precheck import (
    Checked,
    LastFullVerify,
    ReadCheckSummary,
    check_catalog,
    check_note,
    expected_catalog,
)
from provledger.storage.projections import unsigned_digest
from provledger.storage.shards import attach, check_present, sharded_batches
from provledger.storage.store import DEFAULT_WAIT, Appender, Entry, Store
from provledger.tlog import keys
from provledger.tlog.checkpoint import (
    Checkpoint,
    note_key_hash,
    parse_note,
    verifier_key,
)
from provledger.tlog.entry_proofs import prove_consistency, prove_entry
from provledger.tlog.inclusion import prove
from provledger.tlog.merkle import leaf_hash, root_from_leaf_hashes
from provledger.tlog.tiles import publish
from provledger.verify import VerifyReport, verify_ledger

if TYPE_CHECKING:
    from provledger.audit import AuditReport
    from provledger.exports.formats import StandardExport
    from provledger.ingest.register import BatchSpec, Progress, RegisterResult
    from provledger.tlog.entry_proofs import ConsistencyProof, EntryProof
    from provledger.tlog.inclusion import InclusionProof
    from provledger.tlog.tiles import PublishResult

__all__ = ["DB_FILE", "HOME_ENV", "LAST_VERIFY_FILE", "NOTE_FILE", "Ledger", "resolve_home"]

HOME_ENV = "PROVLEDGER_HOME"
DB_FILE = "ledger.duckdb"
NOTE_FILE = "checkpoint.note"
LAST_VERIFY_FILE = "last-verify.json"


def _check_home_mode(path: Path) -> None:
    """Refuse a home that group or others may write: whoever can write it can swap the
    keys, the note and the database."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        raise HomeError(
            f"ledger home {path} has mode {mode:04o}: group or others may write it, and "
            f"whoever can write it can replace its keys and database (chmod 700 {path})",
            path,
        )


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The ledger home: the argument, else $PROVLEDGER_HOME, else ./.provledger."""
    if home is not None:
        return Path(home)
    return Path(os.environ.get(HOME_ENV) or ".provledger")


def describe_commit(entry: Entry) -> str:
    """What an entry that just committed means, in words, for a line such as
    "interrupted after batch b5 was committed (seq 5)"."""
    p = entry.payload
    if entry.kind == EntryKind.batch_registered:
        return f"batch {p['batch_id']} was committed (seq {entry.seq})"
    if entry.kind == EntryKind.erasure_requested:
        return f"erasure {p['request_ref']} was committed at seq {entry.seq}"
    if entry.kind == EntryKind.checkpoint:
        return f"checkpoint entry seq {entry.seq} was recorded"
    return f"entry seq {entry.seq} ({entry.kind}) was committed"


class Ledger:
    """An open ledger home. Use ``Ledger.init`` once, then ``Ledger.open``; close it (or
    use it as a context manager) to release the database lock."""

    def __init__(self, home: Path, store: Store, public: keys.PublicKey) -> None:
        self.home = home
        self.store = store
        self.public = public
        self._signer: keys.Signer | None = None
        self._subject_key: bytes | None = None
        self._recorded: dict[str, Any] = {}
        self.checked: Checked | None = None
        # How long a reopen waits for the lock (see ``released``): what ``open`` was given.
        self.wait = DEFAULT_WAIT

    # -- lifecycle -----------------------------------------------------------------------
    @classmethod
    def init(cls, home: str | os.PathLike[str] | None = None) -> Ledger:
        """Create a new ledger home: database, signing key pair, subject key, first entry.

        Refuses (HomeError) when ``home`` already holds a ledger; changes nothing then.
        """
        path = resolve_home(home)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise HomeError(
                f"{path} already exists and is not empty: refusing to initialise over it "
                "(nothing was changed)",
                path,
            )
        created_dir = not path.exists()
        if not created_dir:
            _check_home_mode(path)
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            public = keys.create_keys(path)
            store = Store.create(path / DB_FILE)
            ledger = cls(path, store, public)
            ledger._append(
                EntryKind.ledger_created,
                {
                    "origin": ledger.origin,
                    "public_key": public.raw.hex(),
                    "key_id": public.key_id,
                    "hash": "sha256",
                    "canonical_json": "RFC 8785",
                    "merkle": "RFC 9162",
                    "catalog": fingerprint(store.catalog()),
                    "subject_key_check": keys.subject_key_check(ledger.subject_key),
                },
            )
            ledger._open_checks(verifying=False)
            return ledger
        except BaseException:
            if created_dir:
                shutil.rmtree(path, ignore_errors=True)
            else:
                for child in path.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
            raise

    @classmethod
    def open(
        cls,
        home: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        wait: float = DEFAULT_WAIT,
        pin: keys.PublicKey | None = None,
        verifying: bool = False,
    ) -> Ledger:
        """Open an existing ledger home, after the pre-check (``provledger.storage.precheck``).

        Raises HomeError if there is none or group or others may write it, LedgerBusy if
        another writer holds it past ``wait`` seconds, KeyFileError when ``pin`` is given
        and the ledger's key is another, CatalogError when the database's catalog is not
        what the migrations create, and BehindCheckpoint if the database is behind or
        beside the signed checkpoint kept beside it, or lost it. With ``verifying`` a
        missing note or one that differs from the database is left for ``verify`` to report
        (with the first bad seq); a shorter database is still refused at once.
        """
        path = resolve_home(home)
        if not (path / DB_FILE).exists():
            raise HomeError(
                f"no ledger at {path}: run 'provledger init' (or pass --home / set {HOME_ENV})",
                path,
            )
        _check_home_mode(path)
        public = keys.load_public_key(path)
        if pin is not None and pin.raw != public.raw:
            raise KeyFileError(
                f"the ledger at {path} is signed with key {public.key_id}, not the pinned key "
                f"{pin.key_id}: its key files were replaced, or this is another ledger",
                path / keys.PUBLIC_KEY,
            )
        store = Store.open(path / DB_FILE, read_only=read_only, wait=wait, migrate=False)
        ledger = cls(path, store, public)
        ledger.wait = wait
        try:
            ledger._open_checks(verifying=verifying)
        except BaseException:
            store.close()
            raise
        return ledger

    def _open_checks(self, *, verifying: bool) -> None:
        """The pre-check; applies pending migrations (recording them) on a writable store."""
        catalog, self._recorded = check_catalog(self.store, self.public)
        if not self.store.read_only and self.store.pending_migrations():
            self._check_note(verifying=verifying)  # migrate only a whole ledger
            applied = self.store.migrate()
            catalog, _ = check_catalog(self.store, self.public)
            try:
                check: str | None = keys.subject_key_check(self.subject_key)
            except KeyFileError:  # a ledger without its subject key can still be upgraded
                check = None
            payload: dict[str, Any] = {
                "migrations": applied,
                "catalog": catalog,
                "subject_key_check": check,
                "unsigned_digest": unsigned_digest(self.store),
            }
            self._append(EntryKind.schema_migrated, payload)
            self._recorded = payload
        count, head = self._check_note(verifying=verifying)
        note = self._external_checkpoint()
        self.checked = Checked(count, head, catalog, note.size if note else None)
        # Batches whose hashes live in Parquet shards: read as rows of `records` (a stat per
        # file here; verify hashes them and names a bad one, so it opens with what is there).
        sharded = sharded_batches(self.store)
        if sharded:
            if not verifying:
                check_present(sharded)
                attach(self.store, sharded)
                return
            with contextlib.suppress(ShardError):  # verify names the file that fails
                attach(self.store, sharded, present_only=True)

    def _check_note(self, *, verifying: bool) -> tuple[int, str]:
        return check_note(
            self.store,
            self._external_checkpoint(),
            str(self.home / NOTE_FILE),
            allow_missing=verifying,
            allow_beside=verifying,
        )

    def close(self) -> None:
        self.store.close()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Close the database for the block, so other processes can read (or write) the
        ledger meanwhile, then reopen it for writing (waiting up to ``wait`` seconds) with
        the pre-check ``open`` makes.

        For long work that needs no database, such as hashing a large batch before
        committing it. After an error the ledger is reopened too; after an interruption
        (``provledger.interrupts.Interrupted``) it stays closed, so the process ends at
        once. Raises LedgerBusy when another writer holds it past ``wait``, and what
        ``open`` raises when the database changed underneath (CatalogError,
        BehindCheckpoint).
        """
        if self.store.read_only:
            raise RuntimeError("released() is for a ledger opened for writing")
        self.store.close()
        try:
            yield
        except Exception:
            self._reopen()
            raise
        self._reopen()

    def _reopen(self) -> None:
        self.store = Store.open(self.home / DB_FILE, wait=self.wait, migrate=False)
        try:
            self._open_checks(verifying=False)
        except BaseException:
            self.store.close()
            raise

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keys ----------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"provledger/{self.public.key_id}"

    @property
    def verifier_key(self) -> str:
        """The C2SP verifier key of the signing key (``verify --vkey`` pins it)."""
        return verifier_key(self.origin, self.public)

    @property
    def signer(self) -> keys.Signer:
        if self._signer is None:
            self._signer = keys.load_signer(self.home)
            if self._signer.public.raw != self.public.raw:
                raise HomeError(f"{self.home}: signing.key and signing.pub do not match", self.home)
        return self._signer

    @property
    def subject_key(self) -> bytes:
        """The subject HMAC key; KeyFileError when it is not the key the ledger recorded."""
        if self._subject_key is None:
            key = keys.load_subject_key(self.home)
            recorded = self._recorded.get("subject_key_check")
            if recorded is not None and keys.subject_key_check(key) != recorded:
                path = keys.subject_key_path(self.home)
                raise KeyFileError(
                    f"subject key {path} is not the key this ledger was created with (its "
                    "key check value differs): with it, subject look-ups and erasures would "
                    "match nothing. Restore the original subject key from its backup",
                    path,
                )
            self._subject_key = key
        return self._subject_key

    # -- the log -------------------------------------------------------------------------
    @contextmanager
    def appending(self) -> Iterator[Appender]:
        """One signed append: write projection rows with ``app.seq``, then exactly one
        ``app.write_entry(kind, payload)``. Commits when the block ends (rolls back on an
        exception), then rewrites the signed checkpoint kept beside the database."""
        # From the end of the block to the rewritten note nothing is cut short by SIGINT or
        # SIGTERM: the signal is raised once all of it is done (provledger.interrupts).
        held = False
        try:
            with self.store.appending(self.signer) as app:
                yield app
                held = True
                interrupts.hold()
            assert app.entry is not None
            interrupts.committed(describe_commit(app.entry))
            self._after_append()
        finally:
            if held:
                interrupts.release()

    def _append(self, kind: str, payload: dict[str, Any]) -> Entry:
        """Append one entry with no projection rows."""
        with self.appending() as app:
            return app.write_entry(kind, payload)

    def _after_append(self) -> None:
        """Keep the latest signed checkpoint outside the database file."""
        write_atomically(
            self.home / NOTE_FILE, self.current_checkpoint().sign(self.signer).encode("utf-8")
        )

    def current_checkpoint(self, size: int | None = None) -> Checkpoint:
        hashes = self.store.entry_hashes(size)
        return Checkpoint(
            self.origin, len(hashes), root_from_leaf_hashes(leaf_hash(h) for h in hashes)
        )

    def stored_note(self) -> tuple[str, str]:
        """The latest signed note kept beside the database (it covers every entry) and its
        path. Raises NotFound when there is none."""
        path = self.home / NOTE_FILE
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise NotFound(f"no stored checkpoint note at {path}: pass --checkpoint FILE") from None

    def _external_checkpoint(self) -> Checkpoint | None:
        path = self.home / NOTE_FILE
        if not path.exists():
            return None
        return parse_note(path.read_text(encoding="utf-8"), self.public, source=str(path))

    def entries(self, *, after: int = 0) -> list[Entry]:
        """Every entry in seq order."""
        return list(self.store.entries(after=after))

    def checkpoint(self, output: str | os.PathLike[str] | None = None) -> str:
        """Record a checkpoint entry for the log as it stands and return its signed note,
        to hand to someone outside who can later check the ledger only grew.

        With ``output`` the note is also written there, atomically: it is written and
        flushed beside ``output`` before anything is recorded, so a file that cannot be
        written (no such folder, no permission, a full disk) raises InputError naming it
        and records nothing; the entry and the renamed file then go together.
        """
        current = self.current_checkpoint()
        note = current.sign(self.signer)
        staged = None
        if output is not None:
            try:
                staged = StagedFile(output, note.encode("utf-8"))
            except OSError as exc:
                raise InputError(
                    f"cannot write it: {exc.strerror}; no checkpoint was recorded", file=str(output)
                ) from None
        try:
            with interrupts.deferred():
                self._append(
                    EntryKind.checkpoint, {"size": current.size, "root": current.root.hex()}
                )
                if staged is not None:
                    staged.commit()
        finally:
            if staged is not None:
                staged.discard()
        return note

    def register(
        self,
        data: str | os.PathLike[str] | Any,
        /,
        spec: BatchSpec | None = None,
        *,
        progress: Progress | None = None,
        limits: ReadLimits | None = None,
        engine: str = "local",
        shards: str | os.PathLike[str] | None = None,
        shard_rows: int | None = None,
        **fields: Any,
    ) -> RegisterResult:
        """Register one batch from a file path (or a folder of Parquet shards), a pyarrow
        Table or RecordBatchReader, a pandas DataFrame, a Hugging Face ``datasets.Dataset``,
        an iterable of dicts (streamed), a ``ray.data.Dataset`` (hashed on Ray) or a PySpark
        DataFrame (hashed by Spark); ``engine="ray"`` hashes a Parquet file on Ray;
        ``shards=DIR`` keeps the records' hashes in Parquet hash shards of ``shard_rows``
        records there instead of in the ledger file (docs/scale.md).

        Give the batch's details as a ``BatchSpec`` or as keywords (``dataset=``,
        ``source=``, ``license=``, ``consent=``, ``subject_field=`` ...); ``limits`` raise
        or lower the line and input size limits (``provledger.ingest.limits``). See
        ``provledger.ingest.register.register`` for the rules and errors.
        """
        return register(
            self,
            data,
            spec or BatchSpec(**fields),
            progress,
            limits or DEFAULT_LIMITS,
            engine,
            shards,
            shard_rows,
        )

    def prove(self, batch_id: str, record_hash: str, index: int | None = None) -> InclusionProof:
        """RFC 9162 inclusion proof of a record (hex hash) in a batch, at leaf ``index``
        (default: its first occurrence)."""
        return prove(self.store, batch_id, record_hash, index)

    def prove_entry(
        self, seq: int, checkpoint_note: str | None = None, *, source: str = "checkpoint"
    ) -> EntryProof:
        """RFC 9162 inclusion proof of entry ``seq`` in the log at a note's size (default:
        the latest stored note). See ``provledger.tlog.entry_proofs``."""
        return prove_entry(self, seq, checkpoint_note, source=source)

    def prove_consistency(
        self, old_note: str, new_note: str, *, old_source: str, new_source: str
    ) -> ConsistencyProof:
        """RFC 9162 consistency proof between two notes of this log, both checked."""
        return prove_consistency(
            self, old_note, new_note, old_source=old_source, new_source=new_source
        )

    def key_info(self) -> keys.KeyInfo:
        """The public verification material: PEM and raw public key, key ids, and the
        C2SP signed-note verifier key. Never anything private."""
        return keys.KeyInfo(
            origin=self.origin,
            key_id=self.public.key_id,
            public_key_pem=self.public.pem,
            public_key_hex=self.public.raw.hex(),
            public_key_base64=base64.b64encode(self.public.raw).decode(),
            note_key_name=self.origin,
            note_key_id=note_key_hash(self.origin, self.public).hex(),
            verifier_key=verifier_key(self.origin, self.public),
        )

    def publish(self, directory: str | os.PathLike[str]) -> PublishResult:
        """Write (or extend) the log as C2SP tlog-tiles in ``directory``. See
        ``provledger.tlog.tiles``."""
        return publish(self, Path(directory))

    # -- registries: licenses, consent policy versions, datasets (see
    # provledger.registry.operations)
    def add_license(self, manifest: dict[str, Any] | str | os.PathLike[str]) -> LicenseView:
        """Record a license version from a manifest dict or JSON file. Raises InputError
        or Conflict (id@version already recorded); nothing is written then."""
        return registry.add_license(self, manifest)

    def add_consent(self, manifest: dict[str, Any] | str | os.PathLike[str]) -> ConsentView:
        """Record a consent policy version (1 first, then 2, ...) from a manifest dict or
        JSON file. Raises InputError, or Conflict for a duplicate or a gap."""
        return registry.add_consent(self, manifest)

    def create_dataset(
        self, name: str, *, owner: str, context: str, uses: list[str]
    ) -> DatasetView:
        """Create a dataset. Raises InputError, or Conflict when the name exists."""
        return registry.create_dataset(self, name, owner=owner, context=context, uses=uses)

    def set_context(self, name: str, *, context: str, uses: list[str] | None = None) -> DatasetView:
        """Record a dataset's new context (and uses; None keeps them). Raises NotFound,
        InputError, or Conflict when nothing would change."""
        return registry.set_context(self, name, context=context, uses=uses)

    def licenses(self) -> list[LicenseView]:
        """Every license version, by id then version."""
        return registry.list_licenses(self.store)

    def consent_versions(self) -> list[ConsentView]:
        """Every consent policy version, by policy then version."""
        return registry.list_consent(self.store)

    def datasets(self) -> list[DatasetView]:
        """Every dataset's current state and history summary, by name."""
        return registry.list_datasets(self.store)

    def audit(
        self, dataset: str, as_of: str | None = None, *, near_threshold: float | None = None
    ) -> AuditReport:
        """Audit a dataset as the ledger stands (or stood at ``as_of``, ISO-8601). Raises
        NotFound for an unknown dataset or one with no batches; see ``provledger.audit``.
        ``near_threshold``: estimated Jaccard for near copies (default 0.8)."""
        # Deferred for start-up time: loads pydantic
        from provledger.audit import ReadCheck, audit

        if near_threshold is None:
            report = audit(self.store, dataset, as_of)
        else:
            report = audit(self.store, dataset, as_of, near_threshold=near_threshold)
        report.checked = ReadCheck.model_validate(self.read_check().as_dict())
        return report

    # -- organisation profile and disclosures (see provledger.registry.profile,
    # provledger.exports.disclose)
    if TYPE_CHECKING:
        from provledger.exports.disclose import DisclosureDiff
        from provledger.exports.disclosure import Disclosure
        from provledger.storage.store import Entry as _Entry

    def set_profile(self, manifest: dict[str, Any] | str | os.PathLike[str]) -> ProfileState:
        """Record the organisation profile (provider, contact, intended purpose, ...) from a
        manifest dict or JSON file. Raises InputError, or Conflict when nothing changed."""
        return set_profile(self, manifest)

    def profile(self) -> ProfileState | None:
        """The current organisation profile with the seq and time that set it, or None."""
        return current_profile(self.store)

    def disclose(
        self,
        subject: str,
        template: str,
        *,
        publish: bool = True,
        as_of_seq: int | None = None,
    ) -> tuple[Disclosure, _Entry | None]:
        """The disclosure of a model (or, for 'ca-ab2013', a dataset) on a template, and the
        signed disclosure-published entry when ``publish``. ``as_of_seq`` regenerates it as
        the ledger stood then (never published). See ``provledger.exports.disclose``."""
        # Deferred for start-up time: loads pydantic
        from provledger.exports import disclose

        if as_of_seq is not None:
            return disclose.generate(self.store, subject, template, cut=as_of_seq), None
        return disclose.disclose(self, subject, template, publish=publish)

    def disclosure_diff(self, subject: str, template: str, since: str) -> DisclosureDiff:
        """What changed since the last disclosure of ``template`` published at or before
        ``since`` (a seq or an ISO-8601 date or time). See
        ``provledger.exports.disclose.diff_since``."""
        # Deferred for start-up time: loads pydantic
        from provledger.exports.disclose import diff_since

        return diff_since(self.store, subject, template, since)

    # -- lineage and erasure (rules and errors in provledger.lineage)
    if TYPE_CHECKING:
        from provledger.lineage.manifest import CheckResult, ExportResult
        from provledger.lineage.receipts import ReceiptCheck
        from provledger.lineage.results import Erasure, Lineage

    def lineage(
        self,
        *,
        subject: str | None = None,
        record: str | None = None,
        text: str | None = None,
        near: bool = False,
    ) -> Lineage:
        """Records, batches (direct and derived), datasets and models reached by one subject
        id, record hash (hex) or text (with ``near``, its near copies too). The subject id
        is keyed before the lookup."""
        # Deferred for start-up time: loads pydantic
        from provledger.lineage.lineage import lineage

        return lineage(self, subject=subject, record=record, text=text, near=near)

    def register_model(self, name: str, datasets: list[str]) -> RegisteredModel:
        """Record a model trained on ``datasets`` as the ledger stands now."""
        return register_model(self, name, datasets)

    def models(self) -> list[RegisteredModel]:
        """Every registered model, oldest first."""
        return list_models(self.store)

    def erase(self, subject: str, request_ref: str, *, include_same_text: bool = False) -> Erasure:
        """Record an erasure request for a data subject: every copy of its records, and
        with ``include_same_text`` the records with the same text elsewhere (a repeated
        ref changes nothing)."""
        # Deferred for start-up time: loads pydantic
        from provledger.lineage.lineage import erase

        return erase(self, subject, request_ref, include_same_text=include_same_text)

    def receipt(self, request_ref: str) -> dict[str, Any]:
        """The signed receipt of a recorded erasure request."""
        # Deferred for start-up time: loads pydantic
        from provledger.lineage.receipts import receipt

        return receipt(self, request_ref)

    def verify_receipt(
        self, document: str | bytes | dict[str, Any], *, source: str = "receipt"
    ) -> ReceiptCheck:
        """Check a receipt's signature and that it matches its erasure entry."""
        # Deferred for start-up time: loads pydantic
        from provledger.lineage.receipts import verify_receipt

        return verify_receipt(self, document, source=source)

    def export(
        self,
        dataset: str,
        output: str | os.PathLike[str],
        *,
        format: str = "parquet",
        emit: str | None = None,
    ) -> ExportResult | StandardExport:
        """Export the dataset, erased records left out: by default its active record
        manifest as Parquet; or Croissant, OpenLineage, PROV (see
        ``provledger.exports.formats``)."""
        return export(self, dataset, output, format, emit=emit)

    def check(
        self,
        path: str | os.PathLike[str],
        dataset: str,
        *,
        text_field: str | None = None,
        limits: ReadLimits | None = None,
    ) -> CheckResult:
        """Report the records of a data file that an erasure covers."""
        return check(self, path, dataset, text_field=text_field, limits=limits or DEFAULT_LIMITS)

    def verify(
        self,
        checkpoint_note: str | None = None,
        *,
        source: str = "checkpoint",
        restore_note: bool = False,
    ) -> VerifyReport:
        """Recompute every hash, link, signature, Merkle root and projection row; with a
        note, also prove the ledger is a consistent extension of it. Problems are in the
        report; a malformed or foreign note raises InputError.

        A ledger of more than one entry without its note in the home fails, unless
        ``restore_note`` (on a writable ledger): then, once everything else verified, a
        ``note-restored`` entry records the restore and a new note is written. A pass is
        recorded in ``last-verify.json`` in the home (time, seq, log root).
        """
        checkpoints: list[tuple[str, Checkpoint]] = []
        external = self._external_checkpoint()
        if external is not None:
            checkpoints.append((str(self.home / NOTE_FILE), external))
        if checkpoint_note is not None:
            checkpoints.append((source, parse_note(checkpoint_note, self.public, source=source)))
        report = verify_ledger(self.store, self.public, checkpoints)
        if report.ok:
            # The open compared the catalog with its signed fingerprint; a full verify holds
            # it to what the migrations create, whoever signed that fingerprint.
            found = self.store.catalog()
            expected = expected_catalog(tuple(self.store.applied_migrations()))
            if found != expected:
                report.ok = False
                report.problem = (
                    "the catalog is not what the ledger's migrations create: "
                    + describe_differences(found, expected)
                )
        if report.ok and external is None and report.entries > 1:
            if restore_note and not self.store.read_only:
                entry = self._append(
                    EntryKind.note_restored, {"size": report.entries, "root": report.root}
                )
                report.restored_note_at = entry.seq
            else:
                report.ok = False
                report.problem = (
                    f"the signed checkpoint note {self.home / NOTE_FILE} is missing, so a "
                    "shortened ledger cannot be told from a whole one; verify against a note "
                    "kept elsewhere (--checkpoint FILE), and to restore the note on purpose "
                    "run 'provledger verify --restore-note'"
                )
        if report.ok:
            self._record_verify(report)
        return report

    def _record_verify(self, report: VerifyReport) -> None:
        record = {"at": _now(), "seq": report.entries, "root": report.root}
        # A home this user cannot write still verifies; the record is a convenience.
        with contextlib.suppress(OSError):
            write_atomically(self.home / LAST_VERIFY_FILE, orjson.dumps(record) + b"\n")

    def last_verify(self) -> LastFullVerify | None:
        """The last full verify that passed, as recorded in the home (or None), with
        ``covers_head``: whether it covered every entry the log holds now."""
        try:
            record = orjson.loads((self.home / LAST_VERIFY_FILE).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            return None
        seq = record["seq"]
        current = self.current_checkpoint(seq) if seq > 0 else None
        matches = current is not None and current.root.hex() == record.get("root")
        head = self.checked.checked_through_seq if self.checked else None
        at = record.get("at")
        return LastFullVerify(
            at=at if isinstance(at, str) else None,
            seq=seq,
            matches_log=matches,
            covers_head=matches and seq == head,
        )

    def read_check(self) -> ReadCheckSummary:
        """What the pre-check at open established, and the last full verify, for a read
        command's ``--json`` (``checked``)."""
        assert self.checked is not None
        return ReadCheckSummary(
            checked_through_seq=self.checked.checked_through_seq,
            head_hash=self.checked.head_hash,
            catalog=self.checked.catalog,
            note_size=self.checked.note_size,
            last_full_verify=self.last_verify(),
        )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
