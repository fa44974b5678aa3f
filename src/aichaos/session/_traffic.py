"""``aichaos run --proxy-control/--watch-traffic``: show where the run's chaos proxies are
controlled, and optionally print every request they see while the run works."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from aichaos.errors import ConfigError, ProxyError
from aichaos.proxy import TrafficFollower, parse_listen, traffic_line
from aichaos.runner import EventBus, ProxiesStarted, RunEnded

#: the control API has no token, so the run serves it on loopback only
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def control_address(flag: str | None, watch: bool) -> str | None:
    """The ``host:port`` the run's control API listens on, or None for none.

    ``--watch-traffic`` without ``--proxy-control`` picks a free loopback port.

    Raises:
        ConfigError: not ``host:port``, or a host other than loopback.
    """
    if flag is None:
        return "127.0.0.1:0" if watch else None
    try:
        host, _port = parse_listen(flag)
    except ProxyError as exc:
        raise ConfigError(f"--proxy-control {flag!r}: expected HOST:PORT, e.g. "
                          "127.0.0.1:8474") from exc
    if host not in LOOPBACK:
        raise ConfigError(f"--proxy-control {flag!r}: the control API has no token and binds "
                          "to loopback only (127.0.0.1)")
    return flag


class TrafficWatch:
    """Prints the control API address when the proxies start; with ``follow`` also one line
    per proxied request (the columns of ``aichaos proxy traffic``) until the run ends."""

    def __init__(self, console: Console, *, follow: bool = False) -> None:
        self.console = console
        self.follow = follow
        self._follower: TrafficFollower | None = None

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(ProxiesStarted, self._started)
        bus.subscribe(RunEnded, self._ended)

    def _started(self, event: ProxiesStarted) -> None:
        if event.control_url is None:
            return
        url = event.control_url
        names = ", ".join(f"{n} {p['listen']} -> {p['upstream']}"
                          for n, p in event.proxies.items())
        self.console.print(f"chaos proxy control API: {url} ({names})", highlight=False,
                           soft_wrap=True, markup=False)
        first = next(iter(event.proxies), "NAME")
        self.console.print(f"  watch it: aichaos proxy traffic --control {url}; aichaos proxy "
                           f"toxic list {first} --control {url}", highlight=False,
                           soft_wrap=True, markup=False)
        if self.follow:
            self._follower = TrafficFollower(url, self._record).start()

    def _record(self, record: dict[str, Any]) -> None:
        self.console.print(f"  [dim]traffic[/] {escape(traffic_line(record))}", highlight=False,
                           soft_wrap=True)

    def _ended(self, event: RunEnded) -> None:
        if self._follower is not None:  # runs on the proxies' loop: signal, do not join
            self._follower.stop(wait=False)

    def close(self) -> None:
        """Stop following (idempotent)."""
        if self._follower is not None:
            follower, self._follower = self._follower, None
            follower.stop()
