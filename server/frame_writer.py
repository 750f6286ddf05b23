"""Render + encode for one stream: packed keypoint frames in, each frame's bytes out, in order.

The writer drives a `Renderer` and an `Encoder` (signstream.render) the same way whatever they are:

* a drawing renderer draws in the CPU pool, LOOKAHEAD frames ahead of the one being sent; with an
  encoder that takes frames on their own (stills) the same job encodes, drawing into a per-thread
  canvas in the encoder's channel order (no allocation, no colour swap per frame);
* with an ordered encoder (H.264) the drawn pictures are encoded one at a time, in order;
* a model renderer (`asynchronous`) is awaited a batch (`max_batch` frames) at a time, the next batch
  already in flight while the one before it is encoded and sent.

Every frame's bytes (width × height × 3 while it is drawn, its encoded size once encoded) are held in
the server's `FrameBudget` from before it is drawn until the transport has taken it: frames ahead are
drawn only while the budget has room, and a stream that has none waits briefly and is then refused
(RESOURCE_EXHAUSTED), whatever encoding or renderer it uses.

CPU work carries its frame's index in the stream as its priority (a `PriorityPool` runs a new
stream's first frames before older streams' lookahead). Cancelling the consumer cancels the work not
yet started. Without an encoder (encoding NONE) nothing is drawn and every frame's bytes are b"".
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

from signstream.cpu_pool import run_at
from signstream.limits import FrameBudget
from signstream.render.encoder import Encoder
from signstream.render.renderer import Renderer

LOOKAHEAD = 4                        # frames drawn ahead of the one being sent, per stream
CANVASES_PER_THREAD = 4              # canvas sizes kept per CPU thread (a 4096² canvas is 48 MiB)
CLOSE_WAIT_S = 10.0                  # batch output: how long a closed model renderer may take to finish

Observer = Callable[[str, float], None]      # (stage, seconds): lookup, normalize, render, encode, extract


def ignore(stage: str, seconds: float) -> None:
    """An Observer that records nothing."""


async def timed(observe: Observer, stage: str, awaitable):
    """`await awaitable`, its wall time reported to `observe` as `stage`."""
    start = time.perf_counter()
    try:
        return await awaitable
    finally:
        observe(stage, time.perf_counter() - start)


class ThreadCanvases:
    """Per CPU thread, the scratch canvases of the sizes drawn last: a frame encoded to bytes before
    its job returns can be drawn into the same memory every time instead of faulting in a fresh one.
    Only the `keep` sizes used last are kept, so clients asking for many sizes cost bounded memory."""

    def __init__(self, keep: int = CANVASES_PER_THREAD):
        self.keep = keep
        self._local = threading.local()

    def get(self, width: int, height: int) -> np.ndarray:
        cache = getattr(self._local, "by_size", None)
        if cache is None:
            cache = self._local.by_size = collections.OrderedDict()
        canvas = cache.pop((width, height), None)
        if canvas is None:
            canvas = np.zeros((height, width, 3), dtype=np.uint8)
        cache[(width, height)] = canvas                # most recently used last
        while len(cache) > self.keep:
            cache.popitem(last=False)
        return canvas

    def sizes(self) -> list[tuple[int, int]]:
        """This thread's kept sizes, least recently used first."""
        return list(getattr(self._local, "by_size", {}))


CANVASES = ThreadCanvases()


