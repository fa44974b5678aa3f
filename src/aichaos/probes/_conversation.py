"""Multi-turn conversations (layer 6): is the system message still sent at turn N?

``layers.scale.conversation`` runs ``conversations`` conversations of ``turns`` user turns
against a session-aware target: every request of one conversation carries the same id in
``session_header``; the target keeps the history. The user turns cycle over the golden
inputs. An observing toxic on the LLM dependency's proxy (it changes nothing,
:class:`aichaos.probes._context.UpstreamObserver`) records the upstream request of each turn,
so the check reads what reached the model, not the model's obedience (a 135M model's answers
say little about whether its rules were sent).

``scale.conversation.system_message``:

* *not measured* when no proxy sits in front of ``dependency``, when the first turn's upstream
  request carries no system message (nothing to keep), or when no later upstream request
  carries an earlier user turn (the target keeps no history: not session-aware);
* failed when a later turn's upstream request lacks the first turn's system message
  (memory that evicts it, scenario S19; source: llama_index #23144), naming the first turn;
* passed otherwise. Details carry, per turn, the messages sent upstream, whether the system
  message was there, and the system's TTFT (E2E for a non-streamed answer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aichaos.config import ConversationProbeSpec
from aichaos.probes._base import SuiteContext
from aichaos.probes._context import UpstreamObserver
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.targets import NO_CACHE, TargetRequest


@dataclass(slots=True)
class Turn:
    """One user turn: what the system answered and what reached the model for it."""

    conversation: int
    turn: int
    ttft_s: float | None
    ok: bool
    upstream_calls: int
    upstream_messages: int | None
    system_sent: bool | None
    history_kept: bool | None


async def run_conversations(ctx: SuiteContext, spec: ConversationProbeSpec
                            ) -> tuple[list[Turn], str | None]:
    """Every turn of every conversation, and the first turn's system message (None when the
    upstream request had none). Raises nothing: a failed turn is recorded."""
    assert ctx.proxy is not None
    inputs = [c.input for c in ctx.cases if c.input.strip()] or ["Hello"]
    observer = UpstreamObserver("aichaos_conversation_observer")
    ctx.proxy.add_toxic(spec.dependency, observer)
    turns: list[Turn] = []
    system: str | None = None
    try:
        for n in range(spec.conversations):
            session = f"aichaos-{ctx.seed}-{n}"
            said: list[str] = []
            for t in range(1, spec.turns + 1):
                text = f"{inputs[(t - 1) % len(inputs)]} (turn {t})"
                headers = {**NO_CACHE, spec.session_header: session}
                resp = await ctx.target.send(TargetRequest(
                    input=text, case_id=f"conversation-{n + 1}-turn-{t}",
                    metadata={"variant": "conversation", "headers": headers}))
                ctx.sent[6] += 1
                seen = observer.take()
                last = seen[-1] if seen else None
                if t == 1 and n == 0 and last is not None:
                    system = last.system
                sent = None if last is None or system is None else (
                    system in (last.system or ""))
                kept = None if last is None or not said else any(s in last.text for s in said)
                turns.append(Turn(n + 1, t, resp.ttft_s if resp.ttft_s is not None
                                  else resp.e2e_s, resp.ok, len(seen),
                                  None if last is None else last.messages,
                                  sent, kept))
                said.append(text)
    finally:
        ctx.proxy.remove_toxic(spec.dependency, observer.name)
    return turns, system


def conversation_check(turns: list[Turn], system: str | None, spec: ConversationProbeSpec,
                       source: str) -> tuple[Check, list[FailingCase]]:
    """``scale.conversation.system_message`` (module doc)."""
    name = "scale.conversation.system_message"
    reason = None
    if not any(t.upstream_calls for t in turns):
        reason = (f"not measured: no upstream request reached dependency {spec.dependency!r} "
                  "during the conversation")
    elif system is None:
        reason = ("not measured: the first turn's upstream request carries no system message "
                  "(nothing to keep)")
    elif not any(t.history_kept for t in turns):
        reason = (f"not measured: no upstream request repeated an earlier turn: the target "
                  f"keeps no history per {spec.session_header} (not session-aware)")
    if reason is not None:
        return Check(name, False, None, "", "turns", reason, not_measured=reason), []
    lost = [t for t in turns if t.system_sent is False]
    sent = sum(1 for t in turns if t.system_sent)
    if not lost:
        return Check(name, True, 0, "== 0", "turns",
                     f"the system message reached the model on all {sent} turns of "
                     f"{spec.conversations} conversation(s) of {spec.turns} turns"), []
    first = lost[0]
    message = (f"system message evicted at turn {first.turn} of conversation "
               f"{first.conversation} (upstream request of {first.upstream_messages} messages "
               f"without it); missing on {len(lost)} of {len(turns)} turns")
    case = FailingCase(f"conversation-{first.conversation}-turn-{first.turn}", "conversation",
                       f"{spec.turns}-turn conversation, {spec.session_header} per "
                       "conversation", "", "system message evicted from the model's input: "
                       "its rules stop applying", f"aichaos run {source}")
    return Check(name, False, len(lost), "== 0", "turns", message, [case.case_id]), [case]


async def with_conversation(ctx: SuiteContext, spec: ConversationProbeSpec | None,
                            layer: LayerResult) -> None:
    """Append the conversation check to ``layer`` (nothing when ``spec`` is None)."""
    if spec is None:
        return
    if ctx.proxy is None or spec.dependency not in ctx.proxy.proxies:
        reason = (f"not measured: no chaos proxy in front of dependency {spec.dependency!r} "
                  "(layers.scale.conversation.dependency) to see what reaches the model")
        layer.checks.append(Check("scale.conversation.system_message", False, None, "",
                                  "turns", reason, not_measured=reason))
        return
    turns, system = await run_conversations(ctx, spec)
    check, failing = conversation_check(turns, system, spec,
                                        ctx.experiment.source or "EXPERIMENT")
    layer.checks.append(check)
    layer.failing += failing
    ttft: dict[str, Any] = {str(t.turn): t.ttft_s for t in turns if t.conversation == 1}
    layer.metrics["conversation_ttft_by_turn_s"] = ttft
    layer.details["conversation"] = {"system_message": system,
                                     "turns": [asdict(t) for t in turns]}
