"""The viewer's WebSocket `/ws`: one connection is one Synthesize stream of the streaming core
(signstream.streaming), as thin as the gRPC servicer: messages in become the core's items, its
outputs go out as messages (web/protocol.py), errors close the socket (web/closing.py).

A connection is admitted as a stream when it opens, so `--max-streams` caps the viewer's sockets
with the gRPC streams, and the core's guard ends one idle for `--idle-timeout` before or after its
config. Frames go out one at a time: a send waits while the socket's buffers are full, so a browser
that falls behind holds back only its own stream; after `--send-timeout` the stream is dropped, and
the socket closed with the timeout once the client takes the frame it holds (or cut after
CUT_AFTER_S if it never does). A client that closes its socket cancels its stream.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from signstream.errors import MessageTooLarge, SignStreamError, UnexpectedMessage
from signstream.outputs import FrameOut
from signstream.streaming import StreamCore
from signstream.web import protocol
from signstream.web.access import Access
from signstream.web.closing import close_code, close_reason, error_json

log = logging.getLogger(__name__)

CUT_AFTER_S = 5.0           # a dropped stream's client that still takes nothing: the connection is cut
CLOSE_TIMEOUT_S = 2.0       # how long a close waits for the client's close frame


class _Gone(Exception):
    """The client closed the socket or the connection broke."""


class _Socket(web.WebSocketResponse):
    """aiohttp closes a socket whose client sent a message over the limit itself, with 1009 and no
    reason; this one first says why, as every other error does."""

    too_large: MessageTooLarge | None = None

    def __init__(self, max_bytes: int, **kwargs):
        # aiohttp refuses a message of max_msg_size bytes itself: + 1 takes one of exactly max_bytes. No
        # compression: frames are compressed already, and aiohttp's limit is counted differently with it.
        super().__init__(max_msg_size=max_bytes + 1, timeout=CLOSE_TIMEOUT_S, compress=False, **kwargs)
        self.max_bytes = max_bytes

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG and not message and not self.closed:
            self.too_large = MessageTooLarge(
                f"a message was over this socket's limit of {self.max_bytes:,} bytes ({self.max_bytes / 2**20:g} "
                "MiB, one style image); send a smaller style image", field="message")
            with contextlib.suppress(Exception):
                await self.send_str(error_json(self.too_large))
            message = close_reason(self.too_large)
        return await super().close(code=code, message=message, drain=drain)


async def close_with(ws: web.WebSocketResponse, error: SignStreamError) -> None:
    """The error as a message, then the close code and reason; a socket already closed is left so."""
    if ws.closed:
        return
    if not error.logged:
        log.info("viewer socket ends with %s: %s", error.code, error.message)
    with contextlib.suppress(Exception):
        await ws.send_str(error_json(error))
    with contextlib.suppress(Exception):
        await ws.close(code=close_code(error), message=close_reason(error))


async def _receive(ws: _Socket):
    """The next data message (text or binary); _Gone when the socket closes, the limit's error when
    the message was too large."""
    message = await ws.receive()
    if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
        return message
    if ws.too_large is not None:
        raise ws.too_large
    raise _Gone()


class ViewerSocket:
    def __init__(self, core: StreamCore, access: Access, max_message_bytes: int):
        self.core = core
        self.access = access
        self.max_message_bytes = max_message_bytes

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Upgrade (the Origin was checked before, by web/app.py's middleware), check the token, run the stream."""
        ws = _Socket(self.max_message_bytes, protocols=(protocol.SUBPROTOCOL,))
        await ws.prepare(request)
        try:
            self.access.check_token(request)
        except SignStreamError as exc:
            self.core.metrics.error(exc.code)
            await close_with(ws, exc)
            return ws
        await _Stream(self.core, ws, request.transport).run()
        return ws


