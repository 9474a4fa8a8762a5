"""Near-duplicate facts precomputed at registration (provledger.similarity.near_facts): the
audit's sums of them equal the full queries at every cut, on hand-counted ledgers; the
full queries still run where the facts cannot answer; verify rebuilds the facts and names
a tampered one; a registration that does not commit leaves none."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from provledger.ledger import DB_FILE, Ledger
from provledger.similarity import near_facts
from provledger.similarity.near_duplicates import facts_unusable, near_contamination
from tests.test_similarity import (
    A_NEAR,
    A_NEAR2,
    B_NEAR,
    A,
    B,
    C,
    _jsonl,
    register_near_sample,
    tamper_guarded_table,
    train_with_subjects_and_a_near_test,
)

FACT_TABLES = ("near_batches", "near_cross_split", "near_benchmark")


def _both(led: Ledger, dataset: str, cut: int, threshold: float = 0.8) -> tuple[Any, Any]:
    fast = near_contamination(led.store, dataset, cut, threshold)
    full = near_contamination(led.store, dataset, cut, threshold, precomputed=False)
    return fast.model_dump(), full.model_dump()


def _facts(led: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(led.store.rows(f"SELECT * FROM {t}")) for t in FACT_TABLES}


def _build_world(led: Ledger, tmp_path: Path) -> None:
    """Dataset s: train b3 = [A, A, A_NEAR2, B]; test b4 = [A_NEAR, B, C]; reference b5 =
    [C, C]; evals: benchmark b7 = [B_NEAR]; model old (s) b8; train b9 of s = [A, C,
    B_NEAR]; dataset web: train b11 = [B, A_NEAR, C]; benchmark b12 = [A] in evals;
    validation b13 of s = [C, A_NEAR2]; model new (s, web) b14."""
    register_near_sample(led, tmp_path)  # b3 .. b7, as in its docstring
    led.register_model("old", ["s"])
    led.register(_jsonl(tmp_path / "t2.jsonl", A, C, B_NEAR), dataset="s", source="scraped")
    led.create_dataset("web", owner="me", context="internal", uses=["train"])
    led.register(_jsonl(tmp_path / "w.jsonl", B, A_NEAR, C), dataset="web", source="scraped")
    led.register(
        _jsonl(tmp_path / "k.jsonl", A), dataset="evals", source="scraped", split="benchmark"
    )
    led.register(
        _jsonl(tmp_path / "v.jsonl", C, A_NEAR2), dataset="s", source="scraped", split="validation"
    )
    led.register_model("new", ["s", "web"])
    assert led.store.entry_count() == 14


@pytest.fixture(scope="module")
def world_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world ledger (``_build_world``), built once for the module: copy, never open."""
    folder = tmp_path_factory.mktemp("world")
    shutil.copytree(template_home, folder / "home")
    with Ledger.open(folder / "home") as led:
        _build_world(led, folder)
    return folder / "home"


@pytest.fixture
def world(home: Path, world_home: Path) -> Iterator[Ledger]:
    """An open copy of the world ledger in ``home``."""
    shutil.copytree(world_home, home)
    with Ledger.open(home) as led:
        yield led


def test_the_facts_are_what_the_sample_says(world: Ledger) -> None:
    # Within train of s: b3's second A and A_NEAR2 follow A (b3); b9's A and B_NEAR follow
    # rows of b3 (A, B); its C is the first C of the train split. web: none.
    # Cross-split: test b4's A_NEAR and B near b3 (written by b4), and its A_NEAR, B
    # (near B_NEAR) and C near b9 (written by b9); validation b13's C near b9, its A_NEAR2
    # near b3 and b9 (web's b11 is another dataset). Benchmarks: b7 [B_NEAR] by b7 (b3's
    # B), by b9 (its B_NEAR) and b11 (its B); b12 [A] by b12 (b3's A, A, A_NEAR2; b9's A;
    # b11's A_NEAR).
    facts = _facts(world)
    assert facts["near_batches"] == [
        (3, 2, ["b3"]),
        (4, 0, []),
        (5, 0, []),
        (7, 0, []),
        (9, 2, ["b3"]),
        (11, 0, []),
        (12, 0, []),
        (13, 0, []),
    ]
    assert facts["near_cross_split"] == [
        (4, 4, 0, 3),
        (4, 4, 1, 3),
        (9, 4, 0, 9),
        (9, 4, 1, 9),
        (9, 4, 2, 9),
        (13, 13, 0, 9),
        (13, 13, 1, 3),
        (13, 13, 1, 9),
    ]
    assert facts["near_benchmark"] == [
        (7, 3, 3, 7),
        (9, 9, 2, 7),
        (11, 11, 0, 7),
        (12, 3, 0, 12),
        (12, 3, 1, 12),
        (12, 3, 2, 12),
        (12, 9, 0, 12),
        (12, 11, 1, 12),
    ]


