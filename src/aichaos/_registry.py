"""Plugin registries: named, self-describing, and remembering how each instance was built.

One registry type serves every plugin kind: perturbations, toxics, MCP toxics, safety probes,
scorers, targets, load profiles and probe suites (and the coming system checks), in the
manner of inspect_ai's ``@scorer`` and garak's probes. A plugin is a class (or factory)
registered under a name with declared metadata: summary, layer, typed parameters, how its
result is judged and how it replays. Every instance built through a registry records
``(name, arguments)`` in its ``spec`` attribute, and :meth:`Registry.from_spec` rebuilds it,
so a stored run can be replayed exactly.

Third-party plugins arrive through the ``aichaos.plugins`` entry-point group: each entry point
names a module that registers its plugins on import. A plugin that fails to import, or that
registers a name already taken, is skipped with one warning line naming its package, entry
point and the name (logger ``aichaos.plugins``); every other plugin keeps working.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from aichaos.errors import PluginError

T = TypeVar("T")

ENTRY_POINT_GROUP = "aichaos.plugins"
BUILTIN = "aichaos"
log = logging.getLogger("aichaos.plugins")

#: packages whose import registers the built-in plugins of each kind
BUILTIN_PACKAGES = ("aichaos.perturb", "aichaos.faults", "aichaos.scoring", "aichaos.targets",
                    "aichaos.probes", "aichaos.load")
#: packages whose built-ins need an optional extra -> the module that extra installs
#: (``pip install "aichaos[mcp]"``): listed when it is installed, left out when it is not
OPTIONAL_PACKAGES = {"aichaos.mcp": "mcp"}
_entry_points_loaded = False
_listed: dict[str, Registry[Any]] = {}
_problems: list[str] = []
# registrations made while one entry point loads, undone when it fails
_journal: list[tuple[Registry[Any], str]] | None = None
_loading_origin: str | None = None


@dataclass(frozen=True)
class Param:
    """One declared parameter of a plugin.

    Attributes:
        name: keyword the factory accepts.
        default: default value, ``inspect.Parameter.empty`` when required.
        type: the annotation as written (``"int"``, ``"float | None"``), or "" when none.
    """

    name: str
    default: Any
    type: str = ""

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


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
        kind: the registry's kind (``"perturbation"``, ``"toxic"``...).
        judged: how a result of this plugin is judged (one sentence).
        replays: how a stored use of it is replayed (one sentence).
        origin: ``"aichaos"`` for built-ins, else the plugin's entry point.
        typed: the parameters with their annotations (see :class:`Param`).
        cls: the plugin's class (the factory itself, or the class a factory function wraps),
            or None for a plain function.
    """

    name: str
    summary: str
    factory: Callable[..., T]
    layer: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    kind: str = ""
    judged: str = ""
    replays: str = ""
    origin: str = BUILTIN
    typed: tuple[Param, ...] = ()
    cls: type | None = None

    def describe(self) -> dict[str, Any]:
        """JSON-ready self-description: ``{kind, name, layer, summary, judged, replays, tags,
        origin, parameters: [{name, type, required, default}]}`` (defaults as ``repr``)."""
        return {
            "kind": self.kind, "name": self.name, "layer": self.layer, "summary": self.summary,
            "judged": self.judged, "replays": self.replays, "tags": list(self.tags),
            "origin": self.origin,
            "parameters": [{"name": p.name, "type": p.type, "required": p.required,
                            "default": None if p.required else repr(p.default)}
                           for p in self.typed],
        }


def _params(factory: Callable[..., Any]) -> tuple[Param, ...]:
    sig = inspect.signature(factory)
    out = []
    for p in sig.parameters.values():
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.name == "self":
            continue
        ann = p.annotation
        text = "" if ann is inspect.Parameter.empty else (
            ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann)))
        out.append(Param(p.name, p.default, text))
    return tuple(out)


def _origin(factory: Callable[..., Any]) -> str:
    module = getattr(factory, "__module__", "") or ""
    if module == "aichaos" or module.startswith("aichaos."):
        return BUILTIN
    return _loading_origin or module


