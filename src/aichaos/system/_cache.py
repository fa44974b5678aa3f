"""Cache correctness: is there a response cache, does it keep users apart, does it key on
every parameter that changes the answer?

Method (docs/system.md). A ``nonce_stamp`` toxic on the cache's dependency appends
``[nonce <request id>]`` to every answer the upstream returns, so each answer names the
upstream call that produced it. For each probed case a fresh, run-unique prompt (the case's
input plus `` (ref <token>)``) is sent twice as the first user:

- **detection**: the repeat is a *hit* when it caused fewer upstream calls than the first
  send (upstream calls counted at the chaos proxy). No hit on any case means no cache was
  detected and every cache check is *not measured*, never passed.
- **cross-user** (layer 4): the same prompt sent as the second user is a *leak* when its
  answer carries the first user's nonce, or when it caused no upstream call and returned the
  first user's answer verbatim.
- **parameters** (layer 3): the same prompt sent with one response-affecting setting changed
  (temperature, max_tokens, system prompt, seed, model...) must miss: it is *served from
  cache* when it carries the original nonce, or caused no upstream call.

Hit rate = hits / repeats; saved upstream calls = sum over repeats of (calls of the first
send - calls of the repeat). Both are exact counts (no sampling): their interval is the value.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from aichaos.config import CacheCheck, Experiment, SystemChecks
from aichaos.dataset import Case
from aichaos.results import Check, FailingCase, Interval
from aichaos.system._view import Sent, SuiteView, send_as, variant_target
from aichaos.targets import Target

_NONCE = re.compile(r"\[nonce ([^\]\s]+)\]")
#: the parameters varied for an OpenAI target when ``system.cache.vary`` is not declared
DEFAULT_VARY: dict[str, dict[str, Any]] = {
    "temperature": {"temperature": 0.9},
    "max_tokens": {"max_tokens": 7},
    "system_prompt": {"system_prompt": "Answer as briefly as you can."},
    "seed": {"extra_body": {"seed": 1234}},
}


def nonces(text: str) -> set[str]:
    """The nonces (proxy request ids) stamped into ``text``."""
    return set(_NONCE.findall(text or ""))


def exact(value: float) -> Interval:
    """The interval of an exact count: the value itself."""
    return Interval(value, value, "exact", 1.0, None)


@dataclass
class Probe:
    """One probed case: the first send, its repeat and what followed.

    Attributes:
        case: the golden case.
        prompt: the run-unique prompt sent.
        first: the first (cold) send as the first user.
        repeat: the same request again.
        others: further sends of the same prompt by label (a user, a varied parameter).
    """

    case: Case
    prompt: str
    first: Sent
    repeat: Sent
    others: dict[str, Sent] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """Both sends answered and the first reached the dependency."""
        return (self.first.result.error_class is None and self.repeat.result.error_class is None
                and self.first.calls > 0)

    @property
    def hit(self) -> bool:
        return self.usable and self.repeat.calls < self.first.calls

    def served_from_first(self, sent: Sent) -> tuple[bool, str]:
        """Whether ``sent`` got the first send's cached answer, with the evidence."""
        if sent.result.error_class is not None:
            return False, ""
        shared = nonces(self.first.result.output) & nonces(sent.result.output)
        if shared:
            return True, f"answer carries nonce {sorted(shared)[0]} of the first request"
        if sent.calls == 0 and sent.result.output == self.first.result.output:
            return True, "no upstream call and the first request's answer verbatim"
        return False, ""


@dataclass
class CacheProbe:
    """Every probe of one layer's cache check, with the detection figures."""

    dependency: str
    probes: list[Probe]

    @property
    def usable(self) -> list[Probe]:
        return [p for p in self.probes if p.usable]

    @property
    def detected(self) -> bool:
        return any(p.hit for p in self.probes)

    def metrics(self) -> dict[str, Any]:
        """``{detected, repeats, hits, hit_rate, saved_upstream_calls, e2e_first_p50_s,
        e2e_hit_p50_s}`` (latencies in seconds; None when there is no sample)."""
        usable = self.usable
        hits = [p for p in usable if p.hit]
        return {
            "dependency": self.dependency, "detected": self.detected, "repeats": len(usable),
            "hits": len(hits), "hit_rate": len(hits) / len(usable) if usable else None,
            "saved_upstream_calls": sum(p.first.calls - p.repeat.calls for p in hits),
            "e2e_first_p50_s": _median([p.first.result.e2e_s for p in usable]),
            "e2e_hit_p50_s": _median([p.repeat.result.e2e_s for p in hits]),
        }

    def not_detected(self) -> str:
        """Why no cache counts as detected, one line."""
        if not self.probes:
            return "not measured: no golden cases to probe the cache with"
        if not self.usable:
            errors = [p.first.result.error or p.repeat.result.error for p in self.probes
                      if p.first.result.error_class or p.repeat.result.error_class]
            if errors:
                return f"not measured: the cache probe requests failed ({errors[0]})"
            return (f"not measured: {self.dependency!r} saw no upstream call for a fresh prompt "
                    "(it is not on the request path)")
        calls = ", ".join(f"{p.first.calls}->{p.repeat.calls}" for p in self.usable)
        return (f"not measured: no cache detected (repeating {len(self.usable)} requests made "
                f"as many upstream calls to {self.dependency!r}: {calls})")


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


