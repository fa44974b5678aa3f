"""Fault specs (toxics) that the chaos proxy applies to the traffic of a dependency.

Toxics have Toxiproxy's shape ``{name, type, stream, toxicity, attributes}``; every type is
registered in :data:`TOXICS` with a summary and declared attributes. Build one with
:func:`build_toxic`; list the types with :func:`describe_types`.
"""

from aichaos.faults import _json, _llm, _system, _tcp  # noqa: F401  (importing registers the toxics)
from aichaos.faults._base import (
    MATCH_ATTRS,
    STREAMS,
    TOXICS,
    Attr,
    CutConnection,
    Exchange,
    Reply,
    Toxic,
    build_toxic,
    describe_types,
    register,
    toxic_arguments,
    toxic_class,
)
from aichaos.faults._bodies import error_body, sse_error_event, sse_events
from aichaos.faults._judgement import OUTCOMES, Attempts, CallRecord, Verdict
from aichaos.faults._system import (
    NONCE_FORMAT,
    DropResponse,
    LedgerEntry,
    NonceStamp,
    UsageMeter,
)

__all__ = [
    "MATCH_ATTRS",
    "NONCE_FORMAT",
    "OUTCOMES",
    "STREAMS",
    "TOXICS",
    "Attempts",
    "Attr",
    "CallRecord",
    "CutConnection",
    "DropResponse",
    "Exchange",
    "LedgerEntry",
    "NonceStamp",
    "Reply",
    "Toxic",
    "UsageMeter",
    "Verdict",
    "build_toxic",
    "describe_types",
    "error_body",
    "register",
    "sse_error_event",
    "sse_events",
    "toxic_arguments",
    "toxic_class",
]
