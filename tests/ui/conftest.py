"""Fixtures of the run-browser tests: a store seeded by real ``aichaos run`` runs, the real
``aichaos ui`` server in a subprocess, and Debian's Chromium driven by Playwright.

Backends: every store-backed test runs on SQLite and on a database of the session's real
PostgreSQL server (``pg_cluster``, tests/conftest.py), or of ``AICHAOS_TEST_POSTGRES_URL``
when that is set. Seeded experiment titles carry a per-session suffix there, so a shared
database with other runs in it does not disturb the assertions.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from ui_harness import CHROMIUM, CHROMIUM_ARGS, Tab, UIProcess, start_ui
from ui_seed import Seeded, seed


def _postgres_url(request: pytest.FixtureRequest) -> str:
    if os.environ.get("AICHAOS_TEST_POSTGRES_URL"):
        return os.environ["AICHAOS_TEST_POSTGRES_URL"]
    return str(request.getfixturevalue("pg_cluster").create_database())


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A store holding 3 runs of one experiment (good, good, bad release) and 1 of another."""
    work = tmp_path_factory.mktemp(f"ui-{request.param}")
    if request.param == "sqlite":
        return seed(f"sqlite:///{work / 'aichaos.db'}", work)
    return seed(_postgres_url(request), work, suffix=f" [{uuid.uuid4().hex[:6]}]")


@pytest.fixture(scope="session")
def ui_server(seeded: Seeded) -> Iterator[UIProcess]:
    """``aichaos ui`` on loopback (no token) over the seeded store."""
    ui = start_ui(seeded.url)
    try:
        yield ui
    finally:
        ui.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module: Playwright's sync API keeps an event loop running on
    this thread while it lives, which would break later tests that call ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield Tab(page, problems)
    finally:
        context.close()
