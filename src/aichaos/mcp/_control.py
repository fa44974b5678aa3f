"""The MCP proxies' control REST API, in the shape of the HTTP chaos proxy's
(:mod:`aichaos.proxy`, itself Toxiproxy's)::

    GET    /proxies                      {name: proxy}
    GET    /proxies/{p}                  proxy
    GET    /proxies/{p}/toxics           [toxic]
    POST   /proxies/{p}/toxics           {name, type, stream, toxicity, attributes} -> toxic
    GET    /proxies/{p}/toxics/{t}       toxic (with fired, fired_on)
    DELETE /proxies/{p}/toxics/{t}       204
    POST   /reset                        204: every toxic removed
    GET    /toxics                       registered MCP toxic types with their attributes
    GET    /traffic?proxy=&method=&tool=&limit=   {count, records: [record]}

Errors are ``{"error": "one line"}`` with 400 (bad toxic), 404 (unknown name), 409 (exists).
Handlers touch only in-memory state, so they answer at once while toxics hold calls.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from aichaos.errors import ProxyError
from aichaos.mcp._engine import McpEngine
from aichaos.mcp._toxic import describe_mcp_types
from aichaos.proxy._control import _guard, _json, serve_app


def build_mcp_control(engines: Mapping[str, McpEngine]) -> web.Application:
    """The control API over ``engines`` (proxy name -> engine) as an aiohttp application."""
    app = web.Application()
    routes = web.RouteTableDef()

    def engine(request: web.Request) -> McpEngine:
        name = request.match_info["p"]
        if name not in engines:
            raise ProxyError(f"unknown proxy {name!r}")
        return engines[name]

    @routes.get("/proxies")
    async def list_proxies(request: web.Request) -> web.StreamResponse:
        return web.json_response({n: e.to_dict() for n, e in engines.items()})

    @routes.get("/proxies/{p}")
    async def get_proxy(request: web.Request) -> web.StreamResponse:
        return web.json_response(engine(request).to_dict())

    @routes.get("/proxies/{p}/toxics")
    async def list_toxics(request: web.Request) -> web.StreamResponse:
        return web.json_response([t.to_dict() for t in engine(request).toxics.values()])

    @routes.post("/proxies/{p}/toxics")
    async def add_toxic(request: web.Request) -> web.StreamResponse:
        return web.json_response(engine(request).add_toxic(await _json(request)).to_dict())

    @routes.get("/proxies/{p}/toxics/{t}")
    async def get_toxic(request: web.Request) -> web.StreamResponse:
        toxic = engine(request).toxics.get(request.match_info["t"])
        if toxic is None:
            raise ProxyError(f"unknown toxic {request.match_info['t']!r}")
        return web.json_response(toxic.to_dict())

    @routes.delete("/proxies/{p}/toxics/{t}")
    async def delete_toxic(request: web.Request) -> web.StreamResponse:
        engine(request).remove_toxic(request.match_info["t"])
        return web.Response(status=204)

    @routes.post("/reset")
    async def reset(request: web.Request) -> web.StreamResponse:
        for e in engines.values():
            e.reset()
        return web.Response(status=204)

    @routes.get("/toxics")
    async def toxic_types(request: web.Request) -> web.StreamResponse:
        return web.json_response(describe_mcp_types())

    @routes.get("/traffic")
    async def traffic(request: web.Request) -> web.StreamResponse:
        q = request.query
        records = []
        for name, e in engines.items():
            if q.get("proxy") and q["proxy"] != name:
                continue
            records += e.traffic.query(proxy=name, method=q.get("method") or None,
                                       tool=q.get("tool") or None)
        if q.get("limit"):
            records = records[-int(q["limit"]):]
        return web.json_response({"count": len(records),
                                  "records": [r.to_dict() for r in records]})

    for route in routes:
        assert isinstance(route, web.RouteDef)
        app.router.add_route(route.method, route.path, _guard(route.handler))
    return app


async def start_mcp_control(engines: Mapping[str, McpEngine],
                            listen: str) -> tuple[web.AppRunner, int]:
    """Serve the control API on ``listen``; returns the runner and the bound port.

    Raises:
        ProxyError: the address is in use.
    """
    return await serve_app(build_mcp_control(engines), listen, "MCP control API")
