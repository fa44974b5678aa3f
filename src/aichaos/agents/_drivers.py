"""Agent drivers: run one task's goal against the agent under test.

Three kinds (``layers.integration.agents.agent.type``):

- ``openai``: an OpenAI-compatible ``/chat/completions`` endpoint; aichaos drives the tool
  loop: it lists the MCP servers' tools (through the MCP chaos proxies), offers them as
  ``tools``, calls each ``tool_calls`` entry on its server and sends the result back as a
  ``tool`` message, until the model answers without tool calls or the step budget is spent.
  A tool error, a JSON-RPC error or a lost session reaches the model as the tool message's
  text (aichaos's loop is a plain client: recovery is the model's job). Streamed tool calls
  are merged by ``index`` (:func:`merge_tool_call_deltas`).
- ``http``: an agent endpoint running its own loop, given the proxies' URLs in its body.
- ``python``: ``module:function(goal, mcp_urls, **options)``, sync or async.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any, Protocol

import anyio
import httpx
from jsonpath_ng.ext.parser import parse as jsonpath_parse
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import McpError
from mcp.types import TextContent

from aichaos.agents._stream import ToolCall, merge_tool_call_deltas
from aichaos.agents._trajectory import AgentAnswer
from aichaos.config import AgentTask
from aichaos.config._agents import HttpAgentSpec, OpenAIAgentSpec, PythonAgentSpec
from aichaos.errors import ConfigError
from aichaos.targets import import_function, render_tree


class AgentDriver(Protocol):
    """Runs one task; never raises for failures of the agent (they are in the answer)."""

    async def run(self, task: AgentTask, mcp_urls: Mapping[str, str],
                  max_steps: int) -> AgentAnswer: ...


def _one_line(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PythonAgentDriver:
    """Calls ``function(goal, mcp_urls, **options)``; a string or ``{answer, usage}`` back."""

    def __init__(self, spec: PythonAgentSpec) -> None:
        self.spec = spec
        try:
            self.fn = import_function(spec.function, spec.path)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("target.function", "agent.function")) from exc

    async def run(self, task: AgentTask, mcp_urls: Mapping[str, str],
                  max_steps: int) -> AgentAnswer:
        try:
            with anyio.fail_after(self.spec.timeout_s):
                if inspect.iscoroutinefunction(self.fn):
                    got = await self.fn(task.goal, dict(mcp_urls), **self.spec.options)
                else:
                    got = await anyio.to_thread.run_sync(
                        lambda: self.fn(task.goal, dict(mcp_urls), **self.spec.options),
                        abandon_on_cancel=True)
        except TimeoutError:
            return AgentAnswer(hung=True, error=f"no answer within {self.spec.timeout_s:g} s")
        except Exception as exc:  # the agent's failure is an observation
            return AgentAnswer(crashed=True, error=_one_line(exc))
        return _answer_of(got)


def _answer_of(got: Any) -> AgentAnswer:
    if isinstance(got, Mapping):
        usage = got.get("usage") or {}
        text = got.get("answer", got.get("output"))
        return AgentAnswer(None if text is None else str(text),
                           input_tokens=usage.get("input_tokens", usage.get("prompt_tokens")),
                           output_tokens=usage.get("output_tokens",
                                                   usage.get("completion_tokens")))
    return AgentAnswer(None if got is None else str(got))


class HttpAgentDriver:
    """POSTs the rendered body (variables ``goal``, ``task_id``, ``mcp_urls``,
    ``mcp_urls_json``, ``mcp_url``: the first proxy URL) and reads ``answer_path``."""

    def __init__(self, spec: HttpAgentSpec) -> None:
        self.spec = spec
        try:
            self._path = jsonpath_parse(spec.answer_path)
        except Exception as exc:
            raise ConfigError(f"agent.answer_path: invalid JSONPath {spec.answer_path!r}: "
                              f"{exc}") from exc

    async def run(self, task: AgentTask, mcp_urls: Mapping[str, str],
                  max_steps: int) -> AgentAnswer:
        variables = {"goal": task.goal, "task_id": task.id, "mcp_urls": dict(mcp_urls),
                     "mcp_urls_json": json.dumps(dict(mcp_urls)),
                     "mcp_url": next(iter(mcp_urls.values()), ""), "max_steps": max_steps}
        body = render_tree(self.spec.body, variables)
        try:
            async with httpx.AsyncClient(timeout=self.spec.timeout_s) as client:
                r = await client.post(self.spec.url, json=body)
        except httpx.TimeoutException:
            return AgentAnswer(hung=True, error=f"no answer within {self.spec.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return AgentAnswer(crashed=True, error=_one_line(exc))
        if r.status_code >= 400:
            return AgentAnswer(crashed=r.status_code >= 500,
                               answer=None if r.status_code >= 500 else r.text[:500],
                               error=f"HTTP {r.status_code}")
        try:
            doc = r.json()
        except ValueError:
            return AgentAnswer(crashed=True, error="answer body is not JSON")
        found = [m.value for m in self._path.find(doc)]
        got = AgentAnswer(str(found[0]) if found else None,
                          error=None if found else f"no value at {self.spec.answer_path}")
        usage = doc.get("usage") if isinstance(doc, dict) else None
        if isinstance(usage, dict):
            got.input_tokens, got.output_tokens = (usage.get("input_tokens"),
                                                   usage.get("output_tokens"))
        return got


def _text(result: Any) -> str:
    return "\n".join(c.text for c in getattr(result, "content", [])
                     if isinstance(c, TextContent))


class OpenAIAgentDriver:
    """aichaos drives the tool loop against an OpenAI-compatible chat endpoint."""

    def __init__(self, spec: OpenAIAgentSpec) -> None:
        self.spec = spec

    async def run(self, task: AgentTask, mcp_urls: Mapping[str, str],
                  max_steps: int) -> AgentAnswer:
        got = AgentAnswer(input_tokens=0, output_tokens=0, model_steps=0)
        try:
            with anyio.fail_after(self.spec.timeout_s):
                await self._loop(task, mcp_urls, max_steps, got)
        except TimeoutError:
            got.hung, got.error = True, f"no answer within {self.spec.timeout_s:g} s"
        except Exception as exc:
            got.crashed, got.error = True, _one_line(exc)
        return got

    async def _loop(self, task: AgentTask, mcp_urls: Mapping[str, str], max_steps: int,
                    got: AgentAnswer) -> None:
        async with AsyncExitStack() as stack, httpx.AsyncClient(
                timeout=self.spec.timeout_s) as http:
            where: dict[str, ClientSession] = {}
            tools: list[dict[str, Any]] = []
            for url in mcp_urls.values():
                read, write, _ = await stack.enter_async_context(streamable_http_client(url))
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                for tool in (await session.list_tools()).tools:
                    where[tool.name] = session
                    tools.append({"type": "function", "function": {
                        "name": tool.name, "description": tool.description or "",
                        "parameters": tool.inputSchema}})
            messages: list[dict[str, Any]] = [
                {"role": "system", "content": self.spec.system_prompt},
                {"role": "user", "content": task.goal}]
            calls_made = 0
            while True:
                got.model_steps = (got.model_steps or 0) + 1
                choice: Any = "auto" if self.spec.tool_choice == "first" else \
                    self.spec.tool_choice
                if self.spec.tool_choice == "first" and calls_made == 0 and tools:
                    choice = {"type": "function",
                              "function": {"name": tools[0]["function"]["name"]}}
                content, calls = await self._complete(http, messages, tools, choice, got)
                if not calls:
                    got.answer = content or ""
                    return
                # "" rather than null: llama-cpp-python's server rejects a null content
                messages.append({"role": "assistant", "content": content or "",
                                 "tool_calls": [c.to_message() for c in calls]})
                for call in calls:
                    if calls_made >= max_steps:
                        got.answer = None
                        got.error = f"step budget of {max_steps} tool calls spent"
                        return
                    calls_made += 1
                    messages.append({"role": "tool", "tool_call_id": call.id,
                                     "content": await self._call(where, call)})

    async def _call(self, where: Mapping[str, ClientSession], call: ToolCall) -> str:
        session = where.get(call.name)
        if session is None:
            return f"error: no tool named {call.name!r}"
        try:
            args = call.parsed()
        except ValueError as exc:
            return f"error: invalid arguments: {exc}"
        try:
            result = await session.call_tool(call.name, args)
        except McpError as exc:
            return f"error: {exc}"
        text = _text(result)
        return f"error: {text}" if result.isError else text

    async def _complete(self, http: httpx.AsyncClient, messages: list[dict[str, Any]],
                        tools: list[dict[str, Any]], choice: Any,
                        got: AgentAnswer) -> tuple[str, list[ToolCall]]:
        body: dict[str, Any] = {"model": self.spec.model, "messages": messages,
                                "max_tokens": self.spec.max_tokens,
                                "temperature": self.spec.temperature}
        if tools:
            body |= {"tools": tools, "tool_choice": choice}
        headers = {}
        if self.spec.api_key is not None:
            headers["Authorization"] = f"Bearer {self.spec.api_key.get_secret_value()}"
        url = self.spec.base_url.rstrip("/") + "/chat/completions"
        if not self.spec.stream:
            r = await http.post(url, json=body, headers=headers)
            r.raise_for_status()
            doc = r.json()
            _usage(doc, got)
            msg = doc["choices"][0]["message"]
            calls = [ToolCall(i, c.get("id", f"call_{i}"), c["function"]["name"],
                              c["function"].get("arguments") or "")
                     for i, c in enumerate(msg.get("tool_calls") or [])]
            return msg.get("content") or "", calls
        body |= {"stream": True, "stream_options": {"include_usage": True}}
        deltas, text = [], []
        async with http.stream("POST", url, json=body, headers=headers) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                    continue
                doc = json.loads(line[5:])
                _usage(doc, got)
                for ch in doc.get("choices") or []:
                    delta = ch.get("delta") or {}
                    deltas.append(delta)
                    text.append(delta.get("content") or "")
        return "".join(text), merge_tool_call_deltas(deltas)


def _usage(doc: Mapping[str, Any], got: AgentAnswer) -> None:
    usage = doc.get("usage") or {}
    got.input_tokens = (got.input_tokens or 0) + int(usage.get("prompt_tokens") or 0)
    got.output_tokens = (got.output_tokens or 0) + int(usage.get("completion_tokens") or 0)


def build_driver(spec: OpenAIAgentSpec | HttpAgentSpec | PythonAgentSpec) -> AgentDriver:
    """The driver for ``spec``.

    Raises:
        ConfigError: a Python agent that cannot be imported, a bad JSONPath.
    """
    if isinstance(spec, OpenAIAgentSpec):
        return OpenAIAgentDriver(spec)
    if isinstance(spec, HttpAgentSpec):
        return HttpAgentDriver(spec)
    return PythonAgentDriver(spec)


async def timed(driver: AgentDriver, task: AgentTask, mcp_urls: Mapping[str, str],
                max_steps: int) -> tuple[AgentAnswer, float]:
    """Run ``driver`` and time it (seconds); a moment is left for the proxies to log."""
    t0 = time.perf_counter()
    got = await driver.run(task, mcp_urls, max_steps)
    elapsed = time.perf_counter() - t0
    await asyncio.sleep(0.02)
    return got, elapsed
