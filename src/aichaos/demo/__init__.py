"""The embedded default: a real local LLM and the reference support app."""

from aichaos.demo._llm import (
    MODEL_ALIAS,
    ModelServer,
    ModelServerError,
    free_port,
    model_path,
    model_server,
    start_model_server,
)

__all__ = [
    "MODEL_ALIAS",
    "ModelServer",
    "ModelServerError",
    "free_port",
    "model_path",
    "model_server",
    "start_model_server",
]
