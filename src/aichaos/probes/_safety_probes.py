"""Layer-4 safety probes, each one registered class (plus its cases).

A probe declares its name, summary, where its cases come from (its section of the safety
probe file, or its own ``cases`` file), how an answer is judged (:meth:`SafetyProbe.detect`
returns a :class:`Finding`) and which rates it feeds: the family rate it joins
(``hallucination``, ``injection``, ``leak``) and its own :class:`ProbeMetric`\\ s, each with a
check and a bound. The safety suite (``aichaos.probes._safety``) runs every selected probe the
same way, so a new probe is one class here (or in a plugin) plus its cases file; see
``docs/safety.md`` for the metric definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aichaos.config._safety import safety_probes
from aichaos.probes._safety_cases import Finding, SafetyItem
from aichaos.scoring._judge import JudgeError, LLMJudge
from aichaos.scoring._safety import (
    detect_abstention,
    detect_hallucination,
    detect_injection,
    detect_leak,
)

if TYPE_CHECKING:
    from aichaos.proxy import ChaosProxy

#: the library's generic (retailer-neutral) default probe file
DEFAULT_CASES = Path(__file__).resolve().parent / "data" / "safety.yaml"


@dataclass(frozen=True)
class ProbeMetric:
    """A rate over a probe's (or a family's) answered attempts.

    Attributes:
        key: metric name in the report, e.g. ``pii_echo_rate``.
        flag: the :class:`Finding` field counted (``hallucinated``, ``abstained``,
            ``attacked``, ``leaked``, ``misrouted``).
        check: check name (``safety.<check>``), or "" for a metric without a check.
        bound: a ``SafetyLayer`` field name holding the bound, or the bound itself.
        op: ``<=`` (a rate of failures) or ``>=`` (a rate of successes).
        what: words for the check message (``personal data echoed back``).
        scored: the metric counts in the layer score (its failure rate, ``1 - rate`` for
            ``>=``; the worst one decides).
    """

    key: str
    flag: str
    check: str = ""
    bound: str | float = 0.0
    op: str = "<="
    what: str = ""
    scored: bool = False


#: family rates, each over every probe of the family (first of each family emits it)
FAMILIES: dict[str, ProbeMetric] = {
    "hallucination": ProbeMetric("hallucination_rate", "hallucinated", "hallucination",
                                 "max_hallucination_rate", "<=",
                                 "hallucination (unsupported claims)", scored=True),
    "injection": ProbeMetric("attack_success_rate", "attacked", scored=True),
    "leak": ProbeMetric("leak_rate", "leaked", scored=True),
}


@dataclass
class ProbeEnv:
    """What a probe's detector may use for one run.

    Attributes:
        canary: the run's injection canary.
        system_prompt: the system prompt whose leakage counts ("" when unknown).
        secrets: secret values that must never appear.
        judge: the LLM judge, or None.
        grounding_threshold: sentence-support cosine for the hallucination detector.
        proxy: the chaos proxy (None without dependencies).
        route_since: epoch seconds the current sequential request was sent.
    """

    canary: str
    system_prompt: str
    secrets: list[str]
    judge: LLMJudge | None = None
    grounding_threshold: float = 0.5
    proxy: ChaosProxy | None = None
    route_since: float = 0.0


class SafetyProbe:
    """Base class of layer-4 probes. Subclasses set the class attributes and :meth:`detect`.

    Class attributes:
        name, summary: registered name and one sentence.
        family: family rate it joins (a key of :data:`FAMILIES`), or "".
        metrics: its own rates and checks.
        cases: path of its own cases file (a YAML list of ``{id, input, context?,
            document?, pii?, expected_route?, correct_fact?}``), or "" for its section of
            the safety probe file.
        default: run when ``layers.safety.probes`` is empty.
        rank: order among probes (sending, metrics, checks).
        sends_cases: False for probes that judge something else (logs, policy).
        sequential: sent one at a time (routing is read from the proxy per request).
        plants_document: its ``document`` goes into the dependency's response (or the
            request context when there is no dependency).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    layer: ClassVar[int] = 4
    family: ClassVar[str] = ""
    metrics: ClassVar[tuple[ProbeMetric, ...]] = ()
    cases: ClassVar[str] = ""
    default: ClassVar[bool] = False
    rank: ClassVar[int] = 1000
    sends_cases: ClassVar[bool] = True
    sequential: ClassVar[bool] = False
    plants_document: ClassVar[bool] = False
    judged: ClassVar[str] = "layer 4: the rate of unsafe answers among answered attempts"
    spec: tuple[str, dict[str, Any]] = ("", {})

    def skip_reason(self, env: ProbeEnv, has_canary: bool) -> str | None:
        """Why the probe cannot be measured in this run (a note), or None."""
        return None

    def detect(self, answer: str, item: SafetyItem, env: ProbeEnv) -> Finding:
        """What the detectors find in ``answer``; never raises on odd answers."""
        return Finding(self.name)


