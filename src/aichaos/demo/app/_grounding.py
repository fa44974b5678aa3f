"""Grounding guard of the hardened profile: the answer is validated against its sources.

The sources are the retrieved passages and CRM facts that went into the prompt. A small model
(SmolLM2-135M) often states a number the passage does not give ("2 business days" when the
refund passage says 5) or invents a policy. Answer validation against retrieved sources is a
standard defence (e.g. the "groundedness" checks of RAG guardrails); this is its cheap,
deterministic form:

1. **Numbers.** Every number in the answer (amounts, percentages, durations, ISO dates, digits
   inside identifiers; the words two..ninety as numbers) must appear in the sources, compared
   by value (``$4.99`` = ``4.99``, ``five`` = ``5``, ``1,000`` = ``1000``, ``10%`` = ``10``).
   ISO dates must appear whole; numbers the customer wrote in the question are allowed. When
   the answer sentence shares at least ``MIN_ALIGN_WORDS`` content words with some source
   sentence, the number must occur in a source sentence it shares a content word with: the
   refund passage says "2 business days" (inspection) and "5 business days" (refund), and
   "your refund is issued within 2 business days" is caught although 2 is in the passage.
2. **Off-topic claims.** An answer that is not an abstention, has at least
   ``MIN_CLAIM_WORDS`` content words, and shares fewer than ``MIN_OVERLAP`` of them with the
   sources is unsupported.

An unsupported answer is replaced by an extractive one: the one or two sentences of the top
source most similar to the question (cosine of all-MiniLM-L6-v2 embeddings,
``aichaos.scoring.embed``, the model retrieval already uses), prefixed "According to our
policy: " (or "According to our records: " for a CRM fact). When no sentence reaches
``MIN_EXTRACT_SIMILARITY`` the app's abstention answer is used.

Thresholds, calibrated offline on the demo data without the model (retrieval as the app does
it; simulated answers: each golden question of ``datasets/support.yaml`` restated with its
expected fragment, "<question>: 5 business days." — a pessimistic form that echoes the
customer's words — and a plausible invented yes-answer to each of the 15 ``unanswerable``
questions of ``datasets/safety.yaml``):

* ``MIN_OVERLAP = 0.25``: the simulated golden answers share 0.25-1.0 of their content words
  with the retrieved passages (median 0.67; the one lower value, 0.0, is an order question
  whose simulated answer is only the question and a date; a real answer such as "Your order
  NW-10238 is expected to arrive on 2026-12-08." shares 0.5). The invented answers share
  0.0-0.8 (7 of 15 below 0.25: trade-in, installation, heat pump, military discount,
  careers, HomeKit, affiliates). 3 more inventions are caught by the number check; the
  other 5 reuse the passage's own words and are left to the assessment.
* ``MIN_CLAIM_WORDS = 3``: shorter answers ("Yes.", "30 days.") carry too few words to judge.
* ``MIN_ALIGN_WORDS = 2``: one shared word ("refund") aligns an answer sentence with many
  source sentences; two ("refund ... issued") pick the one it paraphrases. With one, the
  echo-style golden answers were flagged 4 times more often.
* ``MIN_EXTRACT_SIMILARITY = 0.35``: against the golden questions the best sentence of the
  top passage scores 0.40-0.85 (median 0.65; 0.29 once, where retrieval missed the answering
  passage); against the unanswerable ones 0.12-0.70, below 0.35 for 8 of 15, whose passage
  sentence would not answer the question, so the app abstains instead.

For a wrong number, the source sentence the answer paraphrases (most shared content words,
at least ``MIN_ALIGN_WORDS``) is preferred to the similarity pick: "your refund is issued
within 2 business days" becomes the passage's "...the refund is issued within 5 business
days...".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np

from aichaos.demo.app._settings import ABSTAIN_ANSWER
from aichaos.scoring import embed

MIN_OVERLAP = 0.25
MIN_CLAIM_WORDS = 3
MIN_ALIGN_WORDS = 2
MIN_EXTRACT_SIMILARITY = 0.35
POLICY_PREFIX = "According to our policy: "
RECORDS_PREFIX = "According to our records: "

#: ``similarity(question, sentences)``: one score per sentence, higher is more similar
Similarity = Callable[[str, Sequence[str]], Sequence[float]]

_ONES = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9}
# "one" is left out: mostly a pronoun ("a new one", "one of your payments")
_NUMBER_WORDS = {**_ONES, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
                 "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
                 "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
                 "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
                 "hundred": 100}
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_NUMBER = re.compile(
    rf"(?P<cur>\$\s?)?(?:(?P<digits>\d+(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"|\b(?P<word>(?:{_TENS})-(?:{'|'.join(_ONES)})|{'|'.join(_NUMBER_WORDS)})\b)"
    r"(?P<pct>\s?%)?(?P<rest>(?:[\s-]+[A-Za-z]+){0,2})", re.IGNORECASE)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_UNITS = {"day", "week", "month", "year", "hour", "minute", "percent", "business", "working",
          "calendar"}
_UNIT_SKIP = {"business", "working", "calendar", "full", "more", "extra", "additional"}
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9$\"'(])|\s+-\s+(?=[A-Z0-9$])")
_PLACEHOLDER = re.compile(r"<[A-Z_]+>|\[redacted\]")
_WORDS = re.compile(r"[a-z]+")
# answers that decline to claim anything pass (they are what abstention looks like)
_ABSTAINS = re.compile(
    r"\b(?:don'?t|do not|does not|doesn'?t) (?:have|know|mention|say|specify)|not sure|"
    r"no information|(?:can'?t|cannot|unable to) (?:find|answer|help|say)|not (?:in|part "
    r"of) the (?:context|information)|contact (?:our )?support", re.IGNORECASE)
_STOP = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
    "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
    "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off",
    "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she",
    "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
    "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
    "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "would", "yes", "you", "your", "yours",
    "yourself", "northwind", "gadgets", "customer", "customers", "please", "thank",
    "thanks", "sorry", "may", "might", "must", "get", "got", "able", "every", "sure",
    "help", "within",
})


@dataclass(frozen=True)
class Source:
    """One text the prompt quoted: a passage (``fact=False``, with its title) or a CRM fact."""

    text: str
    fact: bool = False
    title: str = ""

    @property
    def quoted(self) -> str:
        return f"{self.title}: {self.text}" if self.title else self.text


@dataclass(frozen=True)
class Verdict:
    """What the grounding check decided.

    Attributes:
        answer: the text to send (the model's answer when ``reason`` is ``None``).
        reason: ``None`` (grounded), ``"number"`` or ``"off_topic"``.
        replacement: ``"extractive"`` or ``"abstain"`` when replaced, else ``None``.
    """

    answer: str
    reason: str | None = None
    replacement: str | None = None


def _stem(word: str) -> str:
    return word[:5]  # truncation stemming: refund/refunds/refunded -> "refun"


def content_stems(text: str) -> set[str]:
    """Stems of the content words of ``text`` (3+ letters; no stop, number or unit words)."""
    return {_stem(w) for w in _WORDS.findall(_PLACEHOLDER.sub(" ", text).lower())
            if len(w) >= 3 and w not in _STOP and w not in _NUMBER_WORDS
            and w not in _UNITS and w.removesuffix("s") not in _UNITS}


def _value(m: re.Match[str]) -> str:
    word = m.group("word")
    if word:
        parts = word.lower().split("-")
        return str(sum(_NUMBER_WORDS[p] for p in parts))
    try:
        return format(Decimal(m.group("digits").replace(",", "")).normalize(), "f")
    except InvalidOperation:  # pragma: no cover - the regex only matches decimals
        return m.group("digits")


def _unit(m: re.Match[str]) -> str:
    if m.group("pct"):
        return "%"
    if m.group("cur"):
        return "$"
    for w in m.group("rest").lower().replace("-", " ").split():
        if w == "percent":
            return "%"
        if w not in _UNIT_SKIP:
            return w.removesuffix("s")
    return ""


def numbers(text: str) -> set[tuple[str, str]]:
    """``(value, unit)`` of every number in ``text``; ISO dates as ``(date, "date")``.

    ``value`` is the decimal without grouping or trailing zeros; ``unit`` is ``%``, ``$``, the
    singular word after the number (``business``/``working`` skipped: ``day``), or ``""``.
    """
    found = {(d, "date") for d in _DATE.findall(text)}
    for m in _NUMBER.finditer(_DATE.sub(" ", text)):
        found.add((_value(m), _unit(m)))
    return found


def sentences(text: str) -> list[str]:
    """``text`` split after ``.``, ``!``, ``?`` or ``;`` followed by a capital or digit."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def unsupported_numbers(answer: str, sources: Sequence[str],
                        question: str = "") -> list[tuple[str, str]]:
    """The numbers of ``answer`` its sources do not support, as ``(value, unit)``.

    Supported: an ISO date found whole in a source; a number whose value the customer gave in
    ``question``; a number whose value occurs in a source sentence that shares a content word
    with the answer sentence. When no source sentence shares ``MIN_ALIGN_WORDS`` content words
    with the answer sentence, the alignment is too weak to trust and any source sentence will
    do. ``sources`` should be passage texts without titles (a title would align every
    sentence of its passage).
    """
    src_sentences = [s for text in sources for s in sentences(text)]
    src_values = [{v for v, _ in numbers(s)} for s in src_sentences]
    src_stems = [content_stems(s) for s in src_sentences]
    dates = {d for text in sources for d in _DATE.findall(text)}
    asked = {v for v, u in numbers(question) if u != "date"}
    bad = []
    for sent in sentences(answer):
        own = content_stems(sent)
        shared = [len(own & stems) for stems in src_stems]
        aligned = src_values  # too little to align on: any sentence
        if max(shared, default=0) >= MIN_ALIGN_WORDS:
            aligned = [v for v, n in zip(src_values, shared, strict=True) if n]
        for value, unit in sorted(numbers(sent)):
            if unit == "date":
                ok = value in dates
            else:
                ok = value in asked or any(value in vals for vals in aligned)
            if not ok:
                bad.append((value, unit))
    return bad


