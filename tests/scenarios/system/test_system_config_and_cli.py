"""The ``system:`` block through ``aichaos validate``, ``aichaos init --gateway litellm`` and
the JUnit report: a misdeclared check is one line with exit 2; the preset wires every
deployment through a chaos proxy; a not-measured check is skipped in JUnit, never passed."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aichaos.cli import app
from aichaos.config import load_experiment
from aichaos.errors import ConfigError
from aichaos.report import render_junit, render_markdown
from aichaos.results import Check, LayerResult, Scorecard
from aichaos.system import litellm_preset
from tests_support import write

AICHAOS = [sys.executable, "-m", "aichaos"]
BASE = """
title: x
target: {type: openai, base_url: "http://127.0.0.1:9/v1"}
dependencies: {llm: {upstream: "http://127.0.0.1:9"}, payments: {upstream: "http://127.0.0.1:8"}}
"""


def aichaos(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AICHAOS, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"})


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(("system", "expected"), [
    ("{cache: {dependency: llm_provider}}",
     "system: cache.dependency: unknown dependency 'llm_provider'; known: llm, payments"),
    ("{side_effects: [{dependency: refunds, inputs: [refund order 1]}]}",
     "system: side_effects[0].dependency: unknown dependency 'refunds'; known: llm, payments"),
    ("{side_effects: [{dependency: payments, inputs: []}]}",
     "system.side_effects[0].inputs: List should have at least 1 item"),
    ("{users: {alice: {extra_body: {user: alice}}}}",
     "system.users: declare at least two users"),
    ("{users: {alice: {}, bob: {headers: {X-User: bob}}}}",
     "system.users.alice: a user needs headers or extra_body that identify it"),
    ("{cache: {dependency: llm, vary: {temperature: {temprature: 0.9}}}}",
     "system.cache.vary: vary.temperature: expected target settings among model"),
    ("{gateway: {type: kong, config: x.yaml}}", "system.gateway.type: expected 'litellm'"),
    ("{failover: {primary: llm, fallbacks: [backup]}}",
     "system: failover.fallbacks[0]: unknown dependency 'backup'; known: llm, payments"),
    ("{failover: {primary: llm, fallbacks: [llm]}}",
     "system: failover.fallbacks: the primary 'llm' cannot be its own fallback"),
])
def test_a_misdeclared_system_check_is_one_line_naming_the_field(
        tmp_path: Path, system: str, expected: str) -> None:
    f = write(tmp_path / "exp.yaml", BASE + f"system: {system}\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(f)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{f}: ") and expected in line, line


def test_validate_exits_2_on_a_misdeclared_system_check(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", BASE + "system: {cache: {dependency: llm_provider}}\n")
    line = one_error_line(aichaos("validate", str(f)))
    assert line.startswith(f"error: {f}: system: cache.dependency: unknown dependency "
                           "'llm_provider'; known: llm, payments")


def test_users_on_a_target_that_cannot_send_them_are_rejected(tmp_path: Path) -> None:
    f = write(tmp_path / "exp.yaml", """
