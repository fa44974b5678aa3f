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
