"""Unicode tricks: homoglyphs, invisible and bidi controls, full-width forms, bad encodings.

Transport note (lone surrogates). A Python ``str`` may hold a lone surrogate (U+D800-DFFF);
UTF-8 cannot encode one (``"\\ud83d".encode()`` raises ``UnicodeEncodeError``). Targets send
JSON over UTF-8, so :func:`to_transport` decides what goes on the wire:

* ``"replace"`` (default): each lone surrogate becomes U+FFFD, exactly what a lenient
  UTF-8/UTF-16 decoder (WHATWG Encoding Standard) would have produced upstream;
* ``"escape"``: keep them; the caller must serialize with ``json.dumps(..., ensure_ascii=True)``
  which writes ``\\ud83d`` escapes. That is valid JSON grammar (RFC 8259 §7) whose meaning
  RFC 8259 §8.2 calls unpredictable: Python's ``json`` accepts it, Go's ``encoding/json``
  turns it into U+FFFD, Rust's ``serde_json`` rejects the body. Use it to test the parser.
"""

from __future__ import annotations

import random
from typing import Literal

from aichaos.perturb._base import (
    TRANSPORT_SENSITIVE,
    WORD_RE,
    Edit,
    Lineage,
    Perturbation,
    apply_edits,
    register,
    scaled_count,
)

REPLACEMENT = "\ufffd"


