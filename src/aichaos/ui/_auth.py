"""Access control and response headers of the run browser (ASGI middleware).

Bound to loopback (``127.0.0.1``, ``::1``, ``localhost``) the browser is open to the local
user, as any loopback development server is. Bound to any other address it needs a token,
taken from ``Authorization: Bearer TOKEN``, from a ``token`` query parameter (the link
printed at start-up; it also sets an HttpOnly, SameSite=Strict cookie so that the page's own
links work) or from that cookie. A request without a valid token gets 401. Tokens are
compared in constant time (:func:`secrets.compare_digest`).

Every response carries a Content-Security-Policy that forbids scripts and every load from
elsewhere (the pages are plain HTML with inline CSS and SVG), ``Referrer-Policy: no-referrer``
(a token in the address never leaves in a Referer header) and ``X-Content-Type-Options``.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
COOKIE = "aichaos_ui_token"
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_HEADERS = {"content-security-policy": CSP, "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff", "cache-control": "no-store"}


def needs_token(host: str) -> bool:
    """True unless ``host`` is one of :data:`LOOPBACK_HOSTS` (the default bind address
    ``127.0.0.1``, ``::1`` or ``localhost``); any other address requires a token."""
    return host not in LOOPBACK_HOSTS


def new_token() -> str:
    """A fresh random token (32 bytes, URL-safe base64)."""
    return secrets.token_urlsafe(32)


class TokenAuth:
    """Require ``token`` on every HTTP request (None = open) and set the security headers.

    Args:
        app: the wrapped ASGI app.
        token: the secret the client must present, or None when bound to loopback.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    def _matches(self, given: str | None) -> bool:
        if not given or self.token is None:
            return False
        return secrets.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_cookie = False
        if self.token is not None:
            conn = HTTPConnection(scope)
            scheme, _, bearer = conn.headers.get("authorization", "").partition(" ")
            from_query = conn.query_params.get("token")
            ok = (scheme.lower() == "bearer" and self._matches(bearer.strip())) \
                or self._matches(conn.cookies.get(COOKIE))
            if not ok and self._matches(from_query):
                ok = set_cookie = True
            if not ok:
                response = PlainTextResponse(
                    "401 Unauthorized: this run browser is bound off loopback and needs its "
                    "token (the link printed at start-up, or Authorization: Bearer TOKEN)\n",
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="aichaos ui"',
                                              **_HEADERS})
                await response(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
                if set_cookie:
                    headers.append("set-cookie", f"{COOKIE}={self.token}; HttpOnly; "
                                   "SameSite=Strict; Path=/")
            await send(message)

        await self.app(scope, receive, send_with_headers)
