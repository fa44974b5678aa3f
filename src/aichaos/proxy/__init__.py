"""The chaos proxy: an HTTP reverse proxy per dependency that applies toxics.

Use :class:`ChaosProxy` in-process, its control REST API (Toxiproxy's shape) over HTTP with
:class:`ProxyClient`, or the ``aichaos proxy`` command line.
"""

from aichaos.proxy._client import ProxyClient
from aichaos.proxy._control import build_app
from aichaos.proxy._follow import TrafficFollower, traffic_line
from aichaos.proxy._server import ChaosProxy, Proxy
from aichaos.proxy._traffic import TrafficLog, TrafficRecord
from aichaos.proxy._types import bind_listener, parse_listen

__all__ = [
    "ChaosProxy",
    "Proxy",
    "ProxyClient",
    "TrafficFollower",
    "TrafficLog",
    "TrafficRecord",
    "bind_listener",
    "build_app",
    "parse_listen",
    "traffic_line",
]
