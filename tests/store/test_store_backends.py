"""One store suite, run on SQLite and on a real PostgreSQL server: write runs and cases
through the runner's events, read them back through the store's read API, masking, text a
database cannot hold, read-only stores and run references."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from store_support import case, write_run

from aichaos import ConfigError, StoreError
from aichaos.store import ResultStore, head_revision


def test_runs_and_cases_round_trip(store_url: str) -> None:
    with ResultStore(store_url) as store:
        assert store.revision_before == "none"
        write_run(store, "r1", [case("r1", "refund"), case("r1", "order", passed=False),
                                case("r1", "refund", variant="typo@3", layer=2,
                                     suite="input_resilience")])
        run = store.run("r1")
        assert run is not None
        assert (run["title"], run["status"], run["seed"], run["overall_grade"]) == (
            "store test", "completed", 7, "D")
        assert run["ended_at"] >= run["started_at"] > 0
        rows = store.cases("r1")
        assert [(r["case_id"], r["variant"], r["passed"]) for r in rows] == [
            ("refund", "clean", True), ("order", "clean", False), ("refund", "typo@3", True)]
        assert json.loads(rows[0]["scores"]) == {"contains": 1.0}
        assert json.loads(rows[0]["expected"]) == ["a"]
        assert [r["case_id"] for r in store.cases("r1", layer=2)] == ["refund"]
        assert [r["variant"] for r in store.cases("r1", case_id="refund")] == ["clean", "typo@3"]
        assert store.cases("r1", case_id="refund", variant="typo@3")[0]["suite"] == (
            "input_resilience")
        assert store.cases("r1", suite="safety") == []
        assert store.count_cases("r1") == 3
        assert store.has_run("r1") and not store.has_run("r2")
        assert store.run("nope") is None


def test_a_second_open_finds_the_schema_current(store_url: str) -> None:
    ResultStore(store_url).close()
    with ResultStore(store_url) as again:
        assert again.revision_before == head_revision()
        with again.engine.connect() as conn:
            assert conn.execute(sa.text("select version_num from alembic_version")).scalar() \
                == head_revision()


def test_personal_data_and_secrets_are_masked(store_url: str) -> None:
    key = "sk-test-abcdef0123456789"
    with ResultStore(store_url, secrets=[key]) as store:
        write_run(store, "m1", [case("m1", "pii", text=f"mail jane.doe@example.com key {key}",
                                     output="card 4111 1111 1111 1111 noted",
                                     error=f"upstream said {key}",
                                     metadata={"echo": "jane.doe@example.com"})],
                  experiment={"note": f"uses {key} for jane.doe@example.com"})
        [row] = store.cases("m1")
        assert row["input"] == "mail <EMAIL> key <SECRET>"
        assert row["output"] == "card <CREDIT_CARD> noted"
        assert row["error"] == "upstream said <SECRET>"
        # the row also says masking changed its text (a resumed run re-sends such a case)
        assert json.loads(row["metadata"]) == {"echo": "<EMAIL>", "stored_masked": True}
        assert json.loads(store.run("m1")["experiment"]) == {"note": "uses <SECRET> for <EMAIL>"}
    with ResultStore(store_url, mask=False, secrets=[key]) as raw:
        write_run(raw, "m2", [case("m2", "pii", text=f"mail jane.doe@example.com key {key}")])
        assert raw.cases("m2")[0]["input"] == "mail jane.doe@example.com key <SECRET>"


def test_nul_bytes_and_lone_surrogates_are_stored_escaped(store_url: str) -> None:
    with ResultStore(store_url) as store:
        write_run(store, "u1", [case("u1", "nul\x00id", text="before\x00after",
                                     output="half \ud83d of an emoji, whole \U0001F600",
                                     error="pair \ud83d\ude00 joined, lone \udc80",
                                     metadata={"raw": "x\x00\udfff"})])
        [row] = store.cases("u1")
        assert row["case_id"] == "nul\\u0000id"
        assert row["input"] == "before\\u0000after"
        assert row["output"] == "half \\ud83d of an emoji, whole \U0001F600"
        assert row["error"] == "pair \U0001F600 joined, lone \\udc80"
        # in a JSON column the escape is JSON's own: it reads back exactly
        assert row["metadata"] == '{"raw": "x\\u0000\\udfff", "stored_masked": false}'
        assert json.loads(row["metadata"]) == {"raw": "x\x00\udfff", "stored_masked": False}
        # a lookup with the raw id finds the row (bound values are escaped alike)
        assert len(store.cases("u1", case_id="nul\x00id")) == 1


def test_latest_runs_per_experiment_and_run_references(store_url: str) -> None:
    with ResultStore(store_url) as store:
        for run_id, title in [("20260101T000000Z-aaaaaa", "bot A"),
                              ("20260102T000000Z-bbbbbb", "bot B"),
                              ("20260103T000000Z-cccccc", "bot A")]:
            write_run(store, run_id, [case(run_id, "c")], title=title)
        assert [r["run_id"] for r in store.latest_runs()] == [
            "20260103T000000Z-cccccc", "20260102T000000Z-bbbbbb", "20260101T000000Z-aaaaaa"]
        assert [r["run_id"] for r in store.latest_runs("bot A", limit=1)] == [
            "20260103T000000Z-cccccc"]
        assert store.latest_runs("bot C") == []
        assert store.resolve("latest") == "20260103T000000Z-cccccc"
        # latest of the same experiment as a run, other than that run
        assert store.resolve("latest", experiment_of="20260103T000000Z-cccccc") == (
            "20260101T000000Z-aaaaaa")
        assert store.resolve("20260102") == "20260102T000000Z-bbbbbb"
        assert store.resolve("20260101T000000Z-aaaaaa") == "20260101T000000Z-aaaaaa"
        with pytest.raises(ConfigError, match=r"'2026010': ambiguous, the prefix of several"):
            store.resolve("2026010")
        with pytest.raises(ConfigError, match="'2025': not in the results store"):
            store.resolve("2025")
        with pytest.raises(ConfigError, match="'20%': not in the results store"):
            store.resolve("20%")  # LIKE wildcards are taken literally
        with pytest.raises(ConfigError, match="no baseline pinned for experiment 'bot A'"):
            store.resolve("baseline", experiment_of="20260103T000000Z-cccccc")
        assert store.pin_baseline("20260101T000000Z-aaaaaa", note="first") == "bot A"
        assert store.resolve("baseline", experiment_of="20260103T000000Z-cccccc") == (
            "20260101T000000Z-aaaaaa")
        assert store.pin_baseline("20260103T000000Z-cccccc") == "bot A"  # replaces the pin
        assert [(b["experiment"], b["run_id"]) for b in store.baselines()] == [
            ("bot A", "20260103T000000Z-cccccc")]


def test_empty_store_references_fail_clearly(store_url: str) -> None:
    with ResultStore(store_url) as store:
        with pytest.raises(ConfigError, match="latest: the results store holds no runs"):
            store.resolve("latest")
        with pytest.raises(ConfigError, match="not in the results store"):
            store.pin_baseline("missing")


def test_a_readonly_store_reads_and_refuses_writes(store_url: str) -> None:
    with ResultStore(store_url) as store:
        write_run(store, "ro1", [case("ro1", "c")])
    with ResultStore(store_url, readonly=True) as reader:
        assert reader.cases("ro1")[0]["case_id"] == "c"
        with pytest.raises(StoreError, match="opened read-only, cannot write"):
            write_run(reader, "ro2", [])
        with pytest.raises(StoreError, match="opened read-only"):
            reader.pin_baseline("ro1")
        # the driver refuses too, not only the store's own check
        with pytest.raises(sa.exc.DBAPIError), reader.engine.begin() as conn:
            conn.execute(sa.text("delete from cases"))
    with ResultStore(store_url) as store:
        assert store.count_cases("ro1") == 1


def test_a_readonly_store_of_an_empty_database_says_so(store_url: str) -> None:
    if store_url.startswith("sqlite"):
        with pytest.raises(StoreError, match="no results database at"):
            ResultStore(store_url, readonly=True)
    else:
        with pytest.raises(StoreError, match="no aichaos results in this database"):
            ResultStore(store_url, readonly=True)
