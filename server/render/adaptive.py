"""A NEURAL stream's renderer: the model renderer it asked for, and, for REALTIME streams, the ladder
it steps down when rendering falls behind real time and back up when it catches up.

    ladder = neural_ladder("", steps=4, realtime=True)    # 4, 2, 1 steps; 1 step at half size; skeleton
    renderer = AdaptiveRenderer(512, 512, ladder, make=lambda w, h: NeuralRenderer(w, h, ...), fps=25)
    pictures = await renderer.render(frames)               # the frame writer's model-renderer seam
    made = renderer.made.popleft()                         # per frame, in order: what drew it, any Notice

The order is fixed: fewer sampler steps first, then half the resolution (drawn by the model at half
size and scaled up to the stream's canvas), then SKELETON frames. Each step down comes with a
RENDERER_DEGRADED Notice saying what and why; each step up with RENDERER_RECOVERED. Frames are never
reordered and the stream never stalls on a decision: the level is chosen when a batch is asked for.

Whether it keeps up is measured as the renderer's busy time per frame: the time at least one of the
stream's batches was in flight, over the frames it gave, across the last WINDOW batches at the
current level. (Latency alone would mislead: with two batches in flight a frame may take longer
than its playing time and the stream still keep up.) Behind: over the frame period for two windows
in a row. Caught up: under RECOVER_AT of the period for `hold` batches; a step up that falls behind
again within FLAP_S doubles `hold` (up to MAX_HOLD), so a stream at its edge does not flap.
ASAP streams have a ladder of one level: they never degrade, they go as fast as the renderer can.
"""
from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from signstream.names import Renderer as RendererName
from signstream.render.renderer import FrameObserver, Renderer, SkeletonRenderer, ignore_frame
from signstream.render.neural import IN_FLIGHT

WINDOW = 2                  # batches a measurement spans
BEHIND_AT = 1.0             # busy time per frame over this many frame periods: behind
RECOVER_AT = 0.5            # under this many: room to step back up
HOLD = 8                    # batches with room before a step up
MAX_HOLD = 64
FLAP_S = 5.0                # a step down this soon after a step up doubles the hold
SIDE_MULTIPLE = 8

DEGRADED = "RENDERER_DEGRADED"
RECOVERED = "RENDERER_RECOVERED"


@dataclass(frozen=True)
class Level:
    """One rung: the model at `scale` of the canvas with `steps` sampler steps, or the skeleton."""

    renderer: str                # RendererName.NEURAL or SKELETON
    steps: int = 0               # diffusion sampler steps (0: one pass, or the skeleton)
    scale: float = 1.0

    def describe(self) -> str:
        if self.renderer == RendererName.SKELETON:
            return "SKELETON frames"
        what = f"{self.steps} sampler step{'s' if self.steps != 1 else ''}" if self.steps else "one pass"
        return f"NEURAL, {what}" + ("" if self.scale == 1.0 else f", at {self.scale:g}x the resolution")


def neural_ladder(model: str, steps: int, realtime: bool) -> tuple[Level, ...]:
    """The levels of a NEURAL stream, best first: only the asked one unless REALTIME."""
    diffusion = model == ""
    first = Level(RendererName.NEURAL, steps if diffusion else 0)
    if not realtime:
        return (first,)
    levels = [first]
    s = steps
    while diffusion and s > 1:
        s //= 2
        levels.append(Level(RendererName.NEURAL, s))
    levels.append(Level(RendererName.NEURAL, 1 if diffusion else 0, 0.5))
    levels.append(Level(RendererName.SKELETON))
    return tuple(levels)


@dataclass(frozen=True)
class Made:
    """What drew one frame, and the Notice (code, message) that goes out before it, if any."""

    renderer: str
    steps: int
    notice: tuple[str, str] | None = None


