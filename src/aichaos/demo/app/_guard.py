"""Input normalisation and validation, PII redaction, prompt building and the output check.

Only the ``hardened`` profile uses the checks; ``naive`` builds its prompt from raw input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence

from aichaos.demo.app._redaction import find_pii, mask_pii
from aichaos.demo.app._settings import DATA_NOTICE, OFF_FORMAT_ANSWER, SYSTEM_PROMPT

# zero-width (U+200B..U+200D, U+2060..U+2064, U+FEFF), soft hyphen, and the bidi controls
# (U+200E/F marks, U+202A..U+202E embeddings/overrides, U+2066..U+2069 isolates)
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+")
_VOWELS = set("aeiouyAEIOUY")
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{5,}")
_SECRETISH = re.compile(r"\b(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{12,}\b")
ORDER_ID = re.compile(r"\bNW-\d{5}\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """NFKC, zero-width and bidi controls removed, whitespace runs collapsed to one space."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return _WS.sub(" ", text).strip()


def limit_length(text: str, max_chars: int) -> str:
    """``text`` when short enough, else its first 60% and last 40% of ``max_chars`` joined by
    `` ... `` (the question is usually at the start or the end of a long message)."""
    if len(text) <= max_chars:
        return text
    head = int(max_chars * 0.6)
    tail = max_chars - head
    return text[:head].rstrip() + " ... " + text[-tail:].lstrip()


def is_gibberish(text: str) -> bool:
    """True for empty input, input without letters, or mostly unpronounceable letter runs.

    A word is plausible when it has a vowel and no run of 5 consonants, or is not Latin
    script (mixed-language input is not gibberish). Gibberish: plausible words hold less
    than half of the letters.
    """
    words = _WORD.findall(text)
    if not words:
        return True
    total = plausible = 0
    for w in words:
        total += len(w)
        latin = all(c.isascii() for c in w)
        if not latin or (any(c in _VOWELS for c in w) and not _CONSONANT_RUN.search(w)):
            plausible += len(w)
    return plausible * 2 < total


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """PII and secrets replaced by ``<KIND>`` placeholders (``_redaction.mask_pii``)."""
    return mask_pii(text, secrets)


def secretish_tokens(texts: Iterable[str]) -> list[str]:
    """Tokens that look like keys or canaries (12+ chars mixing letters and digits)."""
    return sorted({m.group() for t in texts for m in _SECRETISH.finditer(t)})


def build_messages(question: str, passages: Sequence[str], order_facts: Sequence[str],
                   client_system: Sequence[str], *, hardened: bool) -> list[dict[str, str]]:
    """Chat messages for the model: system (instructions + context) and the question.

    ``hardened`` wraps the context as data (``DATA_NOTICE``) and removes anything in it that
    could close the wrapper; ``naive`` pastes the context as it is.
    """
    context = "\n".join([*order_facts, *passages])
    system = SYSTEM_PROMPT
    if client_system:
        system += "\n" + "\n".join(client_system)
    if hardened:
        context = context.replace("<context>", "").replace("</context>", "")
        system += "\n" + DATA_NOTICE
        user = f"<context>\n{context}\n</context>\n\nQuestion: {question}"
    else:
        user = f"Context:\n{context}\n\nQuestion: {question}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class OutputGuard:
    """Streaming output check of the hardened profile.

    Feed model deltas; it returns text that is safe to send now. Secrets (canaries, tokens from
    the system messages) become ``[redacted]`` and PII that is not in the prompt context
    becomes ``<KIND>``; the last ``hold`` characters are held back so a secret split across
    deltas is never half sent. An answer that starts like JSON or a code fence (the shape of a
    JSON hijack, scenario S14) is held whole and replaced by ``OFF_FORMAT_ANSWER`` unless it
    carries a plain ``answer``/``response`` string.
    """

    def __init__(self, secrets: Iterable[str], allowed: str, hold: int = 32) -> None:
        self.secrets = [s for s in secrets if len(s) >= 4]
        self.allowed = allowed
        self.hold = max([hold, *(len(s) for s in self.secrets)])
        self.raw = ""
        self.sent = 0
        self.json_like: bool | None = None
        self.changed = False

    def _scrub(self, text: str) -> str:
        text = text.split("</context", 1)[0].replace("<context>", "")  # prompt echo
        for s in self.secrets:
            text = text.replace(s, "[redacted]")
        hits = [m for m in find_pii(text) if m.text not in self.allowed]
        for m in reversed(hits):
            text = text[: m.start] + f"<{m.kind.upper()}>" + text[m.end :]
        return text

    def feed(self, delta: str) -> str:
        """Add a model delta; returns the text that may be sent now (maybe empty)."""
        self.raw += delta
        if self.json_like is None:
            head = self.raw.lstrip()
            if not head:
                return ""
            self.json_like = head[0] in "{[" or head.startswith("```")
        if self.json_like:
            return ""
        clean = self._scrub(self.raw)
        safe = len(clean) - self.hold
        if safe <= self.sent:
            return ""
        out, self.sent = clean[self.sent : safe], safe
        return out

    def finish(self) -> str:
        """The rest of the answer once the model is done."""
        if self.json_like:
            self.changed = True
            return _unhijack(self.raw)
        clean = self._scrub(self.raw)
        self.changed = clean != self.raw
        out, self.sent = clean[self.sent :], len(clean)
        return out


def _unhijack(raw: str) -> str:
    text = raw.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        obj = json.loads(text)
    except ValueError:
        return OFF_FORMAT_ANSWER
    if isinstance(obj, dict):
        for key in ("answer", "response", "reply", "content"):
            if isinstance(obj.get(key), str) and obj[key].strip():
                return str(obj[key]).strip()
    return OFF_FORMAT_ANSWER
