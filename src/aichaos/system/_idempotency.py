"""Side effects and idempotency: a timeout after the upstream acted must not repeat the effect.

For each side-effecting dependency declared in ``system.side_effects``, a ``drop_response``
toxic lets each matching call reach the upstream (the payment is taken, the refund issued),
then drops the response, so the system sees a timeout after the effect. Each declared input
is sent once. The toxic's ledger records every matching call: method, path, a digest of the
body and the idempotency header. Calls with the same method, path and body and no
idempotency key are duplicates of a non-idempotent call (each one may repeat the effect);
retries carrying a key are counted apart (safe when the upstream honours the key).

Check ``<prefix>.idempotency.<dependency>``: passes when no duplicate was seen; the value is
the number of duplicate calls (an exact count). Not measured when nothing is declared or the
toxic never fired (the inputs never reached the dependency).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aichaos.config import SideEffect, SystemChecks
from aichaos.dataset import Case
from aichaos.faults import DropResponse, LedgerEntry
from aichaos.results import Check, FailingCase
from aichaos.system._cache import exact, not_measured
from aichaos.system._view import SuiteView, send_as, variant_target


def duplicates(entries: list[LedgerEntry]) -> tuple[int, int]:
    """``(duplicate calls without a key, retries carrying a key)`` among ``entries``: each
    group of same method, path and body digest (no key), or of the same key, counts its
    size minus one."""
    plain = Counter((e.method, e.path, e.digest) for e in entries if e.key is None)
    keyed = Counter(e.key for e in entries if e.key is not None)
    return (sum(n - 1 for n in plain.values()), sum(n - 1 for n in keyed.values()))


async def _one(view: SuiteView, spec: SideEffect, *, prefix: str, layer: int
               ) -> tuple[Check, list[FailingCase], dict[str, Any]]:
    dep, name = spec.dependency, f"system_drop_{spec.dependency}"
    check_name = f"{prefix}.idempotency.{dep}"
    toxic = view.proxy.add_toxic(dep, {"name": name, "type": "drop_response", "attributes": {
        "delay": spec.delay_ms, "first_attempt_only": True,
        "idempotency_header": spec.idempotency_header, "match_path": spec.match_path,
        "match_method": spec.match_method}})
    assert isinstance(toxic, DropResponse)

    async def remove() -> None:
        if any(t.name == name for t in view.proxy.toxics(dep)):
            view.proxy.remove_toxic(dep, name)

    view.rollbacks.append((f"remove toxic {name} from dependency {dep}", remove))
    users = view.experiment.system.users if view.experiment.system else {}
    target = variant_target(view.experiment, next(iter(users.values()), None))
    spans, outcomes = [], Counter[str]()
    try:
        for i, text in enumerate(spec.inputs):
            case = Case(id=f"{dep}-effect-{i + 1}", input=text)
            before = len(toxic.ledger)
            sent = await send_as(view, target, case, text, f"system.side_effect.{dep}",
                                 layer=layer, suite="system.side_effects", dependency=dep)
            await asyncio.sleep(0.05)  # a retry still in flight reaches the ledger
            spans.append((case, sent, toxic.ledger[before:]))
            outcomes["error" if sent.result.error_class else "answered"] += 1
    finally:
        await remove()
        await target.aclose()
    dup, keyed = duplicates(toxic.ledger)
    metrics = {"dependency": dep, "fired": toxic.fired, "calls": len(toxic.ledger),
               "duplicates": dup, "keyed_retries": keyed, "requests": len(spec.inputs),
               "outcomes": dict(outcomes)}
    if not toxic.fired:
        reason = (f"not measured: the drop_response toxic never fired; {dep!r} saw no "
                  f"matching call ({spec.match_method} {spec.match_path or '*'}) for "
                  f"{len(spec.inputs)} inputs")
        return not_measured(check_name, reason, "calls"), [], metrics
    failing = []
    for case, sent, entries in spans:
        d, _ = duplicates(entries)
        if d:
            r = sent.result
            failing.append(FailingCase(
                case.id, r.variant, case.input, r.output,
                f"duplicate side effect: {d + 1} identical calls to {dep!r} without "
                f"{spec.idempotency_header} after the response was dropped",
                f"add toxic drop_response to {dep} and send {case.input!r}"))
    key = spec.idempotency_header
    msg = (f"{dup} duplicate non-idempotent calls to {dep!r} (same body, no {key}) after "
           f"{toxic.fired} dropped responses: the effect may have been applied {dup} extra "
           "times" if dup else
           f"no duplicate call to {dep!r} after {toxic.fired} dropped responses"
           + (f" ({keyed} retries carried {key})" if keyed else ""))
    check = Check(check_name, dup == 0, dup, "== 0", "calls", msg,
                  [f.case_id for f in failing], interval=exact(dup), decided=True)
    return check, failing, metrics


async def idempotency(view: SuiteView, system: SystemChecks, *, prefix: str, layer: int
                      ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    """Layer 3: no duplicate non-idempotent call to a side-effecting dependency after a
    response dropped once the upstream acted (module docstring).

    Returns ``(checks, failing cases, metrics)``.
    """
    if not system.side_effects:
        return [not_measured(f"{prefix}.idempotency", "not measured: no side-effecting "
                             "dependency declared (system.side_effects)", "calls")], [], {}
    checks, failing, per_dep = [], [], {}
    for spec in system.side_effects:
        check, fails, m = await _one(view, spec, prefix=prefix, layer=layer)
        checks.append(check)
        failing += fails
        per_dep[spec.dependency] = m
    return checks, failing, {"side_effects": per_dep}
