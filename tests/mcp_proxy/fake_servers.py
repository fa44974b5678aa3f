"""Servers that are not (well-behaved) MCP servers, for the bad-input tests."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _NotMcp(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<html>hello, I am a web page</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def start_not_mcp(port: int) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer(("127.0.0.1", port), _NotMcp)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def stdio_garbler() -> None:
    """A stdio 'server' that answers initialize properly, tools/call with a line that is not
    JSON, and anything else with an empty result."""
    for line in sys.stdin:
        msg = json.loads(line)
        if "id" not in msg:
            continue
        if msg["method"] == "tools/call":
            sys.stdout.write("Traceback (most recent call last): oops\n")
        else:
            sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    stdio_garbler()
