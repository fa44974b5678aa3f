"""Values that may come from the environment, as in Chaos Toolkit's configuration.

An experiment may write ``api_key: {type: env, key: OPENAI_API_KEY}`` instead of a literal.
Resolution happens once, at load time; secrets are kept as :class:`pydantic.SecretStr` so
they never print in reprs, journals or reports.

Commands that never send anything (``aichaos validate``, ``aichaos proxy start``) load an
experiment with unset secret variables allowed: validation passes with the context key
:data:`UNSET_SECRETS` set to a list, each unset secret becomes an empty value and its
``(field, variable)`` pair is appended to that list so the command can warn about it.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr, ValidationInfo

#: validation-context key: a list that collects ``(field, variable)`` of unset secrets
#: instead of failing (see the module docstring)
UNSET_SECRETS = "unset_secrets"


class EnvValue(BaseModel):
    """``{type: env, key: NAME, default: ...}``: read NAME from the environment."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["env"]
    key: str
    default: str | None = None

    def resolve(self) -> str:
        """Return the variable's value.

        Raises:
            ValueError: the variable is unset and no default was given.
        """
        value = os.environ.get(self.key, self.default)
        if value is None:
            raise ValueError(f"environment variable {self.key} is not set and has no default")
        return value


def _resolve_env(value: Any) -> Any:
    if isinstance(value, dict) and value.get("type") == "env":
        return EnvValue.model_validate(value).resolve()
    return value


#: a string that may be given literally or as ``{type: env, key: ...}``
EnvStr = Annotated[str, BeforeValidator(_resolve_env)]
def _resolve_secret(value: Any, info: ValidationInfo) -> Any:
    unset = (info.context or {}).get(UNSET_SECRETS)
    if unset is None or not (isinstance(value, dict) and value.get("type") == "env"):
        return _resolve_env(value)
    spec = EnvValue.model_validate(value)
    try:
        return spec.resolve()
    except ValueError:
        unset.append((info.field_name or "secret", spec.key))
        return ""


#: a secret that may be given literally or as ``{type: env, key: ...}``; never printed
EnvSecret = Annotated[SecretStr, BeforeValidator(_resolve_secret)]
