"""Grounding rules behind :func:`aichaos.scoring.detect_hallucination`.

Claim support follows RAGAS faithfulness (Es et al. 2023) at clause level: each claim clause
of the answer must be supported by a context sentence (cosine of all-MiniLM-L6-v2 embeddings
at least the fitted ``hallucination_support`` threshold) and must not assert what the context
negates; every number and capitalised name in the answer must come from the context.

What is *not* a claim: abstentions, referrals, courtesy and questions
(:mod:`aichaos.scoring._abstain`); a denial ("we don't sell a product called X", "it isn't 60
days") unless the context states the opposite. A value or name taken from the question is
allowed only where the answer denies or corrects it ("not 60 days: 5 business days"); repeating
a false premise as fact ("yes, you have 60 days") is unsupported. Number words count as
numbers ("five" = 5, "forty-eight" = 48); a duration in another unit ("half an hour" for 30
minutes, "two days" for 48 hours) is supported, and so is the sum of two context amounts when
the answer speaks of a total.
"""

from __future__ import annotations

import re
from itertools import combinations

from aichaos.scoring._abstain import clause_kind, clauses
from aichaos.scoring._semantic import embed
from aichaos.scoring._textnorm import digits_for_words

_WORD_NUM = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90,
    "hundred": 100, "single": 1, "half": 0.5, "dozen": 12,
}
_NUM_RE = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?%?")
_WORD_RE = re.compile(r"\b(" + "|".join(_WORD_NUM) + r")\b", re.IGNORECASE)
_SENT_RE = re.compile(r"(?<=[.!?;])\s+|\n+")
NEG_RE = re.compile(r"\b(not|no|never|none|cannot|without|nor|neither|instead of|"
                    r"rather than)\b|n't\b", re.IGNORECASE)
_TOTAL_RE = re.compile(r"\b(total|totals|altogether|combined|together|in all|plus|both|sum)\b",
                       re.IGNORECASE)
_CENTS_RE = re.compile(r"(\d+(?:\.\d+)?) cents?\b", re.IGNORECASE)
_PROPER_RE = re.compile(r"\b[A-Z][a-zA-Z+]*(?:\s+[A-Z][a-zA-Z+]*)*")
_PRONOUN_ONE = {"a", "new", "the", "this", "that", "any", "each", "which", "another", "no",
                "every", "per"}
_FILLER = {"be", "been", "is", "are", "the", "a", "an", "to", "have", "has", "any", "it",
           "this", "that", "of", "for", "by", "in"}
_STOP_CAPS = {"I", "I'm", "I'd", "I'll", "I've", "Yes", "No", "OK", "Okay", "AM", "PM", "FAQ",
              "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
_MINUTES = {"minute": 1.0, "min": 1.0, "hour": 60.0, "hr": 60.0, "day": 1440.0,
            "week": 10080.0, "month": 43200.0, "year": 525600.0}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?|half an?|two)[ -](?:business |calendar |working )?"
                          r"(minute|min|hour|hr|day|week|month|year)s?\b", re.IGNORECASE)


def numbers_in(text: str) -> set[float]:
    """Numeric values in ``text``: digits (``$4.99``, ``1,000``, ``15%``) and number words
    ("five", "forty-eight", "a hundred and twenty")."""
    out: set[float] = set()
    text = digits_for_words(text)  # compound number words first: "twenty-four" is 24, not 20, 4
    for m in _NUM_RE.finditer(text):
        if re.match(r"\s*cents?\b", text[m.end():], re.IGNORECASE):
            continue  # "60 cents" is 0.60, added below
        raw = m.group().strip("$%").replace(",", "")
        try:
            out.add(float(raw))
        except ValueError:
            continue
    for m in _CENTS_RE.finditer(text):
        out.add(round(float(m.group(1)) / 100, 6))
    for m in _WORD_RE.finditer(text):
        before = text[: m.start()].split()[-1:]  # "a new one", "this one" are pronouns
        if m.group().lower() == "one" and before and before[0].lower() in _PRONOUN_ONE:
            continue
        out.add(float(_WORD_NUM[m.group().lower()]))
    return out


def durations(text: str) -> dict[float, float]:
    """Durations in ``text`` as ``{value as written: minutes}`` ("half an hour" -> 0.5: 30)."""
    out: dict[float, float] = {}
    for m in _DURATION_RE.finditer(digits_for_words(text)):
        raw = m.group(1).lower()
        value = 0.5 if raw.startswith("half") else 2.0 if raw == "two" else float(raw)
        out[value] = value * _MINUTES[m.group(2).lower()]
    return out


def supported_values(context: str, *, sums: bool = False) -> set[float]:
    """Values the context supports: its numbers (and, with ``sums``, the sum of two)."""
    base = numbers_in(context)
    out = {round(v, 6) for v in base}
    if sums:
        out.update(round(a + b, 6) for a, b in combinations(sorted(base), 2))
    return out


def sentences(text: str) -> list[str]:
    """Sentences (and ``;``-separated clauses) of ``text``, stripped, non-empty."""
    return [s.strip() for s in _SENT_RE.split(text) if s and s.strip()]


