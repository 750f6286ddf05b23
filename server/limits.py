"""Stream limits: how many streams a gateway takes, and how long and how far each one may go.

Plain Python, no gRPC: the gateway asks `Admission` before it opens a stream and keeps one
`StreamWatch` per stream, which says when that stream has outstayed a limit and with which error.

    admission = Admission(limits)
    admission.admit()                         # Overloaded beyond max_streams; leave() when it ends
    watch = StreamWatch(limits)
    watch.waiting()                           # reading the next request
    watch.working()                           # making frames
    watch.sending()                           # a frame handed to the transport, not yet taken
    watch.overdue(time.monotonic())           # StreamTimeout once a limit has passed, else None

A client that stops reading holds one frame in the transport and LOOKAHEAD frames being made, so it
costs bounded memory; the watch ends it after `send_timeout_s`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from signstream.errors import InvalidArgument, LimitExceeded, Overloaded, StreamTimeout

_WAITING, _WORKING, _SENDING = "waiting", "working", "sending"
SERVER_MAX_STREAMS = 512              # `serve --max-streams`: for the whole server, split over its processes


@dataclass(frozen=True)
class StreamLimits:
    """Per-gateway-process limits (README "Limits"). 0 turns a limit off."""

    max_streams: int = 256            # open Synthesize/Retarget streams; beyond: RESOURCE_EXHAUSTED
    retry_after_s: float = 1.0        # the retry hint sent with RESOURCE_EXHAUSTED
    max_signs: int = 10_000           # sign IDs (or Retarget frames) per stream
    idle_timeout_s: float = 60.0      # no request while nothing is left to send
    send_timeout_s: float = 30.0      # one frame not taken by the client for this long
    max_stream_s: float = 3600.0      # a stream's whole life

    def validated(self) -> "StreamLimits":
        for name in ("max_streams", "max_signs", "idle_timeout_s", "send_timeout_s", "max_stream_s", "retry_after_s"):
            value = getattr(self, name)
            if not value >= 0:
                raise InvalidArgument(f"{name} must be 0 (off) or more, got {value}", field=name)
        return self


class Admission:
    """Counts this process's open streams and refuses one beyond `max_streams` (thread-safe)."""

    def __init__(self, limits: StreamLimits):
        self.limits = limits
        self._open = 0
        self._lock = threading.Lock()

    @property
    def open(self) -> int:
        return self._open

    def admit(self) -> None:
        """Count one more open stream, or raise Overloaded (with a retry hint) at the limit."""
        with self._lock:
            limit = self.limits.max_streams
            if limit and self._open >= limit:
                retry = self.limits.retry_after_s
                raise Overloaded(f"the server is at its limit of {limit} open streams; retry in {retry:g} s "
                                 "(or spread streams over more gateway processes)", retry_after_s=retry)
            self._open += 1

    def leave(self) -> None:
        with self._lock:
            self._open -= 1


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
