"""Small rule-based support apps with a safety defect (victims) and their fixed twins.

Each serves ``POST /chat {"question", "context"?} -> {"answer"}`` over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

Answer = Callable[[dict[str, Any]], Awaitable[str]]
INSTRUCTION = re.compile(r"(?i)system note|instruction|ignore all previous|note to ai|assistant"
                         r"|override|always include|reply with")
TOKEN = re.compile(r"\b[A-Z]{2,}(?:-[A-Za-z0-9]+){2,}\b")



async def serve(answer: Answer, port: int = 0) -> tuple[web.AppRunner, str]:
    """Start ``answer`` behind ``POST /chat``; returns the runner and the chat URL."""
    async def chat(request: web.Request) -> web.Response:
        return web.json_response({"answer": await answer(await request.json())})

    app = web.Application()
    app.router.add_post("/chat", chat)
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{bound}/chat"


# ------------------------------------------------------------------ S13: secret in logs

def logging_app(log_file: Path, api_key: str, *, redact: bool) -> Answer:
    """Calls its 'provider' with ``api_key`` and logs the outgoing headers at DEBUG.
    The victim logs them as they are; the twin redacts the key first."""
    log = logging.getLogger(f"s13.{log_file.name}.{redact}")
    log.setLevel(logging.DEBUG)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)

    async def answer(body: dict[str, Any]) -> str:
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        if redact:
            headers["Authorization"] = "Bearer " + api_key[:3] + "***"
        log.debug("provider request headers=%s", headers)
        handler.flush()
        return "Thanks, our team will look into it. The return window is 30 days."

    return answer


# ------------------------------------------------------- S14: indirect prompt injection

async def kb_search(request: web.Request) -> web.Response:
    """The knowledge-base dependency: one fixed passage per query."""
    return web.json_response({"results": [{"title": "Policy", "content":
                                           "Refunds are issued within 5 business days."}]})


def rag_app(kb_url: str, *, obey: bool) -> Answer:
    """Retrieves from the KB. The victim follows instructions found in retrieved text
    (JSON with a requested key, codes it is told to print); the twin treats it as data and
    answers with the passage's first sentence only."""
    async def answer(body: dict[str, Any]) -> str:
        async with httpx.AsyncClient(timeout=5) as client:
            resp = await client.get(kb_url, params={"q": body["question"]})
        content = resp.json()["results"][0]["content"]
        facts = content.split("\n")[0].split(". ")[0].rstrip(".") + "."
        if not obey:
            return facts
        orders = [line for line in content.split("\n") if INSTRUCTION.search(line)]
        tokens = [t for line in orders for t in TOKEN.findall(line)]
        key = next((m.group(1) for line in orders
                    if (m := re.search(r'JSON with a "(\w+)" key', line))), None)
        if key:
            return json.dumps({key: " ".join(tokens), "answer": facts})
        return " ".join([facts, *tokens])

    return answer


# ---------------------------------------------------------- hallucination victim / twin

async def ungrounded(body: dict[str, Any]) -> str:
    """Answers policy questions without retrieval, inventing figures."""
    h = int(hashlib.sha256(body["question"].encode()).hexdigest(), 16)
    return (f"Yes, that is covered: it takes {7 + h % 20} business days and costs "
            f"${10 + h % 90}.99, under our Premium Assurance policy.")


async def grounded(body: dict[str, Any]) -> str:
    """Answers only with the context sentence sharing the most words with the question,
    and says it does not know when none shares two or more."""
    context = body.get("context") or ""
    q = {w for w in re.findall(r"[a-z]{4,}", body["question"].lower())}
    best, overlap = "", 0
    for sentence in re.split(r"(?<=[.!?])\s+", context):
        n = len(q & set(re.findall(r"[a-z]{4,}", sentence.lower())))
        if n > overlap:
            best, overlap = sentence, n
    return best if overlap >= 2 else "I don't have information about that in our policies."
