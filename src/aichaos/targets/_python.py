"""Target adapter for a Python callable ``module:function`` (sync or async), called in-process."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio

from aichaos.config import PythonTargetConfig
from aichaos.config._targets import target_type
from aichaos.errors import ConfigError
from aichaos.targets._base import Target, TargetRequest, TargetResponse


def import_function(spec: str, path: str | None = None) -> Callable[..., Any]:
    """Import ``module:function`` (the function part may be dotted, e.g. ``mod:obj.method``).

    Raises:
        ConfigError: the module cannot be imported or has no such callable.
    """
    module_name, _, attr = spec.partition(":")
    if path and path not in sys.path:
        sys.path.insert(0, path)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(f"target.function: cannot import module {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ConfigError(
                f"target.function: {module_name!r} has no attribute {attr!r}"
            ) from exc
    if not callable(obj):
        raise ConfigError(f"target.function: {spec!r} is not callable")
    return obj  # type: ignore[no-any-return]


@target_type
class PythonTarget(Target):
    """Calls ``function(input)``, or ``function(input, context=...)`` when it accepts ``context``.

    The function returns a string, or a dict with an ``output``/``answer`` key. Sync functions
    run in a worker thread so they never block the event loop. An exception raised by the
    function is recorded as error class ``exception``; exceeding ``timeout_s`` as ``timeout``.
    """

    kind = "python"
    summary = "a Python callable module:function (sync or async), called in-process"
    config_model = PythonTargetConfig

    def __init__(self, config: PythonTargetConfig, function: Callable[..., Any] | None = None):
        self.config = config
        self._fn = function or import_function(config.function, config.path)
        try:
            params = inspect.signature(self._fn).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        self._takes_context = "context" in params or any(
            p.kind is p.VAR_KEYWORD for p in params.values()
        )
        self._is_async = inspect.iscoroutinefunction(self._fn)

    def describe(self) -> dict[str, Any]:
        return {"type": self.kind, "function": self.config.function}

    async def _call(self, request: TargetRequest) -> Any:
        kwargs = {"context": request.context} if self._takes_context else {}
        if self._is_async:
            return await self._fn(request.input, **kwargs)
        return await anyio.to_thread.run_sync(lambda: self._fn(request.input, **kwargs))

    async def send(self, request: TargetRequest) -> TargetResponse:
        start = time.perf_counter()
        resp = TargetResponse()
        try:
            result = await asyncio.wait_for(self._call(request), self.config.timeout_s)
            text, resp.raw = _answer_text(result), result
            resp.output = text or ""
            if text is None:
                resp.error_class = "invalid_response"
                resp.error = f"function returned {type(result).__name__}, expected str or dict"
        except TimeoutError:
            resp.error_class, resp.error = "timeout", f"no return within {self.config.timeout_s} s"
        except Exception as exc:  # the target's own crash is an observation
            resp.error_class, resp.error = "exception", f"{type(exc).__name__}: {exc}"[:200]
        resp.e2e_s = time.perf_counter() - start
        resp.ttft_s = resp.e2e_s if resp.ok else None
        return resp


def _answer_text(result: Any) -> str | None:
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        for key in ("output", "answer", "content", "text"):
            if isinstance(result.get(key), str):
                return str(result[key])
    return None
