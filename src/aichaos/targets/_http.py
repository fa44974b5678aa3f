"""Target adapter for a generic JSON endpoint: a body template in, a JSONPath to the answer out."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jinja2
from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext.parser import parse as jsonpath_parse

from aichaos.config import HttpTargetConfig
from aichaos.config._targets import target_type
from aichaos.errors import ConfigError, TargetUnreachable
from aichaos.targets._base import Target, TargetRequest, TargetResponse, request_headers
from aichaos.targets._errors import (
    classify_exception,
    classify_http_status,
    retry_after_seconds,
)
from aichaos.targets._request import RequestExtras, split_static, template_variables

_ENV = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)


def render_body(template: Any, variables: dict[str, Any]) -> Any:
    """Render every string leaf of a JSON template with Jinja2.

    A leaf that is exactly ``{{ name }}`` is replaced by the variable's value unchanged (so the
    input keeps its type and every character, including control characters); other strings are
    rendered as text.
    """
    if isinstance(template, dict):
        return {k: render_body(v, variables) for k, v in template.items()}
    if isinstance(template, list):
        return [render_body(v, variables) for v in template]
    if isinstance(template, str):
        bare = template.strip()
        if bare.startswith("{{") and bare.endswith("}}"):
            name = bare[2:-2].strip()
            if name in variables:
                return variables[name]
        return _ENV.from_string(template).render(**variables)
    return template


@target_type
class HttpTarget(Target):
    """POSTs a JSON body rendered from the experiment's template; reads the answer by JSONPath."""

    kind = "http"
    summary = "a generic JSON endpoint: a request template and a JSONPath to the answer"
    config_model = HttpTargetConfig

    def __init__(self, config: HttpTargetConfig, *, client: httpx.AsyncClient | None = None):
        self.config = config
        try:
            self._answer = jsonpath_parse(config.answer_path)
        except (JsonPathParserError, Exception) as exc:
            raise ConfigError(
                f"target.answer_path: expected a JSONPath like $.output, got {config.answer_path!r}"
            ) from exc
        headers, templated_headers = split_static(config.headers)
        params, templated_params = split_static(config.params)
        if config.api_key is not None and config.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        self._extras = RequestExtras(templated_headers, templated_params, config.extra_body)
        self._client = client or httpx.AsyncClient(
            headers=headers, params=params,
            timeout=httpx.Timeout(config.timeout_s, connect=5.0)
        )

    def describe(self) -> dict[str, Any]:
        return {"type": self.kind, "url": self.config.url, "method": self.config.method,
                "answer_path": self.config.answer_path}

    async def check(self) -> None:
        try:
            await self._client.request("HEAD", self.config.url, timeout=5.0)
        except httpx.ConnectError as exc:
            raise TargetUnreachable(
                f"target {self.config.url}: connection refused or host unknown"
            ) from exc
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"target {self.config.url}: {type(exc).__name__}") from exc

    async def send(self, request: TargetRequest) -> TargetResponse:
        start = time.perf_counter()
        resp = TargetResponse()
        variables = template_variables(request)
        try:
            body = render_body(self.config.body, variables)
            headers, params, extra = self._extras.render(request, request_headers(request))
            if extra and isinstance(body, dict):
                body = {**body, **extra}
            r = await self._client.request(self.config.method, self.config.url, json=body,
                                           headers=headers, params=params)
            resp.status = r.status_code
            resp.retry_after_s = retry_after_seconds(r.headers.get("retry-after"))
            self._read(r, resp)
        except Exception as exc:  # failures of the system under test are observations
            resp.error_class, resp.error = classify_exception(exc)
        resp.e2e_s = time.perf_counter() - start
        resp.ttft_s = resp.e2e_s if resp.ok else None
        return resp

    def _read(self, r: httpx.Response, resp: TargetResponse) -> None:
        try:
            data = r.json()
        except ValueError:
            resp.error_class = classify_http_status(r.status_code) or "invalid_response"
            resp.error = f"HTTP {r.status_code}, body is not JSON: {r.text[:80]!r}"
            return
        resp.raw = data
        if (cls := classify_http_status(r.status_code)) is not None:
            resp.error_class, resp.error = cls, f"HTTP {r.status_code}: {str(data)[:120]}"
            return
        matches = self._answer.find(data)
        if not matches:
            resp.error_class = "invalid_response"
            resp.error = f"no value at {self.config.answer_path} in the response"
            return
        value = matches[0].value
        resp.output = value if isinstance(value, str) else str(value)

    async def aclose(self) -> None:
        await self._client.aclose()
