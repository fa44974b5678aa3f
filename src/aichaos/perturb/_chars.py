"""Character-level noise: typos, swaps, drops, casing, whitespace, punctuation, truncation.

Rates are fractions of *words* touched (one edit per chosen word). They are 5/15/30 % for
severity 1/2/3 rather than 1/3/8 %: golden prompts are typically 10-30 words, and at 1-8 %
every severity would collapse to the same single edit. nlpaug's ``KeyboardAug`` defaults to
30 % of words (``aug_word_p=0.3``), our severity 3.
"""

from __future__ import annotations

import random
import re
import unicodedata

from aichaos.perturb._base import (
    WORD_RE,
    Edit,
    Lineage,
    Perturbation,
    apply_edits,
    register,
    scaled_count,
)

WORD_RATES = (0.05, 0.15, 0.30)
"""Fraction of words edited at severity 1, 2, 3."""

_ROWS = ("1234567890-", "qwertyuiop", "asdfghjkl;", "zxcvbnm,.")


def _qwerty_neighbours() -> dict[str, str]:
    """Adjacent keys on a staggered US QWERTY layout (row below sits half a key right)."""
    out: dict[str, str] = {}
    for r, row in enumerate(_ROWS):
        for c, key in enumerate(row):
            near: list[str] = []
            for rr, cc in (
                (r, c - 1),
                (r, c + 1),
                (r - 1, c),
                (r - 1, c + 1),
                (r + 1, c - 1),
                (r + 1, c),
            ):
                if 0 <= rr < len(_ROWS) and 0 <= cc < len(_ROWS[rr]):
                    near.append(_ROWS[rr][cc])
            out[key] = "".join(n for n in near if n.isalnum())
    return {k: v for k, v in out.items() if k.isalnum() and v}


QWERTY_NEIGHBOURS = _qwerty_neighbours()
"""Key -> adjacent keys (letters and digits only), lower case."""


def _match_case(src: str, new: str) -> str:
    return new.upper() if src.isupper() else new


@register
class KeyboardTypo(Perturbation):
    """Replace one letter per chosen word by an adjacent QWERTY key (fat-finger typo).

    Source: nlpaug ``KeyboardAug`` and TextAttack ``WordSwapQWERTY`` (Morris et al. 2020).
    Words without an ASCII letter or digit are left alone; a text with none is unchanged.
    """

    name = "typo_keyboard"
    summary = "fat-finger typos: letters replaced by adjacent QWERTY keys"
    source = "nlpaug KeyboardAug; TextAttack WordSwapQWERTY"

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        words = [
            (m.start(), m.group())
            for m in WORD_RE.finditer(text)
            if any(ch.lower() in QWERTY_NEIGHBOURS for ch in m.group())
        ]
        k = scaled_count(len(words), self.level(WORD_RATES))
        edits = []
        for start, word in sorted(rng.sample(words, k)):
            idx = [i for i, ch in enumerate(word) if ch.lower() in QWERTY_NEIGHBOURS]
            i = rng.choice(idx)
            new = _match_case(word[i], rng.choice(QWERTY_NEIGHBOURS[word[i].lower()]))
            edits.append(Edit(start + i, start + i + 1, new, "typo"))
        return apply_edits(text, edits)


@register
class CharSwap(Perturbation):
    """Swap two adjacent, different characters inside chosen words ("teh" for "the").

    Source: TextAttack ``WordSwapNeighboringCharacterSwap``; DeepWordBug (Gao et al. 2018)
    as used by PromptBench (Zhu et al. 2023). Texts with no such pair are unchanged.
    """

    name = "char_swap"
    summary = "adjacent characters swapped inside words"
    source = "TextAttack WordSwapNeighboringCharacterSwap; DeepWordBug via PromptBench"

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        words = [
            (m.start(), m.group())
            for m in WORD_RE.finditer(text)
            if any(a != b for a, b in zip(m.group(), m.group()[1:], strict=False))
        ]
        k = scaled_count(len(words), self.level(WORD_RATES))
        edits = []
        for start, word in sorted(rng.sample(words, k)):
            idx = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
            i = rng.choice(idx)
            edits.append(Edit(start + i, start + i + 2, word[i + 1] + word[i], "swap"))
        return apply_edits(text, edits)


@register
class CharDrop(Perturbation):
    """Delete one character from each chosen word of two or more characters.

    Source: TextAttack ``WordSwapRandomCharacterDeletion``; DeepWordBug (Gao et al. 2018).
    Texts without a word of two characters are unchanged.
    """

    name = "char_drop"
    summary = "characters dropped from words"
    source = "TextAttack WordSwapRandomCharacterDeletion; DeepWordBug"

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        words = [(m.start(), m.group()) for m in WORD_RE.finditer(text) if len(m.group()) >= 2]
        k = scaled_count(len(words), self.level(WORD_RATES))
        edits = []
        for start, word in sorted(rng.sample(words, k)):
            i = rng.randrange(len(word))
            edits.append(Edit(start + i, start + i + 1, "", "drop"))
        return apply_edits(text, edits)

    def length_bounds(self, n: int) -> tuple[int, int]:
        return n // 2, n