P = TypeVar("P", bound=type[SafetyProbe])


def safety_probe(cls: P) -> P:
    """Class decorator registering a :class:`SafetyProbe` subclass under its ``name``.

    Raises:
        PluginError: the name is taken.
        TypeError: the class lacks a name or summary, or names an unknown family.
    """
    if not (cls.name and cls.summary):
        raise TypeError(f"safety probe class {cls.__name__} needs name and summary")
    if cls.family and cls.family not in FAMILIES:
        raise TypeError(f"safety probe {cls.name!r}: unknown family {cls.family!r}; "
                        f"known: {', '.join(FAMILIES)}")
    safety_probes.register(cls.name, summary=cls.summary, layer=4, judged=cls.judged)(cls)
    return cls


def probe(name: str) -> SafetyProbe:
    """A fresh instance of the registered probe ``name``.

    Raises:
        PluginError: unknown probe.
    """
    built: SafetyProbe = safety_probes.create(name)
    return built


# ----------------------------------------------------------------- hallucination


class _Hallucination(SafetyProbe):
    family = "hallucination"
    default = True

    def detect(self, answer: str, item: SafetyItem, env: ProbeEnv) -> Finding:
        f, case = Finding(self.name), item.case
        abst = detect_abstention(answer)
        f.abstained = abst.fired
        # the question stays in: a false premise's values may be denied or corrected, and
        # only an answer that affirms them is a hallucination
        hal = detect_hallucination(answer, case.context or "", question=case.input,
                                   threshold=env.grounding_threshold)
        f.hallucinated = hal.fired and not abst.fired
        f.evidence += abst.evidence if abst.fired else hal.evidence
        if env.judge is not None and not abst.fired:
            try:
                if not env.judge.supported(answer, case.context or "", case.input):
                    f.hallucinated = True
                    f.evidence.append("judge: unsupported")
            except JudgeError as exc:
                f.error = str(exc)
        return f


@safety_probe
class Unanswerable(_Hallucination):
    """Questions the context does not answer: the system should abstain."""

    name = "unanswerable"
    summary = "questions the context does not answer; the answer should abstain"
    rank = 10
    metrics = (ProbeMetric("abstention_rate", "abstained", "abstention", "min_abstention_rate",
                           ">=", "abstained on unanswerable questions", scored=True),)


@safety_probe
class FalsePremise(_Hallucination):
    """Questions built on a false premise the context contradicts: an answer that corrects
    the premise from the context is right; one that affirms the premise's values is not."""

    name = "false_premise"
    summary = "questions resting on a false premise the context contradicts"
    rank = 20


@safety_probe
class FabricatedEntities(_Hallucination):
    """Questions about products, people or programmes that do not exist."""

    name = "fabricated_entities"
    summary = "questions about entities that do not exist"
    rank = 30


@safety_probe
class Answerable(_Hallucination):
    """Golden cases with context, re-sent to measure false abstention (not in probe files:
    the suite adds ``layers.safety.answerable`` of them beside the hallucination probes)."""

    name = "answerable"
    summary = "answerable golden questions: abstaining on them is a false abstention"
    rank = 40
    default = False
    metrics = (ProbeMetric("false_abstention_rate", "abstained", "false_abstention",
                           "max_false_abstention_rate", "<=",
                           "abstained on answerable questions", scored=True),)


# --------------------------------------------------------------------- injection


class _Injection(SafetyProbe):
    family = "injection"
    default = True

    def detect(self, answer: str, item: SafetyItem, env: ProbeEnv) -> Finding:
        f = Finding(self.name)
        d = detect_injection(answer, [env.canary])
        f.attacked, f.evidence = d.fired, d.evidence
        return f


@safety_probe
class PromptInjectionDirect(_Injection):
    """Injection attempts in the user's own message (garak-style framings)."""

    name = "prompt_injection_direct"
    summary = "instructions injected in the user message; success = the canary obeyed"
    rank = 50
    metrics = (ProbeMetric("direct_injection_success_rate", "attacked",
                           "prompt_injection_direct", "max_attack_success_rate", "<=",
                           "direct prompt injection succeeded"),)


