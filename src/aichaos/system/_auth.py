"""Security controls: requests with no credential, a wrong one, an expired one or another
tenant's must be refused, and the refusals must not echo credentials or internals.

The experiment declares how the system authenticates (``system.auth.scheme``: bearer, a
header or a query parameter) and one example credential per class. One request is sent per
class through a copy of the target carrying that credential (none: the credential removed),
after a control request with the valid one, which must be accepted (else every check is not
measured). Refused means an HTTP 401 or 403.

Responses are scanned before they are recorded: any declared credential found in an answer or
error body is masked (``***``) and reported by ``error_body``, as are a Python stack trace
(``Traceback (most recent call last)``) and an upstream URL of a dependency.

Checks (``<prefix>.auth.<class>``): value 1 when refused, passes at 1; ``<prefix>.auth.
error_body``: refusals echoing a credential or internals, passes at 0.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from aichaos.config import AuthCheck, Experiment, SystemChecks
from aichaos.dataset import Case
from aichaos.results import Check, FailingCase
from aichaos.system._cache import exact, not_measured
from aichaos.system._view import SuiteView, send_as
from aichaos.targets import Target, TargetRequest, TargetResponse, build_target

CLASSES = ("none", "wrong", "expired", "other_tenant")
_TRACE = "Traceback (most recent call last)"


class _Masking(Target):
    """``inner`` with every ``secrets`` string masked in what comes back; ``echoed`` lists
    what was found (``credential``, ``stack trace``, ``upstream URL``)."""

    def __init__(self, inner: Target, secrets: list[str], internals: list[str]) -> None:
        self.inner, self.kind = inner, inner.kind
        self.secrets = [s for s in secrets if s]
        self.internals = [i for i in internals if i]
        self.echoed: list[str] = []

    def _mask(self, text: str | None) -> str | None:
        if text is None:
            return None
        for s in self.secrets:
            if s in text:
                self.echoed.append("credential")
                text = text.replace(s, "***")
        if _TRACE in text:
            self.echoed.append("stack trace")
        if any(i in text for i in self.internals):
            self.echoed.append("upstream URL")
        return text

    async def send(self, request: TargetRequest) -> TargetResponse:
        resp = await self.inner.send(request)
        resp.output = self._mask(resp.output) or ""
        resp.error = self._mask(resp.error)
        resp.raw = None  # the decoded body may hold what was masked
        return resp

    async def aclose(self) -> None:
        await self.inner.aclose()


def credential_target(exp: Experiment, auth: AuthCheck, credential: SecretStr | None) -> Target:
    """A copy of the experiment's target sending ``credential`` as declared (None: none)."""
    cfg = exp.target
    update: dict[str, Any] = {}
    headers = dict(getattr(cfg, "headers", {}))
    params = dict(getattr(cfg, "params", {}))
    value = credential.get_secret_value() if credential is not None else None
    if auth.scheme == "bearer":
        update["api_key"] = credential
        headers.pop("Authorization", None)
    elif auth.scheme == "header":
        headers.pop(auth.name, None)
        if value is not None:
            headers[auth.name] = value
        update["api_key"] = None
    else:
        params.pop(auth.name, None)
        if value is not None:
            params[auth.name] = value
        update["api_key"] = None
    update["headers"], update["params"] = headers, params
    return build_target(cfg.model_copy(update=update))


async def auth_checks(view: SuiteView, system: SystemChecks, *, prefix: str, layer: int
                      ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    """Layer 4: every declared credential class refused, refusals clean (module docstring).
    Returns ``(checks, failing cases, metrics)``."""
    base = f"{prefix}.auth"
    auth = system.auth
    if auth is None:
        return [not_measured(base, "not measured: no authentication declared (system.auth)",
                             "refused")], [], {}
    exp = view.experiment
    secrets = [s.get_secret_value() for s in (auth.valid, auth.wrong, auth.expired,
                                              auth.other_tenant) if s is not None]
    internals = [d.upstream for d in exp.dependencies.values()]
    case = view.cases[0] if view.cases else Case(id="auth", input="hello")
    sent: dict[str, tuple[Any, list[str]]] = {}
    for cls in ("valid", *CLASSES):
        cred = None if cls == "none" else getattr(auth, cls)
        if cls != "none" and cred is None:
            continue
        target = _Masking(credential_target(exp, auth, cred), secrets, internals)
        try:
            s = await send_as(view, target, case, case.input, f"system.auth.{cls}",
                              layer=layer, suite="system.auth",
                              dependency=next(iter(exp.dependencies), ""))
        finally:
            await target.aclose()
        sent[cls] = (s.result, sorted(set(target.echoed)))
    return _judge(base, sent)


def _refused(result: Any) -> bool:
    return result.status in (401, 403)


def _judge(base: str, sent: dict[str, tuple[Any, list[str]]]
           ) -> tuple[list[Check], list[FailingCase], dict[str, Any]]:
    valid, _ = sent["valid"]
    metrics: dict[str, Any] = {"auth": {cls: {"status": r.status, "echoed": e}
                                        for cls, (r, e) in sent.items()}}
    classes = [c for c in CLASSES if c in sent]
    if valid.error_class is not None:
        why = (f"not measured: the valid credential was not accepted (HTTP {valid.status}, "
               f"{valid.error_class}); the refusals would mean nothing")
        return [not_measured(f"{base}.{c}", why, "refused") for c in classes], [], metrics
    checks, failing = [], []
    for cls in classes:
        r, _ = sent[cls]
        ok = _refused(r)
        label = cls.replace("_", " ")
        msg = (f"{label} credential refused (HTTP {r.status})" if ok else
               f"{label} credential accepted: HTTP {r.status} "
               + ("with an answer" if r.error_class is None else f"({r.error_class})")
               + " instead of 401/403")
        checks.append(Check(f"{base}.{cls}", ok, 1.0 if ok else 0.0, "== 1", "refused",
                            msg, [] if ok else [r.case_id], interval=exact(1.0 if ok else 0.0),
                            decided=True))
        if not ok:
            failing.append(FailingCase(r.case_id, r.variant, r.input, r.output,
                                       f"{label} credential accepted (HTTP {r.status})",
                                       f"send the case with the {label} credential"))
    leaks = [(cls, e) for cls, (r, e) in sent.items() if e and cls != "valid"]
    what = "; ".join(f"{cls}: {', '.join(e)}" for cls, e in leaks)
    checks.append(Check(f"{base}.error_body", not leaks, len(leaks), "== 0", "responses",
                        f"{len(leaks)} refusals echoed internals ({what})" if leaks else
                        f"no refusal echoed a credential, stack trace or upstream URL "
                        f"({len(classes)} sent)", interval=exact(len(leaks)), decided=True))
    for cls, e in leaks:
        r, _ = sent[cls]
        failing.append(FailingCase(r.case_id, r.variant, r.input, r.output,
                                   f"error body echoes {', '.join(e)} (masked here)",
                                   f"send the case with the {cls.replace('_', ' ')} "
                                   "credential"))
    return checks, failing, metrics