@register
class Casing(Perturbation):
    """Change letter case: severity 1 all lower, 2 ALL UPPER, 3 rAnDoM per letter.

    Source: NL-Augmenter ``change_char_case`` / ``ButterFingers`` family; PromptBench's
    character-level set. Unicode case mapping may change length (``"ß".upper() == "SS"``,
    at most 3 code points per character). Text without cased letters is unchanged.
    """

    name = "casing"
    summary = "letter case changed: lower, UPPER or rAnDoM"
    source = "NL-Augmenter change_char_case; Unicode case mapping (SpecialCasing.txt)"
    max_growth = 3.0

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        mode = self.level(("lower", "upper", "random"))
        if mode == "lower":
            out = text.lower()
        elif mode == "upper":
            out = text.upper()
        else:
            out = "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in text)
            if out == text and any(ch.lower() != ch.upper() for ch in text):
                out = text.swapcase()
        return out, [{"op": "case", "mode": mode}]


_WS_RE = re.compile(r"\s+")
_SPACES = (" ", "  ", "\t", "\n", " \n", "\u00a0", "   ")


@register
class WhitespaceNoise(Perturbation):
    """Replace, multiply or (severity 3) remove the gaps between words; pad both ends.

    Source: NL-Augmenter ``whitespace_perturbation``; real pastes from documents and chat
    clients (tabs, newlines, no-break spaces). Every input changes (the ends get padding).
    """

    name = "whitespace_noise"
    summary = "extra, odd or missing whitespace between words and at the ends"
    source = "NL-Augmenter whitespace_perturbation"
    max_growth = 4.0
    max_extra = 8

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        rate = self.level((0.15, 0.35, 0.6))
        gaps = [(m.start(), m.end()) for m in _WS_RE.finditer(text)]
        k = scaled_count(len(gaps), rate)
        edits = []
        for a, b in rng.sample(gaps, k):
            if self.severity == 3 and rng.random() < 0.4:
                new = ""
            else:
                new = rng.choice(_SPACES[: 3 + 2 * self.severity])
            if new != text[a:b] and len(new) <= 4 * (b - a):
                edits.append(Edit(a, b, new, "whitespace"))
        pad = self.level((" ", " \n", "\n\t  "))
        edits.append(Edit(0, 0, pad if self.severity > 1 else "", "whitespace"))
        edits.append(Edit(len(text), len(text), pad, "whitespace"))
        out, lineage = apply_edits(text, [e for e in edits if e.new or e.pos != e.end])
        return out, [item for item in lineage if item["from"] != item["to"]]


_PUNCT_INSERTS = (",", ".", "...", ";", " -", "!", "?")


@register
class PunctuationNoise(Perturbation):
    """Drop or repeat punctuation marks and insert stray ones after words.

    Source: surface-noise transforms in the style of NL-Augmenter (Dhole et al. 2021);
    home-made. Every input changes (``"?!"`` is appended when nothing else was edited).
    """

    name = "punctuation_noise"
    summary = "punctuation dropped, repeated or inserted"
    source = "surface noise in the style of NL-Augmenter (Dhole et al. 2021)"
    max_growth = 4.0
    max_extra = 3

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        mark_rate, insert_rate = self.level(((0.3, 0.0), (0.6, 0.1), (1.0, 0.25)))
        edits = []
        for i, ch in enumerate(text):
            if unicodedata.category(ch).startswith("P") and rng.random() < mark_rate:
                edits.append(Edit(i, i + 1, rng.choice(("", ch * 2, ch * 3)), "punct"))
        for m in WORD_RE.finditer(text):
            if rng.random() < insert_rate:
                edits.append(Edit(m.end(), m.end(), rng.choice(_PUNCT_INSERTS), "punct_insert"))
        out, lineage = apply_edits(text, edits)
        if out == text:
            out, lineage = apply_edits(text, [Edit(len(text), len(text), "?!", "punct_insert")])
        return out, lineage


@register
class Truncate(Perturbation):
    """Cut the input mid-sentence, keeping 85/60/35 % of it (incomplete input).

    Source: incomplete input in real chat logs (users hitting Enter early, client-side
    length limits); no library transform is used. The cut falls at a code-point index,
    usually mid-word. Marked ``changes_meaning``: the question itself may be gone. Empty
    input stays empty.
    """

    name = "truncate"
    summary = "input cut off mid-sentence"
    source = "incomplete user input (Enter pressed early, client length limits)"
    changes_meaning = True

    def _keep(self) -> float:
        return float(self.level((0.85, 0.6, 0.35)))

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        del rng
        cut = int(len(text) * self._keep())
        return apply_edits(text, [Edit(cut, len(text), "", "truncate")])

    def length_bounds(self, n: int) -> tuple[int, int]:
        return int(n * self._keep()), n


_LEET = {
    "a": "4",
    "e": "3",
    "i": "1",
    "o": "0",
    "s": "5",
    "t": "7",
    "l": "1",
    "g": "9",
    "b": "8",
    "z": "2",
}


@register
class Leetspeak(Perturbation):
    """Replace letters by look-alike digits (a→4, e→3, o→0 ...): 25/60/100 % of them.

    Source: NL-Augmenter ``leet_letters``. Text with none of the
    mapped letters is unchanged.
    """

    name = "leetspeak"
    summary = "letters replaced by look-alike digits (l33t)"
    source = "NL-Augmenter leet_letters"

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        rate = self.level((0.25, 0.6, 1.0))
        idx = [i for i, ch in enumerate(text) if ch.lower() in _LEET]
        k = scaled_count(len(idx), rate)
        edits = [Edit(i, i + 1, _LEET[text[i].lower()], "leet") for i in rng.sample(idx, k)]
        return apply_edits(text, edits)
