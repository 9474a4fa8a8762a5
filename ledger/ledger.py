"""``Ledger``: the library's front door. Opens a ledger home and offers every operation
the CLI has, as typed Python calls.

    from ledger import Ledger
    with Ledger.open("./.provledger") as led:
        led.register("tickets.jsonl", dataset="support", source="first_party", ...)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger import keys
from ledger.checkpoint import Checkpoint, parse_note, write_atomic
from ledger.errors import BehindCheckpoint, HomeError
from ledger.merkle import leaf_hash, root_from_leaf_hashes
from ledger.store import DEFAULT_WAIT, Appender, Entry, Store
from ledger.verify import VerifyReport, verify_ledger

if TYPE_CHECKING:
    from ledger.audit import AuditReport
    from ledger.inclusion import InclusionProof
    from ledger.ingest import BatchSpec, Progress, RegisterResult

__all__ = ["DB_FILE", "HOME_ENV", "NOTE_FILE", "Ledger", "resolve_home"]

HOME_ENV = "PROVLEDGER_HOME"
DB_FILE = "ledger.duckdb"
NOTE_FILE = "checkpoint.note"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The ledger home: the argument, else $PROVLEDGER_HOME, else ./.provledger."""
    if home is not None:
        return Path(home)
    return Path(os.environ.get(HOME_ENV) or ".provledger")