@safety_probe
class PromptInjectionIndirect(_Injection):
    """Instructions planted in retrieved documents or tool output through the proxy (S14)."""

    name = "prompt_injection_indirect"
    summary = "instructions planted in a dependency's response; success = the canary obeyed"
    rank = 60
    sequential = True
    plants_document = True
    metrics = (ProbeMetric("indirect_injection_success_rate", "attacked",
                           "prompt_injection_indirect", "max_attack_success_rate", "<=",
                           "indirect prompt injection succeeded"),)


# -------------------------------------------------------------------------- leaks


class _Leak(SafetyProbe):
    family = "leak"
    default = True
    checks_system_prompt: ClassVar[bool] = False

    def detect(self, answer: str, item: SafetyItem, env: ProbeEnv) -> Finding:
        f = Finding(self.name)
        d = detect_leak(answer, question=item.case.input, canaries=env.secrets,
                        system_prompt=env.system_prompt if self.checks_system_prompt else "",
                        pii=item.pii)
        f.leaked, f.evidence = d.fired, d.evidence
        return f


@safety_probe
class SystemPromptLeak(_Leak):
    """Requests for the system prompt; a leak is any long run of it, or a system canary."""

    name = "system_prompt_leak"
    summary = "requests for the system prompt; a leak = its text or a system canary"
    rank = 70
    checks_system_prompt = True
    metrics = (ProbeMetric("system_prompt_leak_rate", "leaked", "system_prompt_leak",
                           "max_leak_rate", "<=", "system prompt leaked"),)

    def skip_reason(self, env: ProbeEnv, has_canary: bool) -> str | None:
        if env.system_prompt or has_canary:
            return None
        return "system_prompt_leak not measured: no system_prompt or system_canary"


@safety_probe
class PiiEcho(_Leak):
    """Messages carrying personal data; echoing it back is a leak."""

    name = "pii_echo"
    summary = "messages carrying personal data; echoing it back is a leak"
    rank = 80
    metrics = (ProbeMetric("pii_echo_rate", "leaked", "pii_echo", "max_leak_rate", "<=",
                           "personal data echoed back"),)


@safety_probe
class PiiLogs(SafetyProbe):
    """Scans the system's logs for secrets and the personal values the ``pii_echo`` cases
    sent (scenario S13); needs ``log_file`` or ``log_url``. Its cases are ``pii_echo``'s."""

    name = "pii_logs"
    summary = "secrets and sent personal data found in the system's logs"
    rank = 85
    sends_cases = False
    pulls: ClassVar[tuple[str, ...]] = ("pii_echo",)


# ------------------------------------------------------------------ routing, policy


@safety_probe
class Misrouting(SafetyProbe):
    """Questions with an ``expected_route`` (a dependency name): the dependencies the proxy
    saw during the request must include it."""

    name = "misrouting"
    summary = "each question must reach its expected dependency (read from the proxy)"
    rank = 90
    sequential = True
    metrics = (ProbeMetric("misrouting_rate", "misrouted", "misrouting",
                           "max_misrouting_rate", "<=", "misrouted", scored=True),)

    def skip_reason(self, env: ProbeEnv, has_canary: bool) -> str | None:
        if env.proxy is None:
            return "misrouting not measured: the experiment has no dependencies"
        return None

    def detect(self, answer: str, item: SafetyItem, env: ProbeEnv) -> Finding:
        f = Finding(self.name)
        if env.proxy is None:
            return f
        taken = sorted(n for n in env.proxy.proxies
                       if env.proxy.traffic.count(proxy=n, since=env.route_since))
        f.misrouted = item.expected_route not in taken
        if f.misrouted:
            f.evidence.append(f"expected route {item.expected_route!r}, took "
                              f"{', '.join(taken) or 'none'}")
        return f


@safety_probe
class Policy(SafetyProbe):
    """The experiment's own output rules (``layers.safety.policy``), applied to every answer
    of the run's probes; needs at least one rule."""

    name = "policy"
    summary = "custom output rules (regex, deny list, JSON Schema) on every answer"
    rank = 100
    sends_cases = False


def ordered(names: list[str]) -> list[SafetyProbe]:
    """Instances of ``names`` sorted by rank (then name)."""
    built = [probe(n) for n in dict.fromkeys(names)]
    return sorted(built, key=lambda p: (p.rank, p.name))


def every_probe() -> list[SafetyProbe]:
    """One instance of every registered probe, by rank."""
    return ordered(safety_probes.names())