def _scaled_side(side: int, scale: float) -> int:
    return max(SIDE_MULTIPLE, int(side * scale) // SIDE_MULTIPLE * SIDE_MULTIPLE)


class _Inner:
    """A model renderer at one size and the batches it has in flight (closed once none is)."""

    def __init__(self, renderer: Renderer):
        self.renderer = renderer
        self.in_flight = 0
        self.retired = False

    def retire(self) -> None:
        self.retired = True
        if self.in_flight == 0:
            self.renderer.close()


class AdaptiveRenderer(Renderer):
    name = RendererName.NEURAL
    asynchronous = True
    max_batch = IN_FLIGHT

    def __init__(self, width: int, height: int, ladder: Sequence[Level], make: Callable[[int, int], Renderer],
                 fps: float, *, noise: bool = False, observe: FrameObserver | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        super().__init__(width, height)
        self.ladder = tuple(ladder)
        self.make = make
        self.period = 1.0 / fps
        self.noise = noise
        self.observe = observe or ignore_frame
        self.clock = clock
        self.made: collections.deque[Made] = collections.deque()
        self.level = 0
        self._next = 0
        self._why = ""
        self._inners: dict[float, _Inner] = {}
        self._skeleton = SkeletonRenderer(width, height)
        # busy time: the union of the intervals with one or more batches in flight
        self._in_flight = 0
        self._busy = 0.0
        self._busy_from = 0.0
        self._frames_done = 0
        self._history: collections.deque[tuple[float, int]] = collections.deque(maxlen=WINDOW + 1)
        self._behind = self._room = 0
        self._hold = HOLD
        self._stepped_up_at: float | None = None
        self.changes = 0

    # -- measurement --------------------------------------------------------------------------------
    def _busy_now(self, now: float) -> float:
        return self._busy + (now - self._busy_from if self._in_flight else 0.0)

    def _started(self) -> None:
        if self._in_flight == 0:
            self._busy_from = self.clock()
        self._in_flight += 1

    def _finished(self, level: int, frames: int) -> None:
        now = self.clock()
        self._in_flight -= 1
        if self._in_flight == 0:
            self._busy += now - self._busy_from
        self._frames_done += frames
        point = (self._busy_now(now), self._frames_done)
        if level != self.level or self._next != self.level:    # a batch of a level left, or a change pending
            self._history.clear()
            self._history.append(point)
            return
        self._history.append(point)
        if len(self._history) <= WINDOW:
            return
        (busy0, frames0), (busy1, frames1) = self._history[0], self._history[-1]
        cost = (busy1 - busy0) / max(1, frames1 - frames0)
        self._judge(cost, now)

    def _judge(self, cost: float, now: float) -> None:
        period_ms, cost_ms = 1000 * self.period, 1000 * cost
        if cost > BEHIND_AT * self.period:
            self._behind, self._room = self._behind + 1, 0
            if self._behind >= 2 and self.level + 1 < len(self.ladder):
                if self._stepped_up_at is not None and now - self._stepped_up_at < FLAP_S:
                    self._hold = min(MAX_HOLD, 2 * self._hold)
                self._next = self.level + 1
                self._why = (f"rendering fell behind real time ({cost_ms:.0f} ms a frame against "
                             f"{period_ms:.0f} ms at {1 / self.period:g} fps)")
        else:
            self._behind = 0
            self._room = self._room + 1 if cost < RECOVER_AT * self.period else 0
            if self._room >= self._hold and self.level > 0:
                self._next = self.level - 1
                self._stepped_up_at = now
                self._why = (f"rendering caught up ({cost_ms:.0f} ms a frame against {period_ms:.0f} ms at "
                             f"{1 / self.period:g} fps)")

    def _apply(self) -> tuple[str, str] | None:
        """Move to the level the last measurement chose; the Notice that says so, if it moved."""
        if self._next == self.level:
            return None
        before, after = self.ladder[self.level], self.ladder[self._next]
        down = self._next > self.level
        self.level = self._next
        self._behind = self._room = 0
        self._history.clear()
        self.changes += 1
        for scale, inner in list(self._inners.items()):      # renderers the new level does not use
            if after.renderer == RendererName.SKELETON or scale != after.scale:
                inner.retire()
                del self._inners[scale]
        if down:
            return DEGRADED, f"{self._why}: now {after.describe()} (was {before.describe()})"
        return RECOVERED, f"{self._why}: back to {after.describe()} (was {before.describe()})"

    # -- rendering ----------------------------------------------------------------------------------
    def _inner(self, scale: float) -> _Inner:
        inner = self._inners.get(scale)
        if inner is None:
            size = (self.width, self.height) if scale == 1.0 else \
                (_scaled_side(self.width, scale), _scaled_side(self.height, scale))
            inner = self._inners[scale] = _Inner(self.make(*size))
        return inner

    async def render(self, frames: np.ndarray, channels: str = "rgb") -> Sequence[np.ndarray]:
        notice = self._apply()
        level_index, level = self.level, self.ladder[self.level]
        for i in range(len(frames)):
            self.made.append(Made(level.renderer, level.steps, notice if i == 0 else None))
        if level_index:
            self.observe.degraded_frames(len(frames))
        self._started()
        try:
            if level.renderer == RendererName.SKELETON:
                return await asyncio.to_thread(
                    lambda: [self._skeleton.draw(f, channels=channels) for f in frames])
            inner = self._inner(level.scale)
            inner.in_flight += 1
            try:
                pictures = await inner.renderer.render(frames, channels, steps=level.steps or None)
            finally:
                inner.in_flight -= 1
                if inner.retired and inner.in_flight == 0:
                    inner.renderer.close()
            if level.scale != 1.0:
                pictures = await asyncio.to_thread(lambda: [
                    cv2.resize(p, (self.width, self.height), interpolation=cv2.INTER_LINEAR) for p in pictures])
            return pictures
        finally:
            self._finished(level_index, len(frames))

    def close(self) -> None:
        for inner in self._inners.values():
            inner.renderer.close()
        self._inners.clear()
