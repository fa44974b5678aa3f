"""aichaos._registry.Registry: named plugins that remember how they were built."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest

from aichaos._registry import PluginInfo, Registry
from aichaos.errors import ConfigError, PluginError


class Widget:
    def __init__(self, size: int = 1, *, colour: str = "red") -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self.size, self.colour = size, colour


class Needs:
    def __init__(self, required: str) -> None:
        self.required = required


class Slotted:
    __slots__ = ("x",)

    def __init__(self) -> None:
        self.x = 1


@dataclass(frozen=True)
class Frozen:
    x: int = 0


@pytest.fixture
def reg() -> Registry[object]:
    r: Registry[object] = Registry("gadget")
    r.register("widget", summary="a widget", layer=2, tags=("shiny",))(Widget)
    r.register("needs", summary="needs an argument")(Needs)
    return r


def test_register_records_metadata(reg: Registry[object]) -> None:
    info = reg.get("widget")
    assert isinstance(info, PluginInfo)
    assert (info.name, info.summary, info.layer, info.tags) == ("widget", "a widget", 2, ("shiny",))
    assert info.factory is Widget
    assert info.params == {"size": 1, "colour": "red"}
    assert reg.get("needs").params == {"required": inspect.Parameter.empty}


def test_register_returns_factory_unchanged() -> None:
    r: Registry[object] = Registry("gadget")

    @r.register("fn", summary="a function factory")
    def make(n: int = 2) -> list[int]:
        return [n]

    assert make(3) == [3]
    assert r.names() == ["fn"]


def test_create_records_spec(reg: Registry[object]) -> None:
    w = reg.create("widget", size=3, colour="blue")
    assert isinstance(w, Widget) and (w.size, w.colour) == (3, "blue")
    assert w.spec == ("widget", {"size": 3, "colour": "blue"})  # type: ignore[attr-defined]
    plain = reg.create("widget")
    assert plain.spec == ("widget", {})  # type: ignore[attr-defined]


def test_spec_is_a_copy(reg: Registry[object]) -> None:
    args = {"size": 4}
    w = reg.create("widget", **args)
    args["size"] = 99
    assert w.spec == ("widget", {"size": 4})  # type: ignore[attr-defined]


def test_slotted_and_frozen_instances_still_built() -> None:
    r: Registry[object] = Registry("gadget")
    r.register("slotted", summary="s")(Slotted)
    r.register("frozen", summary="f")(Frozen)
    assert isinstance(r.create("slotted"), Slotted)
    assert r.create("frozen", x=5) == Frozen(5)


def test_duplicate_name(reg: Registry[object]) -> None:
    with pytest.raises(PluginError) as info:
        reg.register("widget", summary="again")(Needs)
    assert str(info.value) == "gadget 'widget' is registered twice (already by test_core_registry)"
    assert reg.get("widget").factory is Widget  # the first registration stays


def test_unknown_name_lists_known(reg: Registry[object]) -> None:
    with pytest.raises(PluginError) as info:
        reg.create("wigdet")
    assert str(info.value) == "unknown gadget 'wigdet'; known: needs, widget"
    assert isinstance(info.value, ConfigError)


def test_unknown_name_in_empty_registry() -> None:
    with pytest.raises(PluginError, match=r"^unknown thing 'x'; known: none$"):
        Registry("thing").get("x")


def test_unknown_argument_names_accepted(reg: Registry[object]) -> None:
    with pytest.raises(PluginError) as info:
        reg.create("widget", size=1, shape="round", alpha=0.5)
    assert str(info.value) == (
        "gadget 'widget': unknown argument(s) alpha, shape; accepted: colour, size"
    )


def test_unknown_argument_when_none_accepted() -> None:
    r: Registry[object] = Registry("gadget")
    r.register("slotted", summary="s")(Slotted)
    with pytest.raises(PluginError, match=r"unknown argument\(s\) x; accepted: none$"):
        r.create("slotted", x=1)


def test_factory_errors_become_plugin_errors(reg: Registry[object]) -> None:
    with pytest.raises(PluginError, match=r"^gadget 'widget': size must be >= 0, got -1$"):
        reg.create("widget", size=-1)
    with pytest.raises(PluginError, match=r"^gadget 'needs': .*required"):
        reg.create("needs")


def test_container_protocol(reg: Registry[object]) -> None:
    assert "widget" in reg and "nope" not in reg
    assert len(reg) == 2
    assert reg.names() == ["needs", "widget"]
    assert [p.name for p in reg] == ["needs", "widget"]


def test_describe_gives_typed_parameters_and_how_it_is_judged_and_replayed() -> None:
    r: Registry[object] = Registry("gadget", replays="rebuilt by hand")

    class Judged:
        judged = "by its colour"

        def __init__(self, size: int = 1, *, colour: str = "red") -> None:
            self.size = size

    r.register("judged", summary="a judged gadget", layer=3)(Judged)
    d = r.get("judged").describe()
    assert d == {
        "kind": "gadget", "name": "judged", "layer": 3, "summary": "a judged gadget",
        "judged": "by its colour", "replays": "rebuilt by hand", "tags": [],
        "origin": "test_core_registry",
        "parameters": [{"name": "size", "type": "int", "required": False, "default": "1"},
                       {"name": "colour", "type": "str", "required": False,
                        "default": "'red'"}]}
    assert r.get("judged").cls is Judged


def test_from_spec_rebuilds_what_create_recorded(reg: Registry[object]) -> None:
    w = reg.create("widget", size=2)
    again = reg.from_spec(w.spec)  # type: ignore[attr-defined]
    assert isinstance(again, Widget) and again.size == 2
    assert reg.from_spec(["widget", {"colour": "blue"}]).colour == "blue"  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match=r"^gadget spec: expected \(name, \{arguments\}\), got 'widget'$"):
        reg.from_spec("widget")  # type: ignore[arg-type]


class _EntryPoint:
    def __init__(self, name: str, value: str, load: object) -> None:
        self.name, self.value, self._load = name, value, load
        self.dist = type("Dist", (), {"name": f"{name}-pkg"})()

    def load(self) -> object:
        return self._load()  # type: ignore[operator]


def test_a_broken_entry_point_is_skipped_and_what_it_registered_undone(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import aichaos._registry as registry_module

    target: Registry[object] = Registry("gizmo", listed=True)
    try:
        def half_then_fail() -> None:
            target.register("half", summary="registered before the failure")(Widget)
            raise RuntimeError("boom")

        def duplicate() -> None:
            target.register("good", summary="fine")(Needs)
            target.register("good", summary="again")(Needs)

        points = [_EntryPoint("half", "half_mod", half_then_fail),
                  _EntryPoint("dup", "dup_mod", duplicate)]
        monkeypatch.setattr(registry_module, "entry_points", lambda group: points)
        monkeypatch.setattr(registry_module, "_entry_points_loaded", False)
        monkeypatch.setattr(registry_module, "_problems", [])
        with caplog.at_level("WARNING", logger="aichaos.plugins"):
            assert target.names() == []  # both undone, nothing half-registered
        assert [r.getMessage() for r in caplog.records] == registry_module.plugin_problems() == [
            "aichaos: plugin 'half' (package 'half-pkg', entry point aichaos.plugins: "
            "half_mod) skipped: failed to import: RuntimeError: boom",
            "aichaos: plugin 'dup' (package 'dup-pkg', entry point aichaos.plugins: dup_mod) "
            "skipped: gizmo 'good' is registered twice (already by entry point 'dup')",
        ]
    finally:
        registry_module._listed.pop("gizmo", None)
