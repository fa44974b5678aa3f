"""What the proxy's modules share: listen-address parsing and the views of a proxy that the
control API (:mod:`aichaos.proxy._control`) and the fast path (:mod:`aichaos.proxy._fast`)
rely on.

The views are :class:`typing.Protocol` classes that :class:`aichaos.proxy.Proxy` and
:class:`aichaos.proxy.ChaosProxy` satisfy, so those modules depend on this one and never on
``_server`` (which imports them): the proxy's import graph has no cycle.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any, Protocol

from aichaos.errors import ProxyError
from aichaos.faults import Toxic
from aichaos.proxy._traffic import TrafficLog


def bind_listener(host: str, port: int, label: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0 = a free one, IPv6 when ``host`` has a
    colon), ready for a server to listen on; shared by the chaos proxies and their control
    APIs.

    Raises:
        ProxyError: the address is in use or cannot be bound (the message starts with
            ``label``, e.g. ``proxy 'crm'``).
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ProxyError(f"{label}: cannot listen on {host}:{port}: "
                         f"{exc.strerror or exc}") from exc
    return sock


def parse_listen(listen: str) -> tuple[str, int]:
    """``"host:port"`` (or ``":port"`` / ``"port"``) -> ``(host, port)``; host defaults to
    127.0.0.1.

    Raises:
        ProxyError: not ``host:port`` with a port in 0..65535.
    """
    host, _, port = listen.rpartition(":")
    try:
        num = int(port)
        if not 0 <= num <= 65535:
            raise ValueError
    except ValueError:
        raise ProxyError(f"listen {listen!r}: expected host:port with port 0..65535") from None
    return host.strip("[]") or "127.0.0.1", num


class ProxyCounters(Protocol):
    """One proxy as the control API reads it: identity, toxics and its /metrics counters."""

    name: str
    toxics: dict[str, Toxic]
    requests: int
    upstream_requests: int
    active: int
    bytes_in: int
    bytes_out: int
    statuses: dict[str, int]
    fired_total: dict[tuple[str, str], int]

    def to_dict(self) -> dict[str, Any]: ...


class ProxyController(Protocol):
    """The chaos proxy as the control API drives it (Toxiproxy's operations)."""

    @property
    def proxies(self) -> Mapping[str, ProxyCounters]: ...

    @property
    def traffic(self) -> TrafficLog: ...

    async def add_proxy(self, name: str, listen: str, upstream: str,
                        enabled: bool = True) -> ProxyCounters: ...

    async def remove_proxy(self, name: str) -> None: ...

    def proxy(self, name: str) -> ProxyCounters: ...

    def toxics(self, proxy: str) -> list[Toxic]: ...

    def add_toxic(self, proxy: str, spec: dict[str, Any] | Toxic) -> Toxic: ...

    def remove_toxic(self, proxy: str, name: str) -> None: ...

    def reset(self) -> None: ...
