"""Adapters to the system under test: ``async send(request) -> response`` plus ``aclose()``."""

from aichaos.config._targets import target_type, targets
from aichaos.targets._base import (
    ERROR_CLASSES,
    NO_CACHE,
    DeadlineTarget,
    NoCacheTarget,
    Target,
    TargetRequest,
    TargetResponse,
    request_headers,
)
from aichaos.targets._factory import build_target
from aichaos.targets._http import HttpTarget, render_body
from aichaos.targets._mock import MockTarget
from aichaos.targets._openai import OpenAITarget
from aichaos.targets._probe import EndpointProbe, probe_http, probe_openai
from aichaos.targets._python import PythonTarget, import_function
from aichaos.targets._request import RequestExtras, render_tree, template_variables

__all__ = [
    "ERROR_CLASSES",
    "NO_CACHE",
    "DeadlineTarget",
    "EndpointProbe",
    "HttpTarget",
    "MockTarget",
    "NoCacheTarget",
    "OpenAITarget",
    "PythonTarget",
    "RequestExtras",
    "Target",
    "TargetRequest",
    "TargetResponse",
    "build_target",
    "import_function",
    "probe_http",
    "probe_openai",
    "render_body",
    "render_tree",
    "request_headers",
    "target_type",
    "targets",
    "template_variables",
]
