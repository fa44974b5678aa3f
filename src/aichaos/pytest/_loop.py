"""An asyncio event loop in a background thread, so synchronous tests can host async servers.

The chaos proxy and the scripted LLM are asyncio servers; a test's own client (``httpx.Client``,
``openai.OpenAI``) blocks the test's thread. Running the servers on their own loop in a daemon
thread lets both sides run at once, whatever the test's style (sync, or async on its own loop).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """A private event loop running in a daemon thread until :meth:`close`.

    Args:
        name: the thread's name (shown in thread dumps of a hung test).
    """

    def __init__(self, name: str = "aichaos-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        """Run ``coro`` on the loop and wait for its result (its exception is re-raised).

        Raises:
            TimeoutError: it did not finish within ``timeout_s`` seconds (it is cancelled).
        """
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    def call(self, fn: Callable[[], T], timeout_s: float = 30.0) -> T:
        """Call ``fn()`` on the loop's thread (for state only the loop may touch)."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the loop and join its thread. Idempotent."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.loop.close()
