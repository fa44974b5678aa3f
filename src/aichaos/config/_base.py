"""Shared building blocks of the experiment models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A model that forbids unknown keys: a typo is an error, not an ignored setting."""


    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError("expected an http(s) URL such as http://127.0.0.1:8080/v1")
    return value


# ------------------------------------------------------------------------ scorers


class ScorerSpec(Strict):
    """A scorer by registered name with its arguments, e.g. ``{type: semantic, threshold: 0.7}``."""

    model_config = ConfigDict(extra="allow")
    type: str = "contains"
