"""A perturbation plugin: one class."""

from __future__ import annotations

import random
from typing import Any

from aichaos.perturb import Perturbation, register


@register
class ReverseWords(Perturbation):
    """Reverses the order of the words (severity 1: the last two swap; 3: all of them)."""

    name = "reverse_words"
    summary = "reverse the order of the words"
    source = "test plugin (tests/core/plugins_one_class)"
    tags = ("word_order",)
    max_growth = 1.0

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
        words = text.split(" ")
        out = words[::-1] if self.severity == 3 else [*words[:-2], *words[-2:][::-1]]
        return " ".join(out), [{"op": "reverse_words", "words": len(words)}]
