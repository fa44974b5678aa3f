"""Serve the run browser with uvicorn (``aichaos ui``)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from aichaos.errors import ConfigError
from aichaos.ui._app import create_app
from aichaos.ui._auth import needs_token, new_token
from aichaos.ui._queries import StoreReader


@dataclass(frozen=True, slots=True)
class UIServer:
    """What :func:`prepare` set up: the uvicorn server, its address and token."""

    server: uvicorn.Server
    url: str
    token: str | None

    @property
    def link(self) -> str:
        """The address to open (with ``?token=`` when a token is required)."""
        return f"{self.url}/?token={self.token}" if self.token else f"{self.url}/"


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ConfigError(f"--host/--port {host}:{port}: cannot listen ({reason})") from None


def prepare(url: str, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
            embeddings: bool = True) -> UIServer:
    """Open the store read-only and build the server (nothing listens until it runs).

    Args:
        url: SQLAlchemy URL of the results store.
        host: address to bind; anything but loopback (see
            :func:`aichaos.ui._auth.needs_token`) requires a token.
        port: TCP port (1-65535).
        token: the token to require; generated when the address needs one and none is given.
        embeddings: compare output embeddings as ``aichaos compare`` does.

    Raises:
        StoreError: the store cannot be opened or is not an aichaos store.
        ConfigError: bad port, the address cannot be listened on, or an empty token.
    """
    if not 0 < port < 65536:
        raise ConfigError(f"--port: expected 1-65535, got {port}")
    if token is not None and not token.strip():
        raise ConfigError("--token: expected a non-empty token")
    _check_port(host, port)
    reader = StoreReader(url)
    required = token if token is not None else (new_token() if needs_token(host) else None)
    shown = f"[{host}]" if ":" in host else host
    hosts = [host, "localhost", "127.0.0.1", "::1", "[::1]"] if host not in ("0.0.0.0", "::") \
        else None
    app = create_app(reader, token=required, embeddings=embeddings, allowed_hosts=hosts)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            access_log=False, server_header=False, lifespan="on")
    return UIServer(uvicorn.Server(config), f"http://{shown}:{port}", required)


def serve(url: str, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
          embeddings: bool = True, announce: Callable[[UIServer], None] | None = None) -> None:
    """Serve the run browser until interrupted (SIGINT/SIGTERM stop it cleanly).

    ``announce`` is called with the prepared server before it starts listening (the CLI
    prints the address and token there).

    Raises:
        StoreError, ConfigError: see :func:`prepare`.
    """
    ui = prepare(url, host=host, port=port, token=token, embeddings=embeddings)
    if announce is not None:
        announce(ui)
    ui.server.run()
