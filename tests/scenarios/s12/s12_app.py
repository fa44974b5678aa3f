"""Scenario S12 victim and fixed twin: a support endpoint whose engine dies on an empty prompt.

The victim hands every prompt to its engine; an empty prompt kills the engine (as in inference
servers whose engine core died on an empty prompt), and every later request fails with 500.
The twin validates input first and answers an empty prompt with a clarification.
Real HTTP (stdlib ``http.server``) on 127.0.0.1, a free port, one thread.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWERS = {
    "refund": "Refunds are issued within 5 business days to the original payment method.",
    "password": "Use the Forgot password link on the sign-in page to reset your password.",
}
CLARIFY = "Your message seems to be empty. What would you like to ask?"


class Engine:
    """A toy generation engine; once it dies it stays dead."""

    def __init__(self) -> None:
        self.dead = False

    def generate(self, prompt: str) -> str:
        if self.dead:
            raise RuntimeError("engine core is dead")
        if not prompt:
            self.dead = True  # the defect: an empty prompt corrupts the engine state
            raise RuntimeError("index out of range: empty prompt")
        words = prompt.lower()
        return next((a for k, a in ANSWERS.items() if k in words), "Please contact support.")


class App(ThreadingHTTPServer):
    def __init__(self, fixed: bool) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.fixed = fixed
        self.engine = Engine()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/chat"


class Handler(BaseHTTPRequestHandler):
    server: App

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = str(body.get("input", ""))
        try:
            if self.server.fixed and not prompt.strip():
                answer = CLARIFY  # the fix: validate input before the engine sees it
            else:
                answer = self.server.engine.generate(prompt)
            self._json(200, {"output": answer})
        except RuntimeError as exc:
            self._json(500, {"error": str(exc)})

    def _json(self, status: int, data: dict[str, str]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def start(fixed: bool) -> App:
    """Start the victim (``fixed=False``) or the twin in a daemon thread; ``.shutdown()``."""
    app = App(fixed)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    return app
