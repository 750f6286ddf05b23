"""The streaming core: one Synthesize, Retarget or Gesture stream's rules, for every transport. Plain asyncio and
domain types; a transport (the gRPC servicer, next the WebSocket viewer) turns its messages into
items, hands them to `StreamCore.run` and sends the outputs it yields.

    core = StreamCore(lexicon, extractor, executor, metrics, limits, max_frame_bytes, counts)
    stream = core.admit("Synthesize")                        # Overloaded beyond the server's max_streams
    try:
        stream.guard = asyncio.create_task(core.guard(stream, on_overdue))
        async for out in core.run(stream, spec, items):      # FrameOut / NoticeOut
            await send(out)
    finally:
        stream.release()

`items` yields the stream's items after its config (sign IDs, encoded video frames, or audio samples
and timed words) and may yield
a SignStreamError for a message the transport could not use (a second config, bytes that do not
parse): the stream then ends with that error after every frame of the items before it. The core
owns the rules: the bounded read-ahead queue (a client that floods is slowed by the transport's flow
control, not buffered), limits (signs per stream; idle, send and lifetime timeouts through the
guard), the server-wide stream count and NEURAL renderer slots, frame memory budget and extraction slots (shared by the gateway
processes through `counts`; every client image is scaled down for the models and extracted under a slot), REALTIME pacing (a NEURAL stream's playout delay first), the smooth-join hold deadline, the end-of-stream flush and the metrics.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor

from signstream.errors import ShuttingDown, SignStreamError
from signstream.extract.base import FrameExtractor
from signstream.extract.bounded import BoundedExtractor
from signstream.metrics import GatewayMetrics
from signstream.lexicon import Lexicon
from signstream.limits import Admission, ExtractionSlots, FrameBudget, StreamLimits, StreamWatch
from signstream.names import Pacing
from signstream.outputs import FrameOut, Output
from signstream.pacing import Pacer
from signstream.render.neural_backend import NeuralBackend, tritons_of
from signstream.server_counts import NEURAL_STREAMS, ServerCounts
from signstream.gesture.session import open_gesture
from signstream.gesture.spec import GestureSpec
from signstream.session import open_retarget, open_synthesis
from signstream.spec import SessionSpec

REQUEST_QUEUE = 64          # sign IDs / frames / audio chunks read ahead of synthesis, per stream
ITEM_NAMES = {"Synthesize": "sign IDs", "Retarget": "frames", "Gesture": "audio chunks and words"}
_END = object()
_LATE = object()

# What the transport does when the guard ends a stream: (error, suspended_in_send). Suspended in a send
# the client does not take, the transport can only set the status its call ends with; otherwise it
# ends the call now (the core then cancels the task running the stream).
OnOverdue = Callable[[SignStreamError, bool], Awaitable[None]]


async def next_item(queue: asyncio.Queue, hold_s: float | None):
    """The queue's next item, or LATE when `hold_s` passes first (the item is not lost: the get is
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


LATE = _LATE


class OpenStream:
    """What an admitted stream holds, released exactly once: its admission slot, its guard and reader
    tasks, its session and its place in the open-streams gauge."""

    def __init__(self, admission: Admission, metrics: GatewayMetrics, rpc: str, watch: StreamWatch):
        admission.admit()                       # Overloaded beyond max_streams
        self._admission, self._metrics, self.rpc = admission, metrics, rpc
        metrics.stream_opened(rpc)
        self.watch = watch
        self.guard: asyncio.Task | None = None
        self.reader: asyncio.Task | None = None
        self.session = None
        self.runner = asyncio.current_task()    # the task running the stream: the guard cancels it
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
        # finished stream (its session, its transport's call state) is freed at once, not at the next
        # full garbage collection.
        self.guard = self.reader = self.session = self.runner = None
        self._admission.leave()
        self._metrics.stream_closed(self.rpc)


