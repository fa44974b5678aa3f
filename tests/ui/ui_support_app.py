"""A tiny support bot, as a Python target, in two releases: ``answer_good`` and ``answer_bad``.

``answer_good`` knows every fact of :data:`FACTS` but one; ``answer_bad`` forgets most of them,
answers more slowly and fails outright on order questions, so a run of it must compare worse.
"""

from __future__ import annotations

import time

#: question -> the fact a correct answer contains
FACTS: dict[str, str] = {
    f"What is the return window for item number {i}?": f"{10 + i} days" for i in range(20)
}
UNKNOWN = "What is the return window for item number 19?"


def answer_good(question: str, context: str | None = None) -> str:
    text = " ".join(question.split()).strip()
    for q, fact in FACTS.items():
        if q.lower() == text.lower() and q != UNKNOWN:
            return f"The return window is {fact}."
    return "I'm sorry, I don't know."


def answer_bad(question: str, context: str | None = None) -> str:
    time.sleep(0.02)
    text = " ".join(question.split()).strip()
    if text.endswith(("3?", "7?")):
        raise RuntimeError("order service unavailable")
    for i, (q, fact) in enumerate(FACTS.items()):
        if q == text and i % 3 == 0:
            return f"The return window is {fact}."
    return "Please contact support."
