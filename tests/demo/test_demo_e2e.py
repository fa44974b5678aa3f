"""End to end: ``aichaos demo --quick`` as a user runs it, then its HTML report in a real
headless Chromium (Debian's package, driven by Playwright with executable_path set)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _layers(journal: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {lay["layer"]: lay for lay in journal["aichaos"]["scorecard"]["layers"]}


def _port_open(url: str) -> bool:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "aichaos", "demo", "--quick"], cwd=work,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "COLUMNS": "160"})
    return work / "aichaos-results", proc


def test_demo_assesses_both_profiles_and_stops_everything(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    results, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "Readiness comparison" in proc.stdout
    summary = json.loads((results / "demo-summary.json").read_text())
    assert set(summary) == {"naive", "hardened"}
    journals = {p: json.loads((Path(s["directory"]) / "journal.json").read_text())
                for p, s in summary.items()}
    for journal in journals.values():
        assert journal["status"] == "completed"
        assert all(r["status"] == "succeeded" for r in journal["rollbacks"])
    naive, hardened = (_layers(journals[p]) for p in ("naive", "hardened"))
    # the system around the model matters: same model, better layers 2, 3 and 5
    for layer in (2, 3, 5):
        assert hardened[layer]["score"] is not None, hardened[layer]["note"]
        assert naive[layer]["score"] is not None, naive[layer]["note"]
        assert hardened[layer]["score"] > naive[layer]["score"] + 20, (
            layer, naive[layer]["score"], hardened[layer]["score"])
    # the reasons are visible in the checks
    checks = {c["name"]: c for c in naive[2]["checks"]}
    assert not checks["input_resilience.clarification"]["passed"]
    assert {c["name"]: c for c in hardened[2]["checks"]}["input_resilience.clarification"][
        "passed"]
    # hardened traces each request as one trace: server span, retrieval, CRM and GenAI spans
    correlation = {c["name"]: c for c in hardened[5]["checks"]}["observability.correlation"]
    assert correlation["passed"], correlation["message"]
    # no process or port left behind
    for url in (summary["naive"]["directory"],):
        assert Path(url).is_dir()
    for journal in journals.values():
        assert not _port_open(journal["experiment"]["target"]["base_url"])
        for dep in journal["experiment"]["dependencies"].values():
            assert not _port_open("http://" + dep["listen"])


def test_html_report_renders_in_chromium_without_console_errors(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    from playwright.sync_api import sync_playwright

    results, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((results / "demo-summary.json").read_text())
    page_path = Path(summary["naive"]["directory"]) / "report.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(page_path.as_uri())
            assert page.locator("text=AI Production Readiness Stack").count() >= 1
            assert page.locator("svg").count() >= 2  # charts: scores, perturbations, faults
            links = page.locator("a[href^='#case-']")
            assert links.count() >= 1
            target = links.first.get_attribute("href")
            assert target and page.locator(target).count() == 1  # links land on a case
            assert problems == []
        finally:
            browser.close()
