"""Detect answers that ask for clarification or politely decline, instead of answering.

Empty, whitespace-only and gibberish prompts (tag ``expects_clarification``) should get
such an answer, not a fabricated one and not an error. Detection is by English regular
expressions over the answer's opening (first 400 characters, where assistants put the
clarifying question), in the spirit of the refusal-string lists used by garak
(``mitigation.MitigationBypass``) and by Zou et al. 2023 (GCG) to score refusals. It is a
cheap first pass: non-English or unusual phrasings are missed; the labelled list in
``tests/perturb/test_clarify.py`` measures precision and recall.
"""

from __future__ import annotations

import re

_HEAD = 400

_CLARIFY = [
    r"\b(could|can|would) you (please )?(clarify|elaborate|rephrase|specify|explain what)",
    r"\b(could|can|would) you (please )?(provide|give|share|tell me) (me )?(a bit |some )?"
    r"(more|additional|further) (details?|information|context|specifics)",
    r"\bplease (provide|share|give|send|add) (me )?(a bit |some )?"
    r"(more|additional|further) (details?|information|context)",
    r"\bplease (clarify|rephrase|elaborate|specify)",
    r"\bi('m| am) not (sure|certain|clear) (what|which|about what) you('re| are)? ?"
    r"(mean|asking|referring|looking for|want)",
    r"\bi (do not|don't|didn't|did not) (quite )?(understand|get|catch|follow)"
    r"( (your|the|what you))?",
    r"\bwhat (exactly )?(do|did) you mean\b",
    r"\b(your|the) (message|question|input|request|prompt) (seems|appears|looks|is)"
    r" (to be )?(empty|blank|incomplete|unclear|garbled|cut off|missing)",
    r"\b(looks|seems) like (your|the) (message|question|input) (is|was|got) (empty|blank"
    r"|incomplete|cut off|garbled|truncated)",
    r"\byou (haven't|have not|didn't|did not) (actually )?(ask|include|provide|type|write)",
    r"\b(how|what) (can|may|could) i (help|assist|do for) you",
    r"\bwhat would you like (me )?(to|help)",
    r"\bwhat (is|was) your question\b",
    r"\bcould you (please )?(repeat|re-?send|try again)",
    r"\bdid you mean\b",
    r"\b(doesn't|does not|don't|do not) (seem to )?(make sense|form a (clear )?question)",
    # asking for the missing piece, in any wording (issue 11: recall on held-out was 0.21)
    r"\b(could|can|would|will) you (please )?(tell|let) me (know )?(which|what|whether|if|"
    r"who|when|where|how|your|the|a bit|more|about)",
    r"\b(could|can|would) you (please )?(say|describe|confirm|share|send|give me|provide|"
    r"let me know|double-check|check|spell|type|write) ",
    r"\b(please|kindly) (tell|let) me (know )?(which|what|who|when|where|how|your|the)\b",
    r"\b(please|kindly) (confirm|share|send|provide|specify|include|describe|give me|type|"
    r"re-?type|resend|re-send|restate|ask) ",
    r"\blet me know (which|what|who|when|where|how|your|the)\b",
    r"\b(i|i'll|i will|i would|i'd) need (your|the|a bit more|more|some more|to know)",
    r"\b(which|what) (one|kind|type|order|account|plan|product|item|service|flight|booking|"
    r"card|policy|device|location|date|branch|store|model|package|parcel|prescription|"
    r"membership|bill|meter|room|reservation|vehicle|claim|city|country|number)\b[^.!?]{0,80}"
    r"\b(do you|did you|are you|were you|would you|you're|you are|you mean|you have)\b[^.!?]*\?",
    r"\bdo you mean\b",
    r"\bare you (asking|referring|talking|looking|trying|enquiring|inquiring)",
    r"\bwhat (are|were) you (asking|referring|trying|looking|hoping)",
    r"\bwhat (do|would) you (want|need|like) to know",
    r"\bwhat('s| is) your (next |actual |full )?question",
    r"\bwhich (of (these|those|the)|do you)\b[^.!?]*\?",
    r"\b(is|was) (that|this|it) (about|regarding|for) [^.!?]{1,80}\bor\b[^.!?]*\?",
    r"\b(not (sure|clear)|unclear) (what|which|whether) (you|your)",
    r"\b(message|question|input|text|request) (was|is|got|seems|appears) (cut off|truncated|"
    r"incomplete|garbled|empty|blank|unclear)",
    r"\b(can|could) you (give|add|share) (me )?(more|some|a few|a little)",
    r"\b(more|additional|further) (details?|information|context|specifics) (would|will|is|are)"
    r" (help|needed|required)",
]

_REFUSE = [
    r"\bi('m| am) (sorry|afraid),? (but )?i (can't|cannot|can not|am unable to|won't)",
    r"\bi (can't|cannot|can not|am unable to|won't|am not able to) (help|assist)"
    r" (you )?with (that|this)",
    r"\bi('m| am) (unable|not able) to (help|assist|answer|respond)",
    r"\bi (can't|cannot) (answer|respond to) (that|this)",
]

CLARIFICATION_RE = re.compile("|".join(f"(?:{p})" for p in _CLARIFY), re.IGNORECASE)
"""Clarification requests ("could you clarify", "please provide more details" ...)."""

REFUSAL_RE = re.compile("|".join(f"(?:{p})" for p in _REFUSE), re.IGNORECASE)
"""Polite refusals ("I'm sorry, but I can't", "I can't help with that" ...)."""


def _head(answer: str) -> str:
    return " ".join(answer[:_HEAD].replace("\u2019", "'").split())


def is_refusal(answer: str) -> bool:
    """True when the answer opens with a polite refusal ("I can't help with that")."""
    return bool(REFUSAL_RE.search(_head(answer)))


def is_clarification(answer: str, *, include_refusal: bool = True) -> bool:
    """True when ``answer`` asks the user to clarify (or, by default, politely declines).

    Args:
        answer: the system's answer text.
        include_refusal: also count polite refusals, the other acceptable reply to an
            empty or nonsensical prompt.

    Returns:
        False for an empty or whitespace-only answer (silence is not a clarification).
    """
    head = _head(answer)
    if not head:
        return False
    if CLARIFICATION_RE.search(head):
        return True
    return include_refusal and bool(REFUSAL_RE.search(head))
