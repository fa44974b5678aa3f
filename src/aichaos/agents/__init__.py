"""Agent targets and task probes: multi-step tasks against an agent whose tools are MCP
servers behind the MCP chaos proxy, judged on the trajectory the proxies record.

Configure ``layers.integration.agents`` in an experiment (layer 3: tasks under MCP toxics vs
a control group); the integration suite loads this package by name and runs
:class:`AgentTaskSuite`. :func:`run_standalone` runs the same without a runner.
"""

from aichaos.agents._drivers import (
    AgentDriver,
    HttpAgentDriver,
    OpenAIAgentDriver,
    PythonAgentDriver,
    build_driver,
)
from aichaos.agents._stream import (
    ToolCall,
    merge_tool_call_deltas,
    parse_sse_deltas,
    streamed_tool_calls,
)
from aichaos.agents._suite import (
    AgentRun,
    AgentTaskSuite,
    check_static,
    preflight,
    run_standalone,
    score,
    toxic_names,
)
from aichaos.agents._suite import merge as merge_layer3
from aichaos.agents._trajectory import (
    REPORTED,
    AgentAnswer,
    TaskRun,
    check_answer,
    check_effects,
    effect_count,
    judge,
    oracle_findings,
)

__all__ = [
    "REPORTED",
    "AgentAnswer",
    "AgentDriver",
    "AgentRun",
    "AgentTaskSuite",
    "HttpAgentDriver",
    "OpenAIAgentDriver",
    "PythonAgentDriver",
    "TaskRun",
    "ToolCall",
    "build_driver",
    "check_answer",
    "check_effects",
    "check_static",
    "effect_count",
    "judge",
    "merge_layer3",
    "merge_tool_call_deltas",
    "oracle_findings",
    "parse_sse_deltas",
    "preflight",
    "run_standalone",
    "score",
    "streamed_tool_calls",
    "toxic_names",
]
