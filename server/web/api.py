"""The viewer's HTTP API, beside its page and socket:

    GET  /api/info                 what this server offers: renderers, encodings, pacings, whether a token is
                                   needed, whether text input is available, the socket's message limit (open)
    GET  /api/signs?prefix=&limit= sign IDs for autocomplete (`limit` 1..MAX_SIGNS, default 20)
    POST /api/mp4?encoding=&fps=   the frames a page showed -> an MP4 (web/mp4.py): video/mp4, header X-Frames

Errors answer JSON `{"type": "error", ...}` with the HTTP status of web/closing.py.
"""
from __future__ import annotations

import asyncio
import math

from aiohttp import web

from signstream.errors import InvalidArgument, MessageTooLarge, Overloaded, SignStreamError
from signstream.names import Pacing
from signstream.render.renderer import RENDERERS
from signstream.spec import MAX_FPS
from signstream.streaming import StreamCore
from signstream.web.access import Access
from signstream.web.closing import error_json, http_status
from signstream.web.mp4 import MP4_ENCODINGS, stream_to_mp4
from signstream.web.protocol import ITEM_FIELDS, PICTURE_ENCODINGS

__all__ = ["ViewerApi", "MAX_MP4_BODY_BYTES"]

DEFAULT_SIGNS, MAX_SIGNS = 20, 1000
MAX_MP4_BODY_BYTES = 128 * 1024 * 1024     # the frames of one stream sent back for its MP4
MP4_WAIT_S = 10.0                          # an MP4 waits this long for the one being made before it


def error_response(error: SignStreamError) -> web.Response:
    return web.Response(status=http_status(error), text=error_json(error), content_type="application/json")


def _number(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    text = request.query.get(name)
    try:
        value = default if text is None else float(text)
    except ValueError:
        value = math.nan
    if not (low <= value <= high):
        raise InvalidArgument(f"{name} must be {low:g}..{high:g}, got {text!r}", field=name)
    return value


class ViewerApi:
    def __init__(self, core: StreamCore, access: Access, max_message_bytes: int):
        self.core, self.access, self.max_message_bytes = core, access, max_message_bytes
        self._mp4 = asyncio.Semaphore(1)     # one MP4 at a time per process: each holds a whole stream

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "renderers": list(RENDERERS), "encodings": list(PICTURE_ENCODINGS), "pacings": [p.value for p in Pacing],
            "items": list(ITEM_FIELDS), "text": "text" in ITEM_FIELDS, "token_required": self.access.needs_token,
            "max_message_bytes": self.max_message_bytes, "mp4_encodings": list(MP4_ENCODINGS),
        })

    async def signs(self, request: web.Request) -> web.Response:
        self.access.check_token(request)
        limit = int(_number(request, "limit", DEFAULT_SIGNS, 1, MAX_SIGNS))
        ids = await asyncio.to_thread(self.core.lexicon.list_signs, request.query.get("prefix", ""), limit)
        return web.json_response({"sign_ids": ids})

    async def mp4(self, request: web.Request) -> web.Response:
        self.access.check_token(request)
        encoding = request.query.get("encoding", "h264")
        fps = _number(request, "fps", 25.0, 1.0, MAX_FPS)
        try:
            await asyncio.wait_for(self._mp4.acquire(), MP4_WAIT_S)
        except TimeoutError:
            raise Overloaded(f"another MP4 is being made and took over {MP4_WAIT_S:g} s; retry in 1 s",
                             retry_after_s=1.0) from None
        try:
            try:
                data = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise MessageTooLarge(f"the frames are over the {MAX_MP4_BODY_BYTES // 2**20} MiB an MP4 may be "
                                      "made from here; stream fewer signs at a time", field="body") from None
            body, frames = await asyncio.to_thread(stream_to_mp4, data, encoding, fps)
        finally:
            self._mp4.release()
        return web.Response(body=body, content_type="video/mp4", headers={
            "X-Frames": str(frames), "Content-Disposition": 'attachment; filename="signstream.mp4"'})
