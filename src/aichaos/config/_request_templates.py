"""Checks of the per-case request templates of the HTTP-based targets, at load time.

The ``openai`` and ``http`` targets render ``headers``, ``params`` (query parameters),
``extra_body`` (and the http target's ``body``) with Jinja2 for every request. A template
that does not parse, or that names a variable the targets do not provide, is a
configuration error found when the file is loaded, not a failure of every request later.
"""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import meta

#: variables a request template may use: the case's ``input`` (as sent, possibly
#: perturbed), its ``context``, ``case_id``, the ``variant`` that shaped it (``clean``, a
#: perturbation ``name@severity`` or a toxic name), and ``case`` with the same as attributes
#: (``{{ case.id }}``, ``{{ case.input }}``, ``{{ case.context }}``, ``{{ case.variant }}``)
TEMPLATE_VARIABLES = ("input", "context", "case_id", "variant", "case")

_ENV = jinja2.Environment(autoescape=False)


def check_template_tree(value: Any, where: str) -> None:
    """Raise ``ValueError`` naming ``where`` when a string leaf of ``value`` is a bad template.

    Args:
        value: a string, or a JSON-like tree of mappings and lists with string leaves.
        where: the field path for the message, e.g. ``headers.X-User``.

    Raises:
        ValueError: a leaf does not parse as Jinja2 or uses an unknown variable.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            check_template_tree(item, f"{where}.{key}")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_template_tree(item, f"{where}[{i}]")
        return
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return
    try:
        names = meta.find_undeclared_variables(_ENV.parse(value))
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"{where}: invalid template {value!r}: {exc.message}") from exc
    unknown = sorted(names - set(TEMPLATE_VARIABLES))
    if unknown:
        raise ValueError(f"{where}: unknown template variable {unknown[0]!r}; known: "
                         f"{', '.join(TEMPLATE_VARIABLES)}")
