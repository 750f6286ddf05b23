"""Stream limits: how many streams a gateway takes, and how long and how far each one may go.

Plain Python, no gRPC: the gateway asks `Admission` before it opens a stream, reserves the bytes
of every frame it renders from the `FrameBudget` until the transport has taken it, and keeps one
`StreamWatch` per stream, which says when that stream has outstayed a limit and with which error.
Admission and the budget are the whole server's, over all its gateway processes (`ServerCounts`).

    admission = Admission(limits, counts)
    admission.admit()                         # Overloaded beyond max_streams; leave() when it ends
    budget = FrameBudget(limits, counts)
    await budget.reserve(nbytes)              # Overloaded when no room comes within FRAME_ROOM_WAIT_S
    budget.release(nbytes)                    # the transport took the frame
    watch = StreamWatch(limits)
    watch.waiting()                           # reading the next request
    watch.working()                           # making frames
    watch.sending()                           # a frame handed to the transport, not yet taken
    watch.overdue(time.monotonic())           # StreamTimeout once a limit has passed, else None

A client that stops reading holds one frame in the transport and LOOKAHEAD frames being made, so it
costs bounded memory; the watch ends it after `send_timeout_s`, and meanwhile the frame budget keeps
many such streams from taking more than `frame_memory_bytes` together.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from signstream.errors import InvalidArgument, LimitExceeded, Overloaded, StreamTimeout
from signstream.server_counts import EXTRACTIONS, FRAME_BYTES, STREAMS, ServerCounts

_WAITING, _WORKING, _SENDING = "waiting", "working", "sending"
SERVER_MAX_STREAMS = 512              # `serve --max-streams`: for the whole server, all its processes together
MIB = 1024 * 1024
FRAME_MEMORY_MIB = 1024               # `serve --frame-memory`
FRAME_ROOM_WAIT_S = 1.0               # a stream with no frame in hand waits this long for budget room
EXTRACTION_WAIT_S = 10.0              # an image waits this long for an extraction slot


@dataclass(frozen=True)
class StreamLimits:
    """The server's limits (README "Limits"): the first two for all its gateway processes together,
    the rest per stream. 0 turns a limit off."""

    max_streams: int = SERVER_MAX_STREAMS   # open Synthesize/Retarget streams; beyond: RESOURCE_EXHAUSTED
    frame_memory_bytes: int = FRAME_MEMORY_MIB * MIB   # frames rendered but not yet sent; beyond: RESOURCE_EXHAUSTED
    max_extractions: int = 0          # images decoded + extracted at once (0: one per two cores, at least 1)
    max_neural_streams: int = 16      # open NEURAL streams (renderer capacity on Triton); beyond: RESOURCE_EXHAUSTED
    retry_after_s: float = 1.0        # the retry hint sent with RESOURCE_EXHAUSTED
    max_signs: int = 10_000           # sign IDs (or Retarget frames) per stream
    idle_timeout_s: float = 60.0      # no request while nothing is left to send
    send_timeout_s: float = 30.0      # one frame not taken by the client for this long
    max_stream_s: float = 3600.0      # a stream's whole life

    def validated(self) -> "StreamLimits":
        for name in ("max_streams", "frame_memory_bytes", "max_extractions", "max_neural_streams", "max_signs", "idle_timeout_s", "send_timeout_s", "max_stream_s", "retry_after_s"):
            value = getattr(self, name)
            if not value >= 0:
                raise InvalidArgument(f"{name} must be 0 (off) or more, got {value}", field=name)
        return self


class Admission:
    """Counts the server's open streams (all its gateway processes, through `counts`) and refuses one
    beyond `max_streams`; safe between threads and processes."""

    def __init__(self, limits: StreamLimits, counts: ServerCounts | None = None):
        self.limits = limits
        self.counts = counts or ServerCounts()

    @property
    def open(self) -> int:
        """Streams open in this process."""
        return self.counts.mine(STREAMS)

    @property
    def server_open(self) -> int:
        """Streams open in the whole server."""
        return self.counts.total(STREAMS)

    def admit(self) -> None:
        """Count one more open stream, or raise Overloaded (with a retry hint) at the limit."""
        limit = self.limits.max_streams
        if not self.counts.try_add(STREAMS, 1, limit):
            retry = self.limits.retry_after_s
            raise Overloaded(f"the server is at its limit of {limit} open streams; retry in {retry:g} s",
                             retry_after_s=retry)

    def leave(self) -> None:
        self.counts.add(STREAMS, -1)


async def wait_for_room(take: Callable[[], bool], wait_s: float, refusal: Callable[[], Exception]) -> None:
    """Call `take` until it succeeds (backing off from 5 to 50 ms), or raise `refusal()` once `wait_s`
    has passed. Polling, because the room is freed by other processes too (ServerCounts)."""
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while not take():
        if time.monotonic() >= deadline:
            raise refusal()
        await asyncio.sleep(pause)
        pause = min(2 * pause, 0.05)


class FrameBudget:
    """Bytes of frames rendered but not yet taken by the transport, for the whole server: a stream
    reserves a frame's bytes before it renders it and releases them once the frame is sent. Frames
    drawn ahead take room only when there is some (`try_reserve`); a stream with no frame in hand
    waits up to FRAME_ROOM_WAIT_S for room (`reserve`) and is then refused, so clients that stop
    reading fill the budget, not the machine's memory."""

    def __init__(self, limits: StreamLimits, counts: ServerCounts | None = None, wait_s: float = FRAME_ROOM_WAIT_S):
        self.limits = limits
        self.counts = counts or ServerCounts()
        self.wait_s = wait_s

    @property
    def held(self) -> int:
        """Bytes this process holds."""
        return self.counts.mine(FRAME_BYTES)

    @property
    def server_held(self) -> int:
        """Bytes the whole server holds."""
        return self.counts.total(FRAME_BYTES)

    def try_reserve(self, nbytes: int) -> bool:
        return self.counts.try_add(FRAME_BYTES, nbytes, self.limits.frame_memory_bytes)

    async def reserve(self, nbytes: int) -> None:
        """Reserve `nbytes`, waiting up to `wait_s` for room; Overloaded (with a retry hint) if none
        comes, or at once if one frame is larger than the whole budget."""
        limit = self.limits.frame_memory_bytes
        retry = self.limits.retry_after_s
        if limit and nbytes > limit:
            raise Overloaded(f"one frame of this stream takes {nbytes / MIB:.1f} MiB, more than the server's "
                             f"frame memory budget of {limit / MIB:g} MiB: ask for a smaller frame or a "
                             "compressed encoding", retry_after_s=retry)
        await wait_for_room(lambda: self.try_reserve(nbytes), self.wait_s, lambda: Overloaded(
            f"the server's frame memory budget of {limit / MIB:g} MiB is held by frames not yet read by "
            f"their clients; retry in {retry:g} s", retry_after_s=retry))

    def release(self, nbytes: int) -> None:
        if nbytes:
            self.counts.add(FRAME_BYTES, -nbytes)


