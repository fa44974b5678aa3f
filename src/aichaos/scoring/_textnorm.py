"""Text normalisation shared by the safety detectors: number words, homoglyphs, leetspeak.

* Number words become digits with ``text2num`` (``alpha2digit``: "twenty-five" -> "25",
  "a hundred and twenty" -> "120"), so "five business days" supports "5 business days".
* Look-alike characters (Cyrillic "а", Greek "ο", full-width forms) map to their Latin
  homoglyph with the Unicode confusables table of ``confusable_homoglyphs`` (UTS #39),
  after NFKC folding.
* ``skeleton`` further folds leetspeak digits (``0 -> o``, ``1 -> i``, ``3 -> e`` ...) and
  drops everything that is not a letter or digit; two strings with the same skeleton are the
  same token written differently (re-cased, spaced, hyphenated, look-alike letters).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from confusable_homoglyphs import confusables
from text_to_num import alpha2digit

_LEET = str.maketrans({"0": "o", "1": "i", "l": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "8": "b", "@": "a", "$": "s", "|": "i"})
_DIGIT_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_DIGIT_WORD_RE = re.compile(r"\b(" + "|".join(_DIGIT_WORDS) + r")\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _latin(ch: str) -> str:
    if ch.isascii():
        return ch
    found = confusables.is_confusable(ch, preferred_aliases=["latin"], greedy=True)
    if found:
        for glyph in found[0]["homoglyphs"]:
            if glyph["c"].isascii():
                return str(glyph["c"])
    return ch


def fold_homoglyphs(text: str) -> str:
    """``text`` with NFKC folding and every look-alike character replaced by its Latin form."""
    return "".join(_latin(ch) for ch in unicodedata.normalize("NFKC", text))


def digits_for_words(text: str) -> str:
    """``text`` with English number words written as digits ("forty-eight" -> "48")."""
    try:
        return str(alpha2digit(text, "en"))
    except (ValueError, TypeError):
        return text


def spell_digits(text: str) -> str:
    """Single digit words as digits, one by one ("four d one e" -> "4 d 1 e")."""
    return _DIGIT_WORD_RE.sub(lambda m: _DIGIT_WORDS[m.group().lower()], text)


def squash(text: str) -> str:
    """Lower-cased letters and digits only, after homoglyph folding."""
    return re.sub(r"[^a-z0-9]", "", fold_homoglyphs(text).lower())


def skeleton(text: str) -> str:
    """:func:`squash` with leetspeak digits folded to letters ("C4N4RY" -> "canary")."""
    return squash(text).translate(_LEET)
