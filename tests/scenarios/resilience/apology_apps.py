"""Layer-2 victim and twin: a canned-apology bot and a support bot that answers.

The victim answers every message with the same apology. Before issue 12 layer 2 scored it
100 % invariant: every perturbed answer was identical to its (wrong) clean answer. The twin
answers each known question correctly, whatever the casing, spacing or invisible characters,
and asks for clarification when the message is empty. Real HTTP (stdlib ``http.server``) on
127.0.0.1, a free port, one thread per request.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SORRY = "Sorry, I can't help with that."
CLARIFY = "Your message seems to be empty. What would you like to ask?"
#: keyword -> the correct answer (the test's golden cases expect these fragments)
ANSWERS = {
    "refund": "Refunds are issued within 5 business days to the original payment method.",
    "password": "Use the Forgot password link on the sign-in page to reset your password.",
    "return": "You can return most items within 30 days of delivery.",
    "shipping": "Standard shipping takes 3 to 5 business days.",
    "warranty": "Every device has a 1-year limited warranty.",
    "cancel": "You can cancel an order within 60 minutes of placing it.",
}


def answer(prompt: str) -> str:
    """The twin's answer: the first known keyword in the folded prompt, else a clarification."""
    folded = re.sub(r"[^a-z]", "", prompt.lower())  # casing, spaces, zero-width chars, JSON
    return next((a for k, a in ANSWERS.items() if k in folded), CLARIFY)


class App(ThreadingHTTPServer):
    def __init__(self, fixed: bool) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.fixed = fixed
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/chat"


class Handler(BaseHTTPRequestHandler):
    server: App

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests += 1
        prompt = str(body.get("input", ""))
        text = answer(prompt) if self.server.fixed else SORRY  # the defect: one canned reply
        raw = json.dumps({"output": text}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def start(fixed: bool) -> App:
    """Start the victim (``fixed=False``) or the twin in a daemon thread; ``.shutdown()``."""
    app = App(fixed)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    return app
