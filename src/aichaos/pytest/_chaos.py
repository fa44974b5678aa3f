"""The ``chaos`` fixture's object: a real chaos proxy (and optionally a scripted LLM) per test.

The proxy is :class:`aichaos.proxy.ChaosProxy` and the faults are the registered toxics of
:mod:`aichaos.faults`; both run on a background event loop (:class:`BackgroundLoop`) so the
test's own client, sync or async, talks to them over loopback like it talks to production.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aichaos.errors import ProxyError
from aichaos.proxy import ChaosProxy, TrafficRecord
from aichaos.pytest._llm import DEFAULT_REPLY, ScriptedLLM
from aichaos.pytest._loop import BackgroundLoop
from aichaos.pytest._verdict import Outcome, ToxicInfo, Verdict, as_outcome, judge

_PROXY = "dependency"


async def _wait(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _hold(seconds: float) -> float:
    """A finite hold: a client without a timeout must end its test (late), not hang it."""
    if not seconds > 0:
        raise ValueError(f"seconds: expected > 0 (a finite hold), got {seconds}")
    return seconds


class Default(enum.Enum):
    """Marks an argument left to the fixture's default."""

    DEFAULT = "default"


DEFAULT = Default.DEFAULT


class Chaos:
    """A chaos proxy in front of one upstream, scripted per test, judging the client.

    Start it with :meth:`proxy` (any HTTP upstream) or :meth:`llm` (a local scripted LLM),
    point the client under test at :attr:`url` / :attr:`base_url`, script faults, call the
    client, then :meth:`assert_resilient`.

    Args:
        seed: seed of the toxics' per-request RNG.
        max_attempts: default most requests one call may send (first try plus retries).
        deadline_s: default most seconds one call may take, or None.
        hold_s: default length of :meth:`stall` and :meth:`hang`, seconds; finite so a client
            without a timeout ends its test (late) instead of hanging it.
    """

    def __init__(self, *, seed: int = 42, max_attempts: int = 3,
                 deadline_s: float | None = 10.0, hold_s: float = 5.0) -> None:
        self.seed = seed
        self.max_attempts = max_attempts
        self.deadline_s = deadline_s
        self.hold_s = hold_s
        self.scripted: ScriptedLLM | None = None
        self._script: tuple[Any, ...] = ()
        self._loop: BackgroundLoop | None = None
        self._proxy: ChaosProxy | None = None
        self._port = 0
        self._toxics: dict[str, ToxicInfo] = {}
        self._live: dict[str, Any] = {}
        self._first = 0  # requests before this many are from an earlier run (marker repeats)
        self._started_at = time.time()

    # ------------------------------------------------------------------ lifecycle

    def proxy(self, upstream: str) -> str:
        """Start the chaos proxy in front of ``upstream`` (``http://host:port``).

        Returns:
            the proxy's base URL, ``http://127.0.0.1:PORT``: send the client there.

        Calling it again with the same upstream (a repeated run of a marked test) returns the
        running proxy's URL.

        Raises:
            ProxyError: already started in front of another upstream, bad upstream, or
                nothing listens there.
        """
        if self._proxy is not None:
            running = self._proxy.proxy(_PROXY).upstream
            if running == upstream.rstrip("/"):
                return self.url
            raise ProxyError(f"chaos proxy already started in front of {running}")
        loop = self._loop = self._loop or BackgroundLoop()
        cp = ChaosProxy(seed=self.seed)

        async def start() -> int:
            await cp.start()
            return (await cp.add_proxy(_PROXY, "127.0.0.1:0", upstream)).port

        try:
            self._port = loop.run(start())
        except BaseException:
            loop.run(cp.stop())
            raise
        self._proxy = cp
        self._started_at = time.time()
        return self.url

    def llm(self, reply: str = DEFAULT_REPLY, *, pieces: int | None = None,
            chunk_delay_s: float = 0.0, model: str = "scripted-llm") -> str:
        """Start a scripted OpenAI-compatible LLM (:class:`ScriptedLLM`) and the proxy in front.

        Args:
            reply: the answer to every request.
            pieces: stream it in this many parts (None: one SSE event per word).
            chunk_delay_s: pause between streamed events, seconds.
            model: the model id it reports.

        Returns:
            the OpenAI base URL through the proxy, ``http://127.0.0.1:PORT/v1``; the same
            one when called again with the same script (a repeated run of a marked test).

        Raises:
            ProxyError: already started with another script or upstream.
        """
        script = (reply, pieces, chunk_delay_s, model)
        if self.scripted is not None and self._script == script:
            return self.base_url
        if self._proxy is not None:
            raise ProxyError("the chaos proxy is already started with another upstream or "
                             "script")
        self._script = script
        llm = ScriptedLLM(reply, model=model, pieces=pieces, chunk_delay_s=chunk_delay_s)
        loop = self._loop = self._loop or BackgroundLoop()
        loop.run(llm.start())
        self.scripted = llm
        self.proxy(llm.url)
        return self.base_url

    def close(self) -> None:
        """Remove every toxic (releasing held requests) and stop the proxy and LLM."""
        loop = self._loop
        if loop is None:
            return
        try:
            if self._proxy is not None:
                loop.run(self._proxy.stop())
            if self.scripted is not None:
                loop.run(self.scripted.stop())
        finally:
            loop.close()
            self._loop = None

    @property
    def url(self) -> str:
        """The proxy's base URL, ``http://127.0.0.1:PORT``.

        Raises:
            ProxyError: not started (call :meth:`proxy` or :meth:`llm` first).
        """
        if self._proxy is None:
            raise ProxyError("the chaos proxy is not started: call chaos.proxy(upstream_url) "
                             "or chaos.llm() first")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """``url + "/v1"``: the ``base_url`` of an OpenAI client going through the proxy."""
        return self.url + "/v1"

    def _chaos(self) -> tuple[BackgroundLoop, ChaosProxy]:
        self.url  # noqa: B018  (raises the "not started" error)
        assert self._loop is not None and self._proxy is not None
        return self._loop, self._proxy

    # ------------------------------------------------------------------ scripting

    def toxic(self, type_: str, *, times: int | None = None, toxicity: float = 1.0,
              name: str | None = None, stream: str | None = None,
              **attributes: Any) -> dict[str, Any]:
        """Add any registered toxic (``aichaos proxy toxic types`` lists them) by type.

        Args:
            type_: toxic type, e.g. ``"rate_limit"``, ``"stream_cut"``, ``"latency"``.
            times: fire on the first ``times`` matching requests only (None: every one).
            toxicity: per-request probability of firing, 0..1 (seeded).
            name: toxic name (default: the type, numbered when repeated).
            stream: ``upstream`` or ``downstream`` (default: the type's own).
            **attributes: the type's attributes (units as declared, e.g. ms for durations).

        Returns:
            the toxic in Toxiproxy's shape.

        Raises:
            PluginError: unknown type or bad attribute (the message names it).
            ValueError: ``times`` < 1.
        """
        from aichaos.faults import build_toxic

        loop, cp = self._chaos()
        if times is not None and times < 1:
            raise ValueError(f"times: expected >= 1 or None, got {times}")
        base = name or type_
        name = base
        n = 1
        while name in self._toxics:
            n += 1
            name = f"{base}_{n}"
        spec: dict[str, Any] = {"name": name, "type": type_, "toxicity": toxicity,
                                "attributes": attributes}
        if stream is not None:
            spec["stream"] = stream
        toxic = build_toxic(spec)
        if times is not None:
            roll = toxic.roll
            limit = times

            def limited(ex: Any) -> bool:
                return toxic.fired < limit and roll(ex)

            toxic.roll = limited  # type: ignore[method-assign]
        loop.call(lambda: cp.add_toxic(_PROXY, toxic))
        self._live[name] = toxic
        self._toxics[name] = ToxicInfo(name, type_, dict(toxic.attributes), (),
                                       toxic.toxicity)
        return toxic.to_dict()

    def rate_limit(self, times: int | None = 1, retry_after: int = 1, *,
                   provider: str = "openai", **kwargs: Any) -> dict[str, Any]:
        """429 with ``Retry-After: retry_after`` (whole seconds, as the header carries them)
        on the first ``times`` requests."""
        return self.toxic("rate_limit", times=times, retry_after_s=retry_after,
                          provider=provider, **kwargs)

    def http_error(self, status: int = 503, times: int | None = 1,
                   **kwargs: Any) -> dict[str, Any]:
        """A provider-shaped HTTP error ``status`` on the first ``times`` requests."""
        return self.toxic("http_error", times=times, status=status, **kwargs)

    def stream_cut(self, after_chunks: int = -1, times: int | None = 1,
                   **kwargs: Any) -> dict[str, Any]:
        """Close the connection after ``after_chunks`` SSE events (-1: just before the final
        one) on the first ``times`` streamed responses."""
        return self.toxic("stream_cut", times=times, after_events=after_chunks, **kwargs)

    def stall(self, after_chunks: int = 1, seconds: float | None = None,
              times: int | None = 1, **kwargs: Any) -> dict[str, Any]:
        """Send headers and ``after_chunks`` SSE events, then silence with the connection open
        for ``seconds`` (default :attr:`hold_s`); the rest of the stream follows."""
        hold = _hold(self.hold_s if seconds is None else seconds)
        return self.toxic("stream_stall", times=times, after_events=after_chunks,
                          duration=int(hold * 1000), **kwargs)

    def hang(self, seconds: float | None = None, times: int | None = 1,
             **kwargs: Any) -> dict[str, Any]:
        """Hold the request before any response header for ``seconds`` (default
        :attr:`hold_s`), then forward it."""
        hold = _hold(self.hold_s if seconds is None else seconds)
        return self.toxic("hang", times=times, duration=int(hold * 1000), **kwargs)

    def remove(self, name: str) -> None:
        """Remove toxic ``name`` now (requests it holds are released).

        Raises:
            ProxyError: no active toxic of that name.
        """
        loop, cp = self._chaos()
        loop.call(lambda: cp.remove_toxic(_PROXY, name))
        self._snapshot(name)
        self._live.pop(name, None)

    def clear(self) -> None:
        """Remove every toxic (held requests are released)."""
        loop, cp = self._chaos()
        for name in list(self._live):
            self._snapshot(name)
        loop.call(cp.reset)
        self._live.clear()

    def reset(self) -> None:
        """Forget this test's toxics and traffic: the next call is judged on its own."""
        if self._proxy is None:
            return
        self.clear()
        loop, cp = self._chaos()
        self._first = loop.call(lambda: cp.proxy(_PROXY).requests)
        self._toxics.clear()
        if self.scripted is not None:
            self.scripted.requests.clear()
        self._started_at = time.time()

    def _snapshot(self, name: str) -> None:
        toxic = self._live.get(name)
        if toxic is not None:
            info = self._toxics[name]
            self._toxics[name] = ToxicInfo(info.name, info.type, info.attributes,
                                           tuple(toxic.fired_on), info.toxicity)

    # -------------------------------------------------------------------- reading

    @property
    def calls(self) -> list[TrafficRecord]:
        """Finished requests the proxy saw in this test (or run), oldest first: one
        :class:`~aichaos.proxy.TrafficRecord` each (status, timings, toxics that fired)."""
        loop, cp = self._chaos()
        first = self._first
        return [r for r in loop.call(lambda: list(cp.traffic))
                if int(r.id.rsplit("-", 1)[1]) > first]

    def fired(self, name: str) -> int:
        """How often toxic ``name`` fired in this test."""
        for n in list(self._live):
            self._snapshot(n)
        info = self._toxics.get(name)
        return len(info.fired_on) if info else 0

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
        """Call the client ``fn(*args, **kwargs)``, timing it and catching what it raises.

        A coroutine function is run to completion with ``asyncio.run`` (from a sync test;
        in an async test use :meth:`acall`).

        Returns:
            an :class:`Outcome` to hand to :meth:`assert_resilient`.
        """
        start = time.monotonic()
        try:
            value = fn(*args, **kwargs)
            if inspect.isawaitable(value):
                value = asyncio.run(_wait(value))
        except Exception as exc:  # the client's failure is the observation
            return Outcome(error=exc, elapsed_s=time.monotonic() - start)
        return Outcome(value=value, elapsed_s=time.monotonic() - start)

    async def acall(self, fn: Callable[..., Awaitable[Any]], *args: Any,
                    **kwargs: Any) -> Outcome:
        """:meth:`call` for async clients, awaited on the test's own event loop."""
        start = time.monotonic()
        try:
            value = await fn(*args, **kwargs)
        except Exception as exc:  # the client's failure is the observation
            return Outcome(error=exc, elapsed_s=time.monotonic() - start)
        return Outcome(value=value, elapsed_s=time.monotonic() - start)

    def verdict(self, result: Any, *, max_attempts: int | None = None,
                deadline_s: float | Default | None = DEFAULT, settle_s: float = 2.0) -> Verdict:
        """Judge the client (the rules and reason codes: :mod:`aichaos.pytest._verdict`).

        Removes the toxics first (releasing requests they hold) and waits up to ``settle_s``
        seconds for requests still in the proxy, so every request of the call is judged.

        Args:
            result: what the client returned, the exception it raised, or an
                :class:`Outcome` from :meth:`call` (which also times the call; otherwise its
                duration runs from the first request the proxy saw until this call).
            max_attempts: most requests for the call (default: the fixture's).
            deadline_s: most seconds for the call (default: the fixture's; None: no limit).
            settle_s: seconds to wait for requests still in flight.
        """
        now = time.time()
        outcome = as_outcome(result)
        loop, cp = self._chaos()
        self.clear()
        end = time.monotonic() + settle_s
        while time.monotonic() < end and loop.call(lambda: cp.proxy(_PROXY).active):
            time.sleep(0.01)
        calls = self.calls
        if outcome.elapsed_s is None:
            first = min((r.started for r in calls), default=self._started_at)
            outcome = Outcome(outcome.value, outcome.error, max(0.0, now - first))
        return judge(outcome, calls, list(self._toxics.values()),
                     max_attempts=self.max_attempts if max_attempts is None else max_attempts,
                     deadline_s=self.deadline_s if isinstance(deadline_s, Default)
                     else deadline_s,
                     full_reply=self.scripted.reply if self.scripted else None)

    def assert_resilient(self, result: Any, *, max_attempts: int | None = None,
                         deadline_s: float | Default | None = DEFAULT) -> Verdict:
        """Fail the test unless the client was resilient: it honoured Retry-After, did not
        pass a truncated stream off as complete, bounded its retries and gave up by its
        deadline (arguments as in :meth:`verdict`).

        Returns:
            the :class:`Verdict` when resilient.

        Raises:
            AssertionError: one line per broken rule, each starting with its reason code.
        """
        verdict = self.verdict(result, max_attempts=max_attempts, deadline_s=deadline_s)
        if not verdict.resilient:
            raise AssertionError(str(verdict))
        return verdict