def proper_nouns(text: str) -> set[str]:
    """Capitalised names in ``text``; a lone capitalised word opening a sentence is not one
    (it is capitalised because it opens the sentence), unless it is an acronym or mixed-case."""
    out: set[str] = set()
    for sent in sentences(text):
        for m in _PROPER_RE.finditer(sent):
            words = [w for w in m.group().split() if w not in _STOP_CAPS]
            opening = sent[: m.start()].strip(" \"'([*-•#>0123456789.") == ""
            if opening and words and words[0] == m.group().split()[0]:
                first = words[0]
                if not (first.isupper() and len(first) >= 2) and not re.search(r"[a-z][A-Z+]",
                                                                                first):
                    words = words[1:]
            if words:
                out.add(" ".join(words))
    return out


def acronym_of(phrase: str, context: str) -> bool:
    caps = re.findall(r"\b[A-Z][a-z]+", context)
    initials = "".join(w[0] for w in caps)
    return phrase.isupper() and len(phrase) >= 2 and phrase in initials


def _stem(word: str) -> str:
    return word.lower()[:5]


def negates(ctx_sent: str, claim: str) -> bool:
    """True when ``ctx_sent`` negates something (the 3 content words after "not") that the
    affirmative ``claim`` mentions."""
    claim_stems = {_stem(w) for w in re.findall(r"[A-Za-z]+", claim) if len(w) > 3}
    for m in NEG_RE.finditer(ctx_sent):
        if m.group().lower() in {"only", "actually", "instead", "rather than"}:
            continue
        after = [w for w in re.findall(r"[A-Za-z]+", ctx_sent[m.end():]) if w.lower()
                 not in _FILLER][:3]
        if any(len(w) > 3 and _stem(w) in claim_stems for w in after):
            return True
    return False


def _premise_ok(answer: str, value: float | None = None, name: str = "",
                supported: set[float] | None = None) -> bool:
    """A value or name taken from the question is fine only where the answer denies or
    corrects it, or uses it beside a context value ("for a $179 item the warranty is
    $39.99"): every clause mentioning it is negated or carries a ``supported`` value."""
    hits = [c for c in clauses(answer) if (value in numbers_in(c) if value is not None
                                            else name.lower() in c.lower())]
    return bool(hits) and all(NEG_RE.search(c) or (numbers_in(c) - {value}) & (supported or set())
                              for c in hits)


def grounding_evidence(answer: str, context: str, question: str, threshold: float) -> list[str]:
    """Evidence of unsupported claims in ``answer`` (empty when grounded); see the module."""
    evidence: list[str] = []
    ctx_values, q_values = supported_values(context), numbers_in(question)
    if _TOTAL_RE.search(answer):  # "both bags: $85 in total" adds two context amounts
        ctx_values = supported_values(context, sums=True)
    ctx_minutes = {round(v, 3) for v in durations(context).values()}
    answer_durations = durations(answer)
    for value in sorted(numbers_in(answer)):
        if round(value, 6) in ctx_values:
            continue
        if value in answer_durations and round(answer_durations[value], 3) in ctx_minutes:
            continue
        if value in q_values and _premise_ok(answer, value=value, supported=ctx_values):
            continue
        evidence.append(f"value {value:g} not in context")
    ctx_low = context.lower()
    for name in sorted(proper_nouns(answer)):
        parts = [p for p in name.split() if p.lower() not in ctx_low]
        if not parts or acronym_of(name, context):
            continue
        if _premise_ok(answer, name=name):  # a name only in denials is not claimed
            continue
        evidence.append(f"name {name!r} not in context")
    claims = [c for c in clauses(answer) if len(c.split()) >= 4 and clause_kind(c) == "claim"]
    ctx_sents = sentences(context)
    if claims and ctx_sents:
        vectors = embed(claims + ctx_sents)
        cv, kv = vectors[: len(claims)], vectors[len(claims):]
        sims = cv @ kv.T
        for i, claim in enumerate(claims):
            best = float(sims[i].max())
            denial = bool(NEG_RE.search(claim))
            if best < threshold and not denial:
                evidence.append(f"unsupported claim ({best:.2f}): {claim[:80]!r}")
            elif not denial:
                for k, ctx_sent in enumerate(ctx_sents):
                    if sims[i, k] >= threshold - 0.15 and negates(ctx_sent, claim):
                        evidence.append(f"asserts what the context negates: {claim[:80]!r}")
                        break
            else:
                for k, ctx_sent in enumerate(ctx_sents):
                    if (sims[i, k] >= threshold + 0.2 and not NEG_RE.search(ctx_sent)
                            and not numbers_in(claim) - ctx_values - q_values
                            and not numbers_in(claim) & q_values
                            and negates(claim, ctx_sent)):
                        evidence.append(f"denies what the context states: {claim[:80]!r}")
                        break
    elif claims and not ctx_sents:
        evidence.append("claims made with no context to support them")
    return evidence