def test_the_facts_and_the_full_queries_agree_at_every_cut(world: Ledger) -> None:
    for cut in range(2, 15):  # from the first dataset on
        for dataset in ("s", "web", "evals"):
            if cut < 10 and dataset == "web":
                continue  # not created yet
            assert facts_unusable(world.store, dataset, cut, 1) is None
            fast, full = _both(world, dataset, cut)
            assert fast == full, (dataset, cut)
    # Any threshold that needs one shared key reads the same facts.
    fast, full = _both(world, "s", 14, 0.5)
    assert fast == full and fast["threshold"] == 0.5
    # At the head, by hand: s has 2 + 2 train records with an earlier near copy, 2 + 2
    # validation/test records near train, b3's B and A, A, A_NEAR2 and b9's A, B_NEAR near
    # a benchmark; model old reached b3 (4), new b3, b9 and web's b11 (B, A_NEAR): 8.
    n = near_contamination(world.store, "s", 14)
    assert [(b.batch_id, b.records, b.others) for b in n.duplicate_batches] == [
        ("b3", 2, ["b3"]),
        ("b9", 2, ["b3"]),
    ]
    assert [(b.batch_id, b.records, b.others) for b in n.cross_split_batches] == [
        ("b4", 3, ["b3", "b9"]),
        ("b13", 2, ["b3", "b9"]),
    ]
    assert [(b.batch_id, b.records, b.others) for b in n.benchmark_batches] == [
        ("b3", 4, ["b12", "b7"]),
        ("b9", 2, ["b12", "b7"]),
    ]
    assert [(m.model, m.records) for m in n.models] == [("old", 4), ("new", 8)]


def test_the_full_queries_run_where_the_facts_cannot_answer(world: Ledger, tmp_path: Path) -> None:
    assert facts_unusable(world.store, "s", 14, 3) == (
        "the threshold needs 3 shared band keys; the facts are for one"
    )
    fast, full = _both(world, "s", 14, 1.0)
    assert fast == full and fast["duplicate_records"] == 2  # b3's second A, b9's A
    # A batch without sketches in the dataset (exact copies are compared by content hash).
    world.register(
        _jsonl(tmp_path / "u.jsonl", A_NEAR, "other words entirely here"),
        dataset="web",
        source="scraped",
        split="test",
        sketches=False,
    )
    assert facts_unusable(world.store, "web", 15, 1) == (
        "batch b15 has no near facts (registered before them, or without sketches)"
    )
    assert facts_unusable(world.store, "s", 15, 1) is None  # s reads no batch of web's tests
    fast, full = _both(world, "web", 15)
    assert fast == full and fast["unsketched_batches"] == ["b15"]


def test_an_erasure_sends_the_audit_to_the_full_queries(ledger: Ledger, tmp_path: Path) -> None:
    train_with_subjects_and_a_near_test(ledger, tmp_path)
    assert facts_unusable(ledger.store, "s", 5, 1) is None
    ledger.erase("c1", "REQ-1")
    assert facts_unusable(ledger.store, "s", 6, 1) == (
        "the erasure at seq 6 reaches records these figures read"
    )
    assert facts_unusable(ledger.store, "s", 5, 1) is None  # as of before the erasure
    for cut in (5, 6):
        fast, full = _both(ledger, "s", cut)
        assert fast == full
        assert fast["cross_split_records"] == (1 if cut == 5 else 0)


