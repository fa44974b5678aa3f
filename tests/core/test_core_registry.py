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
    assert str(info.value) == "gadget 'widget' is registered twice"
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
