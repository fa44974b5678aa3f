"""The resource probe on real parts: the hardened demo app and the local model server (real
SmolLM2 under llama-cpp-python) are not flagged.

Kept small: the model server takes the session's shared fixture; the app's series uses
questions the hardened app answers without the model (off-topic questions it abstains on,
blank input it asks to clarify: retrieval, answerability and the reply path, each request
embedded), the model's series sends it short completions directly.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from aichaos.config import OpenAITargetConfig, ResourceProbeSpec
from aichaos.demo._stack import DemoStack
from aichaos.probes import PidSource, measure_resources, resource_checks
from aichaos.targets import NoCacheTarget, TargetRequest, build_target

pytestmark = pytest.mark.e2e

OFF_TOPIC = ["Do you sell electric cars?", "What is the capital of Peru?",
             "Can you recommend a good pizza place?", "   ", "Who won the 1998 world cup?"]


def model_pid(base_url: str) -> int:
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    for child in psutil.Process().children(recursive=True):
        if f"--port {port}" in " ".join(child.cmdline()) or str(port) in child.cmdline():
            return int(child.pid)
    raise AssertionError(f"no child process serves port {port}")


def openai(url: str, model: str) -> NoCacheTarget:
    return NoCacheTarget(build_target(OpenAITargetConfig(type="openai", base_url=url,
                                                         model=model, max_tokens=2,
                                                         stream=False)))


async def test_hardened_app_and_model_server_are_not_flagged(llm_server: str,
                                                             tmp_path: Path) -> None:
    spec = ResourceProbeSpec(requests=50, warmup_requests=20, sample_every=5, concurrency=4)
    with DemoStack(profiles=("hardened",), llm_url=llm_server, work_dir=tmp_path) as stack:
        app = openai(stack.app_urls["hardened"], "support")
        report = await measure_resources(
            app, [TargetRequest(input=q) for q in OFF_TOPIC], spec,
            {"app": PidSource(stack.pids["app-hardened"])})
        await app.aclose()
    # the model server's warm-up ends after ~40 requests (its RSS +40 MiB, then steps)
    model_spec = ResourceProbeSpec(requests=120, warmup_requests=50, sample_every=10,
                                   concurrency=2)
    model = openai(llm_server, "smollm2")
    model_report = await measure_resources(model, [TargetRequest(input="Hi")], model_spec,
                                           {"model": PidSource(model_pid(llm_server))})
    await model.aclose()
    for rep, sp, n in ((report, spec, 50), (model_report, model_spec, 120)):
        assert rep.not_measured is None and rep.requests == n and rep.errors == 0
        checks, metrics = resource_checks(rep, sp)
        names = {c.name for c in checks}
        assert {"scale.resources.rss", "scale.resources.fds",
                "scale.resources.threads"} <= names
        bad = [c.message for c in checks if not c.passed]
        assert not bad
        # the figures are real readings of a live process (not a default of zero)
        assert rep.samples[0].values[next(iter(rep.source or {}))]["rss"] > 20
        print(rep.source, {k: v for k, v in metrics.items() if k.endswith("_requests")},
              [(f.figure, f.verdict, round(f.head_per_1k, 1), round(f.tail_per_1k, 1))
               for f in rep.fits])
