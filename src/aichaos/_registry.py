"""Plugin registries: named, self-describing, and remembering how each instance was built.

Perturbations, toxics, probes, scorers and targets register under a name with metadata
(summary, layer, parameters), in the manner of inspect_ai's ``@scorer`` and garak's probes.
Every instance built through a registry records ``(name, arguments)`` in its ``spec``
attribute so a stored run can be replayed exactly. Third-party plugins arrive through the
``aichaos.plugins`` entry-point group: each entry point names a module that registers its
plugins on import.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from aichaos.errors import PluginError

T = TypeVar("T")

ENTRY_POINT_GROUP = "aichaos.plugins"
_entry_points_loaded = False


@dataclass(frozen=True)
class PluginInfo(Generic[T]):
    """Metadata of one registered plugin.

    Attributes:
        name: registered name, unique within its registry.
        summary: one sentence saying what the plugin does.
        factory: class or function that builds an instance from keyword arguments.
        layer: readiness-stack layer the plugin belongs to (1..6), or None.
        params: parameter name -> default (``inspect.Parameter.empty`` when required).
        tags: free labels used for selection (e.g. ``"expects_clarification"``).
    """

    name: str
    summary: str
    factory: Callable[..., T]
    layer: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


class Registry(Generic[T]):
    """A name -> plugin table for one kind of plugin (``kind`` names it in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._plugins: dict[str, PluginInfo[T]] = {}

    def register(
        self,
        name: str,
        *,
        summary: str,
        layer: int | None = None,
        tags: tuple[str, ...] = (),
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a class or factory function under ``name``.

        Raises:
            PluginError: ``name`` is already taken in this registry.
        """

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._plugins:
                raise PluginError(f"{self.kind} {name!r} is registered twice")
            sig = inspect.signature(factory)
            params = {
                p.name: p.default
                for p in sig.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
            }
            self._plugins[name] = PluginInfo(name, summary, factory, layer, params, tags)
            return factory

        return decorate

    def create(self, name: str, **arguments: Any) -> T:
        """Build the plugin ``name`` with ``arguments``; the instance gets ``spec``.

        Raises:
            PluginError: unknown name, or arguments the plugin does not accept.
        """
        info = self.get(name)
        unknown = sorted(set(arguments) - set(info.params))
        if unknown:
            allowed = ", ".join(sorted(info.params)) or "none"
            raise PluginError(
                f"{self.kind} {name!r}: unknown argument(s) {', '.join(unknown)}; "
                f"accepted: {allowed}"
            )
        try:
            instance = info.factory(**arguments)
        except (TypeError, ValueError) as exc:
            raise PluginError(f"{self.kind} {name!r}: {exc}") from exc
        with contextlib.suppress(AttributeError):  # frozen/slotted instances keep their own
            instance.spec = (name, dict(arguments))  # type: ignore[attr-defined]
        return instance

    def get(self, name: str) -> PluginInfo[T]:
        """Metadata of ``name``.

        Raises:
            PluginError: no plugin of that name (the message lists the known names).
        """
        load_entry_points()
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise PluginError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        load_entry_points()
        return sorted(self._plugins)

    def __iter__(self) -> Iterator[PluginInfo[T]]:
        load_entry_points()
        return iter(sorted(self._plugins.values(), key=lambda p: p.name))

    def __contains__(self, name: object) -> bool:
        load_entry_points()
        return name in self._plugins

    def __len__(self) -> int:
        load_entry_points()
        return len(self._plugins)


def load_entry_points() -> None:
    """Import every module named in the ``aichaos.plugins`` entry-point group, once.

    Raises:
        PluginError: a third-party plugin module failed to import.
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # a broken third-party plugin must name itself
            raise PluginError(f"plugin entry point {ep.name!r} ({ep.value}) failed: {exc}") from exc
