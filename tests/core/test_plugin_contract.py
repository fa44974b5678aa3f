"""One contract walked over every registry: perturbations, toxics, MCP toxics, safety probes,
scorers, targets, load profiles and probe suites, built-ins and plugins alike.

Each plugin is built from its spec, describes itself, replays from its recorded spec to the
same behaviour, is deterministic under a seed, and never raises on hostile input (lone
surrogates, NUL bytes, a 1 MB string, binary garbage). A new plugin of any kind is checked here
without anyone writing a new test (STYLE.md section 3); kind-specific properties of
perturbations, toxics and MCP toxics follow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from contract import (
    HOSTILE,
    NORMAL,
    SAMPLE_ARGS,
    digest,
    every_plugin,
    json_ready,
    mcp_wire,
    sample,
    use,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aichaos._registry import PluginInfo, registries
from aichaos.errors import PluginError
from aichaos.faults import TOXICS, Exchange, build_toxic, toxic_class
from aichaos.mcp import MCP_TOXICS, McpToxic, build_mcp_toxic, mcp_toxic_class, parse
from aichaos.mcp import _oracles as oracles
from aichaos.perturb import SEVERITIES, perturbations

PLUGINS = every_plugin()
KINDS = {"perturbation", "toxic", "MCP toxic", "safety probe", "scorer", "target",
         "load profile", "probe suite"}


def test_every_kind_has_one_registry_with_its_built_ins() -> None:
    regs = registries()
    assert set(regs) == KINDS
    assert {"openai", "http", "python", "mock"} <= set(regs["target"].names())
    assert {"constant", "poisson", "bursty"} <= set(regs["load profile"].names())
    assert {"unanswerable", "pii_echo", "prompt_injection_indirect"} <= set(
        regs["safety probe"].names())
    assert len(regs["perturbation"]) >= 24 and len(regs["toxic"]) >= 20
    assert {"mcp_tool_error", "mcp_timeout", "mcp_injection"} <= set(regs["MCP toxic"].names())
    assert len(regs["MCP toxic"]) >= 13


def test_registries_lists_what_imports_when_the_mcp_sdk_is_absent() -> None:
    """Without the optional ``mcp`` SDK the MCP toxics are left out and nothing crashes."""
    code = ("import sys; sys.modules['mcp'] = None\n"  # `import mcp` now fails as if absent
            "from aichaos._registry import registries\n"
            "print(','.join(sorted(registries())))")
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": src})
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.strip().split(",")) == KINDS - {"MCP toxic"}


@pytest.mark.parametrize(("kind", "name"), PLUGINS)
def test_describes_itself(kind: str, name: str) -> None:
    info = registries()[kind].get(name)
    assert isinstance(info, PluginInfo) and info.kind == kind and info.name == name
    d = info.describe()
    assert json.loads(json.dumps(d)) == d
    assert d["summary"] and d["judged"] and d["replays"], d
    assert d["origin"] == "aichaos"
    assert info.cls is not None, "a plugin is a registered class"
    assert [p["name"] for p in d["parameters"]] == list(info.params)
    if kind != "probe suite":
        assert d["layer"] in (None, 1, 2, 3, 4, 6)


@pytest.mark.parametrize(("kind", "name"), PLUGINS)
def test_spec_replays_to_the_same_behaviour(kind: str, name: str) -> None:
    reg = registries()[kind]
    first = sample(kind, name)
    spec_name, args = first.spec
    assert spec_name == name
    json.dumps(args, default=str)  # a spec is stored with the run
    again = reg.from_spec((spec_name, args))
    assert again.spec == first.spec
    again_from_json = reg.from_spec(json.loads(json.dumps(list(first.spec), default=str)))
    assert again_from_json.spec[0] == name
    assert json_ready(use(kind, again)) == json_ready(use(kind, sample(kind, name)))


@pytest.mark.parametrize(("kind", "name"), PLUGINS)
def test_deterministic_under_a_seed(kind: str, name: str) -> None:
    assert json_ready(use(kind, sample(kind, name))) == json_ready(use(kind, sample(kind, name)))


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
@pytest.mark.parametrize(("kind", "name"), PLUGINS)
def test_never_raises_on_hostile_input(kind: str, name: str, hostile: str) -> None:
    text = HOSTILE[hostile]
    out = use(kind, sample(kind, name), text, light=True)
    assert out is not None
    json.dumps(out, default=str)  # the result can be stored (surrogates escaped)


def test_a_bad_spec_is_one_clear_error() -> None:
    with pytest.raises(PluginError, match=r"^perturbation spec: expected \(name, \{arguments\}\)"):
        perturbations.from_spec(("casing",))  # type: ignore[arg-type]
    with pytest.raises(PluginError, match=r"^unknown toxic 'nope'; known: bad_json, "):
        TOXICS.from_spec(("nope", {}))


# ------------------------------------------------------------ perturbations, every severity

PERTURB_CASES = [(n, s) for n in perturbations.names() for s in SEVERITIES]
ANY_TEXT = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Zl", "Zp", "M", "L",
                                               "So"]), max_size=120),
    st.text(alphabet=st.sampled_from(" \n\t.?!,'\"-|<>&;aeiosAEIOU0123456789é😀\u200b"),
            max_size=300),
)


def test_perturbations_declare_their_source() -> None:
    for info in perturbations:
        assert info.layer == 2
        assert getattr(info.factory, "source", ""), info.name
        assert info.factory.__doc__, info.name


@pytest.mark.parametrize(("name", "severity"), PERTURB_CASES)
def test_perturbation_changes_a_normal_input_within_its_bounds(name: str, severity: int) -> None:
    p = perturbations.create(name, severity=severity, seed=7)
    out = p.apply(NORMAL)
    assert out.text != NORMAL and out.lineage, "a change must be recorded in the lineage"
    assert (out.name, out.severity, out.seed, out.original) == (name, severity, 7, NORMAL)
    lo, hi = p.length_bounds(len(NORMAL))
    assert lo <= len(out.text) <= hi
    again = perturbations.from_spec(p.spec)
    assert again.apply(NORMAL).text == out.text


@pytest.mark.parametrize("name", perturbations.names())
@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT, severity=st.sampled_from(SEVERITIES), seed=st.integers(0, 2**63))
def test_perturbation_never_raises_on_any_unicode(name: str, text: str, severity: int,
                                                  seed: int) -> None:
    p = perturbations.create(name, severity=severity, seed=seed)
    out = p.apply(text)
    lo, hi = p.length_bounds(len(text))
    assert lo <= len(out.text) <= hi, (len(text), len(out.text), lo, hi)
    assert p.apply(text) == out


# ------------------------------------------------------------------ toxics, every type


def _exchange(i: int, seed: int = 1) -> Exchange:
    return Exchange(f"p-{i}", seed, "POST", "/v1/chat/completions", {}, b"{}")


@pytest.mark.parametrize("kind", TOXICS.names())
def test_toxic_attributes_toxicity_and_layer3_judgement(kind: str) -> None:
    toxic = TOXICS.create(kind)
    shape = toxic.to_dict()
    assert shape["type"] == kind and shape["toxicity"] == 1.0 and shape["fired"] == 0
    assert toxic.spec == (kind, {})
    cls = toxic_class(kind)
    assert TOXICS.get(kind).cls is cls  # one registry holds the class
    # layer 3 reads its judgement from the class
    assert cls.exercises and set(cls.acceptable) <= {"correct", "fallback", "error"}
    assert "correct" in cls.acceptable and isinstance(cls.fires_per_request, bool)
    assert toxic.condition() and toxic.judge([]) is not None
    for attr in cls.attrs:  # every bounded number rejects a value out of range, in one line
        if attr.min is not None and not isinstance(attr.default, bool):
            bad = attr.min - 1
            with pytest.raises(PluginError) as err:
                build_toxic({"type": kind, "attributes": {attr.name: bad}})
            unit = f" {attr.unit}" if attr.unit else ""
            assert str(err.value) == (f"toxic {kind!r}: attribute {attr.name}: expected >= "
                                      f"{attr.min:g}{unit}, got {bad:g}")
        if attr.choices:
            with pytest.raises(PluginError, match=f"attribute {attr.name}: expected one of"):
                build_toxic({"type": kind, "attributes": {attr.name: "no-such-choice"}})
    with pytest.raises(PluginError, match="toxicity: expected a probability"):
        build_toxic({"type": kind, "toxicity": 1.5})
    never = build_toxic({"type": kind, "toxicity": 0})
    always = build_toxic({"type": kind, "toxicity": 1})
    assert not any(never.roll(_exchange(i)) for i in range(200)) and never.fired == 0
    assert all(always.roll(_exchange(i)) for i in range(200)) and always.fired == 200

    def pattern(seed: int) -> list[bool]:
        t = build_toxic({"type": kind, "name": "t", "toxicity": 0.3})
        return [t.roll(_exchange(i, seed)) for i in range(400)]

    first, again, other = pattern(1), pattern(1), pattern(2)
    assert first == again and first != other
    assert 0.22 < sum(first) / 400 < 0.38


# -------------------------------------------------------------- MCP toxics, every type


@pytest.mark.parametrize("kind", MCP_TOXICS.names())
def test_mcp_toxic_is_one_class_judged_by_real_oracles(kind: str) -> None:
    info = MCP_TOXICS.get(kind)
    cls = mcp_toxic_class(kind)
    assert info.cls is cls and issubclass(cls, McpToxic)  # one registry holds the class
    assert info.layer == 3 and info.summary == cls.summary and info.replays == cls.replays
    assert cls.oracles and all(callable(getattr(oracles, o, None)) for o in cls.oracles)
    assert all(o in info.judged for o in cls.oracles)
    assert all(p.type for p in info.typed), info.describe()["parameters"]


@pytest.mark.parametrize("kind", MCP_TOXICS.names())
def test_mcp_toxic_acts_on_the_contract_traffic_and_toxicity_0_never_does(kind: str) -> None:
    args = SAMPLE_ARGS.get(("MCP toxic", kind), {})
    steps = use("MCP toxic", sample("MCP toxic", kind))["traffic"]
    assert any(s["fired"] for s in steps), steps  # the contract's use reaches its hooks
    untouched = [(digest(parse(req)), [digest(parse(ans))]) for req, ans in mcp_wire(NORMAL)]
    changed = [s for s, (sent, delivered) in zip(steps, untouched, strict=True) if s["fired"]
               and ("intercept" in s or s["sent"] != sent or s["delivered"] != delivered)]
    assert changed or kind == "mcp_slow", steps  # mcp_slow only delays the same answer
    never = build_mcp_toxic({"type": kind, "toxicity": 0, "attributes": args})
    assert not any(s["fired"] for s in use("MCP toxic", never)["traffic"])
    assert never.fired == 0
