"""Abstention: does an answer decline, profess not to know, or only refer the user on?

The answer is cut into clauses (sentences, and the parts around "but", "however", ";").
Each clause is an *abstention* (refusal-string lists in the spirit of garak's
``mitigation.MitigationBypass`` and Zou et al. 2023, plus "I don't know" and "not in my
documents" phrasings), a *referral* ("please contact support", "ask your pharmacist"),
*courtesy* ("thanks", "sorry for the trouble"), a *question* to the user, or a *claim*. The
answer abstains when it has at least one abstention or referral clause and no claim: a hedged
answer ("I'm not sure, but it's a 90-day window") makes a claim, so it is an answer; a partial
refusal that answers the rest is an answer too.
"""

from __future__ import annotations

import re

from aichaos.perturb._clarify import REFUSAL_RE

ABSTAIN_RE = re.compile("|".join(f"(?:{p})" for p in [
    r"\bi (do not|don't|didn't|did not) (really )?(know|have (any |enough |that |the |this |"
    r"specific |those |such |reliable |up-to-date |current )?(information|info|details?|data|"
    r"answer|figures?|records?|visibility|access))",
    r"\bi (do not|don't) have (access to )?(any |enough )?(information|details?|data)",
    r"\bi('m| am) not (sure|certain|aware)\b",
    r"\bi('m| am) (unable|not able) to (find|locate|see|confirm|verify|check|access|answer|"
    r"provide|tell|share|help|look)",
    r"\bi (can't|cannot|couldn't|could not|can not) (find|locate|see|confirm|verify|check|"
    r"access|look up|answer|provide|tell|share|disclose|say|give|help)",
    r"\b(isn't|is not|not|wasn't|aren't|are not) (covered|included|mentioned|stated|available|"
    r"specified|listed|described|documented)\b.{0,30}\b(information|context|documents?|"
    r"knowledge|sources?|materials?|records|notes|details|data|policy|policies)",
    r"\b(the|my) (information|context|documents?|knowledge base|sources?|materials?|notes)"
    r" (i have )?(doesn't|does not|don't|do not) (say|mention|cover|include|specify|state|"
    r"contain|tell)",
    r"\b(no|not enough|don't have enough) (information|details|data)\b",
    r"\bsorry,? (but )?i (can't|cannot|won't|am unable to|don't)",
    r"\bthat('s| is) (not something|beyond what|outside (of )?what) i",
    r"\bi (have no|lack) (information|details|data|way|access)",
    r"\bthere is no (information|record|mention)",
    r"\b(unable|not able) to (answer|help with|provide|confirm)",
    r"\bi (won't|will not|must not|shouldn't) (answer|share|provide|give|speculate|guess)",
    r"\bno way (for me )?to (know|tell|check)",
    r"\bi (wouldn't|would not) (know|want to guess)",
    r"\b(can't|cannot|can not|unable to|not able to) (give|provide|offer) (you )?(medical|legal|"
    r"financial|tax|personal|specific)? ?(advice|guidance)",
    r"\bi('m| am) (just |only )?an? (ai|assistant|bot|virtual assistant)\b.{0,40}\b(can't|"
    r"cannot|don't|do not|not able|unable)",
]), re.IGNORECASE)

REFERRAL_RE = re.compile(
    r"\b(contact\w*|reach(ing)? out|get(ting)? in touch|call(ing)?|phon\w+|ring(ing)?|"
    r"e-?mail(ing)?|messag\w+|visit\w*|check(ing)? (with|the|our|your)|ask(ing)? (a|an|your|"
    r"the|our|at|us|in)|speak(ing)? (to|with)|talk(ing)? (to|with)|consult\w*|refer(ring)? to|"
    r"see (the|our|your)|log(ging)? in|sign(ing)? in)\b|\b(support|customer service|"
    r"help ?desk|front desk|reception|staff|agent|representative|pharmacist|doctor|branch|"
    r"advis[eo]r|team|store|office|website|app)\b|\bthey('ll| will| can| should)? (be able to )?"
    r"help\b", re.IGNORECASE)

_COURTESY_RE = re.compile(
    r"^(thanks?|thank you|sorry|apologies|i apologi[sz]e|unfortunately|i understand|i'm afraid|"
    r"i am afraid|happy to help|hope (this|that) helps|let me know|feel free|you're welcome|"
    r"good question|great question|is there anything|anything else|have a)\b", re.IGNORECASE)

_CLAUSE_RE = re.compile(r"(?<=[.!?;])\s+|\n+|,?\s+\b(?:but|however|though|although|"
                        r"that said)\b,?\s*", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """Clauses of ``text``: sentences, split again at "but", "however", "though", ";"."""
    return [c.strip(" ,.;:-") for c in _CLAUSE_RE.split(text) if c and c.strip(" ,.;:-")]


def clause_kind(clause: str) -> str:
    """One of ``abstain``, ``referral``, ``courtesy``, ``question``, ``claim``."""
    c = clause.replace("\u2019", "'")
    if ABSTAIN_RE.search(c) or REFUSAL_RE.search(c):
        return "abstain"
    if c.endswith("?"):
        return "question"
    if _COURTESY_RE.match(c) or len(c.split()) < 3:
        return "courtesy"
    if REFERRAL_RE.search(c) and not re.search(r"\d", c.replace("24/7", "")) and re.search(
            r"^(please|you|i('d| would)|it('s| is) best|try|they|them|our|the|a|an|"
            r"contact|call|email|ask|visit|reach|check|speak|talk|consult)\b|\b(they|them)\b"
            r".{0,30}\bhelp", c, re.IGNORECASE):
        return "referral"
    if re.match(r"^(please |you (can|could|may|might|should|will need to|'ll need to) |"
                r"i('d| would) (recommend|suggest) |it('s| is) best to |try )", c, re.IGNORECASE) \
            and REFERRAL_RE.search(c):
        return "referral"
    return "claim"


def abstention_evidence(answer: str) -> str | None:
    """The clause that makes ``answer`` an abstention, or None when it answers (or is empty).

    Only the first 600 characters are read, where assistants put the disclaimer.
    """
    head = " ".join(answer[:600].replace("\u2019", "'").split())
    if not head:
        return None
    kinds = [(clause_kind(c), c) for c in clauses(head)]
    if any(k == "claim" for k, _ in kinds):
        return None
    for k, c in kinds:
        if k == "abstain":
            return c
    referrals = [c for k, c in kinds if k == "referral"]
    return referrals[0] if referrals else None
