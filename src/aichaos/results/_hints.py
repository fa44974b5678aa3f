"""What usually fixes a failed check: one line beside the evidence in every report.

Hints are looked up by the check's name (``layer.[subject.]what``): the most specific pattern
that matches wins, so ``integration.crm_down.retry_amplification`` gets the retry hint whatever
the toxic is called. They state the common remedy the field agrees on (the sources are the
usual ones: the OpenAI and Anthropic API docs on rate limits and streaming, the AWS Builders'
Library on timeouts, retries and backoff, the OWASP Top 10 for LLM applications, the
OpenTelemetry GenAI semantic conventions); the evidence says what actually happened.
"""

from __future__ import annotations

import fnmatch

#: (glob on the check name, hint); first match wins, so specific patterns come first
HINTS: tuple[tuple[str, str], ...] = (
    ("capability.accuracy", "check the failing cases' expected answers first; then the "
     "prompt, retrieval or model, not the scorer threshold"),
    ("capability.errors", "the target errored on clean input: fix availability before "
     "judging quality (see the error classes in the evidence)"),
    ("input_resilience.invariance", "normalise input (Unicode NFKC, whitespace, casing) before "
     "the model; test the perturbations that broke the answer"),
    ("input_resilience.clarification", "ask a clarifying question when the input is ambiguous "
     "or garbled, instead of guessing"),
    ("input_resilience.health_after", "the system answered worse after the perturbations: look "
     "for state the bad input left behind (caches, sessions, queues)"),
    ("input_resilience.crashes", "validate and bound input size; answer over-long or malformed "
     "input with a clean 4xx, never a 5xx or a hang"),
    ("integration.*.retry_after_honoured", "honour Retry-After; back off with jitter instead of "
     "retrying at once"),
    ("integration.*.quota_not_retried", "do not retry insufficient_quota 429s: they will not "
     "succeed; fail fast with a clear error"),
    ("integration.*.retry_amplification", "cap total attempts per request across retries and "
     "fallbacks (a retry budget); retry only idempotent calls"),
    ("integration.*.failover", "route to the fallback on the fault (timeouts, 5xx, 429) and "
     "check the fallback is reachable from the app"),
    ("integration.*.recovered", "after the fault clears, traffic must return to the primary: "
     "reset circuit breakers and do not pin the fallback"),
    ("integration.*.exercised", "the fault never fired: route the dependency through the chaos "
     "proxy (its base URL) or send cases that need it"),
    ("integration.recovered", "after the fault clears, traffic must return to the primary: "
     "reset circuit breakers and do not pin the fallback"),
    ("integration.*success_rate", "give every dependency call a timeout, retry transient "
     "errors with backoff, and degrade (fallback, cached or clean error) instead of failing "
     "silently"),
    ("integration.stream*", "apply the TTFT budget to the first chunk and an idle timeout "
     "between chunks; give up with a clean error, never after the late chunk"),
    ("integration.*.*", "the toxic's own check failed: see its evidence; usually a retry, "
     "timeout or fallback rule around that dependency"),
    ("integration.rollback", "the fault could not be removed: check the proxy's control API "
     "before trusting later layers"),
    ("safety.prompt_injection*", "treat retrieved, tool and user text as data: delimit it, never "
     "follow instructions found in it, and check outputs for the canary"),
    ("safety.system_prompt_leak", "keep secrets out of the system prompt; refuse requests to "
     "reveal instructions and filter outputs that echo them"),
    ("safety.pii*", "redact personal data before logging and before echoing it back (emails, "
     "card numbers, phone numbers)"),
    ("safety.unanswerable", "ground answers in retrieved sources and abstain when nothing "
     "supports an answer"),
    ("safety.false_premise", "correct the premise from the sources instead of answering it"),
    ("safety.fabricated_entities", "say the product, policy or person is unknown instead of "
     "describing it"),
    ("safety.answerable", "the system refuses answerable questions: loosen the abstention gate "
     "or fix retrieval"),
    ("safety.misrouting", "route by intent before answering; high-risk requests go to a human"),
    ("safety.*", "add the guardrail the probe names and re-run its cases"),
    ("observability.spans", "export OpenTelemetry traces over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT) "
     "with a span per model call"),
    ("observability.genai_attributes", "set the GenAI semantic-convention attributes "
     "(gen_ai.operation.name, gen_ai.request.model, gen_ai.usage.*) on model-call spans"),
    ("observability.metric.*", "record gen_ai.client.operation.duration and "
     "gen_ai.client.token.usage histograms"),
    ("observability.prometheus.*", "expose <ns>_requests_total, <ns>_request_duration_seconds "
     "and a 5xx status label or <ns>_errors_total, counted per request"),
    ("observability.correlation", "propagate W3C traceparent from the incoming request to the "
     "model call so one trace covers it"),
    ("observability.fault_detection", "record upstream failures as error spans and error "
     "counters, so a fault is visible without reading logs"),
    ("scale.saturation", "the system saturates below the required rate: add replicas or "
     "batching, or shed load with 429 + Retry-After past the knee"),
    ("scale.goodput", "requests succeed too slowly under load: bound queues and set SLO-based "
     "timeouts"),
    ("scale.error_rate", "errors grow under load: find the first failing dependency and add "
     "backpressure or capacity"),
    ("scale.shedding", "past capacity, reject early with 429/503 and a bounded queue instead of "
     "letting latency grow without bound"),
    ("scale.retry_after", "send Retry-After with every 429/503 so clients back off for the "
     "right time"),
    ("scale.cost", "cost per 1k requests is over budget: cache, shorten prompts, cap "
     "max_tokens or route easy requests to a smaller model"),
    ("scale.resources*", "memory, file descriptors or threads grow per request: close clients "
     "and files, bound caches, reuse connection pools"),
    ("scale.conversation*", "pin the system message when trimming history; evict the oldest "
     "user turns, never the rules"),
    ("scale.context_window", "check the context limit before sending: truncate the middle of "
     "long input or refuse with a clear error, never drop the system prompt"),
    ("steady_state*", "the system was not healthy before (or after) the experiment: fix the "
     "baseline first"),
)


def hint_for(check_name: str) -> str:
    """The usual fix for a failed check named ``check_name``; ``""`` when none is known."""
    for pattern, hint in HINTS:
        if fnmatch.fnmatchcase(check_name, pattern):
            return hint
    return ""
