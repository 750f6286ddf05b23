"""The SignStream gRPC service (protos/signstream/v1): protos in, domain calls, protos out. Nothing else.

Synthesize, Retarget and Gesture hand their requests, converted, to the streaming core (signstream.streaming),
which owns every stream rule, and yield its outputs as protos one by one: grpc.aio writes each before
asking for the next, so a slow reader holds back synthesis instead of growing memory. A client that
goes away cancels the handler, which cancels the core's reader, the frames being rendered and any
extraction in flight. Errors map to status codes in gateway/status.py; a refused stream first drains
what the client is still sending (status.drain).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from signstream.errors import InvalidArgument, MalformedMessage, SignStreamError
from signstream.extract.bounded import extract_encoded
from signstream.gateway import convert
from signstream.gateway.status import abort, drain, end_with
from signstream.gateway.wire import Malformed
from signstream.outputs import FrameOut, Output
from signstream.streaming import StreamCore
from signstream.v1 import signstream_pb2 as pb
from signstream.v1 import signstream_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

MAX_LIST_LIMIT = 10_000
CANCEL_SETTLE_S = 0.05      # see _first_config
CONFIGS = {"Synthesize": "SessionConfig", "Retarget": "SessionConfig", "Gesture": "GestureConfig"}


def output_to_proto(out: Output) -> pb.SynthesizeResponse:
    if isinstance(out, FrameOut):
        return convert.frame_to_proto(out.index, out.sign_id, out.kind, out.image, out.encoding,
                                      out.width, out.height, out.keypoints, out.fps, out.seed, out.renderer,
                                      out.neural_steps)
    return convert.notice_to_proto(out.code, out.sign_id, out.message)


class _Items:
    """A later request -> the streaming core's item: a sign ID or a Text (Synthesize), an image
    (Retarget), audio samples or a Word (Gesture)."""

    def __init__(self, rpc: str):
        self.rpc = rpc
        self.audio_chunks = 0

    def __call__(self, request):
        if self.rpc == "Synthesize":
            return convert.synthesize_item(request)
        if self.rpc == "Retarget":
            return request.image
        if request.WhichOneof("item") == "audio":
            self.audio_chunks += 1
        return convert.gesture_item(request, self.audio_chunks - 1)


async def _items(requests: AsyncIterator, rpc: str) -> AsyncIterator:
    """Every later request's item, as the streaming core takes them: a second config, a message that
    does not parse or an item that cannot be used (audio that is not PCM16) becomes the error that
    ends the stream."""
    position = 1                                # the config was message 1
    item = _Items(rpc)
    async for request in requests:
        position += 1
        if isinstance(request, Malformed):
            yield MalformedMessage(f"{request.describe(position)}; the stream ends here")
            return
        if request.WhichOneof("item") == "config":
            yield InvalidArgument(f"a second {CONFIGS[rpc]} was sent; a stream has one, first", field="config")
            return
        try:
            yield item(request)
        except SignStreamError as exc:
            yield exc
            return


class SignStreamService(pb_grpc.SignStreamServicer):
    def __init__(self, core: StreamCore):
        self.core = core

    # -- streams --------------------------------------------------------------------------------
    async def _first_config(self, requests: AsyncIterator, rpc: str) -> pb.SessionConfig | pb.GestureConfig:
        first = await anext(requests, None)
        if first is None:
            # No request at all: the client half-closed, or cancelled. A cancelled call is cancelled here
            # (grpc cancels the handler at the loop's next turns), so a client that went away is not an error.
            await asyncio.sleep(CANCEL_SETTLE_S)
        if isinstance(first, Malformed):
            raise MalformedMessage(f"{rpc}: the first message {first.describe()}")
        if first is None or first.WhichOneof("item") != "config":
            raise InvalidArgument(f"{rpc}: the first message must be a {CONFIGS[rpc]} (got "
                                  f"{'nothing' if first is None else first.WhichOneof('item')})", field="config")
        return first.config

    async def _stream(self, rpc: str, request_iterator, context) -> AsyncIterator:
        requests = aiter(request_iterator)
        stream = None

        async def on_overdue(error: SignStreamError, sending: bool) -> None:
            if sending:
                end_with(context, error)
            else:
                await abort(context, error, raise_=False)

        try:
            stream = self.core.admit(rpc)
            stream.guard = asyncio.create_task(self.core.guard(stream, on_overdue), name=f"{rpc}-guard")
            config = await self._first_config(requests, rpc)
            spec = convert.gesture_spec_from_config(config) if rpc == "Gesture" else convert.spec_from_config(config)
            async with contextlib.aclosing(self.core.run(stream, spec, _items(requests, rpc))) as outputs:
                async for out in outputs:
                    yield output_to_proto(out)
        except SignStreamError as exc:
            self.core.failed(stream, exc)        # stops the reader: drain reads the requests now
            await drain(requests)                # the client may still be writing: see status.drain
            end_with(context, exc)               # the status goes out as the handler returns
        finally:
            if stream is not None:
                stream.release()

    # grpc.aio streams a handler's output only when the handler itself is an async generator.
    async def Synthesize(self, request_iterator, context):
        async for response in self._stream("Synthesize", request_iterator, context):
            yield response

    async def Retarget(self, request_iterator, context):
        async for response in self._stream("Retarget", request_iterator, context):
            yield response

    async def Gesture(self, request_iterator, context):
        async for response in self._stream("Gesture", request_iterator, context):
            yield response

    @staticmethod
    def _parsed(request) -> None:
        if isinstance(request, Malformed):
            raise MalformedMessage(f"the request {request.describe()}")

    # -- unary ----------------------------------------------------------------------------------
    async def ExtractKeypoints(self, request: pb.ExtractRequest, context) -> pb.Keypoints:
        try:
            self._parsed(request)
            frame, _ = await extract_encoded(self.core.extractor, request.image, "image", "image")
        except SignStreamError as exc:
            self.core.metrics.error(exc.code)
            await abort(context, exc)
        return convert.keypoints_to_proto(frame)

    async def ListSigns(self, request: pb.ListSignsRequest, context) -> pb.ListSignsResponse:
        try:
            self._parsed(request)
            limit = min(request.limit or MAX_LIST_LIMIT, MAX_LIST_LIMIT)
            ids = await asyncio.to_thread(self.core.lexicon.list_signs, request.prefix, limit)
        except SignStreamError as exc:
            self.core.metrics.error(exc.code)
            await abort(context, exc)
        return pb.ListSignsResponse(sign_ids=ids)

