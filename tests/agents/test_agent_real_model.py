"""The `openai` agent type driven by the real local model: SmolLM2-135M under
llama-cpp-python's server with the `chatml-function-calling` chat format, the first tool call
forced (`tool_choice: first`: the 135M model does not choose tools on its own), against the
demo's CRM MCP server behind the MCP chaos proxy. The trajectory records the call the model
made, as it made it; the model's arguments are often wrong, which is why the demo agent plans
with a fixed rule."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from aichaos.agents import run_standalone
from aichaos.config import AgentTasks
from aichaos.demo import free_port
from aichaos.demo._llm import model_path

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tool_model(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
             "--chat_format", "chatml-function-calling", "--model_alias", "smollm2"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"model server did not start: {log.read_text()[-300:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(15)


async def test_real_model_forced_tool_call_recorded(tool_model, crm):
    cfg = AgentTasks.model_validate({
        "agent": {"type": "openai", "base_url": tool_model, "model": "smollm2",
                  "tool_choice": "first", "max_tokens": 48, "timeout_s": 240},
        "mcp_servers": {"crm": {"url": crm.url, "side_effecting": ["refund"]}},
        "tasks": [{"id": "status", "goal": "What is the status of order NW-10201?",
                   "success": {"expected": "delivered"}, "max_steps": 2}]})
    [run] = await run_standalone(cfg)
    assert not run.answer.crashed and not run.answer.hung, run.answer.error
    calls = run.tool_calls
    assert calls and calls[0].tool == "lookup_order"  # the forced first call
    assert isinstance(calls[0].arguments, dict) and calls[0].proxy == "crm"
    assert calls[0].outcome in ("ok", "tool_error")  # the server judged the model's arguments
    assert run.steps <= 2 and run.answer.model_steps is not None and run.answer.model_steps >= 2
    assert (run.answer.input_tokens or 0) > 0 and (run.answer.output_tokens or 0) > 0
