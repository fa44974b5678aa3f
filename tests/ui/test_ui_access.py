"""Access rules of the run browser: open on 127.0.0.1, a token anywhere else (401 without
it), a Host-header guard, and a store that is never written."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import sqlalchemy as sa
from ui_harness import Tab, UIProcess, start_ui
from ui_seed import Seeded

from aichaos.errors import StoreError
from aichaos.store import cases, runs
from aichaos.ui import StoreReader, needs_token

# 127.0.0.2 is loopback too (127.0.0.0/8), so binding it exposes nothing, yet it is "not
# 127.0.0.1" for the token rule: it stands in for an address other machines could reach.
OFF_DEFAULT = "127.0.0.2"


def test_the_token_rule_covers_every_address_but_loopback_names() -> None:
    assert [needs_token(h) for h in ("127.0.0.1", "::1", "localhost")] == [False] * 3
    assert [needs_token(h) for h in ("127.0.0.2", "0.0.0.0", "192.168.1.5", "::")] == [True] * 4


def test_loopback_needs_no_token_but_rejects_a_foreign_host_header(
        ui_server: UIProcess) -> None:
    ok = httpx.get(ui_server.base + "/")
    assert ok.status_code == 200 and "Runs by experiment" in ok.text
    csp = ok.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert ok.headers["referrer-policy"] == "no-referrer"
    rebound = httpx.get(ui_server.base + "/", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400


def test_off_loopback_every_request_needs_the_printed_token(
        seeded: Seeded, tab: Tab) -> None:
    ui = start_ui(seeded.url, host=OFF_DEFAULT)
    try:
        printed = "".join(ui.lines)
        match = re.search(rf"serving (http://{re.escape(OFF_DEFAULT)}:\d+)/\?token=(\S+) ",
                          printed)
        assert match, printed
        base, token = match.groups()
        assert base == ui.base and len(token) >= 40
        assert "token generated" in printed
        for path in ("/", "/healthz", f"/runs/{seeded.runs[seeded.titles[0]][0]}"):
            denied = httpx.get(base + path)
            assert denied.status_code == 401, path
            assert denied.headers["www-authenticate"].startswith("Bearer")
            assert "Runs by experiment" not in denied.text
        assert httpx.get(base + "/?token=wrong").status_code == 401
        assert httpx.get(base + "/", headers={"Authorization": "Bearer wrong"}
                         ).status_code == 401
        bearer = httpx.get(base + "/", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 200 and "Runs by experiment" in bearer.text
        # in the browser: the printed link opens the app, its cookie keeps links working
        page = tab.page
        response = page.goto(f"{base}/?token={token}")
        assert response is not None and response.status == 200
        run_link = page.locator("a.run-link").first
        href = run_link.get_attribute("href")
        assert href is not None and "token" not in href
        run_link.click()
        assert urlparse(page.url).path == href
        assert page.locator("#overall .grade").count() == 1
        assert tab.problems == []
    finally:
        ui.stop()


def _fingerprint(url: str) -> tuple[Any, ...]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                           for t in (runs, cases))
            top = conn.execute(sa.select(sa.func.max(cases.c.id))).scalar()
            statuses = tuple(conn.execute(sa.select(runs.c.run_id, runs.c.status, runs.c.ended_at)
                                          .order_by(runs.c.run_id)).all())
    finally:
        engine.dispose()
    return counts, top, statuses


def test_a_browsing_session_leaves_the_store_unchanged(
        seeded: Seeded, ui_server: UIProcess) -> None:
    db = Path(seeded.url.removeprefix("sqlite:///")) if seeded.url.startswith("sqlite") \
        else None
    digest = hashlib.sha256(db.read_bytes()).hexdigest() if db else None
    before = _fingerprint(seeded.url)
    ids = seeded.runs[seeded.titles[0]]
    paths = ["/", f"/runs/{ids[2]}", f"/runs/{ids[2]}/case?id=item-3&variant=clean",
             f"/compare?a={ids[0]}&b={ids[2]}", f"/compare?a=latest&b={ids[2]}",
             f"/trends?experiment={seeded.titles[0]}&warmup=2", "/runs/nope",
             f"/compare?a=baseline&b={ids[0]}"]
    statuses = [httpx.get(ui_server.base + p).status_code for p in paths]
    assert statuses == [200, 200, 200, 200, 200, 200, 404, 400]
    assert _fingerprint(seeded.url) == before
    if db is not None:
        assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
        wal = db.with_name(db.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # no frame was ever written
        tables = sa.inspect(sa.create_engine(seeded.url)).get_table_names()
        # compare a=baseline created nothing: the tables are the store's migrated schema
        assert sorted(tables) == ["alembic_version", "baselines", "cases", "runs"]


def test_the_reader_refuses_writes_at_the_database(seeded: Seeded) -> None:
    reader = StoreReader(seeded.url)
    try:
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read-?only"), \
                reader.engine.begin() as conn:
            conn.execute(runs.update().values(status="tampered"))
    finally:
        reader.close()
    assert "tampered" not in {s for _r, s, _e in _fingerprint(seeded.url)[2]}


@pytest.mark.parametrize(("url", "message"), [
    ("nope", "store nope:...: not a SQLAlchemy URL"),
    ("nosuchdb://x/y", "store nosuchdb://x/y: driver not installed"),
    ("sqlite:///{tmp}/missing.db", "store sqlite:///{tmp}/missing.db: no database file at"),
    ("sqlite:///{tmp}/other.db", "store sqlite:///{tmp}/other.db: no 'runs' table"),
])
def test_bad_store_urls_raise_one_clear_line(tmp_path: Path, url: str, message: str) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("create table t (x int)"))
    engine.dispose()
    with pytest.raises(StoreError) as info:
        StoreReader(url.format(tmp=tmp_path))
    text = str(info.value)
    assert text.startswith(message.format(tmp=tmp_path)) and "\n" not in text, text


def test_prepare_generates_a_token_only_off_loopback_and_refuses_an_empty_one(
        seeded: Seeded) -> None:
    from aichaos.demo import free_port
    from aichaos.errors import ConfigError
    from aichaos.ui import prepare

    local = prepare(seeded.url, host="127.0.0.1", port=free_port())
    assert local.token is None and local.link == f"{local.url}/"
    off = prepare(seeded.url, host=OFF_DEFAULT, port=free_port(OFF_DEFAULT))
    assert off.token and off.link == f"{off.url}/?token={off.token}"
    given = prepare(seeded.url, host=OFF_DEFAULT, port=free_port(OFF_DEFAULT), token="s3cret")
    assert given.token == "s3cret"
    with pytest.raises(ConfigError, match="--token: expected a non-empty token"):
        prepare(seeded.url, host=OFF_DEFAULT, port=free_port(OFF_DEFAULT), token=" ")


def test_the_token_in_the_link_sets_a_cookie_that_later_requests_use(seeded: Seeded) -> None:
    from starlette.testclient import TestClient

    from aichaos.ui import create_app

    app = create_app(StoreReader(seeded.url), token="t0ken")
    with TestClient(app, base_url="http://127.0.0.2") as client:
        assert client.get("/").status_code == 401
        first = client.get("/?token=t0ken")
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert cookie.startswith("aichaos_ui_token=t0ken;") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        again = client.get(f"/runs/{seeded.runs[seeded.titles[0]][0]}")  # cookie only
        assert again.status_code == 200 and "set-cookie" not in again.headers
        client.cookies.clear()
        assert client.get("/").status_code == 401


def test_a_store_that_goes_away_while_serving_is_a_503_page(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from aichaos.store import ResultStore
    from aichaos.ui import create_app

    db = tmp_path / "aichaos.db"
    ResultStore(f"sqlite:///{db}").close()  # an empty store: the tables, no run
    reader = StoreReader(f"sqlite:///{db}")
    with TestClient(create_app(reader)) as client:
        empty = client.get("/")
        assert empty.status_code == 200 and "holds no runs yet" in empty.text
        reader.engine.dispose()
        for path in tmp_path.iterdir():
            path.unlink()
        gone = client.get("/")
        assert gone.status_code == 503
        line = re.search(r'id="error">([^<]*)<', gone.text)
        assert line and line.group(1) == f"store sqlite:///{db}: read failed: unable to open " \
            "database file"