def overlap(answer: str, sources: Sequence[str]) -> float:
    """Share of the answer's content stems that occur in the sources (1.0 when it has none)."""
    own = content_stems(answer)
    if not own:
        return 1.0
    return len(own & content_stems("\n".join(sources))) / len(own)


def embedding_similarity(question: str, texts: Sequence[str]) -> Sequence[float]:
    """Cosine similarity of ``question`` to each text (all-MiniLM-L6-v2, blocking ~20 ms)."""
    vecs = embed([question, *texts])
    return [float(x) for x in np.asarray(vecs[1:]) @ np.asarray(vecs[0])]


def extractive_answer(question: str, top: Source | None, similarity: Similarity,
                      min_similarity: float = MIN_EXTRACT_SIMILARITY) -> str | None:
    """The one or two sentences of ``top`` most similar to ``question``, prefixed, or ``None``.

    The runner-up sentence is added (in document order) when it scores within 0.1 of the best
    and both fit in 300 characters.
    """
    if top is None:
        return None
    sents = sentences(top.text)  # the title is left out: it is not a sentence
    if not sents:
        return None
    scores = list(similarity(question, sents))
    order = sorted(range(len(sents)), key=lambda i: -scores[i])
    if scores[order[0]] < min_similarity:
        return None
    chosen = [order[0]]
    if (len(order) > 1 and scores[order[1]] >= scores[order[0]] - 0.1
            and len(sents[order[0]]) + len(sents[order[1]]) <= 300):
        chosen.append(order[1])
    text = " ".join(sents[i] for i in sorted(chosen))
    return (RECORDS_PREFIX if top.fact else POLICY_PREFIX) + text