async def probe_cache(view: SuiteView, cache: CacheCheck, first: Target, *, layer: int,
                      suite: str) -> CacheProbe:
    """Send each probed case's fresh prompt twice through ``first`` with the nonce stamp on
    ``cache.dependency``; the stamp stays on (its removal is a registered rollback) until
    :func:`unstamp`."""
    proxy = view.proxy
    name = f"system_nonce_l{layer}"
    proxy.add_toxic(cache.dependency, {"name": name, "type": "nonce_stamp"})

    async def remove() -> None:
        unstamp(view, cache, layer)

    view.rollbacks.append((f"remove toxic {name} from dependency {cache.dependency}", remove))
    probes = []
    for i, case in enumerate(view.cases[: cache.cases]):
        prompt = f"{case.input} (ref {view.run_id[:8]}-l{layer}-{i})"
        sends = [await send_as(view, first, case, prompt, f"{suite}.{step}", layer=layer,
                               suite=suite, dependency=cache.dependency)
                 for step in ("first", "repeat")]
        probes.append(Probe(case, prompt, sends[0], sends[1]))
    return CacheProbe(cache.dependency, probes)


def unstamp(view: SuiteView, cache: CacheCheck, layer: int) -> None:
    """Remove the nonce stamp of ``layer`` (no error when already removed)."""
    name = f"system_nonce_l{layer}"
    if any(t.name == name for t in view.proxy.toxics(cache.dependency)):
        view.proxy.remove_toxic(cache.dependency, name)


def not_measured(name: str, reason: str, unit: str = "hits") -> Check:
    """A check that could not run: never a pass (``not_measured`` holds the bare reason;
    renderers say "not measured")."""
    return Check(name, False, None, "== 0", unit, reason,
                 not_measured=reason.removeprefix("not measured: "))