# -- an old ledger ----------------------------------------------------------------------------
def _raw(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / DB_FILE))


def test_a_ledger_from_before_the_facts_audits_by_the_full_queries(
    cli: Any, home: Path, tmp_path: Path
) -> None:
    with Ledger.init(home) as led:
        led.create_dataset("s", owner="me", context="internal", uses=["train"])
        led.register(_jsonl(tmp_path / "t.jsonl", A, A, A_NEAR2, B), dataset="s", source="scraped")
        led.register(
            _jsonl(tmp_path / "q.jsonl", A_NEAR, B, C), dataset="s", source="scraped", split="test"
        )
    # As a ledger from before m006 looks: no fact tables, the migration not recorded.
    con = _raw(home)
    for table in FACT_TABLES:
        for event in ("update", "delete"):
            con.execute(f"DROP TRIGGER {table}_no_{event} ON {table}")
        con.execute(f"DROP TABLE {table}")
    con.execute("DELETE FROM schema_migrations WHERE name = 'm006_near_facts'")
    con.close()
    assert cli("checkpoint").exit_code == 0  # the upgrade, recorded at seq 5
    with Ledger.open(home) as led:
        assert led.store.entry(5).payload["migrations"] == ["m006_near_facts"]  # type: ignore[union-attr]
        assert _facts(led) == {t: [] for t in FACT_TABLES}
        assert facts_unusable(led.store, "s", 6, 1) == (
            "batch b3 has no near facts (registered before them, or without sketches)"
        )
        n = led.audit("s").contamination.near
        assert (n.cross_split_records, n.duplicate_records) == (2, 2)
        # A batch registered after the upgrade gets its facts; the old ones still lack them.
        led.register(_jsonl(tmp_path / "t2.jsonl", C, A), dataset="s", source="scraped")
        seq = led.store.entry_count()
        assert _facts(led)["near_batches"] == [(seq, 1, ["b3"])]
        assert _facts(led)["near_cross_split"] == [(seq, 4, 0, seq), (seq, 4, 2, seq)]
        fast, full = _both(led, "s", seq)
        assert fast == full and fast["duplicate_records"] == 3
    result = cli("verify")
    assert result.exit_code == 0, result.stderr


# -- verify rebuilds the facts -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("table", "sql", "seq", "problem"),
    [
        (
            "near_batches",
            "UPDATE near_batches SET duplicates = duplicates + 1 WHERE seq = 3",
            3,
            "batch b3: its near_batches facts do not match its sketches",
        ),
        (
            "near_batches",
            "UPDATE near_batches SET firsts = ['b4'] WHERE seq = 9",
            9,
            "batch b9: its near_batches facts do not match its sketches",
        ),
        (
            "near_batches",
            "DELETE FROM near_batches WHERE seq = 4",
            4,
            "batch b4: its near_batches facts do not match its sketches",
        ),
        (
            "near_batches",
            "INSERT INTO near_batches VALUES (99, 1, ['b3'])",
            99,
            "near_batches holds rows that no batch registration wrote",
        ),
        (
            "near_cross_split",
            "DELETE FROM near_cross_split WHERE seq = 9 AND ord = 2",
            9,
            "batch b9: its near_cross_split facts do not match its sketches",
        ),
        (
            "near_cross_split",
            "INSERT INTO near_cross_split VALUES (4, 4, 2, 3)",
            4,
            "batch b4: its near_cross_split facts do not match its sketches",
        ),
        (
            "near_cross_split",
            "INSERT INTO near_cross_split SELECT * FROM near_cross_split WHERE seq = 13 LIMIT 1",
            13,
            "batch b13: its near_cross_split facts do not match its sketches",
        ),
        (
            "near_cross_split",
            "UPDATE near_cross_split SET seq = 3 WHERE seq = 4",
            3,
            "batch b3: its near_cross_split facts do not match its sketches",
        ),
        (
            "near_benchmark",
            "UPDATE near_benchmark SET bench_seq = 7 WHERE seq = 12 AND batch_seq = 11",
            12,
            "batch b12: its near_benchmark facts do not match its sketches",
        ),
        (
            "near_benchmark",
            "DELETE FROM near_benchmark WHERE seq = 11",
            11,
            "batch b11: its near_benchmark facts do not match its sketches",
        ),
        (
            "near_benchmark",
            "INSERT INTO near_benchmark VALUES (50, 3, 2, 7)",
            50,
            "near_benchmark holds rows that no batch registration wrote",
        ),
    ],
)
def test_tampered_near_facts_fail_verify(
    cli: Any, world: Ledger, home: Path, table: str, sql: str, seq: int, problem: str
) -> None:
    world.store.close()
    assert cli("verify").exit_code == 0
    tamper_guarded_table(home, table, sql)
    result = cli("verify")
    assert result.exit_code == 1
    assert result.stderr == f"Error: verification failed at seq {seq}: {problem}\n"