class _Stream:
    """One connection's stream: admitted, guarded, run, released."""

    def __init__(self, core: StreamCore, ws: _Socket, transport: asyncio.Transport | None):
        self.core, self.ws, self.transport = core, ws, transport
        self.task = asyncio.current_task()
        self.ended: SignStreamError | None = None   # set when the guard ends the stream
        self.gone = False
        self.frames = 0

    async def _on_overdue(self, error: SignStreamError, sending: bool) -> None:
        self.ended = error
        if sending:         # the send completes once the client reads; cut the connection if it never does
            asyncio.get_running_loop().call_later(CUT_AFTER_S, self._cut)
        else:
            await close_with(self.ws, error)

    def _cut(self) -> None:
        if self.task is not None and not self.task.done():
            log.info("viewer socket cut: its client took nothing for %g s after its stream was dropped", CUT_AFTER_S)
            self.gone = True
            if self.transport is not None:
                self.transport.abort()
            self.task.cancel()

    async def _config(self):
        first = await _receive(self.ws)
        if first.type is not WSMsgType.TEXT:
            raise UnexpectedMessage("the first message must be the config as JSON text, not binary data",
                                    field="config")
        config = protocol.parse(first.data)
        size = protocol.style_image_size(config, self.ws.max_bytes)
        image = b""
        if size:
            second = await _receive(self.ws)
            if second.type is not WSMsgType.BINARY or len(second.data) != size:
                got = "text" if second.type is WSMsgType.TEXT else f"{len(second.data):,} bytes"
                raise UnexpectedMessage(f"the config announced a style image of {size:,} bytes; the next message "
                                        f"must be exactly those bytes as binary, got {got}", field="style_image")
            image = second.data
        return protocol.spec_from_config(config, image)

    async def _items(self):
        """The core's items: sign IDs until "end"; a message out of place becomes the error that ends
        the stream; a closed socket cancels it."""
        try:
            while True:
                message = await _receive(self.ws)
                if message.type is WSMsgType.BINARY:
                    yield UnexpectedMessage(f"a binary message ({len(message.data):,} bytes) came after the config; "
                                            "only the style image, right after the config, is binary", field="message")
                    return
                try:
                    parsed = protocol.parse(message.data)
                    if parsed["type"] == "end":
                        return
                    yield protocol.item_of(parsed)
                except SignStreamError as exc:
                    yield exc
                    return
        except SignStreamError as exc:            # too large
            yield exc
        except _Gone:
            self.gone = True
            if self.task is not None:
                self.task.cancel()

    async def _send(self, out) -> None:
        if isinstance(out, FrameOut):
            await self.ws.send_bytes(protocol.frame_message(out))
            self.frames += 1
        else:
            await self.ws.send_str(protocol.notice_message(out))

    async def run(self) -> None:
        core, stream = self.core, None
        try:
            stream = core.admit("Synthesize")
            stream.guard = asyncio.create_task(core.guard(stream, self._on_overdue), name="viewer-guard")
            spec = await self._config()
            async with contextlib.aclosing(core.run(stream, spec, self._items())) as outputs:
                async for out in outputs:
                    await self._send(out)
            if self.ended is not None:
                await close_with(self.ws, self.ended)
            else:
                await self.ws.send_str(protocol.end_message(self.frames))
                await self.ws.close()
        except SignStreamError as exc:
            core.failed(stream, exc)
            await close_with(self.ws, exc)
        except (_Gone, ConnectionError):
            self.gone = True
        except Exception:                         # a bug: the client reads that much, the log the rest
            log.exception("viewer stream failed")
            error = SignStreamError("the server failed on this stream (a bug, logged); open a new stream")
            core.failed(stream, error)
            await close_with(self.ws, error)
        except asyncio.CancelledError:
            if not (self.gone or self.ended):
                raise                             # the server is stopping
            asyncio.current_task().uncancel()
            if self.ended is not None and not self.gone:
                await close_with(self.ws, self.ended)
        finally:
            if stream is not None:
                stream.release()
            self.task = None
