"""Toxic specs, the toxic registry and the per-request exchange toxics act on.

A toxic has Toxiproxy's shape ``{name, type, stream, toxicity, attributes}``
(https://github.com/Shopify/toxiproxy#toxics). Each toxic type is a class registered in
:data:`TOXICS` with a summary and declared attributes (:class:`Attr`, with units and ranges).
Building a toxic validates every attribute and raises one-line
:class:`aichaos.errors.PluginError`\\ s such as
``toxic 'latency': attribute latency: expected >= 0 ms, got -5``.

Matching attributes common to every type (all optional): ``match_path`` (glob, or a regex
written ``re:...``), ``match_method`` (e.g. ``POST``), ``match_header`` (``Name: glob``) and
``match_model`` (glob against ``model`` in the JSON request body).

``toxicity`` is the per-request probability that a matching toxic fires: the toxic fires when
``rng.random() < toxicity``, so 0 never fires and 1 always does. The RNG of a request is seeded
from ``(seed, toxic name, request id)``, so a run with the same seed and request order repeats
exactly, regardless of what other toxics do.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from inspect import Parameter, Signature
from typing import Any, ClassVar, TypeVar

from aichaos._registry import Registry
from aichaos.errors import PluginError
from aichaos.faults._judgement import SURVIVED, Attempts, Verdict

STREAMS = ("upstream", "downstream")
_MAX_FIRED_IDS = 10_000


@dataclass(frozen=True)
class Attr:
    """A declared toxic attribute.

    Attributes:
        name: attribute key in ``attributes``.
        default: value used when the attribute is absent.
        help: one line for docs and ``aichaos proxy toxic types``.
        unit: unit shown in messages (``ms``, ``KB/s``, ``bytes``, ``s``) or "".
        min: inclusive lower bound for numbers, or None.
        max: inclusive upper bound for numbers, or None.
        choices: allowed values for strings, or None.
    """

    name: str
    default: Any
    help: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to the default's type.

        Raises:
            ValueError: wrong type, out of range or not among the choices; the message reads
                ``attribute NAME: expected ..., got VALUE``.
        """
        unit = f" {self.unit}" if self.unit else ""
        where = f"attribute {self.name}"
        kind = type(self.default)
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"attribute {self.name}: expected true or false, got {value!r}")
            return value
        if kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"attribute {self.name}: expected a number{unit}, got {value!r}")
            if kind is int and value != int(value):
                raise ValueError(f"attribute {self.name}: expected an integer{unit}, got {value!r}")
            if self.min is not None and value < self.min:
                raise ValueError(f"{where}: expected >= {self.min:g}{unit}, got {value}")
            if self.max is not None and value > self.max:
                raise ValueError(f"{where}: expected <= {self.max:g}{unit}, got {value}")
            return kind(value)
        if kind is str:
            if not isinstance(value, str):
                raise ValueError(f"attribute {self.name}: expected a string, got {value!r}")
            if self.choices is not None and value not in self.choices:
                raise ValueError(
                    f"{where}: expected one of {', '.join(self.choices)}, got {value!r}"
                )
            return value
        return value


