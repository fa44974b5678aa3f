"""The MCP toxic base class, its registry and the per-message call context toxics act on.

MCP toxics have Toxiproxy's shape ``{name, type, stream, toxicity, attributes}`` like the HTTP
toxics of :mod:`aichaos.faults`, and declare their attributes with the same
:class:`aichaos.faults.Attr`. They act on JSON-RPC messages, not bytes: a toxic is chosen per
client *request* (a JSON-RPC message with an ``id`` and a ``method``) by the matching
attributes common to every type:

- ``match_method``: glob on the JSON-RPC method (each type has its own default, mostly
  ``tools/call``; ``""`` = any method but ``initialize``);
- ``match_tool``: glob on the tool name of ``tools/call`` (``""`` = any tool);
- ``after``: let the first N matching requests pass untouched;
- ``max_fired``: fire at most N times (0 = no limit).

``toxicity`` is the per-message probability that a matching toxic fires: it fires when
``rng.random() < toxicity``, so exactly 0 never fires and 1 always does. The RNG of a message
is seeded from ``(seed, toxic name, message id)`` where the message id counts the proxy's
client messages (``"<proxy>-<n>"``), so the same seed and message order repeat exactly.

Each type is a class registered in :data:`MCP_TOXICS` (the class in ``PluginInfo.cls``), on
the one plugin contract of :mod:`aichaos._registry`: summary, layer 3, typed parameters, how
it is judged (the trajectory oracles of :mod:`aichaos.mcp._oracles` it names in ``oracles``)
and how it replays.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from inspect import Parameter, Signature
from typing import Any, ClassVar, TypeVar

from aichaos._registry import Registry
from aichaos.errors import PluginError
from aichaos.faults import Attr, toxic_arguments
from aichaos.mcp._messages import Message, Raw

TRANSPORTS = ("http", "stdio")
_MAX_FIRED_IDS = 10_000


@dataclass(slots=True)
class Call:
    """One client request passing through an MCP proxy, as toxics see it.

    Attributes:
        id: message id unique per proxy, ``"<proxy>-<n>"`` (seeds the toxics' RNG).
        seed: run seed.
        msg: the parsed request (toxics may rewrite ``msg.doc`` before it is forwarded).
        transport: ``http`` or ``stdio``.
        session: the ``Mcp-Session-Id`` the client sent (HTTP), or None.
        stopping: set when the proxy stops; holds end early.
        notes: facts toxics leave for the traffic log and the oracles (e.g. an injection's
            canary), merged into the record's ``notes``.
    """

    id: str
    seed: int
    msg: Message
    transport: str = "http"
    session: str | None = None
    stopping: asyncio.Event | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Intercept:
    """What a toxic does instead of (or on top of) forwarding a request.

    Attributes:
        messages: JSON-RPC messages (or raw bytes) sent back to the client instead of the
            server's answer.
        status: HTTP status of the answer (streamable HTTP only; e.g. 404, 401).
        headers: extra HTTP headers of the answer.
        forward: True sends the request to the server anyway (its side effects happen) and
            drops the server's answer.
        hold_s: seconds to wait before answering (or closing); None = until the toxic is
            removed or the proxy stops (a hang).
        resume: after the hold, forward the request as if nothing happened (a hang that
            ends when its toxic is removed, as Toxiproxy's toxics do); not when the proxy
            stops.
    """

    messages: list[dict[str, Any] | Raw] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    forward: bool = False
    hold_s: float | None = 0.0
    resume: bool = False


def _glob(pattern: str, text: str | None) -> bool:
    return not pattern or (text is not None and fnmatch.fnmatchcase(text, pattern))


class McpToxic:
    """Base class of every MCP toxic type.

    Subclasses set ``type``, ``summary``, ``attrs``, ``default_method`` (the default of
    ``match_method``) and ``transports``, and override the hooks they need. Hooks run on the
    proxy's event loop and never block it.

    Hooks:
        ``on_request(call)``: before the request is forwarded; may rewrite ``call.msg.doc``,
            sleep, or return an :class:`Intercept`.
        ``on_response(call, out)``: the server's answer (a list of messages: the response
            and anything sent before it) before it reaches the client; returns the list to
            deliver (rewritten, reordered, repeated or emptied).

    Layer 3 judges a run under the toxic with the trajectory oracles named in ``oracles``
    (functions of :mod:`aichaos.mcp._oracles` over the proxy's traffic log); ``judged`` and
    ``replays`` say so in one sentence each (the plugin contract's declarations).
    """

    type: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    attrs: ClassVar[tuple[Attr, ...]] = ()
    default_method: ClassVar[str] = "tools/call"
    transports: ClassVar[tuple[str, ...]] = TRANSPORTS
    streams: ClassVar[tuple[str, ...]] = ("downstream",)
    oracles: ClassVar[tuple[str, ...]] = ("loops",)
    replays: ClassVar[str] = ("added to the same MCP proxy with the same {name, type, stream, "
                              "toxicity, attributes}; same seed and message order, same firings")

    @classmethod
    def judged_text(cls) -> str:
        """How a run under this type is judged: the oracles it names, in one sentence."""
        return ("layer 3: trajectory oracles over the proxy's MCP traffic log: "
                + ", ".join(cls.oracles))

    def __init__(self, name: str, stream: str, toxicity: float, attributes: dict[str, Any]):
        self.name = name
        self.stream = stream
        self.toxicity = toxicity
        self.attributes = attributes
        self.fired = 0
        self.fired_on: list[str] = []
        self.seen = 0
        self.released = asyncio.Event()
        self.spec: tuple[str, dict[str, Any]] = (self.type, {})

    # ------------------------------------------------------------------ selection

    def matches(self, call: Call) -> bool:
        """True when ``match_method`` and ``match_tool`` accept the request."""
        method = call.msg.method
        pattern = self.attributes["match_method"]
        if not pattern and method == "initialize":
            return False
        tool = self.attributes["match_tool"]
        if tool and method != "tools/call":
            return False
        return _glob(pattern, method) and _glob(tool, call.msg.tool)

    def rng(self, call: Call) -> random.Random:
        """The RNG of this toxic for this message, seeded by (seed, toxic name, message id)."""
        return random.Random(f"{call.seed}:{self.name}:{call.id}")

    def select(self, call: Call) -> bool:
        """Decide whether the toxic acts on ``call``: matching, past ``after``, under
        ``max_fired``, then ``random() < toxicity``; counts firings."""
        if self.toxicity <= 0.0 or not self.matches(call):
            return False
        self.seen += 1
        a = self.attributes
        if self.seen <= a["after"] or (a["max_fired"] and self.fired >= a["max_fired"]):
            return False
        if self.toxicity < 1.0 and self.rng(call).random() >= self.toxicity:
            return False
        self.fired += 1
        if len(self.fired_on) < _MAX_FIRED_IDS:
            self.fired_on.append(call.id)
        return True

    def release(self) -> None:
        """End every hold of this toxic (called when it is removed or the proxy stops)."""
        self.released.set()

    async def hold(self, call: Call, seconds: float | None) -> None:
        """Wait ``seconds`` (None = until released), ending early on removal or proxy stop."""
        waits = [asyncio.ensure_future(self.released.wait())]
        if call.stopping is not None:
            waits.append(asyncio.ensure_future(call.stopping.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    # ---------------------------------------------------------------------- hooks

    async def on_request(self, call: Call) -> Intercept | None:
        return None

    async def on_response(self, call: Call, out: list[Message | Raw]) -> list[Message | Raw]:
        return out

    # ----------------------------------------------------------------- reporting

    def to_dict(self) -> dict[str, Any]:
        """Toxiproxy shape plus counters: ``{name, type, stream, toxicity, attributes, fired,
        fired_on}``."""
        return {"name": self.name, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes),
                "fired": self.fired, "fired_on": list(self.fired_on)}


def match_attrs(default_method: str) -> tuple[Attr, ...]:
    """The matching attributes every MCP toxic takes (``match_method`` default per type)."""
    return (
        Attr("match_method", default_method, "only this JSON-RPC method (glob; '' = any)"),
        Attr("match_tool", "", "only tools/call of a tool matching this glob"),
        Attr("after", 0, "let the first N matching requests pass", "messages", min=0),
        Attr("max_fired", 0, "fire at most N times (0 = no limit)", "times", min=0),
    )


MCP_TOXICS: Registry[McpToxic] = Registry("MCP toxic", builtins="aichaos.mcp", listed=True)
"""The one registry of MCP toxic types (class in ``PluginInfo.cls``); build instances with
:func:`build_mcp_toxic`."""

T = TypeVar("T", bound=type[McpToxic])


def register(cls: T) -> T:
    """Class decorator registering an :class:`McpToxic` subclass in :data:`MCP_TOXICS`.

    The factory takes ``toxic_name``, ``stream``, ``toxicity`` and every declared attribute
    as keyword arguments and validates them (the same messages as :mod:`aichaos.faults`).
    """
    all_attrs = cls.attrs + match_attrs(cls.default_method)

    def factory(**kwargs: Any) -> McpToxic:
        name = kwargs.pop("toxic_name", None) or cls.type
        stream = kwargs.pop("stream", cls.streams[-1])
        toxicity = kwargs.pop("toxicity", 1.0)
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a non-empty string, got {name!r}")
        if stream not in cls.streams:
            raise ValueError(f"stream: expected {' or '.join(cls.streams)}, got {stream!r}")
        if isinstance(toxicity, bool) or not isinstance(toxicity, int | float) or not (
                0.0 <= toxicity <= 1.0):
            raise ValueError(f"toxicity: expected a probability in [0, 1], got {toxicity!r}")
        attributes = {a.name: a.check(kwargs.pop(a.name, a.default)) for a in all_attrs}
        return cls(name, stream, float(toxicity), attributes)

    params = [Parameter(p, Parameter.KEYWORD_ONLY, default=d, annotation=t) for p, d, t in
              (("toxic_name", None, "str | None"), ("stream", cls.streams[-1], "str"),
               ("toxicity", 1.0, "float"))]
    params += [Parameter(a.name, Parameter.KEYWORD_ONLY, default=a.default,
                         annotation=type(a.default).__name__) for a in all_attrs]
    factory.__signature__ = Signature(params)  # type: ignore[attr-defined]
    factory.__name__ = cls.__name__
    factory.__module__ = cls.__module__
    factory.__doc__ = cls.summary
    MCP_TOXICS.register(cls.type, summary=cls.summary, layer=3, judged=cls.judged_text(),
                        replays=cls.replays, cls=cls)(factory)
    return cls


def build_mcp_toxic(spec: Mapping[str, Any], *, transport: str = "http") -> McpToxic:
    """Build an MCP toxic from ``{name, type, stream, toxicity, attributes}``.

    Raises:
        PluginError: unknown type or attribute, a value out of range, or a type the
            ``transport`` cannot carry (session and auth toxics need streamable HTTP).
    """
    kind, args = toxic_arguments(spec, MCP_TOXICS, "MCP toxic")
    toxic = MCP_TOXICS.create(kind, **args)
    if transport not in toxic.transports:
        raise PluginError(f"MCP toxic {kind!r}: needs the "
                          f"{' or '.join(toxic.transports)} transport, not {transport}")
    return toxic


def mcp_toxic_class(kind: str) -> type[McpToxic]:
    """The class registered as ``kind``.

    Raises:
        PluginError: unknown MCP toxic type.
    """
    cls = MCP_TOXICS.get(kind).cls
    assert isinstance(cls, type) and issubclass(cls, McpToxic)
    return cls


def describe_mcp_types() -> list[dict[str, Any]]:
    """Every MCP toxic type: ``{type, summary, transports, attributes: [...]}`` (attributes
    include the common matching ones)."""
    out = []
    for info in MCP_TOXICS:
        cls = mcp_toxic_class(info.name)
        out.append({
            "type": info.name, "summary": info.summary, "transports": list(cls.transports),
            "attributes": [
                {"name": a.name, "default": a.default, "unit": a.unit, "min": a.min,
                 "max": a.max, "choices": list(a.choices) if a.choices else None,
                 "help": a.help}
                for a in cls.attrs + match_attrs(cls.default_method)],
        })
    return out
