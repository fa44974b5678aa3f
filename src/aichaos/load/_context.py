"""Context-window probes: inputs at fractions of a declared window, needles at start, middle, end.

Each input is filler text holding a unique fact (the *needle*) at its start, middle or end,
then a question about it. A target that truncates long input answers without the needle it
cut; one that errors says so. Needle retrieval follows the "needle in a haystack" test
(G. Kamradt, 2023); the three depths follow "Lost in the Middle" (Liu et al., TACL 2024).

What each lost needle means: the *end* (next to the question) lost is silent truncation of the
tail or the whole input ignored; the *start* lost while the end is kept is front truncation,
which also drops the system prompt and instructions that sit first; the *middle* lost is the
documented middle-out strategy (kept as information, not a finding).

A *control* first sends a short input per position. Only positions whose needle the control
recalled are judged from the answer: when it recalled none, the target's answers do not
depend on the input (the model cannot do the task, or the app answers from elsewhere) and the
answer channel is not measured. Where the chaos proxy sees the upstream request (``upstream``),
the probe also checks what reached the model: the needles, the system message the control
sent, and the upstream's ``finish_reason`` (``length`` answered as complete is a finding).

Token counts are approximate: ``len(text) / 4`` characters per token (OpenAI's rule of thumb
for English) unless a tokenizer function is given.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from aichaos.errors import ConfigError
from aichaos.targets import Target, TargetRequest

TokenCounter = Callable[[str], int]
DEFAULT_FRACTIONS: tuple[float, ...] = (0.5, 0.9, 1.0, 1.5)
CHARS_PER_TOKEN = 4

_FILLER = (
    "The committee reviewed the quarterly schedule and agreed to revisit it later.",
    "Rain is expected in the northern valleys for most of the coming week.",
    "The library extended its opening hours during the examination period.",
    "Several trains were delayed because of maintenance work on the bridge.",
    "A new bakery opened on the corner and sells bread until early afternoon.",
    "The museum rotated its collection of maps from the eighteenth century.",
)


def approx_tokens(text: str) -> int:
    """Approximate token count: characters / 4 (rounded up)."""
    return -(-len(text) // CHARS_PER_TOKEN)


POSITIONS: tuple[str, ...] = ("start", "middle", "end")
QUESTION = "What is the access code? Reply with it only."


def build_needle_input(
    tokens: int, code: str, *, count_tokens: TokenCounter | None = None, seed: int = 42,
    position: str = "end",
) -> str:
    """Filler text with the needle ``code`` at ``position``, then a question, about ``tokens``
    tokens long.

    Args:
        tokens: desired length in tokens (chars/4 unless ``count_tokens`` is given).
        code: the unique fact the answer must contain.
        count_tokens: a tokenizer's count function, for exact lengths.
        seed: seed of the filler sentence order.
        position: ``start``, ``middle`` or ``end`` (just before the question).

    Raises:
        ConfigError: ``tokens`` is too small to hold the needle and question, or an unknown
            ``position``.
    """
    if position not in POSITIONS:
        raise ConfigError(f"context probe position: expected one of {', '.join(POSITIONS)}, "
                          f"got {position!r}")
    count = count_tokens or approx_tokens
    needle = f"Important: the access code is {code}."
    tail = f"\n{needle}\n{QUESTION}"
    budget = tokens - count(tail)
    if budget < 0:
        raise ConfigError(f"context probe: {tokens} tokens cannot hold the needle and question")
    rng = random.Random(seed)
    parts: list[str] = []
    size: float = 0.0
    while True:
        sentence = rng.choice(_FILLER) + " "
        step = count(sentence) if count_tokens else len(sentence) / CHARS_PER_TOKEN
        if size + step > budget:
            break
        parts.append(sentence)
        size += step
    if position == "end":
        return "".join(parts) + tail
    at = 0 if position == "start" else len(parts) // 2
    return "".join(parts[:at]) + needle + "\n" + "".join(parts[at:]) + "\n" + QUESTION


@dataclass(slots=True)
class UpstreamSeen:
    """What the model received for one probe input, as the chaos proxy saw it.

    Attributes:
        text: every message's text of the upstream request, joined.
        system: the system message(s) text, or None when the request had none.
        finish_reasons: the ``finish_reason`` values of the upstream's answer.
        messages: chat messages in the request (0 for a plain prompt).
    """

    text: str
    system: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    messages: int = 0


#: returns what reached the model since its last call (the probe calls it after each input)
UpstreamView = Callable[[], list[UpstreamSeen]]


@dataclass(slots=True)
class ContextCase:
    """One input length (one input per needle position) and what the target did with it.

    Attributes:
        fraction: input length as a fraction of the declared window.
        tokens: approximate (or tokenizer-counted) input tokens sent.
        input_tokens_reported: prompt tokens from the response's usage, or None.
        error_class, status, e2e_s: as in ``TargetResponse`` (of the end-needle input, the
            first error of any input).
        needle_found: the answer to the end-needle input contains its code.
        positions: position -> the answer contained that input's needle.
        finish_reason: the target's ``finish_reason`` for the end-needle input.
        upstream: what reached the model, per position (when the proxy saw it):
            ``{position: {"needle": bool, "system": bool | None, "finish_reasons": [...]}}``.
        verdict: ``recalled``; ``error``; ``silent_truncation`` (the end needle lost while the
            control recalled it: the tail or the whole input ignored); ``front_truncation``
            (the start needle or the system message lost while the end was kept);
            ``length_passed_off`` (the upstream stopped at ``length``, the target answered as
            complete); ``middle_truncation`` (only the middle lost); ``accepted_over_window``
            (answered an input beyond the declared window, every needle kept); or
            ``inconclusive`` (nothing judgeable: the control recalled no needle and the
            upstream request was not seen).
        output: the answer to the end-needle input, cut to 200 characters.
    """

    fraction: float
    tokens: int
    input_tokens_reported: int | None
    error_class: str | None
    status: int | None
    e2e_s: float
    needle_found: bool
    verdict: str = ""
    output: str = ""
    positions: dict[str, bool] = field(default_factory=dict)
    finish_reason: str | None = None
    upstream: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class ContextProbeResult:
    """The context-window probe's control, cases and summary.

    Attributes:
        window_tokens: the declared window, tokens.
        token_estimate: how lengths were counted: ``chars/4``, or the name given with the
            token counter (``tokenizer`` by default).
        cases: one per fraction, in the order given.
        latency_growth: E2E of each fraction / E2E of the first (None when it failed).
        control: the short control inputs (fraction ``control_tokens / window``), or None.
        answers_depend_on_input: the control recalled at least one needle (None: no control).
        upstream_seen: the proxy saw the upstream request of the probe inputs.
        control_system: the system message the control's upstream request carried.
    """

    window_tokens: int
    token_estimate: str
    cases: list[ContextCase] = field(default_factory=list)
    latency_growth: dict[str, float | None] = field(default_factory=dict)
    control: ContextCase | None = None
    answers_depend_on_input: bool | None = None
    upstream_seen: bool = False
    control_system: str | None = None

    @property
    def silent_truncation(self) -> bool:
        """Any case lost a needle (end or start) or the system message the control kept."""
        return any(c.verdict in ("silent_truncation", "front_truncation") for c in self.cases)

    @property
    def measured(self) -> bool:
        """The answers depend on the input, or the upstream request was seen."""
        return bool(self.answers_depend_on_input) or self.upstream_seen

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "window_tokens": self.window_tokens,
            "token_estimate": self.token_estimate,
            "silent_truncation": self.silent_truncation,
            "latency_growth": dict(self.latency_growth),
            "cases": [asdict(c) for c in self.cases],
            "control": None if self.control is None else asdict(self.control),
            "answers_depend_on_input": self.answers_depend_on_input,
            "upstream_seen": self.upstream_seen,
            "control_system": self.control_system,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContextProbeResult:
        """The inverse of :meth:`to_dict` (the derived ``silent_truncation`` ignored)."""
        names = {f.name for f in fields(ContextCase)}

        def case(d: dict[str, Any]) -> ContextCase:
            return ContextCase(**{k: v for k, v in d.items() if k in names})

        control = data.get("control")
        return cls(data["window_tokens"], data["token_estimate"],
                   [case(c) for c in data.get("cases", [])],
                   dict(data.get("latency_growth", {})),
                   None if control is None else case(control),
                   data.get("answers_depend_on_input"), bool(data.get("upstream_seen")),
                   data.get("control_system"))


def _seen(view: UpstreamView | None, code: str, system: str | None) -> dict[str, Any] | None:
    """What reached the model for the input carrying ``code`` (None: not seen)."""
    if view is None:
        return None
    calls = view()
    if not calls:
        return None
    last = calls[-1]  # a retrying app sends the same input again: the last one answered
    return {"needle": code in last.text,
            "system": None if system is None else (last.system or "").find(system) >= 0,
            "finish_reasons": list(last.finish_reasons),
            "system_text": last.system}


async def probe_context_window(
    target: Target,
    window_tokens: int,
    *,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    count_tokens: TokenCounter | None = None,
    count_tokens_name: str = "tokenizer",
    seed: int = 42,
    positions: Sequence[str] = POSITIONS,
    control_tokens: int | None = 128,
    upstream: UpstreamView | None = None,
) -> ContextProbeResult:
    """Send the control, then one needle input per position and fraction of ``window_tokens``,
    and classify each length (module doc).

    Each input carries its own code so answers cannot leak between cases. Lengths are counted
    by ``count_tokens`` (named ``count_tokens_name`` in ``token_estimate``), else as chars/4.

    Args:
        positions: needle depths, a subset of ``start``, ``middle``, ``end``.
        control_tokens: length of the control inputs (capped at a tenth of the window, at
            least 64); None sends no control and judges against the first fraction.
        upstream: what reached the model since the last call (the proxy's view), or None.

    Raises:
        ConfigError: ``window_tokens`` < 64, no fractions / a non-positive fraction, or an
            unknown position.
    """
    if window_tokens < 64:
        raise ConfigError(f"context probe window_tokens: expected >= 64, got {window_tokens!r}")
    if not fractions or any(f <= 0 for f in fractions):
        raise ConfigError(f"context probe fractions: expected positive values, got {fractions!r}")
    bad = [p for p in positions if p not in POSITIONS]
    if bad or not positions:
        raise ConfigError(f"context probe positions: expected some of {', '.join(POSITIONS)}, "
                          f"got {list(positions)!r}")
    rng = random.Random(seed)
    result = ContextProbeResult(window_tokens, count_tokens_name if count_tokens else "chars/4")
    if upstream is not None:
        upstream()  # forget what reached the model before the probe

    async def send_length(frac: float, tokens: int, label: str, i: int,
                          system: str | None) -> ContextCase:
        case = ContextCase(frac, tokens, None, None, None, 0.0, False)
        for position in positions:
            code = f"NEEDLE-{rng.randrange(16**6):06X}"
            text = build_needle_input(tokens, code, count_tokens=count_tokens, seed=seed + i,
                                      position=position)
            suffix = "" if position == "end" else f"-{position}"
            resp = await target.send(TargetRequest(input=text, case_id=f"{label}{suffix}"))
            found = resp.ok and code.lower() in resp.output.lower()
            case.positions[position] = found
            seen = _seen(upstream, code, system)
            if seen is not None:
                case.upstream[position] = seen
            if case.error_class is None and resp.error_class is not None:
                case.error_class, case.status = resp.error_class, resp.status
            if position == "end" or (position == positions[-1] and "end" not in positions):
                case.needle_found, case.e2e_s = found, resp.e2e_s
                case.output, case.finish_reason = resp.output[:200], resp.finish_reason
                case.input_tokens_reported = resp.input_tokens
                if case.status is None:
                    case.status = resp.status
        return case

    if control_tokens is not None:
        short = max(64, min(control_tokens, window_tokens // 10))
        result.control = await send_length(short / window_tokens, short, "context-control",
                                           -1, None)
        result.answers_depend_on_input = any(result.control.positions.values())
        seen = list(result.control.upstream.values())
        result.upstream_seen = bool(seen)
        systems = [s["system_text"] for s in seen if s.get("system_text")]
        result.control_system = systems[0] if systems else None
    for i, frac in enumerate(fractions):
        result.cases.append(await send_length(frac, int(window_tokens * frac),
                                              f"context-{frac:g}", i, result.control_system))
    baseline = result.control or result.cases[0]
    for c in result.cases:
        c.verdict = _verdict(c, baseline, result.upstream_seen)
    first = result.cases[0]
    for c in result.cases:
        ok_base = first.error_class is None and first.e2e_s > 0
        result.latency_growth[f"{c.fraction:g}"] = (
            c.e2e_s / first.e2e_s if ok_base and c.error_class is None else None
        )
    if result.control is None:
        result.answers_depend_on_input = any(first.positions.values())
    return result


def _verdict(c: ContextCase, baseline: ContextCase, upstream_seen: bool) -> str:
    """One length's verdict from its answers and, where seen, its upstream requests."""
    if c.error_class is not None:
        return "error"
    judged = [p for p, ok in baseline.positions.items() if ok]
    lost = {p for p in judged if not c.positions.get(p, False)}
    for p, seen in c.upstream.items():  # what reached the model outranks the answer
        if not seen["needle"]:
            lost.add(p)
    if "end" in lost:
        return "silent_truncation"
    dropped_system = any(seen.get("system") is False for seen in c.upstream.values())
    if "start" in lost or dropped_system:
        return "front_truncation"
    upstream_length = any("length" in s.get("finish_reasons", []) for s in c.upstream.values())
    if upstream_length and c.finish_reason != "length":
        return "length_passed_off"
    if "middle" in lost:
        return "middle_truncation"
    if not judged and not upstream_seen:
        return "inconclusive"
    return "accepted_over_window" if c.fraction > 1.0 else "recalled"
