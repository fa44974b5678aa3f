"""The control REST API, in Toxiproxy's shape (https://github.com/Shopify/toxiproxy#http-api).

Routes (JSON unless noted)::

    GET    /proxies                        {name: proxy}
    POST   /proxies                        {name, listen, upstream, enabled} -> 201 proxy
    GET    /proxies/{p}                    proxy
    DELETE /proxies/{p}                    204
    GET    /proxies/{p}/toxics             [toxic]
    POST   /proxies/{p}/toxics             {name, type, stream, toxicity, attributes} -> toxic
    GET    /proxies/{p}/toxics/{t}         toxic
    DELETE /proxies/{p}/toxics/{t}         204
    POST   /reset                          204: every toxic removed, every proxy enabled
    GET    /toxics                         registered toxic types with their attributes
    GET    /traffic?proxy=&since=&until=&upstream_only=&path=&limit=
                                           {count, records: [record]}
    GET    /metrics                        Prometheus text format (prometheus-client)

Errors are ``{"error": "one line"}`` with 400 (bad toxic), 404 (unknown name) or 409
(exists). Handlers only touch in-memory state, so they answer at once even while toxics hold
connections (scenario S16).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aichaos.errors import PluginError, ProxyError
from aichaos.faults import describe_types
from aichaos.proxy._types import ProxyController, bind_listener, parse_listen

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _ProxyCollector(Collector):
    """Builds the metrics from the proxies' counters at scrape time (no hot-path cost)."""

    def __init__(self, chaos: ProxyController) -> None:
        self.chaos = chaos

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("aichaos_proxy_requests", "Requests received",
                                       labels=["proxy"])
        upstream = CounterMetricFamily("aichaos_proxy_upstream_requests",
                                       "Requests forwarded to the upstream", labels=["proxy"])
        responses = CounterMetricFamily("aichaos_proxy_responses",
                                        "Responses completed, by status", labels=["proxy", "code"])
        bytes_out = CounterMetricFamily("aichaos_proxy_response_bytes",
                                        "Response body bytes sent", labels=["proxy"])
        active = GaugeMetricFamily("aichaos_proxy_active_requests", "Requests in flight",
                                   labels=["proxy"])
        fired = CounterMetricFamily("aichaos_toxic_fired", "Times a toxic fired",
                                    labels=["proxy", "toxic", "type"])
        toxics = GaugeMetricFamily("aichaos_proxy_toxics", "Active toxics", labels=["proxy"])
        for name, p in self.chaos.proxies.items():
            requests.add_metric([name], p.requests)
            upstream.add_metric([name], p.upstream_requests)
            bytes_out.add_metric([name], p.bytes_out)
            active.add_metric([name], p.active)
            toxics.add_metric([name], len(p.toxics))
            for code, n in sorted(p.statuses.items()):
                responses.add_metric([name, code], n)
            for (tname, ttype), n in sorted(p.fired_total.items()):
                fired.add_metric([name, tname, ttype], n)
        yield from (requests, upstream, responses, bytes_out, active, fired, toxics)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _guard(handler: Handler) -> Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except PluginError as exc:
            return _error(400, str(exc))
        except ProxyError as exc:
            msg = str(exc)
            status = 404 if "unknown" in msg else 409 if "exists" in msg else 400
            return _error(status, msg)
        except (ValueError, TypeError) as exc:
            return _error(400, f"bad request: {exc}")

    return run


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        doc = await request.json()
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc.msg}") from exc
    if not isinstance(doc, dict):
        raise ValueError("body must be a JSON object")
    return doc


