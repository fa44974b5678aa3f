"""The schema under Alembic: a new database gets the newest revision, a database written by
aichaos 0.1 (no version table) is stamped and upgraded with nothing lost, one written by a
newer aichaos or by something else is refused with one line and left untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from store_support import case, write_run

from aichaos import StoreError
from aichaos.store import ResultStore, head_revision
from aichaos.store._tables import metadata

LEGACY_SQL = Path(__file__).with_name("data") / "aichaos-0.1.sql"
LEGACY_RUNS = ["20261204T183007Z-066f2a", "20261204T183016Z-a8c730"]


def legacy_db(path: Path, *, drop_baselines: bool = False) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_SQL.read_text(encoding="utf-8"))
    if drop_baselines:  # 0.1 made this table only on the first pin
        conn.execute("drop table baselines")
    conn.commit()
    conn.close()
    return path


def test_the_migrations_build_exactly_the_tables_the_code_uses(store_url: str) -> None:
    with ResultStore(store_url) as store, store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        assert set(sa.inspect(conn).get_table_names()) == {
            "alembic_version", "runs", "cases", "baselines"}


def test_an_aichaos_0_1_database_is_stamped_and_upgraded(tmp_path: Path) -> None:
    path = legacy_db(tmp_path / "old.db")
    with ResultStore(f"sqlite:///{path}") as store:
        assert store.revision_before == "legacy"
        assert [r["run_id"] for r in store.latest_runs()] == LEGACY_RUNS[::-1]
        assert store.count_cases(LEGACY_RUNS[0]) == 5
        assert store.cases(LEGACY_RUNS[0], case_id="pii")[0]["input"] == (
            "Contact me at <EMAIL> about my refund")
        assert store.resolve("baseline", experiment_of=LEGACY_RUNS[1]) == LEGACY_RUNS[0]
        write_run(store, "new-run", [case("new-run", "refund")], title="legacy mock bot")
        assert store.resolve("latest") == "new-run"
    conn = sqlite3.connect(path)
    assert conn.execute("select version_num from alembic_version").fetchall() == [
        (head_revision(),)]
    indexes = {r[0] for r in conn.execute("select name from sqlite_master where type='index'")}
    assert {"ix_runs_started_at", "ix_runs_title_started_at", "ix_cases_run_case_variant",
            "ix_cases_run_id"} <= indexes
    assert conn.execute("select count(*) from cases").fetchone() == (11,)
    assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
    with ResultStore(f"sqlite:///{path}") as again:
        assert again.revision_before == head_revision()


def test_an_aichaos_0_1_database_without_baselines_gets_the_table(tmp_path: Path) -> None:
    path = legacy_db(tmp_path / "old.db", drop_baselines=True)
    with ResultStore(f"sqlite:///{path}") as store:
        assert store.baselines() == []
        assert store.pin_baseline(LEGACY_RUNS[1]) == "legacy mock bot"


def test_a_readonly_store_reads_a_0_1_database_without_changing_it(tmp_path: Path) -> None:
    path = legacy_db(tmp_path / "old.db")
    before = path.read_bytes()
    with ResultStore(f"sqlite:///{path}", readonly=True) as store:
        assert store.revision_before is None
        assert store.has_run(LEGACY_RUNS[0]) and store.count_cases(LEGACY_RUNS[1]) == 5
    assert path.read_bytes() == before


def _stamp(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table alembic_version (version_num varchar(32) "
                             "not null primary key)"))
        conn.execute(sa.text("insert into alembic_version values (:v)"), {"v": revision})
    engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_database_newer_than_the_code_is_refused_untouched(store_url: str) -> None:
    _stamp(store_url, "9999")
    for readonly in (False, True):
        with pytest.raises(StoreError) as caught:
            ResultStore(store_url, readonly=readonly)
        message = str(caught.value)
        assert "schema revision '9999' is newer than this aichaos knows" in message
        assert f"(newest '{head_revision()}'); upgrade aichaos" in message
        assert "\n" not in message
    assert _tables(store_url) == {"alembic_version"}


def test_a_foreign_runs_table_is_refused_and_nothing_is_created(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table runs (id integer primary key, name text)"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"table 'runs' lacks column\(s\) deviated, "
                       r"ended_at, .*: not an aichaos results database"):
        ResultStore(store_url)
    assert _tables(store_url) == {"runs"}  # no version table, no cases table half-made


def _legacy_schema(url: str) -> None:
    """What aichaos 0.1 made: revision 0001's tables without a version table, one run."""
    from alembic import command

    from aichaos.store._schema import _config

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0001")
        conn.execute(sa.text("drop table alembic_version"))
        conn.execute(sa.text("insert into runs (run_id, title, status) "
                             "values ('old', 'old bot', 'completed')"))
    engine.dispose()


def test_a_migration_that_fails_halfway_leaves_nothing_of_itself(store_url: str) -> None:
    _legacy_schema(store_url)
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:  # takes the name revision 0003's last index needs
        conn.execute(sa.text("create table ix_cases_run_case_variant (x integer)"))
    engine.dispose()
    with pytest.raises(StoreError) as caught:
        ResultStore(store_url)
    assert "schema migration failed:" in str(caught.value)
    assert "\n" not in str(caught.value)
    # 0002's table and 0003's first indexes were rolled back with the stamp
    assert _tables(store_url) == {"runs", "cases", "ix_cases_run_case_variant"}
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        assert {i["name"] for i in sa.inspect(conn).get_indexes("runs")} == set()
        conn.execute(sa.text("drop table ix_cases_run_case_variant"))
    engine.dispose()
    with ResultStore(store_url) as store:
        assert store.revision_before == "legacy"
        assert store.run("old")["title"] == "old bot"
