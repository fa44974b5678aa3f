"""A real LiteLLM proxy (``litellm[proxy]`` from PyPI, in ``.venv-litellm``: its pins differ
from ours) with a primary and a fallback deployment, each behind a chaos proxy that
``aichaos init --gateway litellm`` wired, in front of a deterministic local provider.

aichaos's verdicts are checked against what really happened at the provider: the fallback
served while the primary failed, and with LiteLLM's in-memory cache (type ``local``) users
identified by a header share cached answers (the victim: LiteLLM keys its cache on the
request's parameters, the OpenAI ``user`` field among them, not on headers) while users
identified by the ``user`` field do not (the twin).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from system_apps import Provider

from aichaos.cli._gateway import write_gateway_preset
from aichaos.config import load_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import Check, Scorecard
from aichaos.runner import EventBus, Runner
from tests_support import ROOT

LITELLM = Path(os.environ.get("AICHAOS_LITELLM") or ROOT / ".venv-litellm" / "bin" / "litellm")
KEY = "sk-aichaos-e2e-0123456789abcdef"
CASES = [Case(id=f"c{i}", input=f"Where is parcel {i}?", expected=[f"parcel {i}"])
         for i in (1, 2, 3)]


class ThreadedProvider:
    """:class:`Provider` served from its own event loop in a thread (the runs own theirs)."""

    def __init__(self) -> None:
        self.provider = Provider()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.provider.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.provider.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Gateway:
    experiment: Path
    provider: Provider
    url: str


def _litellm_config(provider_url: str) -> dict[str, Any]:
    def deployment(name: str, model: str) -> dict[str, Any]:
        return {"model_name": name, "litellm_params": {
            "model": f"openai/{model}", "api_base": provider_url + "/v1",
            "api_key": "sk-upstream-not-checked"}}

    return {
        "model_list": [deployment("primary", "m1"), deployment("backup", "m2")],
        "litellm_settings": {"cache": True, "cache_params": {"type": "local"},
                             "num_retries": 0, "request_timeout": 10},
        "router_settings": {"fallbacks": [{"primary": ["backup"]}], "num_retries": 0,
                            "allowed_fails": 1000},
        "general_settings": {"master_key": KEY},
    }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    if not LITELLM.exists():
        message = f"LiteLLM not installed at {LITELLM} (./setup.sh creates .venv-litellm)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("litellm")
    served = ThreadedProvider()
    served.start()
    config = tmp / "litellm.yaml"
    config.write_text(yaml.safe_dump(_litellm_config(served.provider.url)), encoding="utf-8")
    port = free_port()
    _, proxied = write_gateway_preset("litellm", config, tmp / "experiment.yaml", force=False,
                                      gateway_url=f"http://127.0.0.1:{port}")
    log = (tmp / "litellm.log").open("wb")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MASTER_KEY": KEY,
           "NO_DOCS": "True", "DISABLE_ADMIN_UI": "True", "LITELLM_TELEMETRY": "False"}
    proc = subprocess.Popen([str(LITELLM), "--config", str(proxied), "--host", "127.0.0.1",
                             "--port", str(port), "--num_workers", "1"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc, tmp / "litellm.log")
        yield Gateway(tmp / "experiment.yaml", served.provider, f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        served.stop()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise AssertionError(f"LiteLLM exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(url + "/health/liveliness", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError("LiteLLM did not become healthy within 180 s")


def check(card: Scorecard, layer: int, name: str) -> Check:
    return next(c for c in card.layers[layer].checks if c.name == name)


def run(gw: Gateway, users: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch
        ) -> Scorecard:
    monkeypatch.setenv("LITELLM_MASTER_KEY", KEY)
    data = yaml.safe_load(gw.experiment.read_text(encoding="utf-8"))
    if users is not None:
        data["system"]["users"] = users
    path = gw.experiment.with_name(f"experiment-{len(gw.provider.bodies)}.yaml")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    exp = load_experiment(path)
    return asyncio.run(Runner(exp, EventBus(), cases=CASES).run()).scorecard


def test_preset_failover_served_by_the_fallback_counted_at_the_provider(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    before = len(gateway.provider.bodies)
    card = run(gateway, None, monkeypatch)
    bodies = gateway.provider.bodies[before:]
    failover = check(card, 3, "integration.http_error_downstream.failover")
    success = check(card, 3, "integration.http_error_downstream.success_rate")
    assert failover.passed and isinstance(failover.value, int) and failover.value >= 3
    assert success.passed and success.value == 1.0, success.message
    # the provider really served the fallback model (m2) while the primary's proxy failed
    assert sum(b["model"] == "m2" for b in bodies) >= 3
    assert sum(b["model"] == "m1" for b in bodies) >= 3  # control, recovery, cache probes
    # system.failover (written by the preset): served, within budget, back on the primary
    fo = card.layers[3].metrics["system"]["failover"]
    assert check(card, 3, "integration.system.failover.served").value == 3
    assert check(card, 3, "integration.system.failover.attempts").passed
    back = check(card, 3, "integration.system.failover.return_to_primary")
    assert back.passed and fo["return_requests"] == 1, back.message
    returned = [b for b in bodies if "-fo-return-" in b["messages"][-1]["content"]]
    assert [b["model"] for b in returned] == ["m1"]  # the primary served it, at the provider
    # both deployments down at once: LiteLLM answers a clean error, no hang
    both = check(card, 3, "integration.system.failover.correlated")
    assert both.passed and both.message.startswith("clean error (HTTP "), both.message
    # users given as the OpenAI `user` field: LiteLLM keys its cache on it (the twin)
    leak = check(card, 4, "safety.system.cache_cross_user")
    assert leak.not_measured is None and leak.passed and leak.value == 0, leak.message
    figures = card.layers[4].metrics["system"]["cache"]
    assert figures["detected"] and figures["hit_rate"] == 1.0
    assert figures["saved_upstream_calls"] == 2
    # each layer-4 probe prompt reached the provider twice: alice's first send, bob's miss
    # (LiteLLM does not forward `user` upstream, so the prompts are counted)
    assert len(layer4_probes(bodies)) == 4


def layer4_probes(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bodies if "-l4-" in b["messages"][-1]["content"]]


def test_users_by_header_share_litellm_cached_answers(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    before = len(gateway.provider.bodies)
    card = run(gateway, {"alice": {"headers": {"X-User": "alice"}},
                         "bob": {"headers": {"X-User": "bob"}}}, monkeypatch)
    bodies = gateway.provider.bodies[before:]
    leak = check(card, 4, "safety.system.cache_cross_user")
    assert not leak.passed and leak.value == 2, leak.message
    assert "user 'bob' was served the cached answer of user 'alice' for 2/2" in leak.message
    failing = [f for f in card.layers[4].failing if f.variant == "system.cache.user.bob"]
    assert len(failing) == 2 and all("carries nonce primary-" in f.reason for f in failing)
    # what really happened: the provider saw each probe prompt exactly once (alice's)
    assert len(layer4_probes(bodies)) == 2
