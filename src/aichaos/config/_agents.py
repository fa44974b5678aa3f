"""Layer 3 agent tasks: an agent, its MCP servers, the tasks and the MCP toxics
(``layers.integration.agents``; run by :mod:`aichaos.agents`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from aichaos.config._base import ScorerSpec, Strict, _http_url
from aichaos.config._values import EnvSecret, EnvStr


class McpServerSpec(Strict):
    """One MCP server the agent uses; an MCP chaos proxy sits in front of it for the run.

    Exactly one of ``url`` (streamable HTTP endpoint) and ``command`` (a stdio server,
    spawned per session and served to the agent as streamable HTTP).

    Attributes:
        url: the server's MCP endpoint, e.g. ``http://127.0.0.1:8000/mcp``.
        command: the stdio server command and its arguments.
        listen: ``host:port`` the proxy listens on (port 0 picks one; the agent is given
            the proxy's URL).
        side_effecting: tools that change the world (judged for duplicate side effects).
    """

    url: EnvStr | None = None
    command: list[str] | None = Field(None, min_length=1)
    listen: str = "127.0.0.1:0"
    side_effecting: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.url is None) == (self.command is None):
            raise ValueError("an MCP server needs exactly one of url (streamable HTTP) and "
                             "command (stdio)")
        return self


class ToolEffect(Strict):
    """A required tool effect: calls of ``tool`` whose arguments contain ``arguments``
    reached the server between ``min`` and ``max`` times during the task."""

    tool: str = Field(min_length=1)
    server: str | None = Field(None, description="MCP server name; any when None")
    arguments: dict[str, Any] = Field(default_factory=dict,
                                      description="subset the call's arguments must contain")
    min: int = Field(1, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> ToolEffect:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class SuccessCheck(Strict):
    """How a task's success is recognised: a final-answer scorer, required tool effects,
    or both (all must hold)."""

    answer: ScorerSpec | None = Field(None, description="scorer on the final answer")
    expected: str | list[str] | None = Field(None, description="what the answer scorer "
                                             "compares with")
    tool_effects: list[ToolEffect] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> SuccessCheck:
        if self.answer is None and self.expected is None and not self.tool_effects:
            raise ValueError("a success check needs answer/expected or tool_effects")
        return self


class AgentTask(Strict):
    """One multi-step task: a goal given to the agent and how its success is checked."""

    id: str = Field(min_length=1)
    goal: str = Field(min_length=1)
    success: SuccessCheck | None = None
    max_steps: int | None = Field(None, ge=1, description="step budget (overrides the "
                                  "section's)")

    @model_validator(mode="after")
    def _has_check(self) -> AgentTask:
        if self.success is None:
            raise ValueError(f"task {self.id!r} has no success check (success: answer/"
                             "expected or tool_effects)")
        return self


class OpenAIAgentSpec(Strict):
    """An OpenAI-compatible chat endpoint; aichaos drives the tool loop (tools from the MCP
    servers, called through the MCP chaos proxies)."""

    type: Literal["openai"]
    base_url: EnvStr
    model: EnvStr = "default"
    api_key: EnvSecret | None = None
    system_prompt: str = ("You are an agent. Use the tools to complete the task, then give a "
                          "short final answer.")
    max_tokens: int = Field(128, ge=1)
    temperature: float = Field(0.0, ge=0, le=2)
    tool_choice: Literal["auto", "required", "first"] = Field(
        "auto", description="'first' forces a call of the first tool on the first step "
        "(for small models that do not choose tools)")
    stream: bool = False
    timeout_s: float = Field(60.0, gt=0)

    _check_url = field_validator("base_url")(staticmethod(_http_url))


class HttpAgentSpec(Strict):
    """An HTTP agent endpoint running its own loop; body string leaves are Jinja2 templates
    with ``goal``, ``task_id`` and ``mcp_urls`` (name -> proxy URL)."""

    type: Literal["http"]
    url: EnvStr
    body: dict[str, Any] = Field(default_factory=lambda: {"goal": "{{ goal }}",
                                                          "mcp_urls": "{{ mcp_urls_json }}"})
    answer_path: str = "$.answer"
    timeout_s: float = Field(60.0, gt=0)

    _check_url = field_validator("url")(staticmethod(_http_url))


class PythonAgentSpec(Strict):
    """A Python callable ``module:function(goal, mcp_urls)`` (sync or async) returning the
    final answer (a string, or a mapping with ``answer`` and optional ``usage``)."""

    type: Literal["python"]
    function: str = Field(pattern=r"^[\w.]+:[\w.]+$")
    path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="extra keyword arguments for the function")
    timeout_s: float = Field(60.0, gt=0)


AgentSpec = Annotated[OpenAIAgentSpec | HttpAgentSpec | PythonAgentSpec,
                      Field(discriminator="type")]


class McpToxicSpec(Strict):
    """An MCP toxic (``aichaos mcp toxics``) on one MCP server, Toxiproxy-shaped."""

    server: str
    type: str
    name: str | None = None
    toxicity: float = Field(1.0, ge=0, le=1)
    attributes: dict[str, Any] = Field(default_factory=dict)

    def proxy_spec(self, name: str) -> dict[str, Any]:
        return {"name": name, "type": self.type, "toxicity": self.toxicity,
                "attributes": dict(self.attributes)}


class AgentTasks(Strict):
    """Agent tasks under MCP toxics vs a control group (layer 3, integration reliability).

    Attributes:
        agent: the agent under test.
        mcp_servers: name -> server; a proxy sits in front of each.
        tasks: the tasks; each is run once per condition (control, then each toxic).
        toxics: MCP toxics, one condition each.
        control: run the tasks without toxics first.
        max_steps: step budget per task (tool calls); more is a failed budget check.
        max_tokens: token budget per task (prompt + completion); None = not checked.
        min_success_rate: per-condition task success rate the checks require.
        max_repeats: the loop oracle's bound (same tool, same arguments).
    """

    enabled: bool = True
    agent: AgentSpec
    mcp_servers: dict[str, McpServerSpec] = Field(min_length=1)
    tasks: list[AgentTask] = Field(min_length=1)
    toxics: list[McpToxicSpec] = Field(default_factory=list)
    control: bool = True
    max_steps: int = Field(10, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    min_success_rate: float = Field(0.9, ge=0, le=1)
    max_repeats: int = Field(5, ge=1)

    @model_validator(mode="after")
    def _references(self) -> AgentTasks:
        names = set(self.mcp_servers)
        for i, t in enumerate(self.toxics):
            if t.server not in names:
                raise ValueError(f"toxics[{i}].server: unknown MCP server {t.server!r}; "
                                 f"known: {', '.join(sorted(names))}")
        ids: set[str] = set()
        for task in self.tasks:
            if task.id in ids:
                raise ValueError(f"tasks: duplicate id {task.id!r}")
            ids.add(task.id)
            for effect in task.success.tool_effects if task.success else []:
                if effect.server is not None and effect.server not in names:
                    raise ValueError(f"task {task.id!r}: tool_effects server "
                                     f"{effect.server!r} is not in mcp_servers")
        return self
