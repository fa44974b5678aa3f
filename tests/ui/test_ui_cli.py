"""``aichaos ui`` bad input: one clear line on stderr, exit 2, nothing served."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from ui_seed import Seeded, run_cli


def _free_then_held() -> tuple[socket.socket, int]:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    return held, held.getsockname()[1]


@pytest.mark.parametrize(("args", "message"), [
    (["--store", "postgresql+psycopg://u:secret@127.0.0.1:1/db"],
     "error: store postgresql+psycopg://u:***@127.0.0.1:1/db: "),
    (["--store", "nope"], "error: store nope:...: not a SQLAlchemy URL"),
    (["--results", "{tmp}/none"], "error: --results: no results database at {tmp}/none/aichaos.db"),
    (["--store", "sqlite:///{tmp}/x.db", "--results", "{tmp}"],
     "error: --store and --results: give one of them"),
    (["--store", "sqlite:///{tmp}/x.db", "--port", "0"], "error: --port: expected 1-65535, got 0"),
])
def test_bad_input_prints_one_line_and_exits_2(tmp_path: Path, args: list[str],
                                                message: str) -> None:
    code, out, err = run_cli("ui", *[a.format(tmp=tmp_path) for a in args])
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(tmp=tmp_path)), err
    assert "secret" not in err and "Traceback" not in err and out == ""


def test_an_unreachable_postgresql_is_one_line_naming_the_store(tmp_path: Path) -> None:
    code, _out, err = run_cli("ui", "--store", "postgresql+psycopg://u:pw@127.0.0.1:1/db")
    assert code == 2
    line = err.strip()
    # psycopg installed: the connection is refused; not installed: the driver is named
    assert ("cannot open:" in line or "driver not installed" in line) and "pw" not in line, line


def test_a_port_in_use_is_refused_before_serving(seeded_db: str) -> None:
    held, port = _free_then_held()
    try:
        code, out, err = run_cli("ui", "--store", seeded_db, "--port", str(port))
    finally:
        held.close()
    assert code == 2 and out == ""
    assert err.strip() == f"error: --host/--port 127.0.0.1:{port}: cannot listen (address in use)"


@pytest.fixture
def seeded_db(seeded: Seeded) -> str:
    return seeded.url
