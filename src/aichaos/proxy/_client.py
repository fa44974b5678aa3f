"""An async client for the control API (httpx)."""

from __future__ import annotations

from typing import Any

import httpx

from aichaos.errors import PluginError, ProxyError


class ProxyClient:
    """Talks to a running chaos proxy's control API.

    Args:
        base_url: e.g. ``http://127.0.0.1:8474``.
        timeout_s: per-call timeout, seconds.

    Every method raises :class:`ProxyError` when the API is unreachable or answers 404/409,
    and :class:`PluginError` when it rejects a toxic (400), with the server's one-line message.
    """

    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def __aenter__(self) -> ProxyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ProxyError(f"control API at {self.base_url} unreachable: "
                             f"{type(exc).__name__}") from exc
        if resp.status_code >= 400:
            try:
                msg = str(resp.json().get("error", resp.text))
            except ValueError:
                msg = resp.text.strip() or f"HTTP {resp.status_code}"
            raise (PluginError if resp.status_code == 400 else ProxyError)(msg)
        return resp

    async def proxies(self) -> dict[str, Any]:
        """``{name: {name, listen, upstream, enabled, toxics}}``."""
        result: dict[str, Any] = (await self._call("GET", "/proxies")).json()
        return result

    async def create_proxy(self, name: str, listen: str, upstream: str,
                           enabled: bool = True) -> dict[str, Any]:
        """Create and start a proxy; returns its description."""
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        result: dict[str, Any] = (await self._call("POST", "/proxies", json=body)).json()
        return result

    async def delete_proxy(self, name: str) -> None:
        await self._call("DELETE", f"/proxies/{name}")

    async def toxics(self, proxy: str) -> list[dict[str, Any]]:
        """Active toxics of ``proxy`` with their counters (``fired``, ``fired_on``)."""
        result: list[dict[str, Any]] = (await self._call("GET", f"/proxies/{proxy}/toxics")).json()
        return result

    async def add_toxic(self, proxy: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Add a toxic ``{name, type, stream, toxicity, attributes}``; returns it."""
        result: dict[str, Any] = (
            await self._call("POST", f"/proxies/{proxy}/toxics", json=spec)).json()
        return result

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    async def reset(self) -> None:
        """Remove every toxic and enable every proxy."""
        await self._call("POST", "/reset")

    async def toxic_types(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self._call("GET", "/toxics")).json()
        return result

    async def traffic(self, *, proxy: str | None = None, since: float | None = None,
                      until: float | None = None, upstream_only: bool = False,
                      path: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """``{count, records}`` of the traffic log, filtered like ``TrafficLog.query``."""
        params: dict[str, str] = {}
        for key, value in (("proxy", proxy), ("since", since), ("until", until),
                           ("path", path), ("limit", limit)):
            if value is not None:
                params[key] = str(value)
        if upstream_only:
            params["upstream_only"] = "true"
        result: dict[str, Any] = (await self._call("GET", "/traffic", params=params)).json()
        return result

    async def metrics(self) -> str:
        """The Prometheus text exposition."""
        return (await self._call("GET", "/metrics")).text
