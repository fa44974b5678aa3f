"""The support assistant's answer pipeline, for both profiles.

``naive``: question as received → CRM lookup of any order number → top-k retrieval → prompt →
LLM stream, every failure raised to the HTTP layer (which answers 500).

``hardened``: normalise (NFKC, no zero-width/bidi controls, collapsed whitespace) → clarify
empty or gibberish input → cut very long input → redact PII → response cache → CRM lookup
(404 and outage answered in words) → retrieval with the asking sentences of the message, abstain
when support is weak (best cosine, coverage of the question's salient terms, unknown product
names: ``_answerability.py``) → prompt with the
context wrapped as data → LLM stream with timeouts, retries and a circuit breaker → output
check (secrets, PII, JSON hijack) → grounding check (numbers and content words against the
passages and CRM facts of the prompt, ``_grounding.py``; an unsupported answer becomes an
extractive one or the abstention) → fallback answer on any upstream failure.

Time to first token: hardened buffers the whole answer before sending any of it, because a
claim can only be validated once it is complete (and an invalid one must never be half sent).
The client's first chunk therefore arrives when the model finishes, not when it starts: TTFT
grows by the model's generation time of the whole answer (one or two sentences asked for,
``max_tokens`` capped at 256), plus one embedding call (about 20 ms) when an answer is
replaced. Total latency barely changes; only TTFT moves to the end. A client that asked for
``stream`` still gets SSE chunks.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from aichaos.demo.app import _answerability, _grounding
from aichaos.demo.app._grounding import Similarity, Source, embedding_similarity
from aichaos.demo.app._guard import (
    ORDER_ID,
    OutputGuard,
    build_messages,
    is_gibberish,
    limit_length,
    normalise,
    redact,
    secretish_tokens,
)
from aichaos.demo.app._retrieval import KnowledgeBase
from aichaos.demo.app._settings import (
    ABSTAIN_ANSWER,
    CLARIFY_ANSWER,
    FALLBACK_ANSWER,
    OFF_FORMAT_ANSWER,
    SUPPORT_EMAIL,
    AppSettings,
)
from aichaos.demo.app._telemetry import Telemetry
from aichaos.demo.app._upstream import (
    CircuitOpen,
    CrmUnavailable,
    HardenedLLM,
    PartialOutput,
    StreamResult,
    UpstreamError,
    crm_lookup,
    naive_stream,
)

log = logging.getLogger("aichaos.demo.app")


@dataclass
class Turn:
    """What happened while answering one request (filled in as the answer streams)."""

    outcome: str = "answered"
    error_class: str | None = None
    finish_reason: str = "stop"
    prompt_chars: int = 0
    output_tokens: int = 0
    attempts: int = 0
    answer: str = ""
    #: the client sent ``Cache-Control: no-cache`` (RFC 9111 section 5.2.1.4): do not answer
    #: from the response cache
    no_cache: bool = False


class TTLCache:
    """A small LRU cache whose entries expire ``ttl_s`` seconds after being stored."""

    def __init__(self, ttl_s: float, size: int) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._data: OrderedDict[Any, tuple[float, str]] = OrderedDict()

    def get(self, key: Any) -> str | None:
        hit = self._data.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl_s:
            self._data.pop(key, None)
            return None
        self._data.move_to_end(key)
        return hit[1]

    def put(self, key: Any, value: str) -> None:
        self._data[key] = (time.monotonic(), value)
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)


def question_of(body: dict[str, Any]) -> tuple[str, list[str]]:
    """The last user message and every system message of an OpenAI chat request.

    Raises:
        KeyError, TypeError: the body has no ``messages`` list (naive lets this become a 500).
    """
    user, system = "", []
    for msg in body["messages"]:
        content = msg.get("content")
        if isinstance(content, list):  # content parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        content = content if isinstance(content, str) else ""
        if msg.get("role") == "system":
            system.append(content)
        elif msg.get("role") == "user":
            user = content
    return user, system


def _order_fact(order_id: str, rec: dict[str, Any]) -> str:
    items = ", ".join(f"{i.get('qty', 1)} x {i.get('name')}" for i in rec.get("items") or [])
    return (f"Order {order_id}: status {rec.get('status')}, carrier {rec.get('carrier') or 'none'}"
            f", tracking {rec.get('tracking') or 'none'}, ETA {rec.get('eta') or 'unknown'}, "
            f"items: {items or 'none'}, total ${rec.get('total')}")


class SupportService:
    """Answers chat requests; one instance per app process."""

    def __init__(self, settings: AppSettings, kb: KnowledgeBase, telemetry: Telemetry) -> None:
        self.settings, self.kb, self.telemetry = settings, kb, telemetry
        s = settings
        if s.hardened:
            timeout = httpx.Timeout(connect=s.connect_timeout_s, read=s.read_timeout_s,
                                    write=s.read_timeout_s, pool=s.read_timeout_s)
            crm_timeout = httpx.Timeout(2.0, connect=1.0)
        else:
            timeout = crm_timeout = httpx.Timeout(None)
        hooks = telemetry.httpx_event_hooks()  # traceparent on LLM and CRM calls (hardened)
        self.llm_client = httpx.AsyncClient(timeout=timeout, event_hooks=hooks)
        self.crm_client = httpx.AsyncClient(timeout=crm_timeout, event_hooks=hooks)
        self.llm = HardenedLLM(self.llm_client, s, self._on_retry)
        self.cache = TTLCache(s.cache_ttl_s, s.cache_size)
        self.chat_url = s.llm_url.rstrip("/") + "/chat/completions"
        #: sentence scorer of the grounding guard's extractive answers (tests inject their own)
        self.similarity: Similarity = embedding_similarity
        #: term statistics of the knowledge base and catalogue, for the answerability gate
        self.vocabulary = _answerability.Vocabulary.build(
            [p.quoted for p in kb.passages], _answerability.load_catalogue())

    def _on_retry(self, exc: UpstreamError) -> None:
        self.telemetry.retries.inc()
        self.telemetry.errors.labels(exc.kind).inc()
        log.warning("upstream %s, retrying", exc.kind)

    async def aclose(self) -> None:
        await self.llm_client.aclose()
        await self.crm_client.aclose()

    async def respond(self, body: dict[str, Any], turn: Turn) -> AsyncIterator[str]:
        """Non-empty text deltas of the answer to ``body`` (an OpenAI chat request).

        Raises (naive only): anything a dependency or the input raises.
        """
        if self.settings.hardened:
            async for text in self._hardened(body, turn):
                turn.answer += text
                yield text
        else:
            async for text in self._naive(body, turn):
                turn.answer += text
                yield text

    # ------------------------------------------------------------------ naive

    async def _naive(self, body: dict[str, Any], turn: Turn) -> AsyncIterator[str]:
        question, system = question_of(body)
        facts = []
        for oid in dict.fromkeys(m.upper() for m in ORDER_ID.findall(question)):
            rec = await crm_lookup(self.crm_client, self.settings.crm_url, oid, hardened=False)
            facts.append(_order_fact(oid, rec or {}))
        hits = await asyncio.to_thread(self.kb.search, question, self.settings.top_k)
        messages = build_messages(question, [p.quoted for p, _ in hits], facts, system,
                                  hardened=False)
        log.info("prompt %s", messages)  # the raw prompt, personal data included
        turn.prompt_chars = sum(len(m["content"]) for m in messages)
        result = StreamResult()
        async for text in naive_stream(self.llm_client, self.chat_url,
                                       self._llm_body(body, messages), result):
            if text:
                turn.output_tokens += 1
                yield text
        turn.finish_reason = result.finish_reason or "stop"

    # --------------------------------------------------------------- hardened

    async def _hardened(self, body: dict[str, Any], turn: Turn) -> AsyncIterator[str]:
        s = self.settings
        question, system = question_of(body)
        raw = question
        question = normalise(question)
        if is_gibberish(question):
            turn.outcome = "clarified"
            yield CLARIFY_ANSWER
            return
        secrets = [*s.canaries, *secretish_tokens(system)]
        question = redact(limit_length(question, s.max_input_chars), secrets)
        # the asking sentences, not the chatter or the JSON envelope around them, are what
        # retrieval and the gate judge (read before whitespace is collapsed: line breaks end
        # sentences)
        views = _answerability.prepared_views(raw, s.max_input_chars, secrets)
        key = (question.lower(), tuple(system), body.get("max_tokens"), body.get("temperature"))
        cached = None if turn.no_cache else self.cache.get(key)
        if cached is not None:
            turn.outcome = "cached"
            yield cached
            return
        facts: list[str] = []
        for oid in list(dict.fromkeys(m.upper() for m in ORDER_ID.findall(question)))[:3]:
            try:
                with self.telemetry.span("crm lookup", {"crm.order_id": oid}, client=True):
                    rec = await crm_lookup(self.crm_client, s.crm_url, oid, hardened=True)
            except CrmUnavailable as exc:
                self.telemetry.errors.labels("crm_unavailable").inc()
                log.warning("CRM unavailable: %s", exc)
                turn.outcome, turn.error_class = "fallback", "crm_unavailable"
                yield (f"Sorry, I can't look up order {oid} right now; please try again later "
                       f"or contact {SUPPORT_EMAIL}")
                return
            if rec is None:
                turn.outcome = "abstained"
                yield (f"I couldn't find order {oid}. Please check the order number, or "
                       f"contact {SUPPORT_EMAIL}")
                return
            facts.append(_order_fact(oid, rec))
        with self.telemetry.span("kb search", {"kb.top_k": s.top_k}) as span:
            # the query: the questions with the sentence before each
            hits = await asyncio.to_thread(self.kb.search, views[1], s.top_k)
            gate = _answerability.assess(views, [(p.quoted, score) for p, score in hits],
                                         self.vocabulary, min_score=s.abstain_below,
                                         min_coverage=s.min_term_coverage)
            if span is not None:
                span.set_attributes({"kb.best_score": gate.best_score,
                                     "kb.term_coverage": gate.coverage})
        if not facts and not gate.answerable:
            # kinds and counts only: the missing terms come from the customer's message
            log.info("abstained reason=%s best=%.2f coverage=%.2f missing=%d", gate.reason,
                     gate.best_score, gate.coverage, len(gate.missing))
            turn.outcome = "abstained"
            yield ABSTAIN_ANSWER
            return
        used = [p for p, _ in hits[: 1 if facts else s.top_k]]
        passages = await asyncio.to_thread(self.kb.focus, views[1], used,
                                           s.context_budget_chars)
        sources = [*(Source(f, fact=True) for f in facts),
                   *(Source(p.text, title=p.title) for p in used)]
        messages = build_messages(question, passages, facts, system, hardened=True)
        # never the prompt itself: regex redaction misses names and addresses, so the log
        # keeps only its shape and a digest to correlate with traces
        digest = hashlib.sha256(str(messages).encode()).hexdigest()[:12]
        log.info("prompt chars=%d passages=%d facts=%d sha256=%s",
                 sum(len(m["content"]) for m in messages), len(passages), len(facts), digest)
        guard = OutputGuard(secrets, allowed="\n".join([*facts, *passages]))
        # grounded against what was asked (the query), not the chatter around it
        async for text in self._call_llm(body, messages, turn, guard, (views[1], sources)):
            yield text
        if turn.outcome == "answered":
            self.cache.put(key, turn.answer)

    async def _call_llm(self, body: dict[str, Any], messages: list[dict[str, str]], turn: Turn,
                        guard: OutputGuard,
                        grounding: tuple[str, list[Source]]) -> AsyncIterator[str]:
        """The checked answer of the model, sent whole once validated (see the module
        docstring on TTFT); ``grounding`` is the question and the sources of the prompt."""
        model = self.settings.model
        llm_body = self._llm_body(body, messages)
        llm_body["max_tokens"] = min(int(llm_body["max_tokens"]), 256)
        llm_body["stop"] = ["</context>"]  # the model echoing its prompt
        turn.prompt_chars = sum(len(m["content"]) for m in messages)
        result = StreamResult()
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                 "gen_ai.system": "openai", "gen_ai.request.model": model,
                 "gen_ai.request.max_tokens": llm_body["max_tokens"],
                 "gen_ai.request.temperature": llm_body["temperature"],
                 "server.address": httpx.URL(self.chat_url).host,
                 "server.port": httpx.URL(self.chat_url).port or 80}
        start = time.perf_counter()
        error: str | None = None
        answer = ""
        with self.telemetry.span(f"chat {model}", attrs, client=True) as span:
            try:
                async for delta in self.llm.stream(self.chat_url, llm_body, result):
                    answer += guard.feed(delta)
                answer += guard.finish()
                if not (guard.raw.strip() and answer.strip()):
                    raise UpstreamError("empty", "the model returned no usable text")
                turn.finish_reason = result.finish_reason or "stop"
            except (UpstreamError, CircuitOpen, PartialOutput) as exc:
                error = exc.kind if isinstance(exc, UpstreamError) else (
                    "circuit_open" if isinstance(exc, CircuitOpen) else "partial")
                self.telemetry.errors.labels(error).inc()
                log.warning("LLM call failed (%s): %s", error, redact(str(exc)))
                turn.outcome, turn.error_class = "fallback", error
                answer = FALLBACK_ANSWER  # nothing was sent yet: no half answer before it
            self.telemetry.circuit_open.set(self.llm.breaker.state == "open")
            turn.output_tokens, turn.attempts = result.chunks, result.attempts
            input_tokens = turn.prompt_chars // 4  # estimate: the stream carries no usage
            if span is not None:
                span.set_attributes({
                    "gen_ai.response.model": model,
                    "gen_ai.response.finish_reasons": [turn.finish_reason],
                    "gen_ai.usage.input_tokens": input_tokens,
                    "gen_ai.usage.output_tokens": result.chunks,
                    "aichaos.upstream.attempts": result.attempts})
                if result.response_id:
                    span.set_attribute("gen_ai.response.id", result.response_id)
                if error:
                    span.set_attribute("error.type", error)
            self.telemetry.record_genai(model, time.perf_counter() - start, input_tokens,
                                        result.chunks, error)
        if error is None and answer != OFF_FORMAT_ANSWER:
            answer = await self._ground(answer, *grounding, turn)
        yield answer

    async def _ground(self, answer: str, question: str, sources: list[Source],
                      turn: Turn) -> str:
        """``answer`` when its sources support it, else the extractive or abstention answer."""
        with self.telemetry.span("grounding check", {"grounding.sources": len(sources)}) as span:
            verdict = await asyncio.to_thread(_grounding.check, answer, question, sources,
                                              self.similarity)
            if span is not None:
                span.set_attribute("grounding.reason", verdict.reason or "grounded")
        if verdict.reason is None:
            return answer
        replacement = verdict.replacement or "abstain"
        self.telemetry.grounding_replacements.labels(verdict.reason, replacement).inc()
        # counts and kinds only: the answer may hold personal data (see the prompt log above)
        log.info("grounding replaced answer reason=%s with=%s answer_chars=%d",
                 verdict.reason, replacement, len(answer))
        if replacement == "abstain":
            turn.outcome = "abstained"
        return verdict.answer

    def _llm_body(self, body: dict[str, Any], messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"model": self.settings.model, "messages": messages, "stream": True,
                "max_tokens": body.get("max_tokens") or self.settings.default_max_tokens,
                "temperature": body.get("temperature", 0.0)}
