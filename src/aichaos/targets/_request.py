"""Per-case request extras of the HTTP-based targets: headers, query parameters, body fields.

Real APIs want more than a prompt: a gateway's cache controls or tenant header, the OpenAI
``user`` field, an API version in the query string. The ``openai`` and ``http`` targets take
``headers``, ``params`` and ``extra_body`` from the experiment file and render their string
leaves with Jinja2 for every request, with the variables of
:data:`aichaos.config._request_templates.TEMPLATE_VARIABLES`::

    target:
      type: openai
      headers: {X-Request-Id: "aichaos-{{ case.id }}-{{ variant }}"}
      params: {api-version: "2024-06-01"}
      extra_body: {user: "{{ case_id }}", cache: {no-cache: true}}

A leaf that is exactly ``{{ name }}`` keeps the variable's value unchanged (as the http
target's ``body``); other strings are rendered as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

from aichaos.targets._base import TargetRequest

_ENV = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)


def template_variables(request: TargetRequest) -> dict[str, Any]:
    """The variables a request template sees for ``request``.

    Returns:
        ``{input, context, case_id, variant, case}`` where ``case`` is a mapping with ``id``,
        ``input``, ``context`` and ``variant`` (so ``{{ case.id }}`` works).
    """
    variant = str(request.metadata.get("variant", "clean"))
    context = request.context or ""
    return {"input": request.input, "context": context, "case_id": request.case_id,
            "variant": variant,
            "case": {"id": request.case_id, "input": request.input, "context": context,
                     "variant": variant}}


def is_template(value: Any) -> bool:
    """True when ``value`` is a string holding Jinja2 markup (``{{`` or ``{%``)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def split_static(values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(static, templated)`` entries of a header or query-parameter mapping.

    Static entries go on the HTTP client (so health checks such as ``GET /models`` carry
    them too); templated ones are rendered per request.
    """
    static = {k: v for k, v in values.items() if not is_template(v)}
    return static, {k: v for k, v in values.items() if k not in static}


def render_tree(template: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string leaf of a JSON-like ``template`` with Jinja2.

    A leaf that is exactly ``{{ name }}`` (a top-level variable) is replaced by the value
    unchanged; other strings are rendered as text. Non-string leaves are returned as they are.

    Raises:
        jinja2.TemplateError: a leaf fails to render (e.g. an undefined variable).
    """
    if isinstance(template, dict):
        return {k: render_tree(v, variables) for k, v in template.items()}
    if isinstance(template, list):
        return [render_tree(v, variables) for v in template]
    if isinstance(template, str):
        if not is_template(template):
            return template
        bare = template.strip()
        if bare.startswith("{{") and bare.endswith("}}"):
            name = bare[2:-2].strip()
            if name in variables:
                return variables[name]
        return _ENV.from_string(template).render(**variables)
    return template


class RequestExtras:
    """Renders a target's ``headers``, ``params`` and ``extra_body`` for one request.

    Args:
        headers: header name -> template (values rendered as text).
        params: query parameter -> template (values rendered as text).
        extra_body: JSON fields merged into the request body (leaves rendered).
    """

    def __init__(self, headers: Mapping[str, str] | None = None,
                 params: Mapping[str, str] | None = None,
                 extra_body: Mapping[str, Any] | None = None) -> None:
        self.headers = dict(headers or {})
        self.params = dict(params or {})
        self.extra_body = dict(extra_body or {})

    def render(self, request: TargetRequest, probe_headers: Mapping[str, str] | None = None
               ) -> tuple[dict[str, str] | None, dict[str, str] | None, dict[str, Any]]:
        """``(headers, params, body fields)`` for ``request``.

        Probe headers (``request.metadata["headers"]``, e.g. ``Cache-Control: no-cache``)
        are applied after the configured ones and win on a clash. Empty results are None
        so the client's defaults stay untouched.

        Raises:
            jinja2.TemplateError: a template fails to render.
        """
        variables = template_variables(request)
        headers = {k: str(render_tree(v, variables)) for k, v in self.headers.items()}
        headers.update(probe_headers or {})
        params = {k: str(render_tree(v, variables)) for k, v in self.params.items()}
        body = render_tree(self.extra_body, variables) if self.extra_body else {}
        return headers or None, params or None, body
