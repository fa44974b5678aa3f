"""``run``, ``replay``, ``compare`` and ``watch`` through the real CLI against a store URL,
on SQLite and on a real PostgreSQL; and the bad-input paths of a store: wrong URL, database
down, wrong password, schema newer than the code: one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from store_support import aichaos, error_lines
from typer.testing import CliRunner

from aichaos.demo import free_port
from aichaos.store import ResultStore
from store_pg import PASSWORD
from tests_support import write

CASES = 8
EXPERIMENT = """
title: store cli bot
target:
  type: mock
  default: "no idea"
  answers: {answers}
dataset: data.yaml
steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.5}}}}}}
store: {{url: "{url}"}}
report: {{formats: [json]}}
"""


def _experiment(tmp_path: Path, name: str, url: str, *, good: bool) -> Path:
    answers = {f"question {i}": f"the answer {i}" for i in range(CASES)} if good else {}
    write(tmp_path / "data.yaml", "cases:\n" + "".join(
        f"  - {{id: c{i}, input: question {i}, expected: [answer {i}]}}\n"
        for i in range(CASES)))
    return write(tmp_path / name, EXPERIMENT.format(answers=json.dumps(answers), url=url))


def _cli(*args: str) -> tuple[int, str, str]:
    """The real ``aichaos`` app in-process (cheaper than a process per command)."""
    from aichaos.cli._main import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_run_replay_compare_and_pin_on_one_store(store_url: str, tmp_path: Path) -> None:
    _experiment(tmp_path, "good.yaml", store_url, good=True)
    _experiment(tmp_path, "bad.yaml", store_url, good=False)
    proc = aichaos("run", "good.yaml", cwd=tmp_path)  # the real entry point, once
    assert proc.returncode == 0, proc.stderr
    code, _, err = _cli("run", str(tmp_path / "bad.yaml"), "--results",
                        str(tmp_path / "aichaos-results"))
    assert code == 1 and "gate: 1 failed check: capability.accuracy" in err, err  # a bad release
    assert not (tmp_path / "aichaos-results" / "aichaos.db").exists()  # the URL was used
    with ResultStore(store_url, readonly=True) as store:
        bad, good = (r["run_id"] for r in store.latest_runs("store cli bot"))
        assert store.count_cases(good) == CASES + 2  # and the hypothesis before and after
        assert store.run(bad)["status"] == "completed"
        stored_experiment = json.loads(store.run(good)["experiment"])
    journal = next((tmp_path / "aichaos-results").glob("2*/journal.json")).read_text()
    if store_url.startswith("postgresql"):  # the database password is kept out of both
        assert PASSWORD in store_url and PASSWORD not in journal
        assert "postgres:***@" in stored_experiment["store"]["url"]
        assert PASSWORD not in json.dumps(stored_experiment)

    code, out, err = _cli("replay", good[:-2], "--case", "c3", "--db", store_url)
    assert code == 0, err
    assert "now:     'the answer 3'" in out and "stored:  'the answer 3'" in out
    code, out, err = _cli("replay", bad, "--case", "c3", "--db", store_url)
    assert code == 0, err
    assert "stored:  'no idea'" in out  # the stored answer, read back from this store

    code, out, err = _cli("compare", good, bad, "--db", store_url, "--json",
                          "--no-embeddings")
    assert code == 1, err
    verdicts = {m["metric"]: m["verdict"] for m in json.loads(out)["metrics"]}
    assert verdicts["pass_rate"] == "worse"
    code, out, err = _cli("compare", good, "--pin", "--db", store_url)
    assert code == 0 and f"pinned {good} as the baseline of 'store cli bot'" in out, err
    code, out, err = _cli("compare", "baseline", "latest", "--db", store_url, "--json",
                          "--no-embeddings")
    assert code == 1, err
    data = json.loads(out)
    assert (data["run_a"], data["run_b"]) == (good, bad)


def test_watch_stores_each_iteration(store_url: str, tmp_path: Path) -> None:
    _experiment(tmp_path, "good.yaml", store_url, good=True)
    code, out, err = _cli("watch", str(tmp_path / "good.yaml"), "--iterations", "2",
                          "--interval", "0", "--sample", "2", "--metrics-listen", "",
                          "--results", str(tmp_path / "res"))
    assert code == 0, err
    assert "2 iterations, 0 alarm(s)" in out
    with ResultStore(store_url, readonly=True) as store:
        runs = store.latest_runs()
        assert len(runs) == 2 and all(r["status"] == "completed" for r in runs)
        assert all(store.count_cases(r["run_id"]) == 2 for r in runs)


def _bad_store_run(tmp_path: Path, url: str, *, subprocess: bool = False
                   ) -> tuple[int, list[str]]:
    exp = _experiment(tmp_path, "exp.yaml", url, good=True)
    results = tmp_path / "aichaos-results"
    if subprocess:
        proc = aichaos("run", "exp.yaml", cwd=tmp_path)
        code, err = proc.returncode, proc.stderr
    else:
        code, _, err = _cli("run", str(exp), "--results", str(results))
    assert "Traceback" not in err
    assert not list(results.glob("2*"))  # no journal, no report
    return code, error_lines(err)


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql://u:pw@127.0.0.1/db", "store mysql://u:***@127.0.0.1/db: unsupported database "
     "'mysql' (expected sqlite:///PATH or postgresql+psycopg://"),
    ("not a url", "store url 'not a url': not a database URL (expected sqlite:///PATH"),
    ("sqlite:///no/such/dir/x.db", "store sqlite:///no/such/dir/x.db: directory "
     "no/such/dir does not exist"),
])
def test_a_wrong_store_url_is_one_line_and_exit_2(tmp_path: Path, url: str,
                                                  expected: str) -> None:
    code, lines = _bad_store_run(tmp_path, url)
    assert code == 2
    assert len(lines) == 1 and expected in lines[0], lines


def test_a_postgresql_that_is_down_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://aichaos:hunter2pw@127.0.0.1:{free_port()}/results"
    code, lines = _bad_store_run(tmp_path, url, subprocess=True)
    assert code == 2 and len(lines) == 1, lines
    assert "cannot connect:" in lines[0] and "Connection refused (is the database server " \
        "running?)" in lines[0]
    assert "aichaos:***@127.0.0.1" in lines[0] and "hunter2pw" not in lines[0]
    for args in (["compare", "latest", "latest"], ["replay", "r1", "--case", "c"]):
        code, _, err = _cli(*args, "--db", url)
        assert code == 2 and "cannot connect:" in err and len(error_lines(err)) == 1


def test_a_wrong_postgresql_password_is_one_line_and_exit_2(tmp_path: Path, pg_cluster) -> None:
    url = pg_cluster.url(password="not-the-password")
    code, lines = _bad_store_run(tmp_path, url)
    assert code == 2 and len(lines) == 1, lines
    assert 'password authentication failed for user "postgres"' in lines[0]
    assert "not-the-password" not in lines[0]


def test_a_store_newer_than_the_code_stops_every_command(store_url: str,
                                                         tmp_path: Path) -> None:
    with ResultStore(store_url) as store, store.engine.begin() as conn:
        conn.execute(sa.text("update alembic_version set version_num = '9999'"))
    code, lines = _bad_store_run(tmp_path, store_url)
    assert code == 2 and len(lines) == 1, lines
    assert "schema revision '9999' is newer than this aichaos knows" in lines[0]
    for args in (["compare", "latest", "latest"], ["replay", "r1", "--case", "c"]):
        code, _, err = _cli(*args, "--db", store_url)
        assert code == 2 and "is newer than this aichaos knows" in err, err
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:  # nothing was written: no run, the stamp as it was
        assert conn.execute(sa.text("select count(*) from runs")).scalar() == 0
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == (
            "9999")
    engine.dispose()


def test_a_missing_postgresql_driver_is_one_line_and_exit_2(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if aichaos[psycopg] were absent
    code, lines = _bad_store_run(tmp_path, "postgresql://u:pw@127.0.0.1:5432/db")
    assert code == 2 and len(lines) == 1, lines
    assert ("store postgresql+psycopg://u:***@127.0.0.1:5432/db: the database driver "
            "'psycopg' is not installed (pip install 'aichaos[psycopg]')") in lines[0]


def test_a_file_that_is_not_a_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    notes = tmp_path / "my notes.db"
    notes.write_text("not a database, just text\n" * 100)
    code, lines = _bad_store_run(tmp_path, f"sqlite:///{notes}")
    assert code == 2 and len(lines) == 1, lines
    assert "file is not a database" in lines[0]
    code, _, err = _cli("replay", "r1", "--case", "c", "--db", f"sqlite:///{notes}")
    assert code == 2 and "file is not a database" in err
    assert notes.read_text() == "not a database, just text\n" * 100  # left as it was
