"""The browser viewer's server (aiohttp), beside the gRPC gateway and over the same streaming core:

    GET /            the page (clients/web/index.html), and its module, style sheet and pictures
    GET /ws          the WebSocket: one Synthesize stream per connection (web/socket.py, web/protocol.py)
    /api/...         sign IDs for autocomplete, the server's options, the MP4 download (web/api.py)

The gateway starts it after its StreamCore and stops it after the core's drain, so on SIGTERM open
viewer streams finish within the grace time while new ones are refused ("shutting down"). Every
request but the page's files is checked for its Origin, and for a token when the server has tokens
(web/access.py); a refusal is counted in `signstream_errors_total{code}`.
"""
from __future__ import annotations

import importlib.resources
import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from signstream.errors import SignStreamError
from signstream.streaming import StreamCore
from signstream.web.access import Access
from signstream.web.api import MAX_MP4_BODY_BYTES, ViewerApi, error_response
from signstream.web.socket import ViewerSocket

__all__ = ["WebOptions", "WebServer", "PAGE_DIR"]

log = logging.getLogger(__name__)

PAGE_DIR = Path(str(importlib.resources.files("signstream.clients") / "web"))     # clients/web/
PAGE_FILES = (".html", ".js", ".css", ".png", ".svg", ".ico")
# The page loads nothing from elsewhere: no third-party script, style or font.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebOptions:
    port: int = 8080                              # 0: any free port
    origins: tuple[str, ...] = ()                 # allowed Origins; () = the page's own (web/access.py)
    page_dir: Path = PAGE_DIR
    shutdown_s: float = 1.0                       # after the core's drain: sockets still open get this long


def _page_files(folder: Path) -> dict[str, Path]:
    files = {p.name: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in PAGE_FILES}
    if "index.html" not in files:
        raise FileNotFoundError(f"the viewer's page is missing: no index.html in {folder}")
    return files


class WebServer:
    def __init__(self, core: StreamCore, options: WebOptions, host: str, max_message_bytes: int,
                 auth_tokens: tuple[str, ...] = (), reuse_port: bool = False):
        self.core, self.options, self.host, self.reuse_port = core, options, host, reuse_port
        self.access = Access(host, options.origins, auth_tokens)
        self.socket = ViewerSocket(core, self.access, max_message_bytes)
        self.api = ViewerApi(core, self.access, max_message_bytes)
        self.files = _page_files(options.page_dir)
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        try:
            if request.path.startswith(("/api/", "/ws")):
                self.access.check_origin(request)
            response = await handler(request)
        except SignStreamError as exc:
            self.core.metrics.error(exc.code)
            if not exc.logged:
                log.info("viewer request %s %s refused: %s", request.method, request.path, exc.message)
            response = error_response(exc)
        if not response.prepared:
            response.headers.update(HEADERS)
        return response

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name") or "index.html"
        path = self.files.get(name)
        if path is None:
            raise web.HTTPNotFound(text=f"no {name} here; the viewer is at /")
        return web.FileResponse(path)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_MP4_BODY_BYTES)
        app.router.add_get("/ws", self.socket.handle)
        app.router.add_get("/api/info", self.api.info)
        app.router.add_get("/api/signs", self.api.signs)
        app.router.add_post("/api/mp4", self.api.mp4)
        app.router.add_get("/", self._file)
        app.router.add_get("/{name}", self._file)
        return app

    async def start(self) -> int:
        self.runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=self.options.shutdown_s)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.options.port, reuse_port=self.reuse_port or None)
        await site.start()
        self.port = self.runner.addresses[0][1]
        log.info("viewer on http://%s:%d/", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
