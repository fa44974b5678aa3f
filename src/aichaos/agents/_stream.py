"""Streamed tool calls: merging ``choices[0].delta.tool_calls`` fragments into whole calls.

OpenAI's streaming format sends each tool call as fragments tagged with its ``index``
(the call's position in the message); parallel calls interleave, so fragments must be merged
by ``index``, never by arrival order (scenario S22; source: litellm #21331, where merging
without the index turned two parallel calls' arguments into invalid JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aichaos.mcp import Finding, McpRecord


@dataclass(slots=True)
class ToolCall:
    """One merged tool call.

    Attributes:
        index: the call's position in the message.
        id: the call id (``call_...``).
        name: the function name.
        arguments: the concatenated arguments text (JSON when the model is right).
    """

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""

    def parsed(self) -> dict[str, Any]:
        """The arguments as a JSON object.

        Raises:
            ValueError: the arguments are not a JSON object.
        """
        doc = json.loads(self.arguments or "{}")
        if not isinstance(doc, dict):
            raise ValueError(f"tool call {self.name}: arguments are not a JSON object")
        return doc

    def to_message(self) -> dict[str, Any]:
        """The ``tool_calls`` entry of an assistant message."""
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": self.arguments}}


def merge_tool_call_deltas(deltas: Iterable[Mapping[str, Any]]) -> list[ToolCall]:
    """Merge streamed ``delta.tool_calls`` fragments by ``index``.

    Args:
        deltas: each chunk's ``choices[0].delta`` mapping, in arrival order.

    Returns:
        the calls ordered by index; ``id`` and ``name`` from the first fragment carrying
        them, ``arguments`` concatenated in arrival order per index.
    """
    calls: dict[int, ToolCall] = {}
    for delta in deltas:
        for frag in delta.get("tool_calls") or []:
            index = int(frag.get("index", 0))
            call = calls.setdefault(index, ToolCall(index))
            fn = frag.get("function") or {}
            if frag.get("id") and not call.id:
                call.id = str(frag["id"])
            if fn.get("name") and not call.name:
                call.name = str(fn["name"])
            call.arguments += str(fn.get("arguments") or "")
    return [calls[i] for i in sorted(calls)]


def parse_sse_deltas(body: str) -> list[dict[str, Any]]:
    """The ``choices[0].delta`` mappings of an OpenAI streaming body (``data:`` lines)."""
    out = []
    for line in body.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            doc = json.loads(line[5:])
            for choice in doc.get("choices") or []:
                out.append(choice.get("delta") or {})
    return out


def streamed_tool_calls(streamed: Iterable[ToolCall], records: Iterable[McpRecord], *,
                        crashed: bool = False) -> list[Finding]:
    """Parallel tool calls merged from a stream (scenario S22): every call the model
    streamed (merged by ``index``) must reach its MCP server with the same arguments.

    Args:
        streamed: the calls as the model sent them (:func:`merge_tool_call_deltas` of the
            stream the agent received).
        records: the MCP proxies' records of the run.
        crashed: the agent raised.

    Returns:
        one flagged finding per streamed call that never reached a server intact, or one
        passing finding.
    """
    calls = [r for r in records if r.direction == "client" and r.method == "tools/call"]
    out = []
    for call in streamed:
        try:
            want = call.parsed()
        except ValueError:
            continue  # the model itself sent bad JSON: not a merging defect
        if not any(r.tool == call.name and (r.arguments or {}) == want for r in calls):
            sent = [json.dumps(r.arguments, sort_keys=True) for r in calls
                    if r.tool == call.name]
            out.append(Finding(
                "streamed_tool_calls", True,
                f"tool call corrupted under parallel streaming: {call.name}"
                f"({json.dumps(want, sort_keys=True)}) streamed as index {call.index} never "
                f"reached the server (sent: {', '.join(sent) or 'nothing'})"
                + ("; the agent crashed" if crashed else ""),
                tuple(r.id for r in calls)))
    return out or [Finding("streamed_tool_calls", False,
                           "every streamed tool call reached its server intact")]
