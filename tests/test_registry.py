"""Licenses, consent policy versions and datasets: the library calls, the commands, and
every refusal (exact message, exit code 1, ledger unchanged)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from provledger import vocabulary
from provledger.errors import Conflict, InputError, LedgerError, NotFound
from provledger.ledger import Ledger
from provledger.registry import operations as registry
from provledger.vocabulary import Use
from tests import rows

USES_TEXT = "train, evaluate, synthetic_seed, external_release, redistribute, commercial"

LICENSE: dict[str, Any] = {
    "id": "support-corpus",
    "version": 1,
    "title": "Support conversations",
    "licensor": "Acme Data Ltd",
    "grants": ["train", "evaluate"],
    "effective_from": "2025-01-01",
    "expires_on": "2026-12-31",
    "spdx": None,
    "document_sha256": None,
}
CONSENT_V1: dict[str, Any] = {
    "policy": "support-tos",
    "version": 1,
    "effective_from": "2024-01-01",
    "permits": ["train", "evaluate", "commercial"],
    "retention_days": 730,
    "prior_versions": {},
}
CONSENT_V2: dict[str, Any] = {
    "policy": "support-tos",
    "version": 2,
    "effective_from": "2025-06-01",
    "permits": ["train", "evaluate"],
    "retention_days": 365,
    "prior_versions": {"1": "reconsent_required"},
}


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def snapshot(home: Path) -> tuple[int, ...]:
    """Entries and registry rows, to show a refusal changed nothing."""
    return rows.counts(home, "entries", "licenses", "consent_versions", "dataset_states")


@pytest.fixture
def initialised(initialised_home: Path) -> Path:
    return initialised_home


def refuse(cli: Callable[..., Any], home: Path, args: list[str], message: str) -> None:
    """Run a command that must be refused: exit 1, exactly ``message``, nothing written."""
    before = snapshot(home)
    result = cli(*args)
    assert result.exit_code == 1, result.stdout
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert snapshot(home) == before


# -- vocabularies ----------------------------------------------------------------------------
def test_vocabularies() -> None:
    assert vocabulary.USES == (
        "train",
        "evaluate",
        "synthetic_seed",
        "external_release",
        "redistribute",
        "commercial",
    )
    assert vocabulary.SOURCES == ("scraped", "licensed", "first_party", "synthetic")
    assert vocabulary.SPLITS == ("train", "validation", "test", "reference", "benchmark")
    assert vocabulary.CONTEXTS == ("internal", "customer_facing", "regulated")
    assert vocabulary.FATES == ("grandfathered", "reconsent_required", "revoked")


def test_cli_help_lists_the_vocabularies() -> None:
    from provledger.cli import registry as cli_registry

    assert cli_registry._USE_HELP.split(" | ") == list(vocabulary.USES)
    assert cli_registry._CONTEXT_HELP.split(" | ") == list(vocabulary.CONTEXTS)


def test_start_up_does_not_load_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from provledger.cli.main import app\n"
        "for args in (['--help'], ['license', '--help'], ['dataset', 'create', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('sqlmodel', 'duckdb', 'pyarrow') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# -- licenses --------------------------------------------------------------------------------
def test_add_license_writes_entry_and_row(ledger: Ledger) -> None:
    added = ledger.add_license(LICENSE)
    assert added.as_dict() == {
        "license": "support-corpus@1",
        **LICENSE,
        "seq": 2,
        "recorded_at": added.recorded_at,
    }
    entry = ledger.entries()[-1]
    assert (entry.seq, entry.kind, entry.payload) == (2, "license-added", LICENSE)
    assert ledger.licenses() == [added]
    lic = ledger.licenses()[0]
    assert (lic.license, lic.grants, lic.effective_from, lic.expires_on) == (
        "support-corpus@1",
        [Use.train, Use.evaluate],
        date(2025, 1, 1),
        date(2026, 12, 31),
    )


def test_license_optional_fields_default_to_null(ledger: Ledger) -> None:
    minimal = {
        k: v for k, v in LICENSE.items() if k not in ("expires_on", "spdx", "document_sha256")
    }
    assert ledger.add_license(minimal).expires_on is None


def test_spdx_is_normalised_and_license_ref_accepted(ledger: Ledger) -> None:
    added = ledger.add_license(
        {**LICENSE, "spdx": "cc-by-4.0 or mit", "document_sha256": "ab" * 32}
    )
    assert added.spdx == "CC-BY-4.0 OR MIT"
    assert ledger.entries()[-1].payload["spdx"] == "CC-BY-4.0 OR MIT"
    custom = ledger.add_license({**LICENSE, "version": 2, "spdx": "LicenseRef-acme-support-1"})
    assert custom.spdx == "LicenseRef-acme-support-1"


def test_license_later_versions_need_not_be_in_order(ledger: Ledger) -> None:
    ledger.add_license({**LICENSE, "version": 3})
    ledger.add_license(LICENSE)
    assert [r.license for r in ledger.licenses()] == ["support-corpus@1", "support-corpus@3"]


def test_license_add_and_list_cli(
    cli: Callable[..., Any], initialised: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: no cell is wrapped
    path = write(tmp_path, "license.json", LICENSE)
    result = cli("license", "add", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Added license support-corpus@1 (seq 2)\n"

    result = cli(
        "license", "add", str(write(tmp_path, "v2.json", {**LICENSE, "version": 2})), "--json"
    )
    assert result.exit_code == 0, result.stderr
    added = json.loads(result.stdout)
    assert (added["license"], added["seq"]) == ("support-corpus@2", 3)

    listed = json.loads(cli("license", "list", "--json").stdout)
    assert [r["license"] for r in listed] == ["support-corpus@1", "support-corpus@2"]
    assert listed[1] == added

    table = cli("license", "list").stdout
    assert "support-corpus@1" in table and "Acme Data Ltd" in table and "2026-12-31" in table


def test_empty_lists(cli: Callable[..., Any], initialised: Path) -> None:
    assert cli("license", "list").stdout == (
        "No licenses yet: add one with 'provledger license add FILE.json'\n"
    )
    assert cli("consent", "list", "--json").stdout == "[]\n"
    assert cli("dataset", "list").stdout.startswith("No datasets yet")


LICENSE_REFUSALS = [
    pytest.param(
        {**LICENSE, "owner": "x"},
        "field 'owner': unknown field (expected one of id, version, title, licensor, grants, "
        "effective_from, expires_on, spdx, document_sha256)",
        id="unknown-field",
    ),
    pytest.param(
        {**LICENSE, "version": "1"},
        "field 'version': expected an integer, got string '1'",
        id="version-string",
    ),
    pytest.param(
        {**LICENSE, "version": 1.0},
        "field 'version': expected an integer, got number 1.0",
        id="version-float",
    ),
    pytest.param(
        {**LICENSE, "version": True},
        "field 'version': expected an integer, got boolean true",
        id="version-bool",
    ),
    pytest.param(
        {**LICENSE, "version": 0},
        "field 'version': must be 1 or more, got integer 0",
        id="version-0",
    ),
    pytest.param(
        {k: v for k, v in LICENSE.items() if k != "licensor"},
        "field 'licensor': required field is missing",
        id="missing-field",
    ),
    pytest.param(
        {**LICENSE, "grants": ["train", "resell"]},
        f"field 'grants[1]': unknown use 'resell' (expected one of {USES_TEXT})",
        id="unknown-use",
    ),
    pytest.param(
        {**LICENSE, "grants": []}, "field 'grants': must list at least one use", id="no-grants"
    ),
    pytest.param(
        {**LICENSE, "grants": ["train", "train"]},
        "field 'grants': lists 'train' twice",
        id="duplicate-use",
    ),
    pytest.param(
        {**LICENSE, "grants": "train"},
        "field 'grants': expected a list, got string 'train'",
        id="grants-string",
    ),
    pytest.param(
        {**LICENSE, "spdx": "Foo-1.0"},
        "field 'spdx': unknown SPDX license 'Foo-1.0' in 'Foo-1.0' "
        "(see https://spdx.org/licenses/; use LicenseRef-NAME for a custom license)",
        id="unknown-spdx",
    ),
    pytest.param(
        {**LICENSE, "spdx": "MIT AND"},
        "field 'spdx': invalid SPDX expression 'MIT AND': AND requires two or more licenses as "
        "in: MIT AND BSD",
        id="invalid-spdx",
    ),
    pytest.param(
        {**LICENSE, "spdx": " "},
        "field 'spdx': empty SPDX expression (use null when there is none)",
        id="empty-spdx",
    ),
    pytest.param(
        {**LICENSE, "document_sha256": "AB" * 32},
        f"field 'document_sha256': expected 64 lowercase hex characters (a SHA-256 digest), got "
        f"string '{'AB' * 32}'",
        id="uppercase-hash",
    ),
    pytest.param(
        {**LICENSE, "document_sha256": "abc"},
        "field 'document_sha256': expected 64 lowercase hex characters (a SHA-256 digest), got "
        "string 'abc'",
        id="short-hash",
    ),
    pytest.param(
        {**LICENSE, "expires_on": "2024-12-31"},
        "field 'expires_on': 2024-12-31 precedes effective_from 2025-01-01",
        id="expiry-before-effective",
    ),
    pytest.param(
        {**LICENSE, "effective_from": "2025-02-30"},
        "field 'effective_from': '2025-02-30' is not a valid date: day is out of range for month",
        id="impossible-date",
    ),
    pytest.param(
        {**LICENSE, "effective_from": "2025-01-01T00:00:00"},
        "field 'effective_from': expected a date as 'YYYY-MM-DD', got string '2025-01-01T00:00:00'",
        id="datetime-not-date",
    ),
    pytest.param(
        {**LICENSE, "id": "support corpus"},
        "field 'id': expected only letters, digits, '.', '_' and '-', got string 'support corpus'",
        id="id-with-space",
    ),
    pytest.param({**LICENSE, "title": ""}, "field 'title': must not be empty", id="empty-title"),
    pytest.param(
        {**LICENSE, "version": "1", "grants": []},
        "field 'version': expected an integer, got string '1' (and 1 more problem)",
        id="two-problems",
    ),
    pytest.param(["not", "an", "object"], "expected a JSON object, got list", id="not-an-object"),
]


@pytest.mark.parametrize(("manifest", "message"), LICENSE_REFUSALS)
def test_license_refusals(
    cli: Callable[..., Any], initialised: Path, tmp_path: Path, manifest: Any, message: str
) -> None:
    path = write(tmp_path, "license.json", manifest)
    where = f"{path}, " if message.startswith("field ") else f"{path}: "
    refuse(cli, initialised, ["license", "add", str(path)], where + message)


@pytest.mark.parametrize(("manifest", "message"), LICENSE_REFUSALS)
def test_license_refusals_library(ledger: Ledger, manifest: Any, message: str) -> None:
    with pytest.raises(InputError) as err:
        ledger.add_license(manifest)
    assert str(err.value) == message
    assert ledger.store.entry_count() == 1


def test_license_file_problems(cli: Callable[..., Any], initialised: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    refuse(cli, initialised, ["license", "add", str(missing)], f"{missing}: no such file")
    refuse(
        cli,
        initialised,
        ["license", "add", str(tmp_path)],
        f"{tmp_path}: is a folder, expected a JSON file",
    )
    dup = write(tmp_path, "dup.json", '{"id": "a", "id": "b"}')
    refuse(cli, initialised, ["license", "add", str(dup)], f"{dup}, field 'id': duplicate key 'id'")
    for text in ('{"id": ', '{"version": NaN}'):
        broken = write(tmp_path, "broken.json", text)
        result = cli("license", "add", str(broken))
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {broken}: malformed JSON: ")


def test_duplicate_license_refused(
    cli: Callable[..., Any], initialised: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "license.json", LICENSE)
    assert cli("license", "add", str(path)).exit_code == 0
    changed = write(tmp_path, "changed.json", {**LICENSE, "title": "Changed"})
    refuse(
        cli,
        initialised,
        ["license", "add", str(changed)],
        "license 'support-corpus@1' is already in the ledger (seq 2): a changed license needs "
        "a new version",
    )


def test_license_lookups(ledger: Ledger) -> None:
    ledger.add_license(LICENSE)
    with pytest.raises(NotFound) as err:
        registry.require_license(ledger.store, "support-corpus@2")
    assert str(err.value) == (
        "unknown license 'support-corpus@2' (recorded versions of 'support-corpus': 1): add it "
        "with 'provledger license add FILE.json'"
    )
    with pytest.raises(NotFound) as err:
        registry.require_license(ledger.store, "x@1")
    assert str(err.value) == "unknown license 'x@1': add it with 'provledger license add FILE.json'"


@pytest.mark.parametrize(
    "ref", ["support-corpus", "support-corpus@", "x@0", "x@01", "x@1.5", "@1", "a b@1", "x@1@2"]
)
def test_parse_ref_is_strict(ref: str) -> None:
    with pytest.raises(InputError) as err:
        registry.parse_ref(ref, "license")
    assert str(err.value) == (
        f"field 'license': malformed license reference '{ref}': expected ID@VERSION, e.g. "
        "'support-corpus@1'"
    )


def test_parse_ref() -> None:
    assert registry.parse_ref("support-tos@12", "consent") == ("support-tos", 12)
    with pytest.raises(InputError, match="expected POLICY@VERSION"):
        registry.parse_ref("support-tos", "consent")


# -- consent -------------------------------------------------------------------------------
def test_consent_versions_in_order(ledger: Ledger) -> None:
    first = ledger.add_consent(CONSENT_V1)
    assert first.as_dict() == {
        "consent": "support-tos@1",
        **CONSENT_V1,
        "superseded_by": None,
        "seq": 2,
        "recorded_at": first.recorded_at,
    }
    ledger.add_consent(CONSENT_V2)
    kinds = [(e.kind, e.payload) for e in ledger.entries()[1:]]
    assert kinds == [("consent-version-added", CONSENT_V1), ("consent-version-added", CONSENT_V2)]
    listed = ledger.consent_versions()
    assert [(r.consent, r.superseded_by) for r in listed] == [
        ("support-tos@1", 2),
        ("support-tos@2", None),
    ]
    v2 = listed[1]
    assert (v2.permits, v2.retention_days, v2.prior_versions) == (
        ["train", "evaluate"],
        365,
        {"1": "reconsent_required"},
    )


def test_consent_prior_versions_defaults_to_empty_for_version_1(ledger: Ledger) -> None:
    manifest = {k: v for k, v in CONSENT_V1.items() if k != "prior_versions"}
    assert ledger.add_consent(manifest).prior_versions == {}


def test_consent_add_and_list_cli(
    cli: Callable[..., Any], initialised: Path, tmp_path: Path
) -> None:
    result = cli("consent", "add", str(write(tmp_path, "v1.json", CONSENT_V1)))
    assert (result.exit_code, result.stdout) == (0, "Added consent version support-tos@1 (seq 2)\n")
    result = cli("consent", "add", str(write(tmp_path, "v2.json", CONSENT_V2)), "--json")
    assert json.loads(result.stdout)["consent"] == "support-tos@2"
    listed = json.loads(cli("consent", "list", "--json").stdout)
    assert [(r["consent"], r["prior_versions"]) for r in listed] == [
        ("support-tos@1", {}),
        ("support-tos@2", {"1": "reconsent_required"}),
    ]
    table = cli("consent", "list").stdout
    assert "support-tos@1" in table and "support-tos@2" in table


CONSENT_REFUSALS = [
    pytest.param(
        [CONSENT_V1, CONSENT_V1],
        Conflict,
        "consent version 'support-tos@1' is already in the ledger (seq 2): a changed policy "
        "needs a new version (support-tos@2)",
        id="duplicate",
    ),
    pytest.param(
        [CONSENT_V2],
        Conflict,
        "consent version 'support-tos@2' skips ahead: policy 'support-tos' has no versions yet, "
        "add 'support-tos@1' first",
        id="no-version-1",
    ),
    pytest.param(
        [
            CONSENT_V1,
            {**CONSENT_V2, "version": 3, "prior_versions": {"1": "revoked", "2": "revoked"}},
        ],
        Conflict,
        "consent version 'support-tos@3' skips ahead: the latest version of 'support-tos' is 1, "
        "add 'support-tos@2' first",
        id="gap",
    ),
    pytest.param(
        [CONSENT_V1, {**CONSENT_V2, "effective_from": "2023-12-31"}],
        Conflict,
        "consent version 'support-tos@2' takes effect 2023-12-31, before 'support-tos@1' "
        "(2024-01-01): versions must take effect in order",
        id="effective-before-previous",
    ),
    pytest.param(
        [CONSENT_V1, {**CONSENT_V2, "prior_versions": {}}],
        InputError,
        "field 'prior_versions': version 2 must give the fate of every earlier version, and only "
        "those: 1 (missing '1')",
        id="prior-missing",
    ),
    pytest.param(
        [CONSENT_V1, {k: v for k, v in CONSENT_V2.items() if k != "prior_versions"}],
        InputError,
        "field 'prior_versions': version 2 must give the fate of every earlier version, and only "
        "those: 1 (missing '1')",
        id="prior-absent",
    ),
    pytest.param(
        [CONSENT_V1, {**CONSENT_V2, "prior_versions": {"1": "revoked", "2": "revoked"}}],
        InputError,
        "field 'prior_versions': version 2 must give the fate of every earlier version, and only "
        "those: 1 (unexpected '2')",
        id="prior-extra",
    ),
    pytest.param(
        [{**CONSENT_V1, "prior_versions": {"0": "revoked"}}],
        InputError,
        "field 'prior_versions': version 1 has no earlier versions: leave it empty "
        "(unexpected '0')",
        id="prior-on-version-1",
    ),
    pytest.param(
        [CONSENT_V1, {**CONSENT_V2, "prior_versions": {"1": "forgotten"}}],
        InputError,
        "field 'prior_versions.1': unknown fate 'forgotten' (expected one of grandfathered, "
        "reconsent_required, revoked)",
        id="unknown-fate",
    ),
    pytest.param(
        [{**CONSENT_V1, "retention_days": 0}],
        InputError,
        "field 'retention_days': must be 1 or more, got integer 0",
        id="retention-zero",
    ),
    pytest.param(
        [{**CONSENT_V1, "retention_days": "365"}],
        InputError,
        "field 'retention_days': expected an integer, got string '365'",
        id="retention-string",
    ),
    pytest.param(
        [{**CONSENT_V1, "permits": ["train", "sell"]}],
        InputError,
        f"field 'permits[1]': unknown use 'sell' (expected one of {USES_TEXT})",
        id="unknown-use",
    ),
    pytest.param(
        [{**CONSENT_V1, "purpose": "support"}],
        InputError,
        "field 'purpose': unknown field (expected one of policy, version, effective_from, "
        "permits, retention_days, prior_versions)",
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("manifests", "error", "message"), CONSENT_REFUSALS)
def test_consent_refusals(
    cli: Callable[..., Any],
    initialised: Path,
    tmp_path: Path,
    manifests: list[dict[str, Any]],
    error: type[Exception],
    message: str,
) -> None:
    *earlier, last = manifests
    for i, manifest in enumerate(earlier):
        assert cli("consent", "add", str(write(tmp_path, f"{i}.json", manifest))).exit_code == 0
    path = write(tmp_path, "last.json", last)
    shown = f"{path}, {message}" if error is InputError else message
    refuse(cli, initialised, ["consent", "add", str(path)], shown)


@pytest.mark.parametrize(("manifests", "error", "message"), CONSENT_REFUSALS)
def test_consent_refusals_library(
    ledger: Ledger, manifests: list[dict[str, Any]], error: type[Exception], message: str
) -> None:
    *earlier, last = manifests
    for manifest in earlier:
        ledger.add_consent(manifest)
    before = ledger.store.entry_count()
    with pytest.raises(error) as err:
        ledger.add_consent(last)
    assert str(err.value) == message
    assert ledger.store.entry_count() == before


def test_consent_policies_are_independent(ledger: Ledger) -> None:
    ledger.add_consent(CONSENT_V1)
    ledger.add_consent({**CONSENT_V1, "policy": "marketing"})
    ledger.add_consent(CONSENT_V2)
    assert [r.consent for r in ledger.consent_versions()] == [
        "marketing@1",
        "support-tos@1",
        "support-tos@2",
    ]


def test_consent_not_found(ledger: Ledger) -> None:
    ledger.add_consent(CONSENT_V1)
    with pytest.raises(NotFound) as err:
        registry.require_consent(ledger.store, "support-tos@2")
    assert str(err.value) == (
        "unknown consent version 'support-tos@2' (recorded versions of 'support-tos': 1): add "
        "it with 'provledger consent add FILE.json'"
    )


# -- datasets ------------------------------------------------------------------------------
def test_create_dataset(ledger: Ledger) -> None:
    created = ledger.create_dataset(
        "support", owner="ml-platform", context="internal", uses=["train"]
    )
    assert created.as_dict() == {
        "dataset": "support",
        "owner": "ml-platform",
        "context": "internal",
        "uses": ["train"],
        "seq": 2,
        "updated_at": created.updated_at,
        "created_seq": 2,
        "created_at": created.updated_at,
        "states": 1,
        "context_changed_seq": None,
        "context_changed_at": None,
    }
    entry = ledger.entries()[-1]
    assert (entry.kind, entry.payload) == (
        "dataset-created",
        {"dataset": "support", "owner": "ml-platform", "context": "internal", "uses": ["train"]},
    )
    spec = ledger.datasets()[0]
    assert (spec.dataset, spec.owner, spec.context, spec.uses) == (
        "support",
        "ml-platform",
        "internal",
        ["train"],
    )


def test_set_context_keeps_history_latest_wins(ledger: Ledger) -> None:
    ledger.create_dataset(
        "support", owner="ml-platform", context="internal", uses=["train", "evaluate"]
    )
    changed = ledger.set_context("support", context="regulated")
    assert (changed.context, changed.uses, changed.states) == (
        "regulated",
        ["train", "evaluate"],
        2,
    )
    assert (changed.context_changed_seq, changed.created_seq, changed.seq) == (3, 2, 3)
    rows = ledger.store.rows("SELECT seq, dataset, context, uses FROM dataset_states ORDER BY seq")
    assert rows == [
        (2, "support", "internal", ["train", "evaluate"]),
        (3, "support", "regulated", ["train", "evaluate"]),
    ]
    assert ledger.datasets()[0].context == "regulated"
    entry = ledger.entries()[-1]
    assert (entry.kind, entry.payload) == (
        "dataset-context-changed",
        {
            "dataset": "support",
            "owner": "ml-platform",
            "context": "regulated",
            "uses": ["train", "evaluate"],
            "previous": {"context": "internal", "uses": ["train", "evaluate"]},
        },
    )
    # Changing only the uses is a change too; the context-changed time stays put.
    again = ledger.set_context("support", context="regulated", uses=["evaluate"])
    assert (again.uses, again.states, again.context_changed_seq) == (["evaluate"], 3, 3)
    history = [e for e in ledger.entries() if e.kind.startswith("dataset-")]
    assert [(h.kind, h.payload["context"], h.payload["uses"]) for h in history] == [
        ("dataset-created", "internal", ["train", "evaluate"]),
        ("dataset-context-changed", "regulated", ["train", "evaluate"]),
        ("dataset-context-changed", "regulated", ["evaluate"]),
    ]


def test_dataset_cli(cli: Callable[..., Any], initialised: Path) -> None:
    result = cli(
        "dataset", "create", "support", "--owner", "ml-platform", "--context", "internal",
        "--use", "train", "--use", "evaluate",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Created dataset support (owner ml-platform, context internal, uses train, evaluate; "
        "seq 2)\n"
    )
    result = cli("dataset", "set-context", "support", "--context", "regulated")
    assert (
        result.stdout
        == "Dataset support: context regulated, uses train, evaluate (seq 3, state 2)\n"
    )
    result = cli(
        "dataset", "set-context", "support", "--context", "regulated", "--use", "evaluate", "--json"
    )
    assert json.loads(result.stdout)["uses"] == ["evaluate"]
    listed = json.loads(cli("dataset", "list", "--json").stdout)
    assert [
        (d["dataset"], d["context"], d["uses"], d["states"], d["context_changed_seq"])
        for d in listed
    ] == [("support", "regulated", ["evaluate"], 3, 3)]
    table = cli("dataset", "list").stdout
    assert "support" in table and "regulated" in table and "(seq 3)" in table


def test_dataset_refusals(cli: Callable[..., Any], initialised: Path) -> None:
    create = [
        "dataset",
        "create",
        "support",
        "--owner",
        "ml",
        "--context",
        "internal",
        "--use",
        "train",
    ]
    assert cli(*create).exit_code == 0
    refuse(
        cli,
        initialised,
        create,
        "dataset 'support' already exists (created at seq 2): change it with 'provledger "
        "dataset set-context'",
    )
    refuse(
        cli,
        initialised,
        ["dataset", "set-context", "nope", "--context", "regulated"],
        "unknown dataset 'nope': create it with 'provledger dataset create nope --owner WHO "
        "--context CONTEXT --use USE'",
    )
    refuse(
        cli,
        initialised,
        ["dataset", "set-context", "support", "--context", "internal", "--use", "train"],
        "dataset 'support' already has context 'internal' and uses train: nothing changed",
    )
    refuse(
        cli,
        initialised,
        ["dataset", "set-context", "support", "--context", "public"],
        "field 'context': unknown context 'public' (expected one of internal, customer_facing, "
        "regulated)",
    )
    refuse(
        cli,
        initialised,
        ["dataset", "create", "other", "--owner", "ml", "--context", "internal", "--use", "resell"],
        f"field 'uses[0]': unknown use 'resell' (expected one of {USES_TEXT})",
    )
    refuse(
        cli,
        initialised,
        ["dataset", "create", "other", "--owner", "ml", "--context", "internal"],
        "field 'uses': must list at least one use",
    )
    refuse(
        cli,
        initialised,
        [
            "dataset",
            "create",
            "my data",
            "--owner",
            "ml",
            "--context",
            "internal",
            "--use",
            "train",
        ],
        "field 'name': expected only letters, digits, '.', '_' and '-', got string 'my data'",
    )
    refuse(
        cli,
        initialised,
        ["dataset", "create", "other", "--owner", "", "--context", "internal", "--use", "train"],
        "field 'owner': must not be empty",
    )
    refuse(
        cli,
        initialised,
        [
            "dataset",
            "create",
            "other",
            "--owner",
            "ml",
            "--context",
            "internal",
            "--use",
            "train",
            "--use",
            "train",
        ],
        "field 'uses': lists 'train' twice",
    )


def test_missing_required_option_is_a_usage_error(
    cli: Callable[..., Any], initialised: Path
) -> None:
    result = cli("dataset", "create", "support", "--context", "internal", "--use", "train")
    assert result.exit_code == 2
    assert "Missing option '--owner'" in result.stderr


def test_dataset_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound) as err:
        registry.require_dataset(ledger.store, "support")
    assert str(err.value) == (
        "unknown dataset 'support': create it with 'provledger dataset create support --owner WHO "
        "--context CONTEXT --use USE'"
    )


# -- checks that build no model ------------------------------------------------------------
@pytest.mark.parametrize(
    ("require", "ref", "error", "message"),
    [
        (
            registry.require_license,
            "support-corpus@2",
            NotFound,
            "unknown license 'support-corpus@2' (recorded versions of 'support-corpus': 1): "
            "add it with 'provledger license add FILE.json'",
        ),
        (
            registry.require_license,
            "x@1",
            NotFound,
            "unknown license 'x@1': add it with 'provledger license add FILE.json'",
        ),
        (
            registry.require_license,
            "support-corpus",
            InputError,
            "field 'license': malformed license reference 'support-corpus': expected ID@VERSION, "
            "e.g. 'support-corpus@1'",
        ),
        (
            registry.require_consent,
            "support-tos@2",
            NotFound,
            "unknown consent version 'support-tos@2' (recorded versions of 'support-tos': 1): "
            "add it with 'provledger consent add FILE.json'",
        ),
        (
            registry.require_consent,
            "support-tos@0",
            InputError,
            "field 'consent': malformed consent reference 'support-tos@0': expected "
            "POLICY@VERSION, "
            "e.g. 'support-tos@2'",
        ),
        (
            registry.require_dataset,
            "nope",
            NotFound,
            "unknown dataset 'nope': create it with 'provledger dataset create nope --owner WHO "
            "--context CONTEXT --use USE'",
        ),
    ],
)
def test_require_refuses_naming_what_is_recorded(
    ledger: Ledger, require: Callable[..., None], ref: str, error: type, message: str
) -> None:
    ledger.add_license(LICENSE)
    ledger.add_consent(CONSENT_V1)
    ledger.create_dataset("support", owner="ml", context="internal", uses=["train"])
    with pytest.raises(LedgerError) as got:
        require(ledger.store, ref)
    assert type(got.value) is error
    assert str(got.value) == message


def test_require_accepts_what_the_ledger_holds(ledger: Ledger) -> None:
    ledger.add_license(LICENSE)  # seq 2
    ledger.add_consent(CONSENT_V1)  # seq 3
    ledger.create_dataset("support", owner="ml", context="internal", uses=["train"])  # seq 4
    assert registry.require_license(ledger.store, "support-corpus@1") is None
    assert registry.require_consent(ledger.store, "support-tos@1") is None
    assert registry.require_dataset(ledger.store, "support") is None


def test_uses_given_as_a_tuple(ledger: Ledger) -> None:
    created = ledger.create_dataset("d", owner="o", context="internal", uses=("train",))  # type: ignore[arg-type]
    assert created.uses == ["train"]


# -- the whole ledger still verifies ---------------------------------------------------------
def test_verify_after_a_series_of_changes(
    cli: Callable[..., Any], initialised: Path, tmp_path: Path
) -> None:
    steps = [
        ["license", "add", str(write(tmp_path, "l1.json", LICENSE))],
        [
            "license",
            "add",
            str(write(tmp_path, "l2.json", {**LICENSE, "version": 2, "spdx": "MIT"})),
        ],
        ["consent", "add", str(write(tmp_path, "c1.json", CONSENT_V1))],
        ["consent", "add", str(write(tmp_path, "c2.json", CONSENT_V2))],
        [
            "dataset",
            "create",
            "support",
            "--owner",
            "ml",
            "--context",
            "internal",
            "--use",
            "train",
        ],
        ["dataset", "set-context", "support", "--context", "customer_facing"],
    ]
    for args in steps:
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
    refused = cli("license", "add", str(tmp_path / "l1.json"))
    assert refused.exit_code == 1
    result = cli("verify", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["ok"], report["entries"]) == (True, 7)
    kinds = [e["kind"] for e in json.loads(cli("log", "--json").stdout)]
    assert kinds == [
        "ledger-created",
        "license-added",
        "license-added",
        "consent-version-added",
        "consent-version-added",
        "dataset-created",
        "dataset-context-changed",
    ]
