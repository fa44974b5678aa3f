"""``aichaos proxy``: run chaos proxies and drive a running one's control API.

Mounted by the main CLI as ``aichaos proxy``; usable alone as ``python -m aichaos.cli._proxy``.
Expected errors print one line (``error: ...``) and exit 2 (bad input) or 1 (proxy trouble).
"""

from __future__ import annotations

import asyncio
import gc
import json
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from aichaos.errors import AIChaosError, ConfigError
from aichaos.faults import describe_types
from aichaos.proxy import ChaosProxy, ProxyClient

app = typer.Typer(name="proxy", help="Chaos proxy: HTTP faults in front of dependencies.",
                  no_args_is_help=True)
toxic_app = typer.Typer(help="Add, remove and list toxics on a running proxy.",
                        no_args_is_help=True)
app.add_typer(toxic_app, name="toxic")

R = TypeVar("R")
Control = Annotated[str, typer.Option("--control", envvar="AICHAOS_PROXY_CONTROL",
                                      help="control API base URL")]
DEFAULT_CONTROL = "http://127.0.0.1:8474"


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed (optional dependency, never required), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _run(fn: Callable[[], Coroutine[Any, Any, R]], fast_loop: bool = False) -> R:
    """Run ``fn`` in a fresh loop (uvloop when ``fast_loop`` and installed), turning expected
    errors into one line and an exit code."""
    try:
        with asyncio.Runner(loop_factory=_loop_factory() if fast_loop else None) as runner:
            return runner.run(fn())
    except AIChaosError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from None


def _parse_proxy_flag(flag: str) -> tuple[str, str, str]:
    parts = flag.split("=", 2)
    if len(parts) != 3 or not all(parts):
        raise ConfigError(f"--proxy {flag!r}: expected NAME=LISTEN=UPSTREAM, e.g. "
                          "llm=127.0.0.1:8081=http://127.0.0.1:8777")
    return parts[0], parts[1], parts[2]


def _parse_attr(flag: str) -> tuple[str, Any]:
    key, sep, raw = flag.partition("=")
    if not sep or not key:
        raise ConfigError(f"--attr {flag!r}: expected KEY=VALUE")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


@app.command()
def start(
    proxy: Annotated[list[str] | None, typer.Option(
        "--proxy", "-p", help="NAME=LISTEN=UPSTREAM (repeatable)")] = None,
    experiment: Annotated[Path | None, typer.Option(
        "--experiment", "-e", help="experiment file whose dependencies get a proxy each")] = None,
    control: Annotated[str, typer.Option(help="control API host:port")] = "127.0.0.1:8474",
    seed: Annotated[int, typer.Option(help="seed of the toxics' RNG")] = 42,
    check_upstream: Annotated[bool, typer.Option(help="refuse unreachable upstreams")] = True,
) -> None:
    """Run proxies until Ctrl-C; every toxic is removed on exit."""
    try:
        specs = [_parse_proxy_flag(p) for p in proxy or []]
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if experiment is not None:
        from aichaos.config import load_experiment

        try:  # the proxies need no secret: an unset API key variable only warns
            exp = load_experiment(experiment, require_secrets=False)
        except AIChaosError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        for field_name, variable in exp.unset_secrets:
            typer.echo(f"warning: {field_name}: environment variable {variable} is not set "
                       "(not needed to run the proxies)", err=True)
        specs += [(n, d.listen or "127.0.0.1:0", d.upstream) for n, d in exp.dependencies.items()]
    if not specs:
        typer.echo("error: nothing to proxy; give --proxy or --experiment", err=True)
        raise typer.Exit(2)

    async def serve() -> None:
        chaos = ChaosProxy(seed=seed, control=control, check_upstream=check_upstream)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            for name, listen, upstream in specs:
                await chaos.add_proxy(name, listen, upstream)
            await chaos.start()
            # Everything allocated so far lives as long as the process: keep it out of the
            # cyclic GC's full collections (tens of ms each, a p99 spike for requests in flight).
            gc.freeze()
            typer.echo(f"control API {chaos.control_url}")
            for p in chaos.proxies.values():
                typer.echo(f"proxy {p.name}: 127.0.0.1:{p.port} -> {p.upstream}"
                           if p.host == "127.0.0.1" else
                           f"proxy {p.name}: {p.host}:{p.port} -> {p.upstream}")
            await stop.wait()
        finally:
            await chaos.stop()  # no toxic survives Ctrl-C, SIGTERM or a crash
            typer.echo("stopped; all toxics removed")

    _run(serve, fast_loop=True)


