"""Context-window probes: inputs at fractions of a declared window, with a needle at the end.

Each input is filler text followed by a unique fact (the *needle*) and a question about it.
A target that truncates long input from the end, or drops it silently, answers without the
needle; one that errors says so. Needle-at-the-end retrieval follows the "needle in a
haystack" test (G. Kamradt, 2023), here placed last so truncation of the tail is what it sees.

Token counts are approximate: ``len(text) / 4`` characters per token (OpenAI's rule of thumb
for English) unless a tokenizer function is given.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
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


def build_needle_input(
    tokens: int, code: str, *, count_tokens: TokenCounter | None = None, seed: int = 42
) -> str:
    """Filler text, then the needle ``code`` and a question, about ``tokens`` tokens long.

    Args:
        tokens: desired length in tokens (chars/4 unless ``count_tokens`` is given).
        code: the unique fact the answer must contain.
        count_tokens: a tokenizer's count function, for exact lengths.
        seed: seed of the filler sentence order.

    Raises:
        ConfigError: ``tokens`` is too small to hold the needle and question.
    """
    count = count_tokens or approx_tokens
    tail = f"\nImportant: the access code is {code}.\nWhat is the access code? Reply with it only."
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
    return "".join(parts) + tail


@dataclass(slots=True)
class ContextCase:
    """One probe input and what the target did with it.

    Attributes:
        fraction: input length as a fraction of the declared window.
        tokens: approximate (or tokenizer-counted) input tokens sent.
        input_tokens_reported: prompt tokens from the response's usage, or None.
        error_class, status, e2e_s: as in ``TargetResponse``.
        needle_found: the answer contains the needle code.
        verdict: ``recalled``, ``error``, ``silent_truncation`` (answered without the needle
            while the shortest input recalled it), ``accepted_over_window`` (answered an input
            beyond the declared window, with the needle) or ``inconclusive`` (the shortest
            input did not recall the needle either, so the model cannot do the task).
        output: the answer, cut to 200 characters.
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


@dataclass(slots=True)
class ContextProbeResult:
    """The context-window probe's cases and summary.

    Attributes:
        window_tokens: the declared window, tokens.
        token_estimate: how lengths were counted: ``chars/4``, or the name given with the
            token counter (``tokenizer`` by default).
        cases: one per fraction, in the order given.
        latency_growth: E2E of each fraction / E2E of the first (None when it failed).
    """

    window_tokens: int
    token_estimate: str
    cases: list[ContextCase] = field(default_factory=list)
    latency_growth: dict[str, float | None] = field(default_factory=dict)

    @property
    def silent_truncation(self) -> bool:
        """Any case answered without the needle that the baseline recalled."""
        return any(c.verdict == "silent_truncation" for c in self.cases)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "window_tokens": self.window_tokens,
            "token_estimate": self.token_estimate,
            "silent_truncation": self.silent_truncation,
            "latency_growth": dict(self.latency_growth),
            "cases": [asdict(c) for c in self.cases],
        }


async def probe_context_window(
    target: Target,
    window_tokens: int,
    *,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    count_tokens: TokenCounter | None = None,
    count_tokens_name: str = "tokenizer",
    seed: int = 42,
) -> ContextProbeResult:
    """Send one needle input per fraction of ``window_tokens`` and classify each answer.

    The first fraction is the baseline (use the smallest first). Each input carries its own
    code so answers cannot leak between cases. Lengths are counted by ``count_tokens``
    (named ``count_tokens_name`` in ``token_estimate``), else as chars/4.

    Raises:
        ConfigError: ``window_tokens`` < 64 or no fractions / a non-positive fraction.
    """
    if window_tokens < 64:
        raise ConfigError(f"context probe window_tokens: expected >= 64, got {window_tokens!r}")
    if not fractions or any(f <= 0 for f in fractions):
        raise ConfigError(f"context probe fractions: expected positive values, got {fractions!r}")
    rng = random.Random(seed)
    result = ContextProbeResult(window_tokens, count_tokens_name if count_tokens else "chars/4")
    for i, frac in enumerate(fractions):
        code = f"NEEDLE-{rng.randrange(16**6):06X}"
        tokens = int(window_tokens * frac)
        text = build_needle_input(tokens, code, count_tokens=count_tokens, seed=seed + i)
        resp = await target.send(TargetRequest(input=text, case_id=f"context-{frac:g}"))
        found = resp.ok and code.lower() in resp.output.lower()
        result.cases.append(
            ContextCase(frac, tokens, resp.input_tokens, resp.error_class, resp.status,
                        resp.e2e_s, found, output=resp.output[:200])
        )
    baseline = result.cases[0]
    for c in result.cases:
        if c.error_class is not None:
            c.verdict = "error"
        elif c.needle_found:
            c.verdict = "accepted_over_window" if c.fraction > 1.0 else "recalled"
        elif baseline.needle_found:
            c.verdict = "silent_truncation"
        else:
            c.verdict = "inconclusive"
        ok_base = baseline.error_class is None and baseline.e2e_s > 0
        result.latency_growth[f"{c.fraction:g}"] = (
            c.e2e_s / baseline.e2e_s if ok_base and c.error_class is None else None
        )
    return result
