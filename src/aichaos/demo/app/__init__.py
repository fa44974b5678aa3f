"""The reference AI app: Northwind Gadgets' customer-support assistant, in two profiles.

One codebase; the profile is chosen at start (``--profile naive|hardened``). Run it as a
process::

    python -m aichaos.demo.app --profile hardened --port 8080 \\
        --llm-url http://127.0.0.1:8777/v1 --crm-url http://127.0.0.1:9001 --log-file app.log

or build the aiohttp application in-process with :func:`build_app`. What each profile does is
described in ``_service.py`` (pipeline), ``_upstream.py`` (timeouts, retries, breaker) and
``_telemetry.py`` (metrics and traces).
"""

from aichaos.demo.app._guard import OutputGuard, is_gibberish, limit_length, normalise
from aichaos.demo.app._retrieval import KnowledgeBase, Passage, load_passages
from aichaos.demo.app._server import build_app
from aichaos.demo.app._settings import (
    ABSTAIN_ANSWER,
    CLARIFY_ANSWER,
    FALLBACK_ANSWER,
    OFF_FORMAT_ANSWER,
    PROFILES,
    AppSettings,
    Profile,
)
from aichaos.demo.app._upstream import CircuitBreaker

__all__ = [
    "ABSTAIN_ANSWER",
    "CLARIFY_ANSWER",
    "FALLBACK_ANSWER",
    "OFF_FORMAT_ANSWER",
    "PROFILES",
    "AppSettings",
    "CircuitBreaker",
    "KnowledgeBase",
    "OutputGuard",
    "Passage",
    "Profile",
    "build_app",
    "is_gibberish",
    "limit_length",
    "load_passages",
    "normalise",
]
