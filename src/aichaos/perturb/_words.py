"""Word-level noise: slang, filler words, emoji, a second language, distractor sentences."""

from __future__ import annotations

import random
import re

from aichaos.errors import PluginError
from aichaos.perturb._base import (
    WORD_RE,
    Edit,
    Lineage,
    Perturbation,
    apply_edits,
    register,
    scaled_count,
)


def _recase(src: str, new: str) -> str:
    if len(src) > 1 and src.isupper():
        return new.upper()
    if src[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _swap_words(
    text: str, table: dict[str, str], rate: float, rng: random.Random, op: str
) -> list[Edit]:
    hits = [m for m in WORD_RE.finditer(text) if m.group().lower() in table]
    k = scaled_count(len(hits), rate)
    return [
        Edit(m.start(), m.end(), _recase(m.group(), table[m.group().lower()]), op)
        for m in rng.sample(hits, k)
    ]


# Every abbreviation is no longer than its word, so the length bound stays 1x + suffix.
SLANG: dict[str, str] = {
    "you": "u", "your": "ur", "are": "r", "please": "pls", "thanks": "thx", "because": "bc",
    "before": "b4", "for": "4", "with": "w/", "without": "w/o", "people": "ppl",
    "really": "rly", "about": "abt", "tomorrow": "tmrw", "today": "2day", "tonight": "2nite",
    "message": "msg", "information": "info", "account": "acct", "password": "pw",
    "what": "wat", "know": "kno", "be": "b", "see": "c", "why": "y", "okay": "ok",
    "problem": "prob", "probably": "prob", "something": "smth", "someone": "sm1",
    "anyone": "ne1", "great": "gr8", "later": "l8r", "though": "tho", "right": "rite",
    "going": "goin", "want": "wanna", "got": "gt", "need": "nd", "cannot": "cant",
    "question": "q", "number": "no.", "minutes": "mins", "seconds": "secs", "between": "btwn",
}  # fmt: skip
_SLANG_TAGS = (" pls", " asap", " lol", " tbh", " thx!!")


@register
class Slang(Perturbation):
    """Replace words by chat abbreviations (you→u, please→pls) at 30/70/100 %, add a tag.

    Source: NL-Augmenter ``slangificator`` and ``insert_abbreviation`` transformations.
    A chat tag (``" pls"``, ``" lol"``...) is appended at severity 3, or whenever no word
    of the table occurs, so every input changes.
    """

    name = "slang"
    summary = "words replaced by chat slang and abbreviations"
    source = "NL-Augmenter slangificator, insert_abbreviation"
    max_extra = 6

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        edits = _swap_words(text, SLANG, self.level((0.3, 0.7, 1.0)), rng, "slang")
        if self.severity == 3 or not edits:
            edits.append(Edit(len(text), len(text), rng.choice(_SLANG_TAGS), "slang_tag"))
        return apply_edits(text, edits)


FILLERS = (
    "um",
    "uh",
    "like",
    "you know",
    "basically",
    "I mean",
    "kind of",
    "so",
    "well",
    "actually",
    "literally",
    "hmm",
)


@register
class FillerWords(Perturbation):
    """Insert spoken-style filler words ("um", "like", "you know") before 10/25/50 % of words.

    Source: NL-Augmenter ``filler_word_augmentation``; disfluencies of speech-to-text input.
    Text without words gets one filler in front.
    """

    name = "filler_words"
    summary = "filler words (um, like, you know) inserted"
    source = "NL-Augmenter filler_word_augmentation"
    max_growth = 14.0  # "literally... " (13) before a one-letter word
    max_extra = 13

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        starts = [m.start() for m in WORD_RE.finditer(text)] or [0]
        k = scaled_count(len(starts), self.level((0.1, 0.25, 0.5)))
        edits = [
            Edit(p, p, rng.choice(FILLERS) + rng.choice((" ", ", ", "... ")), "filler")
            for p in rng.sample(starts, k)
        ]
        return apply_edits(text, edits)


EMOJI = ("😊", "🙏", "👍", "😂", "🤔", "🔥", "❤️", "😅", "💯", "🙄")
EMOJI_COMPLEX = ("👩\u200d💻", "👍🏽", "🇫🇷", "👨\u200d👩\u200d👧", "🏳️\u200d🌈")
"""ZWJ sequences, skin-tone modifiers and flags: several code points per glyph."""
EMOJI_WORDS: dict[str, str] = {
    "love": "❤️", "happy": "😊", "money": "💰", "phone": "📱", "email": "📧", "time": "⏰",
    "fire": "🔥", "car": "🚗", "house": "🏠", "home": "🏠", "ok": "👌", "okay": "👌",
    "thanks": "🙏", "pizza": "🍕", "coffee": "☕", "idea": "💡", "sad": "😢", "laugh": "😂",
    "music": "🎵", "book": "📖", "computer": "💻", "rain": "🌧️", "sun": "☀️", "dog": "🐶",
}  # fmt: skip


@register
class Emoji(Perturbation):
    """Sprinkle emoji after 10/25/50 % of words; from severity 2 replace nouns by emoji.

    Severity 3 adds multi-code-point emoji (ZWJ sequences, skin tones, flags). At least one
    emoji is appended, so every input changes. Source: NL-Augmenter ``emojify``.
    """

    name = "emoji"
    summary = "emoji inserted after words or replacing them"
    source = "NL-Augmenter emojify"
    max_growth = 7.0
    max_extra = 8

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        pool = EMOJI + (EMOJI_COMPLEX if self.severity == 3 else ())
        edits = []
        if self.severity >= 2:
            edits = _swap_words(text, EMOJI_WORDS, self.level((0.0, 0.5, 1.0)), rng, "emojify")
        ends = [m.end() for m in WORD_RE.finditer(text)]
        for p in rng.sample(ends, scaled_count(len(ends), self.level((0.1, 0.25, 0.5)))):
            edits.append(Edit(p, p, " " + rng.choice(pool), "emoji"))
        edits.append(Edit(len(text), len(text), " " + rng.choice(pool), "emoji"))
        return apply_edits(text, edits)


PHRASES: dict[str, dict[str, object]] = {
    "es": {
        "open": ("Hola, ", "Oye, ", "Buenas, "),
        "close": (" ¿me ayudas?", " gracias de antemano", " por favor"),
        "words": {"please": "por favor", "thanks": "gracias", "hello": "hola", "hi": "hola",
                  "how": "cómo", "what": "qué", "why": "por qué", "my": "mi", "help": "ayuda",
                  "account": "cuenta", "password": "contraseña", "order": "pedido",
                  "today": "hoy", "tomorrow": "mañana", "money": "dinero", "is": "es",
                  "the": "el", "and": "y", "with": "con", "for": "para", "need": "necesito",
                  "can": "puedo", "where": "dónde", "when": "cuándo", "not": "no"},
    },
    "fr": {
        "open": ("Bonjour, ", "Salut, ", "Alors, "),
        "close": (" merci d'avance", " s'il vous plaît", " svp"),
        "words": {"please": "svp", "thanks": "merci", "hello": "bonjour", "hi": "salut",
                  "how": "comment", "what": "quoi", "why": "pourquoi", "my": "mon",
                  "help": "aide", "account": "compte", "password": "mot de passe",
                  "order": "commande", "today": "aujourd'hui", "money": "argent", "is": "est",
                  "the": "le", "and": "et", "with": "avec", "for": "pour", "where": "où",
                  "when": "quand", "not": "pas", "can": "peux"},
    },
    "de": {
        "open": ("Hallo, ", "Also, ", "Guten Tag, "),
        "close": (" danke im Voraus", " bitte", " vielen Dank"),
        "words": {"please": "bitte", "thanks": "danke", "hello": "hallo", "hi": "hallo",
                  "how": "wie", "what": "was", "why": "warum", "my": "mein", "help": "Hilfe",
                  "account": "Konto", "password": "Passwort", "order": "Bestellung",
                  "today": "heute", "tomorrow": "morgen", "money": "Geld", "is": "ist",
                  "the": "die", "and": "und", "with": "mit", "for": "für", "where": "wo",
                  "when": "wann", "not": "nicht", "can": "kann", "need": "brauche"},
    },
}  # fmt: skip
"""A small built-in code-switching table: greeting, closing, word translations."""


@register
class MixedLanguage(Perturbation):
    """Mix a second language in: greeting/closing phrases, then 25/60 % of known words.

    Severity 1 adds a greeting or closing; 2 adds one and translates 25 % of the table's
    words; 3 adds both and translates 60 %. The language is ``language`` or, when None,
    drawn per input from ``es``, ``fr``, ``de``. Source: code-switching benchmarks such as
    GLUECoS (Khanuja et al., ACL 2020); word-level code-mixing augmentation.

    Raises:
        PluginError: ``language`` is not in the built-in table.
    """

    name = "mixed_language"
    summary = "a second language (es/fr/de) mixed into the prompt"
    source = "code-switching, GLUECoS (Khanuja et al. 2020); built-in phrase table"
    max_growth = 4.0
    max_extra = 40

    def __init__(self, severity: int = 1, seed: int = 0, language: str | None = None) -> None:
        super().__init__(severity, seed)
        if language is not None and language not in PHRASES:
            raise PluginError(
                f"perturbation 'mixed_language': language must be one of "
                f"{', '.join(sorted(PHRASES))}, got {language!r}"
            )
        self.language = language
        self.spec[1]["language"] = language

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        lang = self.language or rng.choice(sorted(PHRASES))
        table = PHRASES[lang]
        words: dict[str, str] = table["words"]  # type: ignore[assignment]
        opens: tuple[str, ...] = table["open"]  # type: ignore[assignment]
        closes: tuple[str, ...] = table["close"]  # type: ignore[assignment]
        rate = self.level((0.0, 0.25, 0.6))
        edits = _swap_words(text, words, rate, rng, f"translate_{lang}") if rate else []
        want_open = self.severity == 3 or rng.random() < 0.5
        if want_open:
            edits.insert(0, Edit(0, 0, rng.choice(opens), f"phrase_{lang}"))
        if self.severity == 3 or not want_open:
            edits.append(Edit(len(text), len(text), rng.choice(closes), f"phrase_{lang}"))
        return apply_edits(text, edits)


DISTRACTORS = (
    "By the way, my cat knocked a plant off the shelf this morning.",
    "The weather here has been strange all week.",
    "I read somewhere that the Eiffel Tower grows about 15 cm in summer.",
    "My cousin Maria moved to Lisbon in 2019 and loves it.",
    "I had three coffees today, which is probably too many.",
    "Our office printer has been broken since Tuesday.",
    "The train was 20 minutes late again.",
    "Also, and true is true.",
    "My neighbour has 4 dogs and 2 parrots.",
    "I'm writing this from my phone, sorry for any mistakes.",
    "Last year I spent $1,250 on a new bike.",
    "Fun fact: octopuses have three hearts.",
)
"""Irrelevant sentences (some carrying numbers and names, as in GSM-IC)."""
_SENT_END = re.compile(r"[.!?。](?=\s)")


@register
class Distractor(Perturbation):
    """Insert 1/2/4 irrelevant sentences before, between or after the prompt's sentences.

    Source: AddSent/AddAny distractors (Jia & Liang, EMNLP 2017); GSM-IC irrelevant context
    (Shi et al., ICML 2023); PromptBench's StressTest suffix "and true is true".
    """

    name = "distractor"
    summary = "irrelevant distractor sentences inserted"
    source = "Jia & Liang 2017; GSM-IC (Shi et al. 2023); PromptBench StressTest"
    max_extra = 4 * (max(len(s) for s in DISTRACTORS) + 1)

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        spots = sorted({0, len(text), *(m.end() for m in _SENT_END.finditer(text))})
        chosen = rng.sample(DISTRACTORS, self.level((1, 2, 4)))
        edits = []
        for sentence in chosen:
            p = rng.choice(spots)
            new = sentence + " " if p == 0 else " " + sentence
            edits.append(Edit(p, p, new, "distractor"))
        return apply_edits(text, edits)