class Registry(Generic[T]):
    """A name -> plugin table for one kind of plugin (``kind`` names it in error messages).

    Args:
        kind: the plugin kind, e.g. ``"perturbation"``.
        builtins: module whose import registers the built-in plugins, imported on first use
            (lets a low layer such as ``config`` own a registry whose plugins live above it).
        replays: default sentence for :attr:`PluginInfo.replays`.
        listed: list the registry in :func:`registries` (the plugin catalogue and the
            contract suite walk those).
    """

    def __init__(self, kind: str, *, builtins: str | None = None, replays: str = "",
                 listed: bool = False) -> None:
        self.kind = kind
        self.builtins = builtins
        self.replays = replays or f"rebuilt from its spec (name, arguments) with {kind} defaults"
        self._plugins: dict[str, PluginInfo[T]] = {}
        self._builtins_loaded = builtins is None
        if listed:
            _listed[kind] = self

    def _load_builtins(self) -> None:
        if not self._builtins_loaded and self.builtins:
            self._builtins_loaded = True
            importlib.import_module(self.builtins)

    def register(
        self,
        name: str,
        *,
        summary: str,
        layer: int | None = None,
        tags: tuple[str, ...] = (),
        judged: str = "",
        replays: str = "",
        cls: type | None = None,
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a class or factory function under ``name``.

        ``judged`` and ``replays`` default to the factory's ``judged`` / ``replays``
        attributes when it has them; ``cls`` (the class a factory function builds) defaults
        to the factory when it is a class.

        Raises:
            PluginError: ``name`` is already taken in this registry (the message names who
                holds it).
        """

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._load_builtins()
            if name in self._plugins:
                holder = self._plugins[name].origin
                raise PluginError(f"{self.kind} {name!r} is registered twice (already by "
                                  f"{holder})")
            typed = _params(factory)
            info = PluginInfo(
                name, summary, factory, layer, {p.name: p.default for p in typed}, tags,
                self.kind, judged or str(getattr(factory, "judged", "") or ""),
                replays or str(getattr(factory, "replays", "") or "") or self.replays,
                _origin(factory), typed,
                cls if cls is not None else factory if isinstance(factory, type) else None)
            self._plugins[name] = info
            if _journal is not None and info.origin != BUILTIN:
                _journal.append((self, name))
            return factory

        return decorate

    def unregister(self, name: str) -> None:
        """Remove ``name`` (used to undo a broken third-party plugin); absent names are fine."""
        self._plugins.pop(name, None)

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

    def from_spec(self, spec: tuple[str, Mapping[str, Any]] | list[Any]) -> T:
        """Rebuild an instance from a recorded ``(name, arguments)`` spec (JSON gives a list).

        Raises:
            PluginError: the spec is malformed, names an unknown plugin or bad arguments.
        """
        if (not isinstance(spec, tuple | list) or len(spec) != 2 or not isinstance(spec[0], str)
                or not isinstance(spec[1], Mapping)):
            raise PluginError(f"{self.kind} spec: expected (name, {{arguments}}), got {spec!r}")
        return self.create(spec[0], **dict(spec[1]))

    def get(self, name: str) -> PluginInfo[T]:
        """Metadata of ``name``.

        Raises:
            PluginError: no plugin of that name (the message lists the known names).
        """
        self._load_builtins()
        load_entry_points()
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise PluginError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def describe(self) -> list[dict[str, Any]]:
        """:meth:`PluginInfo.describe` of every plugin, sorted by name."""
        return [info.describe() for info in self]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load_builtins()
        load_entry_points()
        return sorted(self._plugins)

    def __iter__(self) -> Iterator[PluginInfo[T]]:
        self._load_builtins()
        load_entry_points()
        return iter(sorted(self._plugins.values(), key=lambda p: p.name))

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        load_entry_points()
        return name in self._plugins

    def __len__(self) -> int:
        self._load_builtins()
        load_entry_points()
        return len(self._plugins)


def _import_optional(package: str, requirement: str) -> bool:
    """Import ``package``; False when the module ``requirement`` it needs is not installed
    (any other import error propagates)."""
    try:
        importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != requirement:
            raise
        return False
    return True


def registries() -> dict[str, Registry[Any]]:
    """Every listed registry by kind, built-ins loaded (what the plugin catalogue shows).

    The registries of :data:`OPTIONAL_PACKAGES` are included when their extra is installed
    (the MCP toxics need the ``mcp`` SDK) and left out, without error, when it is not.
    """
    for package in BUILTIN_PACKAGES:
        importlib.import_module(package)
    for package, requirement in OPTIONAL_PACKAGES.items():
        _import_optional(package, requirement)
    for reg in list(_listed.values()):
        reg._load_builtins()
    load_entry_points()
    return dict(sorted(_listed.items()))


def plugin_problems() -> list[str]:
    """The warning line of every third-party plugin skipped so far (empty when none)."""
    return list(_problems)


def _label(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    package = f"package {dist.name!r}, " if dist is not None else ""
    return f"plugin {ep.name!r} ({package}entry point {ENTRY_POINT_GROUP}: {ep.value})"


def load_entry_points() -> None:
    """Import every module named in the ``aichaos.plugins`` entry-point group, once.

    A module that fails to import, or registers a name that is already taken, is skipped:
    what it registered is removed, and one line is logged (``aichaos.plugins``, WARNING) and
    kept in :func:`plugin_problems`, e.g. ``aichaos: plugin 'dup' (package 'dup-plugin',
    entry point aichaos.plugins: dup_plugin) skipped: perturbation 'typo_keyboard' is
    registered twice (already by aichaos)``.
    """
    global _entry_points_loaded, _journal, _loading_origin
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for reg in list(_listed.values()):
        reg._load_builtins()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _journal, _loading_origin = [], f"entry point {ep.name!r}"
        made = _journal
        try:
            ep.load()
        except Exception as exc:  # a broken third-party plugin must not break aichaos
            for reg, name in made:
                reg.unregister(name)
            reason = str(exc) if isinstance(exc, PluginError) else (
                f"failed to import: {type(exc).__name__}: {exc}")
            line = f"aichaos: {_label(ep)} skipped: {reason}"
            _problems.append(line)
            log.warning(line)
        finally:
            _journal, _loading_origin = None, None
