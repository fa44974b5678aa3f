"""MockTarget and PythonTarget: in-process targets."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from aichaos.config import MockTargetConfig, PythonTargetConfig
from aichaos.errors import ConfigError
from aichaos.targets import MockTarget, PythonTarget, TargetRequest, TargetResponse, build_target

# ------------------------------------------------------------------ mock


async def test_mock_answers_table_and_default() -> None:
    target = MockTarget(MockTargetConfig(type="mock", answers={"hi": "hello"}, default="dunno"))
    hit = await target.send(TargetRequest("hi"))
    miss = await target.send(TargetRequest("Hi"))
    assert (hit.output, hit.ok, hit.error_class) == ("hello", True, None)
    assert miss.output == "dunno"
    assert hit.ttft_s == hit.e2e_s
    assert target.describe() == {"type": "mock", "answers": 1}


async def test_mock_default_config() -> None:
    resp = await MockTarget().send(TargetRequest("anything"))
    assert resp.output == "I don't know."


async def test_mock_records_requests_in_order() -> None:
    target = MockTarget()
    reqs = [TargetRequest("a", case_id="1"), TargetRequest("b", context="ctx", case_id="2")]
    for r in reqs:
        await target.send(r)
    assert target.requests == reqs


async def test_mock_responder_string_and_response() -> None:
    def responder(req: TargetRequest) -> TargetResponse | str:
        if req.input == "boom":
            return TargetResponse(status=500, error_class="http_5xx", error="HTTP 500", e2e_s=0.25)
        return req.input.upper()

    target = MockTarget(responder=responder)
    ok = await target.send(TargetRequest("abc"))
    bad = await target.send(TargetRequest("boom"))
    assert ok.output == "ABC" and ok.ok
    assert (bad.ok, bad.error_class, bad.status, bad.e2e_s) == (False, "http_5xx", 500, 0.25)
    assert bad.ttft_s is None  # failed responses get no TTFT
    assert [r.input for r in target.requests] == ["abc", "boom"]


async def test_mock_latency() -> None:
    target = MockTarget(MockTargetConfig(type="mock", latency_s=0.05))
    resp = await target.send(TargetRequest("x"))
    assert resp.e2e_s >= 0.05


def test_itl_from_chunk_times() -> None:
    resp = TargetResponse(chunk_times_s=[0.1, 0.15, 0.3])
    assert resp.itl_s == pytest.approx([0.05, 0.15])
    assert TargetResponse().itl_s == []


# ------------------------------------------------------------------ python

MODULE = '''
import asyncio
import time

def echo(text):
    return "echo:" + text

async def aecho(text):
    await asyncio.sleep(0)
    return "async:" + text

def with_context(text, context=None):
    return f"{text}|{context}"

def kwargs_only(text, **kw):
    return repr(sorted(kw.items()))

def as_dict(text):
    return {"output": text[::-1], "sources": [1, 2]}

def as_answer_dict(text):
    return {"answer": "A"}

def wrong_type(text):
    return 42

def crash(text):
    raise RuntimeError("model exploded")

async def slow(text):
    await asyncio.sleep(5)
    return "late"

def slow_sync(text):
    time.sleep(0.25)
    return "late"

class Bot:
    @staticmethod
    def reply(text):
        return "bot:" + text

NOT_CALLABLE = 3
'''


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Writes a target module under a unique name; yields (name, directory)."""
    name = f"core_target_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name, str(tmp_path)
    sys.modules.pop(name, None)


def python_target(module: tuple[str, str], fn: str, timeout_s: float = 5.0) -> PythonTarget:
    name, path = module
    cfg = PythonTargetConfig(type="python", function=f"{name}:{fn}", path=path, timeout_s=timeout_s)
    target = build_target(cfg)
    assert isinstance(target, PythonTarget)
    return target


async def test_python_sync(module: tuple[str, str]) -> None:
    resp = await python_target(module, "echo").send(TargetRequest("hi\x00\n😀"))
    assert (resp.output, resp.ok, resp.status) == ("echo:hi\x00\n😀", True, None)
    assert resp.ttft_s == resp.e2e_s


async def test_python_async(module: tuple[str, str]) -> None:
    resp = await python_target(module, "aecho").send(TargetRequest("hi"))
    assert (resp.output, resp.ok) == ("async:hi", True)


async def test_python_context(module: tuple[str, str]) -> None:
    t = python_target(module, "with_context")
    assert (await t.send(TargetRequest("q", context="doc"))).output == "q|doc"
    assert (await t.send(TargetRequest("q"))).output == "q|None"
    kw = python_target(module, "kwargs_only")
    assert (await kw.send(TargetRequest("q", context="c"))).output == "[('context', 'c')]"
    plain = python_target(module, "echo")  # no context parameter: not passed
    assert (await plain.send(TargetRequest("q", context="c"))).output == "echo:q"


async def test_python_dict_results(module: tuple[str, str]) -> None:
    resp = await python_target(module, "as_dict").send(TargetRequest("abc"))
    assert resp.output == "cba"
    assert resp.raw == {"output": "cba", "sources": [1, 2]}
    assert (await python_target(module, "as_answer_dict").send(TargetRequest("x"))).output == "A"


async def test_python_dotted_attribute(module: tuple[str, str]) -> None:
    resp = await python_target(module, "Bot.reply").send(TargetRequest("x"))
    assert resp.output == "bot:x"


async def test_python_wrong_return_type(module: tuple[str, str]) -> None:
    resp = await python_target(module, "wrong_type").send(TargetRequest("x"))
    assert (resp.output, resp.error_class) == ("", "invalid_response")
    assert resp.error == "function returned int, expected str or dict"


async def test_python_exception_is_observation(module: tuple[str, str]) -> None:
    resp = await python_target(module, "crash").send(TargetRequest("x"))
    assert (resp.ok, resp.error_class) == (False, "exception")
    assert resp.error == "RuntimeError: model exploded"
    assert resp.ttft_s is None


async def test_python_async_timeout(module: tuple[str, str]) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    resp = await python_target(module, "slow", timeout_s=0.2).send(TargetRequest("x"))
    assert (resp.error_class, resp.error) == ("timeout", "no return within 0.2 s")
    assert loop.time() - t0 < 2.0
    assert 0.2 <= resp.e2e_s < 2.0


async def test_python_sync_timeout(module: tuple[str, str]) -> None:
    resp = await python_target(module, "slow_sync", timeout_s=0.05).send(TargetRequest("x"))
    assert resp.error_class == "timeout"
    await asyncio.sleep(0.25)  # let the worker thread finish before the loop closes


@pytest.mark.parametrize(("fn", "message"), [
    ("nope_missing_mod_xyz:f", "target.function: cannot import module 'nope_missing_mod_xyz'"),
    ("{mod}:missing", "target.function: '{mod}' has no attribute 'missing'"),
    ("{mod}:NOT_CALLABLE", "target.function: '{mod}:NOT_CALLABLE' is not callable"),
])
def test_python_bad_function_is_config_error(module: tuple[str, str], fn: str,
                                             message: str) -> None:
    name, path = module
    cfg = PythonTargetConfig(type="python", function=fn.format(mod=name), path=path)
    with pytest.raises(ConfigError) as info:
        PythonTarget(cfg)
    assert str(info.value).startswith(message.format(mod=name))


def test_python_describe(module: tuple[str, str]) -> None:
    t = python_target(module, "echo")
    assert t.describe() == {"type": "python", "function": f"{module[0]}:echo"}