# -- all or nothing ----------------------------------------------------------------------------
def test_a_registration_that_does_not_commit_leaves_no_facts(
    world: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _facts(world)
    count = world.store.entry_count()

    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    # The facts are written before the lookup keys; stop the registration there.
    monkeypatch.setattr("provledger.ingest.register.index_batch", interrupted)
    for split in ("train", "test", "benchmark"):
        with pytest.raises(KeyboardInterrupt):
            world.register(
                _jsonl(tmp_path / f"n-{split}.jsonl", A, B_NEAR, C, A_NEAR),
                dataset="s",
                source="scraped",
                split=split,
            )
        assert _facts(world) == before
        assert world.store.entry_count() == count


def test_a_batch_of_near_copies_looks_only_at_open_rows_and_agrees(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 40 train records: A 20 times, B 12 times, A_NEAR and A_NEAR2 (each near A through some
    # band), B_NEAR, then C, and after a first batch [B, C] of the same dataset. After band
    # 0 at most 1 row in 8 is still without an earlier copy, so the other bands look only
    # at the rows holding those rows' keys.
    calls: list[int] = []
    real = near_facts._mark_open_rows_later

    def spy(packed: Any, later: Any) -> None:
        calls.append(len(packed))
        real(packed, later)

    monkeypatch.setattr(near_facts, "_mark_open_rows_later", spy)
    ledger.create_dataset("s", owner="me", context="internal", uses=["train"])
    ledger.register(_jsonl(tmp_path / "first.jsonl", B, C), dataset="s", source="scraped")
    texts = [A] * 20 + [B] * 12 + [A_NEAR, A_NEAR2, B_NEAR] + [A] * 4 + [C]
    ledger.register(_jsonl(tmp_path / "many.jsonl", *texts), dataset="s", source="scraped")
    assert calls == [40] * 9
    # Every record but the first A has an earlier near copy; B, B_NEAR and C's first rows
    # are in b3, A's (and so A_NEAR's, A_NEAR2's) in b4.
    assert _facts(ledger)["near_batches"] == [(3, 0, []), (4, 39, ["b3", "b4"])]
    fast, full = _both(ledger, "s", 4)
    assert fast == full and fast["duplicate_records"] == 39


@pytest.mark.parametrize(("name", "value"), [("_RADIX_MAX", 0), ("_KEEPS_ORDER", "SELECT false")])
def test_the_whole_band_sorts_agree(
    world: Ledger,
    template_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: Any,
) -> None:
    # The world ledger's bands were sorted by the radix argsort of keys read in record
    # order; a batch too large for it, or a scan that might not keep insertion order,
    # sorts (key << 32 | ord) in place and marks it block by block (here blocks of two
    # rows) instead. Same facts.
    monkeypatch.setattr(near_facts, name, value)
    monkeypatch.setattr(near_facts, "_BLOCK", 2)
    other = tmp_path / "other"
    shutil.copytree(template_home, other / "home")
    with Ledger.open(other / "home") as led:
        _build_world(led, other)
        assert _facts(led) == _facts(world)