def build_app(chaos: ProxyController) -> web.Application:
    """The control API as an aiohttp application bound to ``chaos``."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_ProxyCollector(chaos))
    app = web.Application()
    routes = web.RouteTableDef()

    @routes.get("/proxies")
    async def list_proxies(request: web.Request) -> web.StreamResponse:
        return web.json_response({n: p.to_dict() for n, p in chaos.proxies.items()})

    @routes.post("/proxies")
    async def create_proxy(request: web.Request) -> web.StreamResponse:
        doc = await _json(request)
        for key in ("name", "listen", "upstream"):
            if not isinstance(doc.get(key), str):
                raise ValueError(f"{key}: expected a string")
        p = await chaos.add_proxy(doc["name"], doc["listen"], doc["upstream"],
                                  bool(doc.get("enabled", True)))
        return web.json_response(p.to_dict(), status=201)

    @routes.get("/proxies/{p}")
    async def get_proxy(request: web.Request) -> web.StreamResponse:
        return web.json_response(chaos.proxy(request.match_info["p"]).to_dict())

    @routes.delete("/proxies/{p}")
    async def delete_proxy(request: web.Request) -> web.StreamResponse:
        await chaos.remove_proxy(request.match_info["p"])
        return web.Response(status=204)

    @routes.get("/proxies/{p}/toxics")
    async def list_toxics(request: web.Request) -> web.StreamResponse:
        return web.json_response([t.to_dict() for t in chaos.toxics(request.match_info["p"])])

    @routes.post("/proxies/{p}/toxics")
    async def add_toxic(request: web.Request) -> web.StreamResponse:
        toxic = chaos.add_toxic(request.match_info["p"], await _json(request))
        return web.json_response(toxic.to_dict())

    @routes.get("/proxies/{p}/toxics/{t}")
    async def get_toxic(request: web.Request) -> web.StreamResponse:
        for t in chaos.toxics(request.match_info["p"]):
            if t.name == request.match_info["t"]:
                return web.json_response(t.to_dict())
        raise ProxyError(f"unknown toxic {request.match_info['t']!r}")

    @routes.delete("/proxies/{p}/toxics/{t}")
    async def delete_toxic(request: web.Request) -> web.StreamResponse:
        chaos.remove_toxic(request.match_info["p"], request.match_info["t"])
        return web.Response(status=204)

    @routes.post("/reset")
    async def reset(request: web.Request) -> web.StreamResponse:
        chaos.reset()
        return web.Response(status=204)

    @routes.get("/toxics")
    async def toxic_types(request: web.Request) -> web.StreamResponse:
        return web.json_response(describe_types())

    @routes.get("/traffic")
    async def traffic(request: web.Request) -> web.StreamResponse:
        q = request.query
        records = chaos.traffic.query(
            proxy=q.get("proxy") or None,
            since=float(q["since"]) if q.get("since") else None,
            until=float(q["until"]) if q.get("until") else None,
            upstream_only=q.get("upstream_only", "").lower() in ("1", "true", "yes"),
            path=q.get("path") or None,
            limit=int(q["limit"]) if q.get("limit") else None,
        )
        return web.json_response({"count": len(records),
                                  "records": [r.to_dict() for r in records]})

    @routes.get("/metrics")
    async def metrics(request: web.Request) -> web.StreamResponse:
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    for route in routes:
        assert isinstance(route, web.RouteDef)
        app.router.add_route(route.method, route.path, _guard(route.handler))
    return app


async def start_control(chaos: ProxyController, listen: str) -> tuple[web.AppRunner, int]:
    """Serve the control API on ``listen``; returns the runner and the bound port.

    Raises:
        ProxyError: the address is in use.
    """
    return await serve_app(build_app(chaos), listen, "control API")


async def serve_app(app: web.Application, listen: str, label: str
                    ) -> tuple[web.AppRunner, int]:
    """Serve an aiohttp ``app`` on ``listen`` (``host:port``, port 0 = a free one); returns
    the runner and the bound port. Shared by this control API and the MCP proxy's.

    Raises:
        ProxyError: the address is in use (the message starts with ``label``).
    """
    sock = bind_listener(*parse_listen(listen), label)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, sock.getsockname()[1]
