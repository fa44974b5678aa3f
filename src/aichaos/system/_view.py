"""What the system checks need from a probe suite and the chaos proxy, as protocols.

The system package sits below the probe suites (which call it) and beside the proxy (which it
drives), so it names both by shape: :class:`SuiteView` is what
:class:`aichaos.probes.SuiteContext` offers, :class:`ProxyView` what
:class:`aichaos.proxy.ChaosProxy` offers. It also builds the per-user and per-parameter
variants of the target and sends one request through a suite's context.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from aichaos._events import CaseResult
from aichaos.config import Experiment, SystemUser
from aichaos.dataset import Case
from aichaos.faults import Toxic
from aichaos.targets import Target, build_target


class CallView(Protocol):
    """One :class:`aichaos.proxy.TrafficRecord` as the checks read it."""

    @property
    def proxy(self) -> str: ...
    @property
    def started(self) -> float: ...
    @property
    def upstream(self) -> bool: ...
    @property
    def path(self) -> str: ...


class TrafficView(Protocol):
    """:class:`aichaos.proxy.TrafficLog` as the checks read it."""

    def query(self, *, proxy: str | None = None, since: float | None = None,
              until: float | None = None, upstream_only: bool = False, path: str | None = None,
              limit: int | None = None) -> Sequence[CallView]: ...

    def count(self, *, proxy: str | None = None, since: float | None = None,
              until: float | None = None, upstream_only: bool = False, path: str | None = None,
              limit: int | None = None) -> int: ...


class ProxyView(Protocol):
    """:class:`aichaos.proxy.ChaosProxy` as the checks drive it."""

    @property
    def traffic(self) -> TrafficView: ...

    def add_toxic(self, proxy: str, spec: dict[str, Any] | Toxic) -> Toxic: ...

    def remove_toxic(self, proxy: str, name: str) -> None: ...

    def toxics(self, proxy: str) -> list[Toxic]: ...


class SuiteView(Protocol):
    """:class:`aichaos.probes.SuiteContext` as the checks use it (a dataclass)."""

    run_id: str
    experiment: Experiment
    target: Target
    cases: list[Case]
    seed: int
    rollbacks: list[tuple[str, Callable[[], Awaitable[None]]]]

    @property
    def proxy(self) -> Any: ...

    def plan(self, case: Case, variant: str = "clean", text: str | None = None,
             **metadata: Any) -> Any: ...

    async def send_one(self, item: Any, *, layer: int, suite: str, scorer: Any,
                       pass_threshold: float = 0.5, count_errors: bool = True
                       ) -> CaseResult: ...


@dataclass(slots=True)
class Sent:
    """One request of a system check with the upstream calls it caused.

    Attributes:
        result: the observation.
        calls: requests that reached the dependency's upstream while it was in flight.
        start: epoch seconds the request was sent; ``end`` when its answer arrived.
    """

    result: CaseResult
    calls: int
    start: float = 0.0
    end: float = 0.0


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    return {**base, **extra}


def variant_target(experiment: Experiment, user: SystemUser | None = None,
                   override: Mapping[str, Any] | None = None) -> Target:
    """A new target built from the experiment's target settings with ``user``'s headers and
    body fields merged in (theirs win on a clash) and ``override`` applied on top (mapping
    fields such as ``extra_body`` and ``headers`` are merged, others replaced).

    Raises:
        ConfigError: the merged settings do not build a target.
    """
    cfg = experiment.target
    update: dict[str, Any] = {}
    if user is not None:
        update["headers"] = _merge(getattr(cfg, "headers", {}), user.headers)
        update["extra_body"] = _merge(getattr(cfg, "extra_body", {}), user.extra_body)
    for key, value in (override or {}).items():
        current = update.get(key, getattr(cfg, key, None))
        update[key] = _merge(current, value) if isinstance(current, dict) and isinstance(
            value, dict) else value
    return build_target(cfg.model_copy(update=update))


async def send_as(view: SuiteView, target: Target, case: Case, text: str, variant: str,
                  *, layer: int, suite: str, dependency: str,
                  headers: Mapping[str, str] | None = None) -> Sent:
    """Send ``text`` (as case ``case``) through ``target`` with extra ``headers``, publishing
    the usual events, and count the upstream calls ``dependency`` received meanwhile."""
    sub = cast(Any, dataclasses.replace(cast(Any, view), target=target, stored=None))
    extra = {"headers": dict(headers)} if headers else {}
    item = view.plan(case, variant, text=text, check=suite, **extra)
    start = time.time()
    result = await sub.send_one(item, layer=layer, suite=suite, scorer=None, count_errors=False)
    end = time.time() + 1e-3
    calls = 0 if view.proxy is None or not dependency else view.proxy.traffic.count(
        proxy=dependency, since=start, until=end, upstream_only=True)
    return Sent(result, calls, start, end)
