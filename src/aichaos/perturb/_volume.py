"""Volume and nonsense: very long input, repeated text, empty, whitespace-only, gibberish."""

from __future__ import annotations

import math
import random
from typing import Literal

from aichaos.errors import PluginError
from aichaos.perturb._base import (
    EXPECTS_CLARIFICATION,
    Lineage,
    Perturbation,
    register,
)
from aichaos.perturb._words import DISTRACTORS

CHARS_PER_TOKEN = 4.0
"""Rule of thumb for English with BPE tokenizers (OpenAI: "one token ≈ 4 characters")."""

_PADDING = (
    "The following notes are background material collected from earlier conversations.",
    "Section 4.2 describes the quarterly maintenance window and the backup rotation.",
    "All figures are provisional and may be revised in the next report.",
    "Customers in the pilot group received the update on the first business day.",
    "The committee reviewed the minutes and approved them without changes.",
    "Shipping times vary by region and by the carrier chosen at checkout.",
    *DISTRACTORS,
)


@register
class LongInput(Perturbation):
    """Pad the prompt with unrelated text up to a share of the model's context window.

    The padded length is ``factor * context_tokens`` tokens, estimated at
    ``chars_per_token`` characters per token (4 for English, OpenAI's rule of thumb; a real
    tokenizer will differ by some tens of percent). ``factor`` defaults to 0.5/0.9/1.5 for
    severity 1/2/3 (pass 1.0 to hit the window exactly); above 1.0 the input no longer fits
    and the system must truncate, summarise or refuse cleanly. The question goes after the
    padding (``position="before"``), before it, or the padding is split around it.
    Input already at least as long as the target is unchanged. Source: "Lost in the Middle"
    (Liu et al., TACL 2024); LongBench; context-length errors in production (scenario S10).

    Args:
        severity: 1..3, selects the default factor.
        seed: run seed.
        context_tokens: the target's context window in tokens (>= 1).
        factor: share of the window to fill, > 0; overrides the severity default.
        chars_per_token: characters per token for the estimate, > 0.
        position: where the padding goes relative to the prompt.

    Raises:
        PluginError: a parameter is out of range.
    """

    name = "long_input"
    summary = "prompt padded with unrelated text to a share of the context window"
    source = "Liu et al. 2024 (Lost in the Middle); LongBench"

    def __init__(
        self,
        severity: int = 1,
        seed: int = 0,
        context_tokens: int = 2048,
        factor: float | None = None,
        chars_per_token: float = CHARS_PER_TOKEN,
        position: Literal["before", "after", "both"] = "before",
    ) -> None:
        super().__init__(severity, seed)
        where = f"perturbation {self.name!r}"
        if isinstance(context_tokens, bool) or not isinstance(context_tokens, int):
            raise PluginError(f"{where}: context_tokens must be an int, got {context_tokens!r}")
        if context_tokens < 1:
            raise PluginError(f"{where}: context_tokens must be >= 1, got {context_tokens}")
        if factor is not None and not factor > 0:
            raise PluginError(f"{where}: factor must be > 0, got {factor!r}")
        if not chars_per_token > 0:
            raise PluginError(f"{where}: chars_per_token must be > 0, got {chars_per_token!r}")
        if position not in ("before", "after", "both"):
            raise PluginError(f"{where}: position must be before, after or both, got {position!r}")
        self.context_tokens = context_tokens
        self.factor = float(factor) if factor is not None else self.level((0.5, 0.9, 1.5))
        self.chars_per_token = float(chars_per_token)
        self.position = position
        self.spec[1].update(
            context_tokens=context_tokens,
            factor=factor,
            chars_per_token=chars_per_token,
            position=position,
        )

    @property
    def target_chars(self) -> int:
        """Output length aimed at, in code points."""
        return math.ceil(self.context_tokens * self.factor * self.chars_per_token)

    def length_bounds(self, n: int) -> tuple[int, int]:
        return n, max(n, self.target_chars)

    def _padding(self, size: int, rng: random.Random) -> str:
        parts: list[str] = []
        total = -1  # length of " ".join(parts)
        while total < size:
            s = rng.choice(_PADDING)
            parts.append(s)
            total += len(s) + 1
        return " ".join(parts)[:size]

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        room = self.target_chars - len(text) - 2
        if room <= 0:
            return text, []
        summary = {
            "op": "pad",
            "position": self.position,
            "target_tokens": round(self.context_tokens * self.factor),
            "chars_added": room + 2,
        }
        if self.position == "before":
            return self._padding(room, rng) + "\n\n" + text, [summary]
        if self.position == "after":
            return text + "\n\n" + self._padding(room, rng), [summary]
        head = self._padding(room // 2, rng)
        tail = self._padding(room - room // 2, rng)
        return head + "\n" + text + "\n" + tail, [summary]


@register
class Repeat(Perturbation):
    """Repeat the whole prompt 2/5/20 times (double paste, stuck key, retry loops).

    Source: duplicated pastes in chat logs; repetition as a stressor, as in garak's
    ``divergence.Repeat`` probe (which repeats a word in the prompt).
    Empty input stays empty.
    """

    name = "repeat"
    summary = "the whole prompt repeated several times"
    source = "duplicated pastes; garak divergence.Repeat"
    max_growth = 20.0
    max_extra = 19

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        copies = self.level((2, 5, 20))
        sep = rng.choice((" ", "\n"))
        if not text:
            return text, []
        return sep.join([text] * copies), [{"op": "repeat", "copies": copies}]


@register
class Empty(Perturbation):
    """Replace the prompt by the empty string (scenario S12: one empty prompt killing a server).

    Severity has no effect. Tagged ``expects_clarification``: a good system asks what the
    user wants or refuses politely. Empty input is (of course) unchanged.
    """

    name = "empty"
    summary = "empty input"
    source = "scenario S12 (empty prompt crashing an inference engine)"
    tags = (EXPECTS_CLARIFICATION,)
    changes_meaning = True

    def length_bounds(self, n: int) -> tuple[int, int]:
        return 0, 0

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        return "", ([{"op": "empty", "from": text}] if text else [])


_WHITESPACE = (" ", "\n\n  \t\n", "\u00a0 \u2003\u3000\n\u2028\t\u0085\u000b ")


@register
class WhitespaceOnly(Perturbation):
    """Replace the prompt by whitespace: a space; spaces, tabs, newlines; Unicode spaces
    (NBSP, EM SPACE, IDEOGRAPHIC SPACE, LINE SEPARATOR, NEL). Every character passes
    ``str.isspace``. Tagged ``expects_clarification``. Source: Unicode ``White_Space``
    property (PropList.txt).
    """

    name = "whitespace_only"
    summary = "input made of whitespace only"
    source = "Unicode White_Space property"
    tags = (EXPECTS_CLARIFICATION,)
    changes_meaning = True

    def length_bounds(self, n: int) -> tuple[int, int]:
        return 1, max(len(w) for w in _WHITESPACE)

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        out = self.level(_WHITESPACE)
        return out, [{"op": "whitespace_only", "from": text, "to": out}]


_MASH = "asdfghjkl;qweruiopzxcvnm"
_CONS, _VOWELS = "bcdfghjklmnprstvwxzq", "aeiouy"
_SCRIPTS = (
    (0x41, 0x7A),
    (0x410, 0x44F),
    (0x4E00, 0x4FFF),
    (0x3B1, 0x3C9),
    (0x2600, 0x26FF),
    (0x30, 0x39),
    (0x5D0, 0x5EA),
)
GIBBERISH_MAX = 4000


@register
class Gibberish(Perturbation):
    """Replace the prompt by nonsense of about its length (at least 8, at most 4000).

    Severity 1 is a keyboard mash (``asdf jkl;``), 2 pronounceable pseudo-words, 3 random
    characters from several scripts and symbol blocks. Tagged ``expects_clarification``.
    Source: "keyboard smash" and bot-spam input in chat logs; home-made.
    """

    name = "gibberish"
    summary = "input replaced by nonsense"
    source = "keyboard-smash and spam input in chat logs (home-made)"
    tags = (EXPECTS_CLARIFICATION,)
    changes_meaning = True

    def length_bounds(self, n: int) -> tuple[int, int]:
        return 8, max(8, min(n, GIBBERISH_MAX))

    def _word(self, rng: random.Random) -> str:
        if self.severity == 1:
            return "".join(rng.choice(_MASH) for _ in range(rng.randint(3, 7)))
        if self.severity == 2:
            return "".join(
                rng.choice(_CONS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 4))
            )
        lo, hi = rng.choice(_SCRIPTS)
        return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(2, 6)))

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        size = max(8, min(len(text), GIBBERISH_MAX))
        parts: list[str] = []
        total = -1  # length of " ".join(parts)
        while total < size:
            w = self._word(rng)
            parts.append(w)
            total += len(w) + 1
        out = " ".join(parts)[:size]
        if out[-1:] == " ":
            out = out[:-1] + rng.choice(_MASH)
        return out, [{"op": "gibberish", "from": text, "to": out}]