title: x
target: {type: mock}
system: {users: {a: {headers: {X-User: a}}, b: {headers: {X-User: b}}}}
""")
    with pytest.raises(ConfigError) as err:
        load_experiment(f)
    line = str(err.value)
    assert "system: users: needs an openai or http target" in line and "'mock'" in line


LITELLM = {
    "model_list": [
        {"model_name": "gpt-main", "litellm_params": {
            "model": "openai/m1", "api_base": "http://127.0.0.1:8777/v1"}},
        {"model_name": "gpt-main", "litellm_params": {
            "model": "openai/m1b", "api_base": "http://127.0.0.1:8778/v1"}},
        {"model_name": "backup", "litellm_params": {
            "model": "openai/m2", "api_base": "https://backup.example/openai/v1"}}],
    "litellm_settings": {"cache": True, "cache_params": {"type": "local"}},
    "router_settings": {"fallbacks": [{"gpt-main": ["backup"]}]},
}


def test_litellm_preset_puts_a_proxy_in_front_of_every_deployment(tmp_path: Path) -> None:
    cfg = write(tmp_path / "litellm.yaml", yaml.safe_dump(LITELLM))
    ports = iter([20001, 20002, 20003])
    preset = litellm_preset(cfg, port=lambda: next(ports))
    bases = [m["litellm_params"]["api_base"] for m in preset.config["model_list"]]
    assert bases == ["http://127.0.0.1:20001/v1", "http://127.0.0.1:20002/v1",
                     "http://127.0.0.1:20003/openai/v1"]
    deps = preset.experiment["dependencies"]
    assert deps == {"gpt_main": {"upstream": "http://127.0.0.1:8777",
                                 "listen": "127.0.0.1:20001"},
                    "gpt_main_2": {"upstream": "http://127.0.0.1:8778",
                                   "listen": "127.0.0.1:20002"},
                    "backup": {"upstream": "https://backup.example",
                               "listen": "127.0.0.1:20003"}}
    toxic = preset.experiment["layers"]["integration"]["toxics"][0]
    assert toxic["dependency"] == "gpt_main" and toxic["fallback"] == "backup"
    assert preset.experiment["system"]["cache"]["dependency"] == "gpt_main"
    assert preset.experiment["system"]["failover"] == {"primary": "gpt_main",
                                                       "fallbacks": ["backup"]}
    assert LITELLM["model_list"][0]["litellm_params"]["api_base"].endswith(":8777/v1")


def test_init_gateway_writes_files_that_validate(tmp_path: Path) -> None:
    cfg = write(tmp_path / "litellm.yaml", yaml.safe_dump(LITELLM))
    out = tmp_path / "exp.yaml"
    res = CliRunner().invoke(app, ["init", "--gateway", "litellm", str(cfg), "-o", str(out)])
    assert res.exit_code == 0, res.output
    rewritten = yaml.safe_load((tmp_path / "litellm.aichaos.yaml").read_text())
    exp = load_experiment(out, require_secrets=False)
    assert exp.system is not None and exp.system.gateway is not None
    assert exp.system.gateway.proxied_config == str(tmp_path / "litellm.aichaos.yaml")
    listens = {d.listen for d in exp.dependencies.values()}
    assert {m["litellm_params"]["api_base"].split("/")[2] for m in rewritten["model_list"]} \
        == listens
    checked = CliRunner().invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0, checked.output
    again = CliRunner().invoke(app, ["init", "--gateway", "litellm", str(cfg), "-o", str(out)])
    assert again.exit_code == 2 and "exp.yaml: already exists (use --force to overwrite)" in \
        again.output


@pytest.mark.parametrize(("content", "expected"), [
    ("model_list: []\n", "model_list: expected a list of deployments"),
    ("model_list: [{model_name: gpt-4o, litellm_params: {model: openai/gpt-4o}}]\n",
     "model_list[0] (gpt-4o): litellm_params.api_base: expected an http(s) URL"),
    ("model_list: [\n", "invalid YAML"),
])
def test_init_gateway_bad_config_is_one_line(tmp_path: Path, content: str,
                                             expected: str) -> None:
    cfg = write(tmp_path / "litellm.yaml", content)
    out = tmp_path / "experiment.yaml"
    res = CliRunner().invoke(app, ["init", "--gateway", "litellm", str(cfg), "-o", str(out)])
    assert res.exit_code == 2
    assert f"{cfg}: " in res.output and expected in res.output, res.output
    assert not out.exists()
    res = CliRunner().invoke(app, ["init", "--gateway", "kong", str(cfg), "-o", str(out)])
    assert res.exit_code == 2 and "--gateway: expected one of litellm, got 'kong'" in \
        res.output


def test_junit_shows_a_not_measured_check_as_skipped() -> None:
    reason = "no cache detected (repeating 2 requests made as many calls)"
    layer = LayerResult(3, 80.0, checks=[
        Check("integration.system.cache_key.seed", False, None, "== 0", "hits", reason,
              not_measured=reason),
        Check("integration.x.success_rate", True, 1.0, ">= 0.9", "ratio", "ok")])
    card = Scorecard()
    card.layers[3] = layer
    root = ET.fromstring(render_junit(card.to_dict(), {}).encode())
    case = next(c for c in root.iter("testcase")
                if c.get("name") == "integration.system.cache_key.seed")
    skipped = case.find("skipped")
    assert case.find("failure") is None and skipped is not None
    assert skipped.get("message") == f"not measured: {reason}"
    md = render_markdown(card.to_dict(), {})
    assert "## Not measured checks (1)" in md and "## Failed checks (0)" in md
    assert f"`integration.system.cache_key.seed` (Integration reliability): {reason}" in md
