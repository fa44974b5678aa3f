"""System checks the layer-6 suite appends after its sweep: resource growth and the context
window's honest verdict.

:func:`extend_scale_layer` is the one call :class:`aichaos.probes._scale.ScaleSuite` makes at
the end of its run. It

* runs the resource-growth probe when ``layers.scale.resources`` is declared
  (:mod:`aichaos.probes._resources`) and appends its ``scale.resources.*`` checks and metrics;
* runs the multi-turn probe when ``layers.scale.conversation`` is declared
  (:mod:`aichaos.probes._conversation`);
* replaces ``scale.context_window`` with the verdict of :mod:`aichaos.probes._context`, which
  is *not measured* (never passed) when the control needle shows the answers do not depend on
  the input, and fails on front truncation, ``finish_reason: length`` passed off as complete,
  or an upstream request missing the start of the input.
"""

from __future__ import annotations

from aichaos.config import ScaleLayer
from aichaos.load import ContextProbeResult
from aichaos.probes._base import SuiteContext
from aichaos.probes._context import (
    context_check,
    context_metrics,
    llm_dependency,
    run_context_probe,
)
from aichaos.probes._conversation import with_conversation
from aichaos.probes._resources import measure_resources, resource_checks
from aichaos.results import Check, LayerResult
from aichaos.targets import NoCacheTarget

#: the layer-6 ceiling when a resource grows per request (as system checks cap at 50)
RESOURCE_CAP = 50.0


async def extend_scale_layer(ctx: SuiteContext, config: ScaleLayer, layer: LayerResult) -> None:
    """Append the resource checks and rewrite the context check of ``layer`` in place."""
    context = layer.details.get("context_window")
    window = config.context_window_tokens
    if context is not None and window is not None:
        described = ctx.target.describe()
        url = str(described.get("base_url") or described.get("url") or "URL")
        if llm_dependency(ctx.proxy) is not None:  # again, watching what reaches the model
            result = await run_context_probe(NoCacheTarget(ctx.target), window,
                                             proxy=ctx.proxy, seed=ctx.seed)
            ctx.sent[6] += len(result.cases) * 3 + 3
            layer.details["context_window"] = {**result.to_dict(),
                                               "token_estimate": result.token_estimate}
            layer.metrics.update(context_metrics(result))
        check, failing = context_check(layer.details["context_window"], url)
        layer.metrics.update(context_metrics(
            ContextProbeResult.from_dict(layer.details["context_window"])))
        layer.checks = [c for c in layer.checks if c.name != "scale.context_window"] + [check]
        layer.failing = [f for f in layer.failing if not f.case_id.startswith("context-")]
        layer.failing += failing
    await with_conversation(ctx, config.conversation, layer)
    spec = config.resources
    if spec is None:
        layer.details["resources"] = {"not_measured": "not measured: no layers.scale.resources "
                                      "(declare the target's pid or metrics_url)"}
        return
    requests = [ctx.plan(c, "resources").request for c in ctx.cases if c.input.strip()]
    if not requests:
        reason = "not measured: the dataset has no non-empty input to send"
        layer.checks.append(Check("scale.resources", False, None, "", "", reason,
                                  not_measured=reason))
        return
    report = await measure_resources(NoCacheTarget(ctx.target), requests, spec)
    ctx.sent[6] += report.requests
    checks, metrics = resource_checks(report, spec)
    layer.checks += checks
    layer.metrics.update(metrics)
    grows = [c.name for c in checks if not c.passed and not c.not_measured]
    if grows:  # a leak is a decided failure: the layer's headline cannot stay high
        layer.cap(RESOURCE_CAP)
        layer.note = "; ".join(n for n in (layer.note, f"score capped at {RESOURCE_CAP:g}: "
                                           f"{', '.join(grows)} grow per request") if n)
    layer.details["resources"] = report.to_dict()
