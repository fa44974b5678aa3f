"""The target registry and how an experiment's ``target:`` is validated through it.

A target type is one class (in ``aichaos.targets`` or a plugin) registered with
:func:`target_type`: it declares ``type`` (the name written in ``target: {type: ...}``),
``summary`` and ``config_model``, the pydantic model of its settings. The experiment file keeps its
syntax: ``target: {type: NAME, ...settings}`` is validated against the registered model, so
an error still names the field (``target.base_url: required field is missing``).

The registry lives here, below ``aichaos.targets``, so the configuration can look target types
up without importing the adapters: the built-ins register when ``aichaos.targets`` is
imported, which the registry does on first use.
"""

from __future__ import annotations

from inspect import Parameter, Signature
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from aichaos._registry import Registry

targets: Registry[Any] = Registry(
    "target", builtins="aichaos.targets", listed=True,
    replays="rebuilt from its spec: the target's settings as written in the experiment file "
            "(secrets masked)")
"""Every registered target type (``openai``, ``http``, ``python``, ``mock`` and plugins)."""

C = TypeVar("C", bound=type)


def _config_model(cls: type) -> type[BaseModel]:
    model = getattr(cls, "config_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"target class {cls.__name__} needs `config_model`, a pydantic model")
    return model


def target_type(cls: C) -> C:
    """Class decorator registering a target class under its ``type``.

    The class declares ``type`` (or ``kind``), ``summary`` and ``config_model`` (a pydantic
    model with a ``type: Literal[NAME]`` field) and takes the validated config as its first
    argument. The registered factory takes the settings as keyword arguments (what
    ``target:`` holds, without ``type``), so ``targets.create(NAME, **settings)`` and replays
    from a spec work.

    Raises:
        PluginError: the type name is already registered.
        TypeError: the class lacks ``type`` or ``config_model``.
    """
    name = getattr(cls, "type", "") or getattr(cls, "kind", "")
    if not name:
        raise TypeError(f"target class {cls.__name__} needs `type`, its registered name")
    model = _config_model(cls)

    def factory(**settings: Any) -> Any:
        try:
            config = model.model_validate({"type": name, **settings})
        except ValidationError as exc:
            from aichaos.config._messages import format_validation_error

            raise ValueError(format_validation_error("target", exc, settings)
                             .removeprefix("target: ")) from exc
        return cls(config)

    params = [Parameter(f, Parameter.KEYWORD_ONLY,
                        default=Parameter.empty if info.is_required()
                        else info.get_default(call_default_factory=True),
                        annotation=str(info.annotation).replace("typing.", ""))
              for f, info in model.model_fields.items() if f != "type"]
    factory.__signature__ = Signature(params)  # type: ignore[attr-defined]
    factory.__name__ = cls.__name__
    factory.__module__ = cls.__module__
    factory.__doc__ = getattr(cls, "summary", "") or cls.__doc__
    targets.register(name, summary=getattr(cls, "summary", "") or (cls.__doc__ or name),
                     judged="the system under test: every layer judges its answers",
                     cls=cls)(factory)
    return cls


def config_model(kind: str) -> type[BaseModel]:
    """The settings model of target type ``kind``.

    Raises:
        PluginError: unknown target type.
    """
    cls = targets.get(kind).cls
    assert cls is not None
    return _config_model(cls)


def validate_target(value: Any, context: Any = None) -> Any:
    """Validate ``target:`` against its type's model (a ValueError or ValidationError names
    the field); an already-built settings model of a registered type passes unchanged.
    ``context`` is the experiment's validation context (e.g. whether secrets may be unset),
    handed on to the type's model."""
    if isinstance(value, BaseModel) and getattr(value, "type", None) in targets:
        return value
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping with a 'type', got {type(value).__name__}")
    names = targets.names()
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)
    kind = value.get("type")
    if kind is None:
        _type_error("missing 'type' ({names})", listed, value)
    if not isinstance(kind, str) or kind not in targets:
        _type_error("unknown type; expected one of {names}", ", ".join(map(repr, names)), kind)
    return config_model(kind).model_validate(value, context=context)


def _type_error(template: str, names: str, got: Any) -> NoReturn:
    """Raise a validation error located at ``type`` (so messages read ``target.type: ...``)."""
    error = PydanticCustomError("target_type", template, {"names": names})
    raise ValidationError.from_exception_data(
        "target", [{"type": error, "loc": ("type",), "input": got}])
