"""The SignStream gRPC service (DESIGN §5): protos in, domain calls, protos out. Nothing else.

Synthesize and Retarget read their requests in a task of their own while frames are written, so
sign IDs keep arriving during synthesis; the queue between them is bounded (a client that floods
sign IDs is slowed by gRPC flow control, not buffered without end). Responses are yielded one by
one: grpc.aio writes each before asking for the next, so a slow reader holds back synthesis
instead of growing memory. A client that goes away cancels the handler, which cancels the reader,
the frames being rendered and any extraction in flight.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor

from signstream.errors import InvalidArgument, MalformedMessage, SignStreamError
from signstream.extract.base import FrameExtractor
from signstream.gateway import convert
from signstream.gateway.metrics import GatewayMetrics
from signstream.gateway.status import abort, drain, end_with
from signstream.gateway.wire import Malformed
from signstream.lexicon import Lexicon
from signstream.limits import Admission, StreamLimits, StreamWatch
from signstream.session import FrameOut, Output, Pacer, SessionSpec, open_retarget, open_synthesis
from signstream.style import decode_style_image
from signstream.v1 import signstream_pb2 as pb
from signstream.v1 import signstream_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

REQUEST_QUEUE = 64          # sign IDs / frames read ahead of synthesis, per stream
MAX_LIST_LIMIT = 10_000
CANCEL_SETTLE_S = 0.05      # see _first_config
_END = object()
_LATE = object()


async def _next_item(queue: asyncio.Queue, hold_s: float | None):
    """The queue's next item, or _LATE when `hold_s` passes first (the item is not lost: the get is
    not cancelled but waited for again on the next call, through the queue)."""
    if hold_s is None or not queue.empty():
        return await queue.get()
    getter = asyncio.ensure_future(queue.get())
    try:
        done, _ = await asyncio.wait({getter}, timeout=hold_s)
        if done:
            return getter.result()
    finally:
        if not getter.done():
            getter.cancel()
    await asyncio.wait({getter})    # raises nothing of the getter's; this task's own cancellation still does
    if not getter.cancelled():      # it got an item while being cancelled: hand it on, not lose it
        return getter.result()
    return _LATE


def output_to_proto(out: Output) -> pb.SynthesizeResponse:
    if isinstance(out, FrameOut):
        return convert.frame_to_proto(out.index, out.sign_id, out.kind, out.image, out.encoding,
                                      out.width, out.height, out.keypoints, out.fps)
    return convert.notice_to_proto(out.code, out.sign_id, out.message)


class _OpenStream:
    """What an admitted stream holds, released exactly once: its admission slot, its guard and reader
    tasks, its session and its place in the open-streams gauge."""

    def __init__(self, admission: Admission, metrics: GatewayMetrics, rpc: str, watch: StreamWatch):
        admission.admit()                       # Overloaded beyond max_streams
        self._admission, self._metrics, self._rpc = admission, metrics, rpc
        metrics.stream_opened(rpc)
        self.watch = watch
        self.guard: asyncio.Task | None = None
        self.reader: asyncio.Task | None = None
        self.session = None
        self.released = False

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        for task in (self.guard, self.reader):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if self.session is not None:
            self.session.close()
        # A cancelled task keeps its CancelledError, whose traceback holds the task's frame, whose
        # locals hold this stream: dropping the tasks and the session here breaks that cycle, so a
        # finished stream (its session, its gRPC call state) is freed at once, not at the next full
        # garbage collection.
        self.guard = self.reader = self.session = None
        self._admission.leave()
        self._metrics.stream_closed(self._rpc)


class SignStreamService(pb_grpc.SignStreamServicer):
    def __init__(self, lexicon: Lexicon, extractor: FrameExtractor, executor: Executor, metrics: GatewayMetrics,
                 limits: StreamLimits = StreamLimits(), max_frame_bytes: int | None = None):
        self.lexicon = lexicon
        self.extractor = extractor
        self.executor = executor
        self.metrics = metrics
        self.limits = limits.validated()
        self.admission = Admission(self.limits)
        self.max_frame_bytes = max_frame_bytes      # the send limit: a stream whose frames could pass it is refused

    # -- streams --------------------------------------------------------------------------------
    async def _first_config(self, requests: AsyncIterator, rpc: str) -> pb.SessionConfig:
        first = await anext(requests, None)
        if first is None:
            # No request at all: the client half-closed, or cancelled. A cancelled call is cancelled here
            # (grpc cancels the handler at the loop's next turns), so a client that went away is not an error.
            await asyncio.sleep(CANCEL_SETTLE_S)
        if isinstance(first, Malformed):
            raise MalformedMessage(f"{rpc}: the first message {first.describe()}")
        if first is None or first.WhichOneof("item") != "config":
            raise InvalidArgument(f"{rpc}: the first message must be a SessionConfig (got "
                                  f"{'nothing' if first is None else first.WhichOneof('item')})", field="config")
        return first.config

    async def _read_rest(self, requests: AsyncIterator, field: str, queue: asyncio.Queue) -> None:
        """Every later request's `field` into the queue, then _END; a second config or a message that
        does not parse is an error, which ends the stream after everything before it."""
        try:
            position = 1                        # the config was message 1
            async for request in requests:
                position += 1
                if isinstance(request, Malformed):
                    await queue.put(MalformedMessage(f"{request.describe(position)}; the stream ends here"))
                    return
                item = request.WhichOneof("item")
                if item == "config":
                    await queue.put(InvalidArgument("a second SessionConfig was sent; a stream has one, first",
                                                    field="config"))
                    return
                await queue.put((getattr(request, field), time.monotonic()))
        finally:
            await queue.put(_END)

    async def _guard(self, context, stream: "_OpenStream", handler: asyncio.Task) -> None:
        """End the stream once it outstays a limit: idle, too long, or its client stopped reading.

        Wakes at the next deadline (and at least every quarter of the shortest timeout, so a state
        entered meanwhile is not checked late). A handler waiting for requests or frames gets the
        status at once and is cancelled. One suspended in a write the client does not take cannot be
        reached (the write is grpc's): its resources are released here, and its status follows the
        frame grpc holds (one frame of memory) whenever the client reads or goes away."""
        watch = stream.watch
        step = min((t for t in (self.limits.idle_timeout_s, self.limits.send_timeout_s) if t), default=60.0) / 4
        while (error := watch.overdue()) is None:
            at = watch.next_check()
            await asyncio.sleep(max(0.0, step if at is None else min(step, at - time.monotonic())))
        self.metrics.error(error.code)
        if watch.state == "sending":
            end_with(context, error)
            stream.release()
        else:
            await abort(context, error, raise_=False)
            handler.cancel()

    async def _stream(self, rpc: str, field: str, request_iterator, context, opener) -> AsyncIterator:
        requests = aiter(request_iterator)
        stream = None
        try:
            stream = _OpenStream(self.admission, self.metrics, rpc, StreamWatch(self.limits))
            stream.guard = asyncio.create_task(self._guard(context, stream, asyncio.current_task()),
                                               name=f"{rpc}-guard")
            config = await self._first_config(requests, rpc)
            stream.watch.working()
            spec = convert.spec_from_config(config)
            stream.session = await opener(spec)
            queue: asyncio.Queue = asyncio.Queue(REQUEST_QUEUE)
            stream.reader = asyncio.create_task(self._read_rest(requests, field, queue), name=f"{rpc}-reader")
            async with contextlib.aclosing(self._respond(rpc, spec, stream.session, queue, stream.watch)) as responses:
                async for response in responses:
                    stream.watch.sending()
                    yield response
                    if stream.released:          # dropped by the guard while this write was pending
                        return
                    stream.watch.working()
        except SignStreamError as exc:
            self.metrics.error(exc.code)
            if stream is not None:
                stream.release()                 # stops the reader: drain reads the requests now
            await drain(requests)                # the client may still be writing: see status.drain
            end_with(context, exc)               # the status goes out as the handler returns
        finally:
            if stream is not None:
                stream.release()

    async def _respond(self, rpc: str, spec: SessionSpec, session, queue: asyncio.Queue,
                       watch: StreamWatch) -> AsyncIterator[pb.SynthesizeResponse]:
        """The stream's responses, item by item from the queue the reader fills, then what the
        session still owes once the client has sent everything. What the session holds back for the
        next item goes out when that item is late, and before the client's own error (a second config,
        the sign limit) ends the stream, so every frame of the signs before it is sent."""
        pacer = None            # REALTIME: made at the first frame, when the lexicon's fps is known
        what = "sign IDs" if rpc == "Synthesize" else "frames"
        loop = asyncio.get_running_loop()
        holding, due = None, 0.0   # the frames the session holds back, and when they go out anyway
        while True:
            held = session.held()
            if held is None:
                holding = None
            elif held[0] != holding:  # new ones: they wait their playing time from now, when all before
                holding, due = held[0], loop.time() + held[1]   # them is sent; notices do not reset it
            watch.waiting()
            item = await _next_item(queue, None if holding is None else max(0.0, due - loop.time()))
            watch.working()
            error = item if isinstance(item, SignStreamError) else None
            if item is not _LATE and item is not _END and error is None:
                try:
                    watch.count_item(what)
                except SignStreamError as exc:
                    error = exc
            if item is _LATE or item is _END or error is not None:
                outputs, received = session.finish(), None
            else:
                value, received = item
                outputs = session.add(value)
            async for out in outputs:
                if isinstance(out, FrameOut):
                    if spec.pacing == "realtime":
                        pacer = pacer or Pacer(session.fps)
                        self.metrics.lateness(await pacer.wait())
                    if received is not None:
                        self.metrics.first_frame(time.monotonic() - received)
                        received = None
                    self.metrics.frame_sent(rpc, out.encoding)
                else:
                    self.metrics.notice(out.code)
                yield output_to_proto(out)
            if error is not None:
                raise error
            if item is _END:
                return

    # grpc.aio streams a handler's output only when the handler itself is an async generator.
    async def Synthesize(self, request_iterator, context):
        opener = lambda spec: open_synthesis(spec, self.lexicon, self.extractor, self.executor,  # noqa: E731
                                             self.metrics.stage, self.max_frame_bytes)
        async for response in self._stream("Synthesize", "sign_id", request_iterator, context, opener):
            yield response

    async def Retarget(self, request_iterator, context):
        opener = lambda spec: open_retarget(spec, self.extractor, self.executor, self.metrics.stage,  # noqa: E731
                                            self.max_frame_bytes)
        async for response in self._stream("Retarget", "image", request_iterator, context, opener):
            yield response

    @staticmethod
    def _parsed(request) -> None:
        if isinstance(request, Malformed):
            raise MalformedMessage(f"the request {request.describe()}")

    # -- unary ----------------------------------------------------------------------------------
    async def ExtractKeypoints(self, request: pb.ExtractRequest, context) -> pb.Keypoints:
        try:
            self._parsed(request)
            rgb = await asyncio.to_thread(decode_style_image, request.image, "image")
            frame = await self.extractor.extract(rgb)
        except SignStreamError as exc:
            self.metrics.error(exc.code)
            await abort(context, exc)
        return convert.keypoints_to_proto(frame)

    async def ListSigns(self, request: pb.ListSignsRequest, context) -> pb.ListSignsResponse:
        try:
            self._parsed(request)
            limit = min(request.limit or MAX_LIST_LIMIT, MAX_LIST_LIMIT)
            ids = await asyncio.to_thread(self.lexicon.list_signs, request.prefix, limit)
        except SignStreamError as exc:
            self.metrics.error(exc.code)
            await abort(context, exc)
        return pb.ListSignsResponse(sign_ids=ids)

