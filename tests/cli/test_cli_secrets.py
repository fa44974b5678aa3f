"""Commands that send nothing do not need the target's API key variable; ``run`` does.

``validate`` and ``proxy start --experiment`` warn that the variable is unset and carry on;
``run`` refuses with one line naming the variable (exit 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from aichaos.cli._main import app
from tests_support import write

VAR = "AICHAOS_TEST_UNSET_API_KEY"

EXPERIMENT = f"""
title: needs a key
target:
  type: openai
  base_url: http://127.0.0.1:9/v1
  api_key: {{type: env, key: {VAR}}}
dependencies:
  llm_provider: {{upstream: "http://127.0.0.1:9", listen: "127.0.0.1:0"}}
dataset: data.yaml
"""

DATA = """
cases:
  - {id: a, input: "hello", expected: ["hi"]}
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != VAR}
    return {**env, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def _setup(tmp_path: Path) -> Path:
    write(tmp_path / "data.yaml", DATA)
    return write(tmp_path / "exp.yaml", EXPERIMENT)


def _cli(*args: str, value: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env={VAR: value, "COLUMNS": "200"},
                              catch_exceptions=False)


def test_validate_warns_about_the_unset_key_and_passes(tmp_path: Path) -> None:
    exp = _setup(tmp_path)
    result = _cli("validate", str(exp))
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert f"warning: api_key: environment variable {VAR} is not set" in result.stderr
    assert "aichaos run` will need it" in result.stderr


def test_run_still_requires_the_key(tmp_path: Path) -> None:
    exp = _setup(tmp_path)
    result = _cli("run", str(exp), "--results", str(tmp_path / "results"))
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "target.api_key" in lines[0]
    assert f"environment variable {VAR} is not set and has no default" in lines[0]
    assert not (tmp_path / "results").exists()  # nothing ran, nothing stored


def test_validate_with_the_key_set_prints_no_warning(tmp_path: Path) -> None:
    exp = _setup(tmp_path)
    result = _cli("validate", str(exp), value="sk-set")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


def test_proxy_start_from_the_experiment_needs_no_key(tmp_path: Path) -> None:
    _setup(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aichaos", "proxy", "start", "--experiment", "exp.yaml",
         "--control", "127.0.0.1:0", "--no-check-upstream"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=_env())
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("proxy llm_provider:"):
                break
        assert any(line.startswith("control API http://127.0.0.1:") for line in lines), lines
        assert any("proxy llm_provider: 127.0.0.1:" in line for line in lines), lines
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped; all toxics removed" in out
    assert f"warning: api_key: environment variable {VAR} is not set" in err