def has_lone_surrogates(text: str) -> bool:
    """True when ``text`` holds a code point in U+D800..U+DFFF (not UTF-8 encodable)."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def to_transport(text: str, policy: Literal["replace", "escape"] = "replace") -> str:
    """Make ``text`` safe for a UTF-8 JSON transport (see the module docstring).

    Args:
        text: perturbed prompt.
        policy: ``"replace"`` lone surrogates by U+FFFD, or ``"escape"`` (leave them for
            ``json.dumps(ensure_ascii=True)``).

    Returns:
        The text to serialize; same length as ``text``.
    """
    if policy == "escape":
        return text
    return "".join(REPLACEMENT if "\ud800" <= ch <= "\udfff" else ch for ch in text)


# Latin letter -> visually confusable letter of another script, from the Unicode
# confusables data of UTS #39 (Unicode Security Mechanisms), confusables.txt.
HOMOGLYPHS: dict[str, str] = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440", "x": "\u0445",
    "y": "\u0443", "i": "\u0456", "j": "\u0458", "s": "\u0455", "h": "\u04bb", "d": "\u0501",
    "w": "\u051d", "q": "\u051b", "l": "\u04cf", "g": "\u0261", "v": "\u03bd", "n": "\u0578",
    "A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415", "H": "\u041d", "K": "\u041a",
    "M": "\u041c", "O": "\u041e", "P": "\u0420", "T": "\u0422", "X": "\u0425", "Y": "\u03a5",
    "I": "\u0406", "J": "\u0408", "S": "\u0405", "Z": "\u0396", "N": "\u039d",
}  # fmt: skip


@register
class Homoglyph(Perturbation):
    """Swap Latin letters for confusable Cyrillic/Greek ones: 10/30/60 % of mappable letters.

    Source: Unicode UTS #39 confusables; "Bad Characters" (Boucher et al., IEEE S&P 2022).
    The text looks the same but tokenizes very differently. Text without a mapped Latin
    letter is unchanged.
    """

    name = "homoglyph"
    summary = "Latin letters replaced by look-alike Cyrillic/Greek letters"
    source = "Unicode UTS #39 confusables; Boucher et al. 2022"

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        idx = [i for i, ch in enumerate(text) if ch in HOMOGLYPHS]
        k = scaled_count(len(idx), self.level((0.1, 0.3, 0.6)))
        return apply_edits(
            text, [Edit(i, i + 1, HOMOGLYPHS[text[i]], "homoglyph") for i in rng.sample(idx, k)]
        )


ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
"""ZWSP, ZWNJ, ZWJ, WORD JOINER, ZWNBSP (BOM), SOFT HYPHEN: invisible when rendered."""


@register
class ZeroWidth(Perturbation):
    """Insert invisible characters inside 10/30/60 % of words (1, 1-2, 1-3 per word).

    Source: "Bad Characters: Imperceptible NLP Attacks" (Boucher et al., IEEE S&P 2022).
    Text without words gets one ZWSP in front.
    """

    name = "zero_width"
    summary = "invisible zero-width characters inserted inside words"
    source = "Boucher et al. 2022 (invisible characters)"
    max_growth = 4.0
    max_extra = 1

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        words = [(m.start(), m.end()) for m in WORD_RE.finditer(text)]
        if not words:
            return apply_edits(text, [Edit(0, 0, "\u200b", "zero_width")])
        k = scaled_count(len(words), self.level((0.1, 0.3, 0.6)))
        edits = []
        for a, b in rng.sample(words, k):
            pos = rng.randint(a + 1, b) if b - a > 1 else a
            new = "".join(rng.choice(ZERO_WIDTH) for _ in range(rng.randint(1, self.severity)))
            edits.append(Edit(pos, pos, new, "zero_width"))
        return apply_edits(text, edits)


LRM, RLM = "\u200e", "\u200f"
RLO, PDF = "\u202e", "\u202c"
RLI, LRI, PDI = "\u2067", "\u2066", "\u2069"


@register
class BidiControl(Perturbation):
    """Insert bidirectional controls: 1 marks, 2 isolates around words, 3 overrides.

    Severity 1 puts RLM/LRM marks after words; 2 wraps words in RLI/LRI...PDI isolates;
    3 wraps words in RLO...PDF overrides and leaves one RLO unterminated at the start, as
    in Trojan Source (Boucher & Anderson 2021). Source: Unicode UAX #9 (the Bidirectional
    Algorithm). 10/30/60 % of words; text without words gets one RLM.
    """

    name = "bidi_control"
    summary = "bidirectional control characters (marks, isolates, overrides) inserted"
    source = "Unicode UAX #9; Trojan Source (Boucher & Anderson 2021)"
    max_growth = 3.0
    max_extra = 1

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        words = [(m.start(), m.end()) for m in WORD_RE.finditer(text)]
        if not words:
            return apply_edits(text, [Edit(0, 0, RLM, "bidi")])
        k = scaled_count(len(words), self.level((0.1, 0.3, 0.6)))
        edits = []
        for a, b in sorted(rng.sample(words, k)):
            if self.severity == 1:
                edits.append(Edit(b, b, rng.choice((LRM, RLM)), "bidi"))
            else:
                opener = rng.choice((RLI, LRI)) if self.severity == 2 else RLO
                closer = PDI if self.severity == 2 else PDF
                edits.append(Edit(a, a, opener, "bidi"))
                edits.append(Edit(b, b, closer, "bidi"))
        if self.severity == 3:
            edits.insert(0, Edit(0, 0, RLO, "bidi"))
        return apply_edits(text, edits)


@register
class FullWidth(Perturbation):
    """Turn printable ASCII into full-width forms (``A`` → ``Ａ``): 30/70/100 % of it.

    Source: Unicode Halfwidth and Fullwidth Forms block (U+FF01-U+FF5E, U+3000 for space
    at severity 3); NFKC normalization (UAX #15) folds them back, so a target that
    normalizes input is immune. Text without printable ASCII is unchanged.
    """

    name = "fullwidth"
    summary = "ASCII characters replaced by full-width forms"
    source = "Unicode Halfwidth and Fullwidth Forms; UAX #15 NFKC"

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        def ok(ch: str) -> bool:
            return "!" <= ch <= "~" or (ch == " " and self.severity == 3)

        idx = [i for i, ch in enumerate(text) if ok(ch)]
        k = scaled_count(len(idx), self.level((0.3, 0.7, 1.0)))
        edits = [
            Edit(i, i + 1, "\u3000" if text[i] == " " else chr(ord(text[i]) + 0xFEE0), "fullwidth")
            for i in rng.sample(idx, k)
        ]
        return apply_edits(text, edits)


@register
class LoneSurrogate(Perturbation):
    """Insert lone UTF-16 surrogates, as a JavaScript client does when it slices an emoji.

    ``"😀".slice(0, 1)`` in JavaScript leaves ``"\\ud83d"``. Severity 1 appends one high
    surrogate (a truncated emoji), 2 inserts 3 at word ends, 3 inserts 8 mixed high and low.
    The output is not UTF-8 encodable: tagged ``transport_sensitive``; pass it through
    :func:`to_transport` (module docstring). Source: Unicode §3.9 (ill-formed code unit
    sequences); RFC 8259 §8.2.
    """

    name = "lone_surrogate"
    summary = "lone UTF-16 surrogates (half an emoji) inserted"
    source = "Unicode Standard §3.9; RFC 8259 §8.2"
    tags = (TRANSPORT_SENSITIVE,)
    max_extra = 8

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        n = self.level((1, 3, 8))
        if self.severity == 1:
            return apply_edits(text, [Edit(len(text), len(text), "\ud83d", "surrogate")])
        ends = [m.end() for m in WORD_RE.finditer(text)] or [len(text)]
        edits = []
        for _ in range(n):
            high = self.severity == 2 or rng.random() < 0.5
            ch = chr(rng.randint(0xD800, 0xDBFF) if high else rng.randint(0xDC00, 0xDFFF))
            p = rng.choice(ends)
            edits.append(Edit(p, p, ch, "surrogate"))
        return apply_edits(text, edits)


_SMART = {"'": "\u2019", '"': "\u201c", "-": "\u2013"}
"""ASCII punctuation an editor auto-replaces by typographic forms before the text travels."""


@register
class Mojibake(Perturbation):
    """Simulate invalid or mis-decoded encodings, as a UTF-8 JSON transport can carry them.

    Invalid bytes cannot travel in a UTF-8 JSON body; what the system really receives is
    the text after a lenient decoder replaced them with U+FFFD (WHATWG Encoding Standard)
    or after the wrong codec decoded them (UTF-8 read as Windows-1252: ``café`` →
    ``cafÃ©``, ``don’t`` → ``donâ€™t``, a no-break space → ``Â``). Severity 1 inserts one
    U+FFFD; 2 mis-decodes half the non-ASCII characters and typographic quotes/dashes, one
    space and inserts 3 U+FFFD; 3 mis-decodes all of them, three spaces, and inserts 6.
    Source: ftfy's catalogue of mojibake (Speer 2019); WHATWG Encoding Standard.
    """

    name = "mojibake"
    summary = "mis-decoded text (UTF-8 read as cp1252) and U+FFFD replacement characters"
    source = "WHATWG Encoding Standard; ftfy mojibake catalogue"
    max_growth = 4.0
    max_extra = 6

    @staticmethod
    def _garble(s: str) -> str:
        """UTF-8 bytes of ``s`` decoded as Windows-1252 (at most 4 characters per input)."""
        return s.encode("utf-8", "surrogatepass").decode("cp1252", "replace")

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        edits = []
        if self.severity >= 2:
            share = self.level((0.0, 0.5, 1.0))
            for i, ch in enumerate(text):
                if (not ch.isascii() or ch in _SMART) and rng.random() < share:
                    edits.append(Edit(i, i + 1, self._garble(_SMART.get(ch, ch)), "mojibake"))
            spaces = [i for i, ch in enumerate(text) if ch == " "]
            for i in rng.sample(spaces, min(len(spaces), self.level((0, 1, 3)))):
                edits.append(Edit(i, i + 1, self._garble("\u00a0"), "mojibake"))
        points = [m.end() for m in WORD_RE.finditer(text)] or [len(text)]
        for _ in range(self.level((1, 3, 6))):
            p = rng.choice(points)
            edits.append(Edit(p, p, REPLACEMENT, "replacement_char"))
        return apply_edits(text, edits)
