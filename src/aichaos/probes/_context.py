"""The context-window check of layer 6: never passed while inconclusive.

:func:`run_context_probe` runs :func:`aichaos.load.probe_context_window` (control needle, then
needles at start, middle and end of each length) against the experiment's target; when the
chaos proxy is in front of the LLM dependency it watches, with an observing toxic that
changes nothing, what reached the model (the needles, the system message, the upstream's
``finish_reason``). :func:`context_check` turns the result into ``scale.context_window``:

* *not measured* (failed, with the reason) when the control needle shows the target's answers
  do not depend on the input and the upstream request was not seen: truncation cannot be told
  from a model that does not read;
* failed on ``silent_truncation`` (the end lost), ``front_truncation`` (the start or the
  system message lost: instructions gone), ``length_passed_off`` (the upstream stopped at
  ``length`` and the target answered as complete), or an error below the declared window;
* passed otherwise; ``middle_truncation`` (middle-out) and a clean error at or beyond the
  window are reported, not failed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator
from typing import Any

from aichaos.faults import Exchange, Reply, Toxic
from aichaos.load import ContextProbeResult, UpstreamSeen, approx_tokens, probe_context_window
from aichaos.proxy import ChaosProxy
from aichaos.results import Check, FailingCase
from aichaos.targets import Target

FINDINGS = ("silent_truncation", "front_truncation", "length_passed_off")
_FINISH = re.compile(rb'"finish_reason"\s*:\s*"([a-z_]+)"')


class UpstreamObserver(Toxic):
    """A toxic that changes nothing: it records each request body and the ``finish_reason``
    values of the answer (JSON or SSE) on its proxy, for :func:`run_context_probe`."""

    type = "observe"
    summary = "record what reached the upstream (no fault)"

    def __init__(self, name: str = "aichaos_context_observer") -> None:
        super().__init__(name, "downstream", 1.0, {"match_path": "", "match_method": "",
                                                   "match_header": "", "match_model": ""})
        self.seen: list[UpstreamSeen] = []

    def take(self) -> list[UpstreamSeen]:
        """What reached the upstream since the last call (then forgotten)."""
        out, self.seen = self.seen, []
        return out

    async def on_request(self, ex: Exchange) -> Reply | None:
        doc = ex.json_body()
        texts, systems = [], []
        messages = doc.get("messages") if isinstance(doc, dict) else None
        for m in messages if isinstance(messages, list) else []:
            content = m.get("content") if isinstance(m, dict) else None
            text = content if isinstance(content, str) else json.dumps(content)
            texts.append(text)
            if isinstance(m, dict) and m.get("role") in ("system", "developer"):
                systems.append(text)
        if not texts and isinstance(doc, dict) and isinstance(doc.get("prompt"), str):
            texts.append(doc["prompt"])
        if not texts:
            texts.append(ex.body.decode("utf-8", "replace"))
        count = len(messages) if isinstance(messages, list) else 0
        self.seen.append(UpstreamSeen("\n".join(texts), "\n".join(systems) or None,
                                      messages=count))
        return None

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        tail = b""
        record = self.seen[-1] if self.seen else None
        async for chunk in chunks:
            scan = tail + chunk
            if record is not None:
                record.finish_reasons += [m.decode() for m in _FINISH.findall(scan)]
            tail = scan[-64:]  # a value split across two chunks is found once
            yield chunk


def llm_dependency(proxy: ChaosProxy | None, preferred: str = "llm_provider") -> str | None:
    """The proxy in front of the LLM: ``preferred`` when it exists, else the only one."""
    if proxy is None:
        return None
    if preferred in proxy.proxies:
        return preferred
    return next(iter(proxy.proxies)) if len(proxy.proxies) == 1 else None


async def run_context_probe(target: Target, window_tokens: int, *,
                            proxy: ChaosProxy | None = None, seed: int = 42
                            ) -> ContextProbeResult:
    """The context probe against ``target``, watching the LLM dependency's proxy when there
    is one (the observer is removed afterwards, whatever happens)."""
    dependency = llm_dependency(proxy)
    if proxy is None or dependency is None:
        return await probe_context_window(target, window_tokens, count_tokens=approx_tokens,
                                          count_tokens_name="chars/4", seed=seed)
    observer = UpstreamObserver()
    proxy.add_toxic(dependency, observer)
    try:
        return await probe_context_window(target, window_tokens, count_tokens=approx_tokens,
                                          count_tokens_name="chars/4", seed=seed,
                                          upstream=observer.take)
    finally:
        proxy.remove_toxic(dependency, observer.name)


def _reason(verdict: str) -> str:
    return {
        "silent_truncation": "silent truncation: the answer (or what reached the model) lost "
                             "the end of the input",
        "front_truncation": "front truncation: the start of the input or the system message "
                            "did not reach the model",
        "length_passed_off": "finish_reason length upstream, answered as complete",
    }.get(verdict, f"error below the declared window: {verdict}")


def context_check(data: ContextProbeResult | dict[str, Any], url: str = "URL"
                  ) -> tuple[Check, list[FailingCase]]:
    """``scale.context_window`` from a probe result (or its ``to_dict``); module doc."""
    res = data if isinstance(data, ContextProbeResult) else ContextProbeResult.from_dict(data)
    parts = []
    for c in res.cases:
        lost = [p for p, ok in c.positions.items() if not ok]
        parts.append(f"{c.fraction:.0%} ({c.tokens} tokens): {c.verdict}"
                     + (f" [{c.error_class}]" if c.error_class else "")
                     + (f" (answer missed {', '.join(lost)})" if lost and not c.error_class
                        else ""))
    msg = "; ".join(parts)
    lengths = res.token_estimate
    where = f"declared window {res.window_tokens} tokens ({lengths} lengths)"
    if not res.measured:
        control = res.control
        answer = (control.output[:80] if control is not None else "")
        reason = ("not measured: the target's answers do not depend on the input (the control "
                  f"needle in a {control.tokens if control else '?'}-token input was not "
                  f"recalled: {answer!r}) and no proxy saw the upstream request, so truncation "
                  "cannot be told apart")
        return Check("scale.context_window", False, None, "== 0", "cases",
                     f"{where}: {reason}; {msg}", not_measured=reason), []
    bad = [c for c in res.cases if c.verdict in FINDINGS
           or (c.verdict == "error" and c.fraction < 1.0)]
    failing = [FailingCase(f"context-{c.fraction:g}", "context_window",
                           f"{c.tokens}-token input with needles at "
                           f"{', '.join(c.positions) or 'end'}", c.output,
                           _reason(c.verdict if c.verdict != "error" else str(c.error_class)),
                           f"aichaos load context {url} --window {res.window_tokens}")
               for c in bad]
    channel = ("answers and the upstream requests" if res.upstream_seen and
               res.answers_depend_on_input else "the upstream requests" if res.upstream_seen
               else "answers")
    growth = [g for g in res.latency_growth.values() if g is not None and math.isfinite(g)]
    if growth:
        msg += f"; latency growth up to {max(growth):.2f}x the shortest input"
    check = Check("scale.context_window", not bad, len(bad), "== 0", "cases",
                  f"{where}, judged from {channel}: {msg}", [f.case_id for f in failing])
    return check, failing


def context_metrics(res: ContextProbeResult) -> dict[str, Any]:
    """The layer metrics of a probe result (as the layer-6 suite names them)."""
    return {"context_window_tokens": res.window_tokens,
            "context_silent_truncation": res.silent_truncation,
            "context_verdicts": ", ".join(f"{c.fraction:g}: {c.verdict}" for c in res.cases),
            "context_answers_depend_on_input": res.answers_depend_on_input,
            "context_upstream_seen": res.upstream_seen}