class FrameWriter:
    """One stream's frames through its renderer and encoder. `index` is the stream index of the next
    frame; `images(frames)` yields each frame's bytes in order and advances it."""

    def __init__(self, renderer: Renderer | None, encoder: Encoder | None, executor: Executor,
                 observe: Observer = ignore, lookahead: int = LOOKAHEAD, budget: FrameBudget | None = None):
        self.renderer, self.encoder, self.executor = renderer, encoder, executor
        self.observe = observe
        self.lookahead = lookahead
        self.budget = budget
        self.held = 0                    # bytes this writer holds in the budget
        self.index = 0

    # -- the frame memory budget ------------------------------------------------------------------
    @property
    def frame_bytes(self) -> int:
        return self.renderer.width * self.renderer.height * 3

    def _try_hold(self, nbytes: int) -> bool:
        if self.budget is not None and not self.budget.try_reserve(nbytes):
            return False
        self.held += nbytes
        return True

    async def _hold(self, nbytes: int) -> None:
        if self.budget is not None:
            await self.budget.reserve(nbytes)
        self.held += nbytes

    def _release(self, nbytes: int) -> None:
        """Give back `nbytes` (negative: take more, e.g. an encoding larger than its picture)."""
        if self.budget is not None:
            self.budget.release(nbytes)
        self.held -= nbytes

    def _release_all(self) -> None:
        self._release(self.held)

    def _draw(self, frame: np.ndarray, canvas: np.ndarray | None, channels: str) -> np.ndarray:
        start = time.perf_counter()
        picture = self.renderer.draw(frame, out=canvas, channels=channels)
        self.observe("render", time.perf_counter() - start)     # (the observer is thread-safe)
        return picture

    def _encode(self, picture: np.ndarray) -> bytes:
        start = time.perf_counter()
        data = self.encoder.encode(picture)
        self.observe("encode", time.perf_counter() - start)
        return data

    def _draw_and_encode(self, frame: np.ndarray) -> bytes:
        canvas = CANVASES.get(self.renderer.width, self.renderer.height)
        return self._encode(self._draw(frame, canvas, self.encoder.channels))

    async def images(self, frames: np.ndarray) -> AsyncIterator[bytes]:
        if self.encoder is None:
            for _ in range(len(frames)):
                yield b""
                self.index += 1
            return
        source = self._modelled(frames) if self.renderer.asynchronous else self._drawn(frames)
        async with contextlib.aclosing(source):     # a consumer that stops early ends the work at once
            async for data in source:
                yield data
                self.index += 1

    async def _drawn(self, frames: np.ndarray) -> AsyncIterator[bytes]:
        """A drawing renderer: up to LOOKAHEAD jobs in the pool, each drawing (and, for stills,
        encoding) one frame; frames beyond the first only while the frame budget has room."""
        first = self.index
        ordered = self.encoder.ordered
        job = (lambda f: self._draw(f, None, self.encoder.channels)) if ordered else self._draw_and_encode
        size = self.frame_bytes
        pending: collections.deque[asyncio.Future] = collections.deque()
        submitted = 0
        try:
            for i in range(len(frames)):
                while submitted < len(frames) and len(pending) < self.lookahead:
                    if not pending:
                        await self._hold(size)          # nothing in hand: wait for room, or be refused
                    elif not self._try_hold(size):
                        break
                    pending.append(run_at(self.executor, first + submitted, job, frames[submitted]))
                    submitted += 1
                result = await pending.popleft()
                data = (await run_at(self.executor, first + i, self._encode, result)) if ordered else result
                self._release(size - len(data))         # the picture is gone; its bytes are held
                yield data
                self._release(len(data))                # the transport took it
        finally:
            for future in pending:          # a cancelled consumer: drop the work not yet started
                future.cancel()
            self._release_all()

    async def _modelled(self, frames: np.ndarray) -> AsyncIterator[bytes]:
        """A model renderer: a batch at a time, the next one in flight (when the frame budget has room
        for it) while this one is encoded."""
        size = max(1, self.renderer.max_batch)
        channels = self.encoder.channels
        frame_bytes = self.frame_bytes
        batches = [frames[i:i + size] for i in range(0, len(frames), size)]

        def start(batch: np.ndarray) -> asyncio.Future:
            return asyncio.ensure_future(timed(self.observe, "render", self.renderer.render(batch, channels)))

        ahead: asyncio.Future | None = None
        try:
            for b, batch in enumerate(batches):
                if ahead is None:
                    await self._hold(len(batch) * frame_bytes)
                    current = start(batch)
                else:
                    current, ahead = ahead, None
                if b + 1 < len(batches) and self._try_hold(len(batches[b + 1]) * frame_bytes):
                    ahead = start(batches[b + 1])
                pictures: Sequence[np.ndarray] = await current
                if len(pictures) != len(batch):
                    raise ValueError(f"the {self.renderer.name} renderer gave {len(pictures)} pictures for "
                                     f"{len(batch)} frames")
                for picture in pictures:
                    data = await run_at(self.executor, self.index, self._encode, picture)
                    self._release(frame_bytes - len(data))
                    yield data
                    self._release(len(data))
        finally:
            if ahead is not None:
                ahead.cancel()
            self._release_all()

    def close(self) -> None:
        self._release_all()
        if self.encoder is not None:
            self.encoder.close()
        if self.renderer is not None:
            self.renderer.close()


async def close_on_loop(renderer: Renderer, timeout_s: float = CLOSE_WAIT_S) -> None:
    """`renderer.close()` on the running loop, then up to `timeout_s` for the tasks it started there
    (a model renderer's last request to its server, its connection closing) to finish."""
    before = asyncio.all_tasks()
    renderer.close()
    started = asyncio.all_tasks() - before
    if started:
        await asyncio.wait(started, timeout=timeout_s)


def write_all(renderer: Renderer, encoder: Encoder, frames: np.ndarray, progress: bool = False) -> None:
    """Every frame through `renderer` and `encoder` in order, then `encoder.flush()`: the batch output's
    path through the same renderer and encoder a stream uses. A drawing renderer draws in this thread
    into one reused canvas; a model renderer runs in a FrameWriter on an event loop of its own (so this
    works from inside a running loop too) and is closed on that loop once done, so that what closing
    starts there (a NEURAL renderer's END to Triton) finishes before the loop goes. On an error the
    encoder is closed (a file encoder removes its partial file) and the error raised."""
    bar = tqdm(total=len(frames), desc="render", unit="frame", disable=not progress, leave=False)
    try:
        if renderer.asynchronous:
            async def run() -> None:
                try:
                    with ThreadPoolExecutor(1) as pool:
                        async for _ in FrameWriter(renderer, encoder, pool).images(frames):
                            bar.update()
                finally:
                    await close_on_loop(renderer)

            with ThreadPoolExecutor(1) as loop_thread:
                loop_thread.submit(asyncio.run, run()).result()
        else:
            canvas = np.zeros((renderer.height, renderer.width, 3), dtype=np.uint8)
            for frame in frames:
                encoder.encode(renderer.draw(frame, out=canvas, channels=encoder.channels))
                bar.update()
        encoder.flush()
    except BaseException:
        encoder.close()
        raise
    finally:
        bar.close()
