"""The `renderer` model's per-stream state: what a stream's reference gives once (identity tokens and
the reference-attention bank) and its noise, keyed by the stream's ID, bounded in count and bytes.

    cache = StreamCache(max_streams=64, max_bytes=1 << 30, idle_s=60)
    state = cache.add(stream_id, StreamState(id_tokens, ref_bank, noise, width, height))
    cache.get(stream_id)          # None once ended or swept
    cache.end(stream_id)          # frames of it still in flight stop before their next step
    cache.sweep()                 # frees streams idle for idle_s (none with a frame in flight)

A stream over the bounds is refused (Overloaded) and no other stream is evicted: a stream's state is
freed only by its END, its idle timeout, or the model unloading. Two streams never share state.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from signstream.errors import Overloaded

MIB = 1024 * 1024


@dataclass
class StreamState:
    id_tokens: np.ndarray        # (1, 77, 768)
    ref_bank: np.ndarray         # (1, h * w, 320)
    noise: np.ndarray            # (1, 4, h, w): the starting latent of every frame
    width: int
    height: int
    last_used: float = 0.0
    in_flight: int = 0           # frames being made
    ended: bool = False
    frames: int = 0              # frames made

    @property
    def nbytes(self) -> int:
        return self.id_tokens.nbytes + self.ref_bank.nbytes + self.noise.nbytes


@dataclass
class StreamCache:
    max_streams: int = 64
    max_bytes: int = 1024 * MIB
    idle_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    streams: dict[int, StreamState] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.streams.values())

    def get(self, stream_id: int) -> StreamState | None:
        return self.streams.get(stream_id)

    def add(self, stream_id: int, state: StreamState) -> StreamState:
        if stream_id in self.streams:
            raise ValueError(f"stream {stream_id} already has its state")
        if len(self.streams) >= self.max_streams or self.nbytes + state.nbytes > self.max_bytes:
            raise Overloaded(f"the renderer already holds {len(self.streams)} streams ({self.nbytes / MIB:.1f} MiB; "
                             f"its limits are {self.max_streams} streams and {self.max_bytes / MIB:g} MiB): end a "
                             "stream or retry later", retry_after_s=1.0)
        state.last_used = self.clock()
        self.streams[stream_id] = state
        return state

    def end(self, stream_id: int) -> bool:
        """Free the stream's state; its frames still in flight see `ended` and stop. Whether it had any."""
        state = self.streams.pop(stream_id, None)
        if state is not None:
            state.ended = True
        return state is not None

    def sweep(self) -> list[int]:
        """Free the streams idle for idle_s with no frame in flight; their IDs."""
        now = self.clock()
        idle = [sid for sid, s in self.streams.items() if not s.in_flight and now - s.last_used >= self.idle_s]
        for sid in idle:
            self.end(sid)
        return idle
