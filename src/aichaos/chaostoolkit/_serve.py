"""The chaos proxy process :func:`aichaos.chaostoolkit.actions.start_proxy` launches.

``python -m aichaos.chaostoolkit._serve SPEC_JSON`` with ``SPEC_JSON`` =
``{"control": "host:port", "seed": 42, "check_upstream": true, "proxies": [{name, listen,
upstream}]}``. It serves :class:`aichaos.proxy.ChaosProxy` with its control API until SIGTERM
or SIGINT, prints ``control API URL`` and one ``proxy NAME: host:port -> upstream`` line per
proxy once listening, and removes every toxic on the way out. It imports only the proxy, so
it starts in a fraction of the full CLI's time.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

from aichaos.errors import AIChaosError
from aichaos.proxy import ChaosProxy


async def serve(spec: dict[str, Any]) -> None:
    """Run the proxies described by ``spec`` until a stop signal."""
    chaos = ChaosProxy(seed=int(spec.get("seed", 42)), control=str(spec["control"]),
                       check_upstream=bool(spec.get("check_upstream", True)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for p in spec["proxies"]:
            await chaos.add_proxy(str(p["name"]), str(p.get("listen") or "127.0.0.1:0"),
                                  str(p["upstream"]))
        await chaos.start()
        print(f"control API {chaos.control_url}", flush=True)
        for proxy in chaos.proxies.values():
            print(f"proxy {proxy.name}: {proxy.host}:{proxy.port} -> {proxy.upstream}",
                  flush=True)
        await stop.wait()
    finally:
        await chaos.stop()
        print("stopped; all toxics removed", flush=True)


def main(argv: list[str]) -> int:
    """Entry point; exit code 2 with one ``error:`` line on bad input or a failed start."""
    try:
        spec = json.loads(argv[1]) if len(argv) == 2 else None
        if not isinstance(spec, dict) or not spec.get("proxies") or "control" not in spec:
            raise ValueError("expected one JSON argument {control, seed, proxies: [...]}")
        asyncio.run(serve(spec))
    except (AIChaosError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
