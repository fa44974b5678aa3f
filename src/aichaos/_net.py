"""Loopback networking helpers shared by the proxy, the demo, the tests and the benchmarks."""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def _listen_port_range() -> tuple[int, int] | None:
    """Ports ``[low, high)`` below the kernel's ephemeral range, or None if it is unknown.

    Outgoing connections take their local port from the ephemeral range
    (``net.ipv4.ip_local_port_range``, 32768-60999 by default on Linux), so a port picked
    there with ``bind(0)`` can be taken by a client socket before our server binds it.
    """
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (10_000, low) if low > 12_000 else None


def _can_bind(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago, never handed out before here.

    Picked at random below the ephemeral range (see ``_listen_port_range``) so client
    connections do not race our servers for it; falls back to ``bind(0)`` elsewhere.
    """
    low, high = _listen_port_range() or (0, 0)
    with _handed_out_lock:
        for _ in range(200 if high else 0):
            port = random.randrange(low, high)
            if port not in _handed_out and _can_bind(host, port):
                _handed_out.add(port)
                return port
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        _handed_out.add(port)
        return port