class Reply:
    """A synthetic response a toxic sends instead of forwarding (status, headers, body bytes)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {"Content-Type": "application/json"})


class CutConnection(Exception):  # a control-flow signal
    """Raised by a toxic to drop the client connection; ``reset`` sends a TCP RST."""

    def __init__(self, reset: bool = False) -> None:
        super().__init__("connection cut by toxic")
        self.reset = reset


@dataclass(slots=True)
class Exchange:
    """One request passing through a proxy, as toxics see it.

    Attributes:
        id: request id, unique per proxy (``"<proxy>-<n>"``).
        seed: run seed.
        method: HTTP method.
        path: path with query string.
        headers: request headers (case-insensitive lookups through :meth:`header`).
        body: request body bytes; upstream toxics may replace it.
        response_headers: upstream response headers once known (lower-case keys).
        stopping: set when the proxy stops; holds end early.
    """

    id: str
    seed: int
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    response_headers: dict[str, str] = field(default_factory=dict)
    stopping: asyncio.Event | None = None
    _json: Any = None
    _json_done: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json_body(self) -> Any:
        """The request body decoded as JSON, or None when it is not JSON (cached)."""
        if not self._json_done:
            self._json_done = True
            try:
                self._json = json.loads(self.body) if self.body else None
            except ValueError:
                self._json = None
        return self._json

    @property
    def is_sse(self) -> bool:
        """True when the upstream response is a server-sent-event stream."""
        return "text/event-stream" in self.response_headers.get("content-type", "")


def _glob_or_regex(pattern: str) -> Callable[[str], bool]:
    if pattern.startswith("re:"):
        rx = re.compile(pattern[3:])
        return lambda text: rx.search(text) is not None
    return lambda text: fnmatch.fnmatchcase(text, pattern)


class Toxic:
    """Base class of every toxic type.

    Subclasses set ``type``, ``summary``, ``attrs`` (declared attributes) and ``streams``
    (directions they support), and override the hooks they need. Hooks run in the proxy's
    event loop and must never block it.

    Hooks:
        ``on_request(ex)``: before the request goes upstream; may sleep, change ``ex.body``,
            return a :class:`Reply` to answer instead, or raise :class:`CutConnection`.
        ``on_response(ex)``: after upstream headers, before downstream headers; same options.
        ``wrap(ex, chunks)``: transform the downstream body chunk iterator.
        ``on_end(ex)``: after the body, before the response ends.

    Layer 3 judges a run under the toxic from what the class declares (see
    :mod:`aichaos.faults._judgement`): ``exercises`` (what the fault tests in the system),
    ``acceptable`` (outcomes that count as surviving it), ``fires_per_request`` (each firing
    acts on one upstream request, so firings are compared with upstream calls),
    ``wrong_answer`` (the finding for a 2xx answer that is wrong under it, e.g. partial output
    passed off as complete), :meth:`condition` (a few words naming the injected condition)
    and :meth:`judge` (extra checks of its own).
    """

    type: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    attrs: ClassVar[tuple[Attr, ...]] = ()
    streams: ClassVar[tuple[str, ...]] = STREAMS
    rewrites_body: ClassVar[bool] = False
    exercises: ClassVar[str] = "handling of a failing dependency"
    acceptable: ClassVar[tuple[str, ...]] = SURVIVED
    fires_per_request: ClassVar[bool] = True
    wrong_answer: ClassVar[str] = ""
    condition_text: ClassVar[str] = ""
    judged: ClassVar[str] = ("layer 3: share of requests whose outcome is acceptable under the "
                             "fault, recovery after removal, retry amplification")
    replays: ClassVar[str] = ("added to the same dependency's proxy with the same "
                              "{name, type, stream, toxicity, attributes}; same seed, same firings")

    def __init__(self, name: str, stream: str, toxicity: float, attributes: dict[str, Any]):
        self.name = name
        self.stream = stream
        self.toxicity = toxicity
        self.attributes = attributes
        self.fired = 0
        self.fired_on: list[str] = []
        self.released = asyncio.Event()
        self.spec: tuple[str, dict[str, Any]] = (self.type, {})
        self._matchers: list[Callable[[Exchange], bool]] = []
        self._needs_body = bool(attributes["match_model"])
        a = attributes
        if a["match_path"]:
            path_ok = _glob_or_regex(a["match_path"])
            self._matchers.append(lambda ex: path_ok(ex.path.split("?", 1)[0]))
        if a["match_method"]:
            method = a["match_method"].upper()
            self._matchers.append(lambda ex: ex.method.upper() == method)
        if a["match_header"]:
            hname, _, hpat = a["match_header"].partition(":")
            hname, hok = hname.strip(), _glob_or_regex(hpat.strip() or "*")
            self._matchers.append(lambda ex: hok(ex.header(hname) or "") if ex.header(hname)
                                  is not None else False)
        if a["match_model"]:
            model_ok = _glob_or_regex(a["match_model"])

            def model_matches(ex: Exchange) -> bool:
                doc = ex.json_body()
                return isinstance(doc, dict) and model_ok(str(doc.get("model", "")))

            self._matchers.append(model_matches)

    # ------------------------------------------------------------------ selection

    def matches(self, ex: Exchange) -> bool:
        """True when every match_* attribute accepts the request."""
        return all(m(ex) for m in self._matchers)

    def could_fire(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        """True unless the request certainly escapes this toxic: toxicity 0, or a match_*
        attribute on method, path or headers rejects it. A ``match_model`` toxic could fire on
        any request its other matchers accept (the body is not known yet).

        The proxy's fast path calls this on request headers; it has no side effect (no roll,
        no JSON parsing).
        """
        if self.toxicity <= 0.0:
            return False
        ex = Exchange("", 0, method, path, headers, b"")
        matchers = self._matchers[:-1] if self._needs_body else self._matchers
        return all(m(ex) for m in matchers)

    def rng(self, ex: Exchange) -> random.Random:
        """The RNG of this toxic for this request, seeded by (seed, toxic name, request id)."""
        return random.Random(f"{ex.seed}:{self.name}:{ex.id}")

    def roll(self, ex: Exchange) -> bool:
        """Decide whether the toxic fires on ``ex`` (``random() < toxicity``); counts firings."""
        if self.toxicity <= 0.0:
            return False
        if self.toxicity < 1.0 and self.rng(ex).random() >= self.toxicity:
            return False
        self.fired += 1
        if len(self.fired_on) < _MAX_FIRED_IDS:
            self.fired_on.append(ex.id)
        return True

    def release(self) -> None:
        """End every hold of this toxic (called when it is removed or the proxy stops)."""
        self.released.set()

    async def hold(self, ex: Exchange, seconds: float) -> None:
        """Wait ``seconds`` (0 = until released), ending early on removal or proxy stop."""
        waits = [asyncio.ensure_future(self.released.wait())]
        if ex.stopping is not None:
            waits.append(asyncio.ensure_future(ex.stopping.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds if seconds > 0 else None,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    # ---------------------------------------------------------------------- hooks

    async def on_request(self, ex: Exchange) -> Reply | None:
        return None

    async def on_response(self, ex: Exchange) -> Reply | None:
        return None

    def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        return chunks

    async def on_end(self, ex: Exchange) -> None:
        return None

    # ------------------------------------------------------------ layer-3 judgement

    def condition(self) -> str:
        """A few words naming the injected condition, used in findings (e.g. ``truncated
        stream``): ``condition_text`` formatted with the attributes, else the type name."""
        if self.condition_text:
            return self.condition_text.format(**self.attributes)
        return self.type.replace("_", " ")

    def judge(self, attempts: Attempts) -> list[Verdict]:
        """Extra layer-3 checks of this toxic from the upstream calls of each user request
        sent under it (none by default)."""
        return []

    # ----------------------------------------------------------------- reporting

    def to_dict(self) -> dict[str, Any]:
        """Toxiproxy shape plus counters: ``{name, type, stream, toxicity, attributes, fired,
        fired_on}``."""
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
            "fired": self.fired,
            "fired_on": list(self.fired_on),
        }


MATCH_ATTRS = (
    Attr("match_path", "", "only paths matching this glob (or re:REGEX)"),
    Attr("match_method", "", "only this HTTP method"),
    Attr("match_header", "", "only requests with header 'Name: glob'"),
    Attr("match_model", "", "only JSON bodies whose model matches this glob (or re:REGEX)"),
)

TOXICS: Registry[Toxic] = Registry("toxic", listed=True)
"""The one registry of toxic types (class in ``PluginInfo.cls``); build with
:func:`build_toxic`."""

T = TypeVar("T", bound=type[Toxic])


def toxic_type(cls: T) -> T:
    """Class decorator registering a :class:`Toxic` subclass in :data:`TOXICS`.

    The registered factory takes ``toxic_name`` (``name`` is taken by ``Registry.create``),
    ``stream``, ``toxicity`` and every declared
    attribute as keyword arguments, validates them, and returns the instance.
    """
    all_attrs = cls.attrs + MATCH_ATTRS

    def factory(**kwargs: Any) -> Toxic:
        name = kwargs.pop("toxic_name", None) or cls.type
        stream = kwargs.pop("stream", cls.streams[-1])
        toxicity = kwargs.pop("toxicity", 1.0)
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a non-empty string, got {name!r}")
        if stream not in cls.streams:
            raise ValueError(f"stream: expected {' or '.join(cls.streams)}, got {stream!r}")
        if isinstance(toxicity, bool) or not isinstance(toxicity, int | float) or not (
            0.0 <= toxicity <= 1.0
        ):
            raise ValueError(f"toxicity: expected a probability in [0, 1], got {toxicity!r}")
        attributes = {a.name: a.check(kwargs.pop(a.name, a.default)) for a in all_attrs}
        return cls(name, stream, float(toxicity), attributes)

    params = [Parameter(p, Parameter.KEYWORD_ONLY, default=d)
              for p, d in (("toxic_name", None), ("stream", cls.streams[-1]), ("toxicity", 1.0))]
    params += [Parameter(a.name, Parameter.KEYWORD_ONLY, default=a.default) for a in all_attrs]
    factory.__signature__ = Signature(params)  # type: ignore[attr-defined]
    factory.__name__ = cls.__name__
    factory.__module__ = cls.__module__
    factory.__doc__ = cls.summary
    TOXICS.register(cls.type, summary=cls.summary, layer=3, judged=cls.judged,
                    replays=cls.replays, cls=cls)(factory)
    return cls


def toxic_arguments(spec: Mapping[str, Any], registry: Registry[Any], label: str, *,
                    keys: frozenset[str] = frozenset(),
                    default_name: str | None = None) -> tuple[str, dict[str, Any]]:
    """``(type, keyword arguments)`` of a Toxiproxy-shaped toxic mapping ``{name, type,
    stream, toxicity, attributes}`` (plus ``keys``), for ``registry.create`` (the HTTP toxics
    here and the MCP toxics share this reading; ``label`` names the kind in messages).

    Raises:
        PluginError: not a mapping, an unknown key, no ``type``, or attributes not a mapping.
    """
    if not isinstance(spec, Mapping):
        raise PluginError(f"{label}: expected a mapping, got {type(spec).__name__}")
    extra = sorted(set(spec) - {"name", "type", "stream", "toxicity", "attributes"} - keys)
    if extra:
        raise PluginError(f"{label}: unknown key(s) {', '.join(extra)}")
    kind = spec.get("type")
    if not isinstance(kind, str):
        raise PluginError(f"{label}: missing 'type' (known: {', '.join(registry.names())})")
    attributes = spec.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise PluginError(f"{label} {kind!r}: attributes must be a mapping")
    args: dict[str, Any] = dict(attributes)
    for key in ("stream", "toxicity"):
        if spec.get(key) is not None:
            args[key] = spec[key]
    if spec.get("name") is not None or default_name:
        args["toxic_name"] = spec.get("name") or default_name
    return kind, args


def build_toxic(spec: Mapping[str, Any], *, default_name: str | None = None) -> Toxic:
    """Build a toxic from a Toxiproxy-shaped mapping ``{name, type, stream, toxicity,
    attributes}`` (``type`` required; the others default).

    Raises:
        PluginError: unknown type, unknown or out-of-range attribute, bad stream/toxicity.
    """
    kind, args = toxic_arguments(spec, TOXICS, "toxic", keys=frozenset({"dependency"}),
                                 default_name=default_name)
    toxic: Toxic = TOXICS.create(kind, **args)
    return toxic


def describe_types() -> list[dict[str, Any]]:
    """Every registered toxic type: ``{type, summary, streams, exercises, acceptable,
    fires_per_request, attributes: [{name, default, unit, min, max, choices, help}]}``."""
    out = []
    for info in TOXICS:
        cls = toxic_class(info.name)
        out.append({
            "type": info.name,
            "summary": info.summary,
            "streams": list(cls.streams),
            "exercises": cls.exercises,
            "acceptable": list(cls.acceptable),
            "fires_per_request": cls.fires_per_request,
            "attributes": [
                {"name": a.name, "default": a.default, "unit": a.unit, "min": a.min,
                 "max": a.max, "choices": list(a.choices) if a.choices else None, "help": a.help}
                for a in cls.attrs
            ],
        })
    return out


register = toxic_type
"""Alias of :func:`toxic_type` (the name toxic modules use)."""


def toxic_class(kind: str) -> type[Toxic]:
    """The class registered as ``kind``.

    Raises:
        PluginError: unknown toxic type.
    """
    cls = TOXICS.get(kind).cls
    assert isinstance(cls, type) and issubclass(cls, Toxic)
    return cls