@toxic_app.command("add")
def toxic_add(
    proxy: Annotated[str, typer.Argument(help="proxy (dependency) name")],
    type_: Annotated[str, typer.Argument(metavar="TYPE", help="toxic type")],
    name: Annotated[str | None, typer.Option(help="toxic name")] = None,
    stream: Annotated[str, typer.Option(help="upstream or downstream")] = "downstream",
    toxicity: Annotated[float, typer.Option(help="per-request probability 0..1")] = 1.0,
    attr: Annotated[list[str] | None, typer.Option(
        "--attr", "-a", help="KEY=VALUE attribute (JSON value or string), repeatable")] = None,
    control: Control = DEFAULT_CONTROL,
) -> None:
    """Add a toxic to a running proxy."""
    spec = {"type": type_, "stream": stream, "toxicity": toxicity,
            "attributes": dict(_parse_attr(a) for a in attr or [])}
    if name:
        spec["name"] = name

    async def go() -> dict[str, Any]:
        async with ProxyClient(control) as client:
            return await client.add_toxic(proxy, spec)

    added = _run(go)
    typer.echo(f"added {added['name']} ({added['type']}, {added['stream']}, "
               f"toxicity {added['toxicity']:g}) to {proxy}")


@toxic_app.command("remove")
def toxic_remove(proxy: str, name: str, control: Control = DEFAULT_CONTROL) -> None:
    """Remove a toxic from a running proxy."""

    async def go() -> None:
        async with ProxyClient(control) as client:
            await client.remove_toxic(proxy, name)

    _run(go)
    typer.echo(f"removed {name} from {proxy}")


@toxic_app.command("list")
def toxic_list(proxy: str, control: Control = DEFAULT_CONTROL) -> None:
    """List a proxy's toxics with how often each fired."""

    async def go() -> list[dict[str, Any]]:
        async with ProxyClient(control) as client:
            return await client.toxics(proxy)

    found = _run(go)
    if not found:
        typer.echo(f"no toxics on {proxy}")
    for t in found:
        typer.echo(f"{t['name']}\t{t['type']}\t{t['stream']}\ttoxicity={t['toxicity']:g}\t"
                   f"fired={t['fired']}")


@toxic_app.command("types")
def toxic_types() -> None:
    """List the registered toxic types and their attributes (no proxy needed)."""
    for t in describe_types():
        attrs = ", ".join(f"{a['name']}={a['default']!r}{' ' + a['unit'] if a['unit'] else ''}"
                          for a in t["attributes"])
        typer.echo(f"{t['type']}: {t['summary']} [{attrs}]")


@app.command()
def reset(control: Control = DEFAULT_CONTROL) -> None:
    """Remove every toxic from every proxy."""

    async def go() -> None:
        async with ProxyClient(control) as client:
            await client.reset()

    _run(go)
    typer.echo("reset: no toxic active")


@app.command()
def traffic(
    proxy: Annotated[str | None, typer.Option(help="only this proxy")] = None,
    since: Annotated[float | None, typer.Option(help="epoch seconds")] = None,
    limit: Annotated[int | None, typer.Option(help="newest N records")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    control: Control = DEFAULT_CONTROL,
) -> None:
    """Show the requests the proxies saw."""

    async def go() -> dict[str, Any]:
        async with ProxyClient(control) as client:
            return await client.traffic(proxy=proxy, since=since, limit=limit)

    result = _run(go)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for r in result["records"]:
        typer.echo(f"{r['id']}\t{r['method']} {r['path']}\t{r['status']}\t"
                   f"{r['duration_s'] * 1000:.1f} ms\t{r['bytes_out']} B\t"
                   f"{','.join(r['toxics']) or '-'}\t{r['error'] or ''}")
    typer.echo(f"{result['count']} request(s)")


if __name__ == "__main__":
    app()