def corrected_claim(answer: str, sources: Sequence[Source]) -> str | None:
    """The source sentence a wrong-number answer paraphrases, prefixed, or ``None``.

    A wrong number usually comes with the right words ("your refund is issued within 2
    business days"); the source sentence sharing the most content words with the answer (at
    least ``MIN_ALIGN_WORDS``, and holding a number) is the claim it got wrong.
    """
    own = content_stems(answer)
    best: tuple[int, str, bool] | None = None
    for src in sources:
        for sent in sentences(src.text):
            n = len(own & content_stems(sent))
            if n >= MIN_ALIGN_WORDS and numbers(sent) and (best is None or n > best[0]):
                best = (n, sent, src.fact)
    if best is None:
        return None
    return (RECORDS_PREFIX if best[2] else POLICY_PREFIX) + best[1]


def check(answer: str, question: str, sources: Sequence[Source], similarity: Similarity,
          *, min_overlap: float = MIN_OVERLAP,
          min_claim_words: int = MIN_CLAIM_WORDS) -> Verdict:
    """Validate ``answer`` against ``sources`` (best first); replace it when unsupported.

    Blocking when it replaces (``similarity`` embeds); run it in a worker thread.
    """
    texts = [s.quoted for s in sources]
    reason = None
    if unsupported_numbers(answer, [s.text for s in sources], question):
        reason = "number"
    elif (not _ABSTAINS.search(answer) and len(content_stems(answer)) >= min_claim_words
          and overlap(answer, texts) < min_overlap):
        reason = "off_topic"
    if reason is None:
        return Verdict(answer)
    extract = corrected_claim(answer, sources) if reason == "number" else None
    if extract is None:
        extract = extractive_answer(question, sources[0] if sources else None, similarity)
    if extract is None:
        return Verdict(ABSTAIN_ANSWER, reason, "abstain")
    return Verdict(extract, reason, "extractive")