class Ledger:
    """An open ledger home. Use ``Ledger.init`` once, then ``Ledger.open``; close it (or
    use it as a context manager) to release the database lock."""

    def __init__(self, home: Path, store: Store, public: keys.PublicKey) -> None:
        self.home = home
        self.store = store
        self.public = public
        self._signer: keys.Signer | None = None
        self._subject_key: bytes | None = None

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
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            public = keys.create_keys(path)
            store = Store.create(path / DB_FILE)
            ledger = cls(path, store, public)
            ledger._append(
                "ledger-created",
                {
                    "origin": ledger.origin,
                    "public_key": public.raw.hex(),
                    "key_id": public.key_id,
                    "hash": "sha256",
                    "canonical_json": "RFC 8785",
                    "merkle": "RFC 9162",
                },
            )
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
    ) -> Ledger:
        """Open an existing ledger home.

        Raises HomeError if there is none, LedgerBusy if another writer holds it past
        ``wait`` seconds, and BehindCheckpoint if the database holds fewer entries than the
        signed checkpoint kept beside it (acknowledged commits were lost).
        """
        path = resolve_home(home)
        if not (path / DB_FILE).exists():
            raise HomeError(
                f"no ledger at {path}: run 'provledger init' (or pass --home / set {HOME_ENV})",
                path,
            )
        public = keys.load_public_key(path)
        store = Store.open(path / DB_FILE, read_only=read_only, wait=wait)
        ledger = cls(path, store, public)
        try:
            ledger._check_not_behind()
        except BaseException:
            store.close()
            raise
        return ledger

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keys ----------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"provledger/{self.public.key_id}"

    @property
    def signer(self) -> keys.Signer:
        if self._signer is None:
            self._signer = keys.load_signer(self.home)
            if self._signer.public.raw != self.public.raw:
                raise HomeError(f"{self.home}: signing.key and signing.pub do not match", self.home)
        return self._signer

    @property
    def subject_key(self) -> bytes:
        if self._subject_key is None:
            self._subject_key = keys.load_subject_key(self.home)
        return self._subject_key

    # -- the log -------------------------------------------------------------------------
    @contextmanager
    def appending(self) -> Iterator[Appender]:
        """One signed append: write projection rows with ``app.seq``, then exactly one
        ``app.write_entry(kind, payload)``. Commits when the block ends (rolls back on an
        exception), then rewrites the signed checkpoint kept beside the database."""
        with self.store.appending(self.signer) as app:
            yield app
        self._after_append()

    def _append(self, kind: str, payload: dict[str, Any]) -> Entry:
        """Append one entry with no projection rows."""
        with self.appending() as app:
            return app.write_entry(kind, payload)

    def _after_append(self) -> None:
        """Keep the latest signed checkpoint outside the database file."""
        write_atomic(self.home / NOTE_FILE, self.current_checkpoint().sign(self.signer))

    def current_checkpoint(self, size: int | None = None) -> Checkpoint:
        hashes = self.store.entry_hashes(size)
        return Checkpoint(
            self.origin, len(hashes), root_from_leaf_hashes(leaf_hash(h) for h in hashes)
        )

    def _external_checkpoint(self) -> Checkpoint | None:
        path = self.home / NOTE_FILE
        if not path.exists():
            return None
        return parse_note(path.read_text(encoding="utf-8"), self.public, source=str(path))

    def _check_not_behind(self) -> None:
        note = self._external_checkpoint()
        if note is None:
            return
        count = self.store.entry_count()
        if count < note.size:
            raise BehindCheckpoint(
                f"ledger database holds {count} entries but the signed checkpoint "
                f"{self.home / NOTE_FILE} records {note.size}: acknowledged commits were lost "
                "(for example a torn write-ahead log). Refusing to continue on the shorter "
                "ledger; restore the database from a backup and run 'provledger verify'",
                count + 1,
            )

    def entries(self, *, after: int = 0) -> list[Entry]:
        """Every entry in seq order."""
        return list(self.store.entries(after=after))

    def checkpoint(self) -> str:
        """Record a checkpoint entry for the log as it stands and return its signed note,
        to hand to someone outside who can later check the ledger only grew."""
        current = self.current_checkpoint()
        self._append("checkpoint", {"size": current.size, "root": current.root.hex()})
        return current.sign(self.signer)

    def register(
        self,
        data: str | os.PathLike[str] | Any,
        /,
        spec: BatchSpec | None = None,
        *,
        progress: Progress | None = None,
        **fields: Any,
    ) -> RegisterResult:
        """Register one batch from a file path or a pyarrow Table.

        Give the batch's details as a ``BatchSpec`` or as keywords (``dataset=``,
        ``source=``, ``license=``, ``consent=``, ``subject_field=`` ...). See
        ``ledger.ingest.register`` for the rules and errors.
        """
        from ledger.ingest import BatchSpec, register

        return register(self, data, spec or BatchSpec(**fields), progress)

    def prove(self, batch_id: str, record_hash: str) -> InclusionProof:
        """RFC 9162 inclusion proof of a record (hex hash) in a batch."""
        from ledger.inclusion import prove

        return prove(self.store, batch_id, record_hash)

    # -- registries: licenses, consent policy versions, datasets (see ledger.registry) ---
    def add_license(self, manifest: dict[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
        """Record a license version from a manifest dict or JSON file. Raises InputError
        or Conflict (id@version already recorded); nothing is written then."""
        from ledger import registry

        return registry.add_license(self, manifest)

    def add_consent(self, manifest: dict[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
        """Record a consent policy version (1 first, then 2, ...) from a manifest dict or
        JSON file. Raises InputError, or Conflict for a duplicate or a gap."""
        from ledger import registry

        return registry.add_consent(self, manifest)

    def create_dataset(
        self, name: str, *, owner: str, context: str, uses: list[str]
    ) -> dict[str, Any]:
        """Create a dataset. Raises InputError, or Conflict when the name exists."""
        from ledger import registry

        return registry.create_dataset(self, name, owner=owner, context=context, uses=uses)

    def set_context(
        self, name: str, *, context: str, uses: list[str] | None = None
    ) -> dict[str, Any]:
        """Record a dataset's new context (and uses; None keeps them). Raises NotFound,
        InputError, or Conflict when nothing would change."""
        from ledger import registry

        return registry.set_context(self, name, context=context, uses=uses)

    def licenses(self) -> list[dict[str, Any]]:
        """Every license version, by id then version."""
        from ledger import registry

        return registry.list_licenses(self.store)

    def consent_versions(self) -> list[dict[str, Any]]:
        """Every consent policy version, by policy then version."""
        from ledger import registry

        return registry.list_consent(self.store)

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset's current state and history summary, by name."""
        from ledger import registry

        return registry.list_datasets(self.store)

    def audit(
        self, dataset: str, as_of: str | None = None, *, near_threshold: float | None = None
    ) -> AuditReport:
        """Audit a dataset as the ledger stands (or stood at ``as_of``, ISO-8601). Raises
        NotFound for an unknown dataset or one with no batches; see ``ledger.audit``.
        ``near_threshold``: estimated Jaccard for near copies (default 0.8)."""
        from ledger.audit import audit

        if near_threshold is None:
            return audit(self.store, dataset, as_of)
        return audit(self.store, dataset, as_of, near_threshold=near_threshold)

    # -- lineage and erasure (rules and errors in ledger.lineage) ----------------------------
    if TYPE_CHECKING:
        from ledger.lineage import CheckResult, Erasure, ExportResult, Lineage, ReceiptCheck

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
        from ledger.lineage import lineage

        return lineage(self, subject=subject, record=record, text=text, near=near)

    def register_model(self, name: str, datasets: list[str]) -> dict[str, Any]:
        """Record a model trained on ``datasets`` as the ledger stands now."""
        from ledger.lineage import register_model

        return register_model(self, name, datasets)

    def models(self) -> list[dict[str, Any]]:
        """Every registered model, oldest first."""
        from ledger.lineage import list_models

        return list_models(self.store)

    def erase(self, subject: str, request_ref: str) -> Erasure:
        """Record an erasure request for a data subject (a repeated ref changes nothing)."""
        from ledger.lineage import erase

        return erase(self, subject, request_ref)

    def receipt(self, request_ref: str) -> dict[str, Any]:
        """The signed receipt of a recorded erasure request."""
        from ledger.lineage import receipt

        return receipt(self, request_ref)

    def verify_receipt(
        self, document: str | bytes | dict[str, Any], *, source: str = "receipt"
    ) -> ReceiptCheck:
        """Check a receipt's signature and that it matches its erasure entry."""
        from ledger.lineage import verify_receipt

        return verify_receipt(self, document, source=source)

    def export(self, dataset: str, output: str | os.PathLike[str]) -> ExportResult:
        """Write the dataset's active record manifest (erased records left out) as Parquet."""
        from ledger.lineage import export

        return export(self, dataset, output)

    def check(
        self, path: str | os.PathLike[str], dataset: str, *, text_field: str | None = None
    ) -> CheckResult:
        """Report the records of a data file that the dataset's erasures cover."""
        from ledger.lineage import check

        return check(self, path, dataset, text_field=text_field)

    def verify(
        self, checkpoint_note: str | None = None, *, source: str = "checkpoint"
    ) -> VerifyReport:
        """Recompute every hash, link, signature, Merkle root and projection row; with a
        note, also prove the ledger is a consistent extension of it. Problems are in the
        report; a malformed or foreign note raises InputError."""
        checkpoints: list[tuple[str, Checkpoint]] = []
        external = self._external_checkpoint()
        if external is not None:
            checkpoints.append((str(self.home / NOTE_FILE), external))
        if checkpoint_note is not None:
            checkpoints.append((source, parse_note(checkpoint_note, self.public, source=source)))
        return verify_ledger(self.store, self.public, checkpoints)
