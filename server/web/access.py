"""Who may use the viewer's socket and API: the page's Origin against an allow-list, and the bearer
token (when the server has tokens) from a cookie, the Sec-WebSocket-Protocol header or, for the HTTP
API, the Authorization header. Never from the URL: a URL lands in logs and browser history.

* **Origin.** Browsers send it with every WebSocket handshake and every cross-site request. Default
  allow-list: the page's own origin, i.e. `http://<the Host it asked for>`, where that host is the
  address the server listens on (for 127.0.0.1 also `localhost` and `[::1]`), so a page from another
  site, or one reaching a loopback server through a DNS name it controls (DNS rebinding), is refused.
  A server listening on every address (0.0.0.0) accepts any host name for its own origin; list the
  origins with `--web-origin` there. A request without Origin comes from a program, not a browser
  page, and is let through (the token, when set, still applies).
* **Token.** Cookie `signstream_token=<token>` (URL-encoded), or the subprotocol
  `signstream.token.<base64url(token)>` offered beside `signstream.v1`, or `Authorization: Bearer
  <token>`. The server selects `signstream.v1`, so the token is never echoed.
"""
from __future__ import annotations

import base64
import binascii
import urllib.parse
from collections.abc import Iterable

from aiohttp import web

from signstream.errors import OriginNotAllowed, Unauthenticated
from signstream.tokens import TokenSet
from signstream.web.protocol import TOKEN_PROTOCOL_PREFIX

__all__ = ["Access", "TOKEN_COOKIE"]

TOKEN_COOKIE = "signstream_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
URL_TOKEN_NAMES = ("token", "access_token", "auth")
TOKEN_ADVICE = ("enter the server's token in the page (it is sent as the cookie signstream_token or the "
                "Sec-WebSocket-Protocol signstream.token.<base64url>); ask the operator for one")


def _host_names(host: str) -> tuple[str, ...] | None:
    """The host names the page's own origin may have for a server bound to `host`; None: any."""
    if host in WILDCARD_HOSTS:
        return None
    if host in ("127.0.0.1", "localhost", "::1"):
        return LOOPBACK_NAMES
    return (f"[{host}]" if ":" in host else host,)


class Access:
    def __init__(self, host: str, origins: Iterable[str] = (), tokens: Iterable[str] = ()):
        self.origins = frozenset(o.rstrip("/").lower() for o in origins)
        self.names = _host_names(host)
        tokens = tuple(tokens)
        self.tokens = TokenSet(tokens) if tokens else None

    @property
    def needs_token(self) -> bool:
        return self.tokens is not None

    def _own_origin(self, request: web.Request) -> str | None:
        """`http://<Host>` when the Host names this server (see the module doc), else None."""
        host = request.host.lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.names is not None and name not in self.names:
            return None
        return f"{request.scheme}://{host}"

    def check_origin(self, request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin is None:
            return
        allowed = self.origins or {self._own_origin(request)}
        if origin.rstrip("/").lower() not in allowed:
            raise OriginNotAllowed(f"pages from {origin} may not use this server; open the viewer from the server "
                                   "itself, or have the operator add the origin with --web-origin", field="Origin")

    def check_token(self, request: web.Request) -> None:
        """Unauthenticated unless the request carries a valid token (when the server has tokens)."""
        if self.tokens is None:
            return
        if any(name in request.query for name in URL_TOKEN_NAMES):
            raise Unauthenticated("tokens are never taken from the URL (it lands in logs and history): "
                                  + TOKEN_ADVICE, field="token")
        problem = self.tokens.problem(self._presented(request), "a cookie, Sec-WebSocket-Protocol or Authorization")
        if problem is not None:
            raise Unauthenticated(f"{problem}: {TOKEN_ADVICE}", field="token")

    @staticmethod
    def _presented(request: web.Request) -> str | None:
        if TOKEN_COOKIE in request.cookies:
            return urllib.parse.unquote(request.cookies[TOKEN_COOKIE])
        for offered in request.headers.getall("Sec-WebSocket-Protocol", ()):
            for protocol in (p.strip() for p in offered.split(",")):
                if protocol.startswith(TOKEN_PROTOCOL_PREFIX):
                    encoded = protocol[len(TOKEN_PROTOCOL_PREFIX):]
                    try:
                        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
                    except (binascii.Error, UnicodeDecodeError):
                        return ""
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer":
            return token
        return None
