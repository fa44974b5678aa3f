"""The ``system:`` block: what the system checks around the model need to know.

Declares the users (tenants) the target can speak as, the response cache to probe, the
side-effecting dependencies (payments, refunds, tickets) and the gateway in front of the
model. Each check runs in the layer it belongs to (see docs/system.md); a check whose
declaration is missing is reported "not measured", never "pass".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from aichaos.config._base import Strict
from aichaos.config._values import EnvSecret, EnvStr

#: the target-config fields a cache probe may vary (the rest are rejected by ``validate``)
VARY_FIELDS = ("model", "max_tokens", "temperature", "system_prompt", "extra_body", "headers",
               "body", "params")
#: target types that can send per-user headers or body fields
IDENTITY_TARGETS = ("openai", "http")


class SystemUser(Strict):
    """One identity the target can send requests as: headers and/or body fields merged into
    the target's own (e.g. ``{extra_body: {user: alice}}``, ``{headers: {X-Tenant: acme}}``,
    ``{headers: {Authorization: "Bearer ..."}}``)."""

    headers: dict[str, EnvStr] = Field(default_factory=dict)
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something(self) -> SystemUser:
        if not self.headers and not self.extra_body:
            raise ValueError("a user needs headers or extra_body that identify it")
        return self


class CacheCheck(Strict):
    """A response cache in front of ``dependency`` (usually the LLM provider).

    Attributes:
        dependency: the dependency whose calls the cache saves; the nonce stamp goes on its
            proxy and its upstream calls are counted.
        cases: golden cases probed (each gets a fresh, run-unique prompt).
        vary: response-affecting parameters that must each miss the cache: name -> target
            settings overriding the target's (``{temperature: {temperature: 0.9}}``); None
            uses the defaults for an OpenAI target (temperature, max_tokens, system_prompt,
            seed); an HTTP target must declare its own.
        probe_settings: target settings for every cache probe, overriding the target's,
            e.g. ``{extra_body: {cache: {}}}`` to drop a gateway's per-request cache opt-out
            that the rest of the run sends (LiteLLM ignores ``Cache-Control: no-cache`` and
            reads ``cache: {no-cache: true}`` from the body instead).
    """

    dependency: str
    cases: int = Field(2, ge=1, le=50)
    vary: dict[str, dict[str, Any]] | None = None
    probe_settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("vary")
    @classmethod
    def _fields(cls, value: dict[str, dict[str, Any]] | None) -> Any:
        for name, override in (value or {}).items():
            bad = sorted(set(override) - set(VARY_FIELDS))
            if not override or bad:
                raise ValueError(f"vary.{name}: expected target settings among "
                                 f"{', '.join(VARY_FIELDS)}, got {bad or 'nothing'}")
        return value

    @field_validator("probe_settings")
    @classmethod
    def _probe_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(set(value) - set(VARY_FIELDS))
        if bad:
            raise ValueError(f"expected target settings among {', '.join(VARY_FIELDS)}, "
                             f"got {', '.join(bad)}")
        return value


class SideEffect(Strict):
    """A side-effecting dependency (payments, refunds, tickets).

    Attributes:
        dependency: its name in ``dependencies``.
        inputs: prompts that make the system perform the effect (e.g. "Refund order 1042").
        match_path: only calls to these paths (glob) count as effects; "" = every path.
        match_method: only calls with this method count (default POST).
        idempotency_header: the request header carrying an idempotency key.
        delay_ms: hold after the upstream answered, before the response is dropped.
    """

    dependency: str
    inputs: list[str] = Field(min_length=1)
    match_path: str = ""
    match_method: str = "POST"
    idempotency_header: str = "Idempotency-Key"
    delay_ms: int = Field(0, ge=0, le=60_000)


class FailoverCheck(Strict):
    """A primary dependency with fallbacks the system must fail over to (and come back from).

    Attributes:
        primary: the dependency the fault breaks.
        fallbacks: the dependencies expected to take over, in order.
        status: the HTTP status the primary's proxy answers with during the fault.
        cases: requests sent under the fault (fresh prompts, so no cache answers them).
        max_attempts: bound on upstream calls per request across primary and fallbacks.
        max_return_s: bound on the seconds from removing the fault until a request is served
            by the primary again.
        return_interval_s: pause between requests while waiting for the return.
        correlated: also break the primary and every fallback at once (one toxic group):
            the expected outcome is a clean error or a graceful fallback answer, not a hang.
        correlated_timeout_s: a request under the correlated fault with no answer after
            this many seconds is a hang.
    """

    primary: str
    fallbacks: list[str] = Field(min_length=1)
    status: int = Field(503, ge=400, le=599)
    cases: int = Field(3, ge=1, le=50)
    max_attempts: int = Field(3, ge=1)
    max_return_s: float = Field(10.0, gt=0, le=600)
    return_interval_s: float = Field(0.2, gt=0, le=60)
    correlated: bool = True
    correlated_timeout_s: float = Field(10.0, gt=0, le=600)


class AuthCheck(Strict):
    """How the system under test authenticates, with one example credential per class.

    Attributes:
        scheme: ``bearer`` (``Authorization: Bearer <credential>``), ``header`` (the header
            ``name``) or ``query`` (the query parameter ``name``).
        name: header or query parameter name (ignored for ``bearer``).
        valid: a working credential (the control: it must be accepted).
        wrong: a credential that was never issued.
        expired: a credential that was valid once and has expired.
        other_tenant: a valid credential of another tenant, sent with this tenant's request
            (the target's own headers or body name the tenant).
    """

    scheme: Literal["bearer", "header", "query"] = "bearer"
    name: str = "Authorization"
    valid: EnvSecret
    wrong: EnvSecret | None = None
    expired: EnvSecret | None = None
    other_tenant: EnvSecret | None = None


class EscalationCheck(Strict):
    """High-risk requests must be escalated to a human, not executed.

    Attributes:
        inputs: high-risk requests (large refunds, account deletion, legal threats).
        dependency: a call reaching this dependency's upstream counts as the escalation
            (a helpdesk or review-queue API); None: only ``pattern`` counts.
        pattern: a case-insensitive regex; an answer matching it counts as the escalation
            (e.g. ``specialist will contact you``); None: only ``dependency`` counts.
        action_dependency: a call reaching this dependency's upstream means the action was
            executed (e.g. payments); None: not checked.
        action_match_path: only calls to these paths (glob) count as the action.
        min_rate: the share of high-risk requests that must be escalated and not executed.
    """

    inputs: list[str] = Field(min_length=1)
    dependency: str | None = None
    pattern: str | None = None
    action_dependency: str | None = None
    action_match_path: str = ""
    min_rate: float = Field(0.95, ge=0, le=1)

    @model_validator(mode="after")
    def _how(self) -> EscalationCheck:
        if self.dependency is None and self.pattern is None:
            raise ValueError("declare how an escalation shows: dependency (a call to it) or "
                             "pattern (a regex on the answer)")
        if self.pattern is not None:
            import re

            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern: invalid regex {self.pattern!r}: {exc}") from None
        return self


class BudgetCheck(Strict):
    """A token cap the system must enforce for one user (per key, per user or per day).

    Attributes:
        dependency: the provider whose responses report the tokens spent.
        user: the ``system.users`` entry the cap applies to (its requests are the only ones
            sent, so other traffic in the run does not spend its budget).
        cap_tokens: the cap, in tokens as the upstream reports them (``usage``).
        requests: requests sent (fresh prompts), enough to pass the cap.
        concurrency: requests in flight at once; the overshoot tolerance is this times the
            largest single request's tokens.
    """

    dependency: str
    user: str
    cap_tokens: int = Field(ge=1)
    requests: int = Field(20, ge=1, le=1000)
    concurrency: int = Field(2, ge=1, le=64)


class GatewayDecl(Strict):
    """The gateway in front of the model (``aichaos init --gateway`` writes this).

    Attributes:
        type: the gateway (``litellm``).
        config: the gateway's own configuration file as written by its operator.
        proxied_config: the rewritten copy whose upstreams go through the chaos proxies.
    """

    type: Literal["litellm"]
    config: str
    proxied_config: str | None = None


class SystemChecks(Strict):
    """The ``system:`` block of an experiment (see the module docstring)."""

    users: dict[str, SystemUser] = Field(default_factory=dict)
    cache: CacheCheck | None = None
    side_effects: list[SideEffect] = Field(default_factory=list)
    failover: FailoverCheck | None = None
    auth: AuthCheck | None = None
    escalation: EscalationCheck | None = None
    budget: BudgetCheck | None = None
    gateway: GatewayDecl | None = None

    @field_validator("users")
    @classmethod
    def _two_or_none(cls, value: dict[str, SystemUser]) -> dict[str, SystemUser]:
        if len(value) == 1:
            raise ValueError("declare at least two users (one user cannot see another's "
                             "answers)")
        return value


def check_system(system: SystemChecks | None, dependencies: Any, target: Any) -> None:
    """Cross-check the ``system:`` block against the experiment's dependencies and target.

    Raises:
        ValueError: one line naming the field (``cache.dependency: unknown dependency ...``).
    """
    if system is None:
        return
    known = sorted(dependencies or {})
    refs = [("cache.dependency", system.cache.dependency)] if system.cache else []
    refs += [(f"side_effects[{i}].dependency", s.dependency)
             for i, s in enumerate(system.side_effects)]
    if system.escalation:
        esc = system.escalation
        refs += [(f"escalation.{k}", d) for k, d in (("dependency", esc.dependency),
                                                      ("action_dependency",
                                                       esc.action_dependency)) if d]
    if system.budget:
        refs.append(("budget.dependency", system.budget.dependency))
        if system.budget.user not in system.users:
            raise ValueError(f"budget.user: unknown user {system.budget.user!r}; declared: "
                             f"{', '.join(system.users) or 'none (declare users:)'}")
    if system.failover:
        refs.append(("failover.primary", system.failover.primary))
        refs += [(f"failover.fallbacks[{i}]", d) for i, d in enumerate(system.failover.fallbacks)]
        if system.failover.primary in system.failover.fallbacks:
            raise ValueError(f"failover.fallbacks: the primary {system.failover.primary!r} "
                             "cannot be its own fallback")
    for where, dep in refs:
        if dep not in known:
            raise ValueError(f"{where}: unknown dependency {dep!r}; known: "
                             f"{', '.join(known) or 'none (declare dependencies:)'}")
    kind = getattr(target, "type", None)
    if system.auth and kind not in IDENTITY_TARGETS:
        raise ValueError(f"auth: needs an openai or http target to send credentials, got "
                         f"target type {kind!r}")
    if system.users and kind not in IDENTITY_TARGETS:
        raise ValueError(f"users: needs an openai or http target to send each user's headers "
                         f"or body fields, got target type {kind!r}")
    if system.cache and system.cache.vary is None and kind == "http":
        raise ValueError("cache.vary: an http target has no standard parameters; declare the "
                         "settings to vary (e.g. {temperature: {body: {...}}})")