def default_extractions() -> int:
    """Extraction slots when none are set: one per two cores, at least one, so that Triton's work
    on clients' images leaves the other cores to the streams."""
    return max(1, (os.cpu_count() or 2) // 2)


class ExtractionSlots:
    """How many images the whole server decodes and extracts at once (a style image, a Retarget
    frame, an ExtractKeypoints image): each holds a slot for its decode and its Triton call. An image
    that finds none free waits up to `wait_s`, then Overloaded, so heavy images queue, bounded,
    instead of taking every core from the streams that render."""

    def __init__(self, limits: StreamLimits, counts: ServerCounts | None = None, wait_s: float = EXTRACTION_WAIT_S):
        self.limit = limits.max_extractions or default_extractions()
        self.retry_after_s = limits.retry_after_s
        self.counts = counts or ServerCounts()
        self.wait_s = wait_s

    @property
    def busy(self) -> int:
        return self.counts.total(EXTRACTIONS)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        retry = self.retry_after_s
        await wait_for_room(lambda: self.counts.try_add(EXTRACTIONS, 1, self.limit), self.wait_s, lambda: Overloaded(
            f"the server's {self.limit} extraction slot(s) stayed busy for {self.wait_s:g} s; retry in {retry:g} s",
            retry_after_s=retry))
        try:
            yield
        finally:
            self.counts.add(EXTRACTIONS, -1)


class StreamWatch:
    """One stream's state and since when it has been in it; `overdue` names the limit it outstayed.

    States: waiting for the client's next request, working on frames, or sending one (the
    transport holds it until the client reads). Idle and send timeouts count from entering the state,
    the duration limit from the stream's start."""

    def __init__(self, limits: StreamLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self.started = clock()
        self._state, self._since = _WAITING, self.started
        self.items = 0

    @property
    def state(self) -> str:
        return self._state

    def waiting(self) -> None:
        self._state, self._since = _WAITING, self._clock()

    def working(self) -> None:
        self._state, self._since = _WORKING, self._clock()

    def sending(self) -> None:
        self._state, self._since = _SENDING, self._clock()

    def count_item(self, what: str = "sign IDs") -> None:
        """One more sign ID (or frame) received; LimitExceeded past `max_signs`."""
        self.items += 1
        limit = self.limits.max_signs
        if limit and self.items > limit:
            raise LimitExceeded(f"this stream has sent its limit of {limit:,} {what}; everything before was "
                                "answered: open a new stream to go on", field="max_signs")

    def _deadlines(self) -> list[tuple[float, str]]:
        lim = self.limits
        out = []
        if lim.max_stream_s:
            out.append((self.started + lim.max_stream_s, "duration"))
        if self._state == _WAITING and lim.idle_timeout_s:
            out.append((self._since + lim.idle_timeout_s, "idle"))
        elif self._state == _SENDING and lim.send_timeout_s:
            out.append((self._since + lim.send_timeout_s, "send"))
        return out

    def next_check(self) -> float | None:
        """When a limit could next pass in the current state (None: never)."""
        deadlines = self._deadlines()
        return min(at for at, _ in deadlines) if deadlines else None

    def overdue(self, now: float | None = None) -> StreamTimeout | None:
        now = self._clock() if now is None else now
        passed = [why for at, why in self._deadlines() if now >= at]
        if not passed:
            return None
        lim = self.limits
        why = passed[0]
        if why == "duration":
            return StreamTimeout(f"the stream reached the server's limit of {lim.max_stream_s:g} s; "
                                 "open a new stream to go on", field="max_stream_s")
        if why == "idle":
            return StreamTimeout(f"no request for {lim.idle_timeout_s:g} s while nothing was left to send; "
                                 "the stream was closed: send sign IDs sooner or open a new stream",
                                 field="idle_timeout_s")
        return StreamTimeout(f"the client did not read a frame for {lim.send_timeout_s:g} s; the stream was "
                             "dropped: read responses as they come", field="send_timeout_s")
