"""aichaos's own runs emit OpenTelemetry traces when runtime.otlp_endpoint is set."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from aichaos.telemetry import OtlpReceiver
from tests_support import write

EXPERIMENT = """
title: traced run
target: {{type: mock, default: "5 business days"}}
dataset: data.yaml
steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.99}}}}}}
runtime: {{otlp_endpoint: "{endpoint}"}}
report: {{formats: [json]}}
"""


async def test_a_run_exports_one_span_per_step_under_a_run_span(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", "cases: [{id: a, input: \"How long do refunds take\", expected: [5 business days]}]\n")
    async with OtlpReceiver("127.0.0.1:0") as rx:
        write(tmp_path / "exp.yaml", EXPERIMENT.format(endpoint=rx.endpoint))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "aichaos", "run", "exp.yaml", cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": ""})
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()[-1000:]
        assert await rx.wait_for(lambda r: any(s.name == "aichaos.run" for s in r.spans), 10)
    run = next(s for s in rx.spans if s.name == "aichaos.run")
    assert run.attributes["aichaos.status"] == "completed"
    assert run.attributes["aichaos.overall_grade"] == "A"
    assert run.resource["service.name"] == "aichaos"
    children = {s.name: s for s in rx.spans if s.parent_span_id == run.span_id}
    assert set(children) == {"steady-state-hypothesis.before", "layer1.capability",
                             "steady-state-hypothesis.after"}
    assert all(s.trace_id == run.trace_id for s in children.values())
    assert children["layer1.capability"].attributes["aichaos.activity.status"] == "succeeded"