class StreamCore:
    """The streams of one gateway process, whatever transport they arrive on."""

    def __init__(self, lexicon: Lexicon, extractor: FrameExtractor, executor: Executor, metrics: GatewayMetrics,
                 limits: StreamLimits = StreamLimits(), max_frame_bytes: int | None = None,
                 counts: ServerCounts | None = None, neural: NeuralBackend | None = None):
        """`neural`: where NEURAL streams render; by default the Tritons `extractor` talks to (none for
        in-process extraction: NEURAL configs are then refused, naming why)."""
        self.lexicon = lexicon
        self.executor = executor
        self.metrics = metrics
        self.limits = limits.validated()
        counts = counts or ServerCounts()           # this process alone, unless serve shares one table
        self.admission = Admission(self.limits, counts)
        self.neural = neural or NeuralBackend.for_extractor(
            extractor, max_streams=self.limits.max_neural_streams, counts=counts,
            retry_after_s=self.limits.retry_after_s, observe=metrics.neural)
        metrics.track_neural(lambda: counts.total(NEURAL_STREAMS), self.limits.max_neural_streams)
        self.budget = FrameBudget(self.limits, counts)
        slots = ExtractionSlots(self.limits, counts)
        self.extractor = BoundedExtractor(extractor, slots)   # clients' images: scaled down, under a slot
        self.triton_urls = tritons_of(extractor)      # where aqgt gesture sources run (none in-process)
        self.max_frame_bytes = max_frame_bytes      # the send limit: a stream whose frames could pass it is refused
        metrics.track_server(lambda: self.admission.server_open, lambda: self.budget.held,
                             lambda: self.budget.server_held, self.limits.frame_memory_bytes,
                             lambda: slots.busy, slots.limit)
        self.draining = False

    def admit(self, rpc: str) -> OpenStream:
        """A slot for a new stream ("Synthesize", "Retarget" or "Gesture"); Overloaded when none is free,
        ShuttingDown once `drain` has begun."""
        if self.draining:
            raise ShuttingDown("the server is shutting down and takes no new streams; open it on another "
                               "server or retry once this one is back")
        return OpenStream(self.admission, self.metrics, rpc, StreamWatch(self.limits))

    async def drain(self, grace_s: float) -> int:
        """Take no new streams and wait up to `grace_s` for this process's open ones to end; how many
        are still open then."""
        self.draining = True
        deadline = time.monotonic() + grace_s
        while self.admission.open and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.admission.open

    async def guard(self, stream: OpenStream, on_overdue: OnOverdue) -> None:
        """End the stream once it outstays a limit: idle, too long, or its client stopped reading.

        Wakes at the next deadline (and at least every quarter of the shortest timeout, so a state
        entered meanwhile is not checked late). A stream waiting for requests or frames is ended at
        once and the task running it cancelled. One suspended in a send the client does not take
        cannot be reached (the send is the transport's): its resources are released here, and its
        status follows the frame the transport holds whenever the client reads or goes away."""
        runner = stream.runner
        watch = stream.watch
        step = min((t for t in (self.limits.idle_timeout_s, self.limits.send_timeout_s) if t), default=60.0) / 4
        while (error := watch.overdue()) is None:
            at = watch.next_check()
            await asyncio.sleep(max(0.0, step if at is None else min(step, at - time.monotonic())))
        self.metrics.error(error.code)
        sending = watch.state == "sending"
        await on_overdue(error, sending)
        if sending:
            stream.release()
        elif runner is not None:
            runner.cancel()

    def _open(self, rpc: str, spec: SessionSpec | GestureSpec):
        if rpc == "Gesture":
            return open_gesture(spec, self.extractor, self.executor, self.metrics.stage, self.max_frame_bytes,
                                self.budget, self.neural, self.triton_urls)
        if rpc == "Synthesize":
            return open_synthesis(spec, self.lexicon, self.extractor, self.executor, self.metrics.stage,
                                  self.max_frame_bytes, self.budget, self.neural)
        return open_retarget(spec, self.extractor, self.executor, self.metrics.stage, self.max_frame_bytes,
                             self.budget, self.neural)

    async def run(self, stream: OpenStream, spec: SessionSpec | GestureSpec, items: AsyncIterator) -> AsyncIterator[Output]:
        """The stream's outputs: its session opened on `spec`, then item by item from `items` (read
        ahead in a task of its own), then what the session still owes once `items` ends. Raises the
        SignStreamError that ends the stream (after every frame before it)."""
        stream.watch.working()
        stream.session = await self._open(stream.rpc, spec)
        queue: asyncio.Queue = asyncio.Queue(REQUEST_QUEUE)
        stream.reader = asyncio.create_task(_read_ahead(items, queue), name=f"{stream.rpc}-reader")
        async with contextlib.aclosing(self._respond(stream, spec, queue)) as outputs:
            async for out in outputs:
                stream.watch.sending()
                yield out
                if stream.released:          # dropped by the guard while this send was pending
                    return
                stream.watch.working()

    def failed(self, stream: OpenStream | None, error: SignStreamError) -> None:
        """Count the error that ends a stream (refused, or ended by its client's input) and release
        the stream at once, so that its reader stops before the transport reads what is left."""
        self.metrics.error(error.code)
        if stream is not None:
            stream.release()

    async def _respond(self, stream: OpenStream, spec: SessionSpec | GestureSpec,
                       queue: asyncio.Queue) -> AsyncIterator[Output]:
        """What the session makes of each item; what it holds back for the next item goes out when that
        item is late, and before the client's own error (a second config, the sign limit) ends the
        stream, so every frame of the items before it is sent."""
        session, watch, rpc = stream.session, stream.watch, stream.rpc
        pacer = None            # REALTIME: made at the first frame, when the lexicon's fps is known
        what = ITEM_NAMES[rpc]
        pacing = spec.session.pacing if isinstance(spec, GestureSpec) else spec.pacing
        loop = asyncio.get_running_loop()
        holding, due = None, 0.0   # the frames the session holds back, and when they go out anyway
        while True:
            held = session.held()
            if held is None:
                holding = None
            elif held[0] != holding:  # new ones: they wait their playing time from now, when all before
                holding, due = held[0], loop.time() + held[1]   # them is sent; notices do not reset it
            watch.waiting()
            item = await next_item(queue, None if holding is None else max(0.0, due - loop.time()))
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
                    if pacing == Pacing.REALTIME:
                        if pacer is None and (playout := session.playout_wait()) > 0:
                            await asyncio.sleep(playout)    # NEURAL: start with the next batch rendered too
                        pacer = pacer or Pacer(session.fps)
                        self.metrics.lateness(await pacer.wait())
                    if received is not None:
                        self.metrics.first_frame(time.monotonic() - received)
                        received = None
                    self.metrics.frame_sent(rpc, out.encoding)
                else:
                    self.metrics.notice(out.code)
                yield out
            if error is not None:
                raise error
            if item is _END:
                return


async def _read_ahead(items: AsyncIterator, queue: asyncio.Queue) -> None:
    """Every item into the queue with the time it arrived, then _END; an error item ends the reading."""
    try:
        async for item in items:
            if isinstance(item, SignStreamError):
                await queue.put(item)
                return
            await queue.put((item, time.monotonic()))
    finally:
        await queue.put(_END)
