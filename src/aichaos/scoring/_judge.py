"""An optional LLM judge for grounding, on any OpenAI-compatible ``/chat/completions``.

The judge is asked whether every claim of an answer is supported by a context and must reply
``SUPPORTED`` or ``UNSUPPORTED`` (the binary-verdict format of the LLM-as-a-judge studies,
Zheng et al. 2023, which report more stable verdicts than numeric scales). Anything else - a
connection error, an HTTP error, a reply without one of those two words - raises
:class:`JudgeError`: a judge that could not judge is an error, never a pass and never NaN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from aichaos.errors import AIChaosError

_PROMPT = (
    "You check answers of a customer-support assistant against reference text.\n"
    "Reference text:\n{context}\n\nQuestion: {question}\nAnswer: {answer}\n\n"
    "Is every factual claim of the answer supported by the reference text? An answer that "
    "says it does not know is SUPPORTED. Reply with exactly one word: SUPPORTED or "
    "UNSUPPORTED."
)
_VERDICT = re.compile(r"\b(UNSUPPORTED|SUPPORTED)\b")


class JudgeError(AIChaosError):
    """The LLM judge could not give a verdict (unreachable, HTTP error, unreadable reply)."""


@dataclass(slots=True)
class LLMJudge:
    """A grounding judge.

    Args:
        base_url: OpenAI-compatible base URL ending in ``/v1``.
        model: model name sent in the request.
        api_key: sent as ``Authorization: Bearer`` when given.
        timeout_s: per-call timeout, seconds.
    """

    base_url: str
    model: str = "default"
    api_key: str | None = None
    timeout_s: float = 30.0

    def supported(self, answer: str, context: str, question: str = "") -> bool:
        """True when the judge says every claim of ``answer`` is supported by ``context``.

        Raises:
            JudgeError: the call failed or the reply carried no verdict.
        """
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {
            "model": self.model, "temperature": 0, "max_tokens": 8,
            "messages": [{"role": "user", "content": _PROMPT.format(
                context=context or "(none)", question=question, answer=answer)}],
        }
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            resp = httpx.post(url, json=body, headers=headers, timeout=self.timeout_s)
            resp.raise_for_status()
            text = str(resp.json()["choices"][0]["message"]["content"] or "")
        except httpx.HTTPStatusError as exc:
            raise JudgeError(f"judge {url}: HTTP {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            raise JudgeError(f"judge {url}: {type(exc).__name__}: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise JudgeError(f"judge {url}: unreadable response ({exc!r})") from exc
        m = _VERDICT.search(text.upper())
        if m is None:
            raise JudgeError(f"judge {url}: no SUPPORTED/UNSUPPORTED verdict in {text[:60]!r}")
        return m.group(1) == "SUPPORTED"