async def cross_user(view: SuiteView, system: SystemChecks, *, prefix: str, layer: int
                     ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    """Layer 4: the second user must never get the first user's answer (module docstring).

    Returns ``(checks, failing cases, metrics)``; the check is ``<prefix>.cache_cross_user``.
    """
    name = f"{prefix}.cache_cross_user"
    cache = system.cache
    if cache is None:
        return [not_measured(name, "not measured: no cache declared (system.cache)",
                             "leaks")], [], {}
    if len(system.users) < 2:
        return [not_measured(name, "not measured: declare two users under system.users "
                             "(headers or body fields that identify each)", "leaks")], [], {}
    (a_name, a), (b_name, b) = list(system.users.items())[:2]
    exp = view.experiment
    first = variant_target(exp, a, cache.probe_settings)
    second = variant_target(exp, b, cache.probe_settings)
    suite = "system.cache"
    try:
        found = await probe_cache(view, cache, first, layer=layer, suite=suite)
        if found.detected:
            for p in found.usable:
                p.others[b_name] = await send_as(view, second, p.case, p.prompt,
                                                 f"{suite}.user.{b_name}", layer=layer,
                                                 suite=suite, dependency=cache.dependency)
    finally:
        unstamp(view, cache, layer)
        await first.aclose()
        await second.aclose()
    metrics = found.metrics()
    if not found.detected:
        return [not_measured(name, found.not_detected(), "leaks")], [], {"cache": metrics}
    leaks, failing = [], []
    for p in found.usable:
        served, why = p.served_from_first(p.others[b_name])
        if served:
            leaks.append(p)
            r = p.others[b_name].result
            failing.append(FailingCase(
                p.case.id, r.variant, p.prompt, r.output,
                f"cross-user cache hit: user {b_name!r} got the answer of user {a_name!r} ({why})",
                f"send the prompt as {a_name}, then as {b_name}, with the nonce_stamp toxic on "
                f"{cache.dependency}"))
    n = len(found.usable)
    msg = (f"user {b_name!r} was served the cached answer of user {a_name!r} for "
           f"{len(leaks)}/{n} prompts: the cache key does not include the user" if leaks else
           f"{n}/{n} prompts sent as {b_name!r} after {a_name!r} missed the cache "
           "(each answer came from its own upstream call)")
    metrics.update({"cross_user_leaks": len(leaks), "cross_user_probes": n,
                    "users": [a_name, b_name]})
    check = Check(name, not leaks, len(leaks), "== 0", "leaks", msg,
                  [p.case.id for p in leaks], interval=exact(len(leaks)), decided=True)
    return [check], failing, {"cache": metrics}


def combine(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Target settings ``base`` with ``extra`` on top (mapping values merged one level)."""
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        out[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) \
            else value
    return out


def vary_settings(exp: Experiment, cache: CacheCheck) -> dict[str, dict[str, Any]] | None:
    """The parameters to vary: declared, else the OpenAI defaults, else None (not
    applicable: a Python or mock target has no parameters aichaos can change)."""
    if cache.vary is not None:
        return cache.vary
    return DEFAULT_VARY if exp.target.type == "openai" else None


async def parameters(view: SuiteView, system: SystemChecks, *, prefix: str, layer: int
                     ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    """Layer 3: changing one response-affecting parameter must miss the cache; also reports
    hit rate and saved upstream calls. Checks ``<prefix>.cache_key.<parameter>``."""
    cache = system.cache
    if cache is None:
        return [not_measured(f"{prefix}.cache_key", "not measured: no cache declared "
                             "(system.cache)")], [], {}
    exp = view.experiment
    vary = vary_settings(exp, cache)
    if not vary:
        return [not_measured(f"{prefix}.cache_key", "not measured: the target type "
                             f"{exp.target.type!r} has no parameters to vary; declare "
                             "system.cache.vary")], [], {}
    user = next(iter(system.users.values()), None)
    first = variant_target(exp, user, cache.probe_settings)
    variants = {k: variant_target(exp, user, combine(cache.probe_settings, v))
                for k, v in vary.items()}
    suite = "system.cache"
    try:
        found = await probe_cache(view, cache, first, layer=layer, suite=suite)
        stale: dict[str, Any] = {}
        if found.detected:
            for p in found.usable:
                for key, target in variants.items():
                    p.others[key] = await send_as(view, target, p.case, p.prompt,
                                                  f"{suite}.vary.{key}", layer=layer,
                                                  suite=suite, dependency=cache.dependency)
            stale = await stale_service(view, cache, first, found, layer=layer, suite=suite)
    finally:
        unstamp(view, cache, layer)
        for t in [first, *variants.values()]:
            await t.aclose()
    metrics = found.metrics()
    if not found.detected:
        return ([not_measured(f"{prefix}.cache_key.{k}", found.not_detected()) for k in vary],
                [], {"cache": metrics})
    checks, failing, ignored = [], [], []
    for key in vary:
        served = []
        for p in found.usable:
            hit, why = p.served_from_first(p.others[key])
            if hit:
                served.append(p)
                r = p.others[key].result
                failing.append(FailingCase(
                    p.case.id, r.variant, p.prompt, r.output,
                    f"cache ignores {key}: a request with a different {key} was served the "
                    f"cached answer ({why})",
                    f"send the prompt, then again with {vary[key]}, with the nonce_stamp toxic "
                    f"on {cache.dependency}"))
        n = len(found.usable)
        if served:
            ignored.append(key)
        msg = (f"cache key ignores {key}: {len(served)}/{n} requests with a different {key} "
               "got the cached answer" if served else
               f"{n}/{n} requests with a different {key} missed the cache")
        checks.append(Check(f"{prefix}.cache_key.{key}", not served, len(served), "== 0",
                            "hits", msg, [p.case.id for p in served],
                            interval=exact(len(served)), decided=True))
    metrics["parameters_ignored"] = ignored
    metrics["parameters_varied"] = list(vary)
    metrics["stale_during_outage"] = stale
    return checks, failing, {"cache": metrics}


async def stale_service(view: SuiteView, cache: CacheCheck, first: Target, found: CacheProbe,
                        *, layer: int, suite: str) -> dict[str, Any]:
    """During an outage of ``cache.dependency`` (an ``http_error 503`` toxic on its proxy),
    send each cached probe prompt again: an answer that no request to the dependency stood
    behind is stale service, reported with its age (seconds since the upstream produced it).

    Returns ``{requests, served_stale, ages_s, errors}``.
    """
    proxy, name = view.proxy, f"system_outage_l{layer}"
    proxy.add_toxic(cache.dependency, {"name": name, "type": "http_error",
                                       "attributes": {"status": 503}})
    ages: list[float] = []
    errors = 0
    try:
        for p in found.usable:
            sent = await send_as(view, first, p.case, p.prompt, f"{suite}.outage", layer=layer,
                                 suite=suite, dependency=cache.dependency)
            reached = proxy.traffic.count(proxy=cache.dependency, since=sent.start,
                                          until=sent.end)
            if sent.result.error_class is None and reached == 0:
                ages.append(round(sent.start - p.first.start, 3))
            elif sent.result.error_class is not None:
                errors += 1
    finally:
        if any(t.name == name for t in proxy.toxics(cache.dependency)):
            proxy.remove_toxic(cache.dependency, name)
    return {"requests": len(found.usable), "served_stale": len(ages), "ages_s": ages,
            "errors": errors}
