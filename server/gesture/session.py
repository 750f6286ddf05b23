"""One Gesture stream: a config once, then speech audio (and timed words) chunk by chunk; the gesture
source turns them into motion, and the frames go through the stream's retargeting, renderer and
encoder like Retarget frames, as kind GESTURE.

    session = await open_gesture(spec, extractor, executor)   # spec: GestureSpec
    async for out in session.add(samples):                     # float32 16 kHz, or a Word
        ...
    async for out in session.finish():                         # the frames the lookahead still holds
        ...

Normalization anchors the first frame, as Retarget does: every frame is normalized together with the
stream's first, onto the style character. A timed word that makes no sense (ends before it starts) is
skipped with an INVALID_WORD Notice; the stream goes on.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Executor

import numpy as np

from signstream.cpu_pool import run_at
from signstream.extract.base import FrameExtractor
from signstream.frame_writer import Observer, ignore, timed
from signstream.gesture.sources import open_source
from signstream.gesture.source import GestureSource, Word
from signstream.gesture.spec import GestureSpec
from signstream.limits import FrameBudget
from signstream.outputs import NoticeOut, Output
from signstream.pipeline import FrameKind
from signstream.render.neural_backend import NeuralBackend
from signstream.session import AnchoredNormalizer, StreamSession, opened
from signstream.spec import check_frame_size, load_style
from signstream.style import Style

_CLOSING: set[asyncio.Task] = set()      # sources being closed after their stream ended


class GestureSession(StreamSession):
    def __init__(self, spec: GestureSpec, style: Style, source: GestureSource, executor: Executor,
                 observe: Observer = ignore):
        super().__init__(spec.session, style, executor, observe)
        self.source = source
        self.fps = source.fps
        self._anchored = AnchoredNormalizer(style, spec.session.options.normalization)
        self._words: list[Word] = []

    async def add(self, item: np.ndarray | Word) -> AsyncIterator[Output]:
        """Audio samples -> the frames they release; a Word is kept for the next audio."""
        if isinstance(item, Word):
            if item.end_ms < item.start_ms:
                yield NoticeOut("INVALID_WORD", "", f"the word {item.text[:50]!r} ends ({item.end_ms} ms) before "
                                f"it starts ({item.start_ms} ms); skipped")
            else:
                self._words.append(item)
            return
        words, self._words = self._words, []
        frames = await timed(self.observe, "gesture", self.source.feed(item, words))
        async for out in self._emit(frames):
            yield out

    async def finish(self) -> AsyncIterator[Output]:
        """The frames the source still owes once the audio has ended."""
        frames = await timed(self.observe, "gesture", self.source.finish())
        async for out in self._emit(frames):
            yield out

    async def _emit(self, frames: np.ndarray) -> AsyncIterator[Output]:
        if not len(frames):
            return
        normalized = await timed(self.observe, "normalize", run_at(self.executor, self.frames_out, self._normalize, frames))
        async for out in self._frames("", normalized, np.full(len(frames), FrameKind.GESTURE, dtype=np.uint8)):
            yield out

    def _normalize(self, frames: np.ndarray) -> np.ndarray:
        return np.concatenate([self._anchored(frame) for frame in frames])

    def close(self) -> None:
        super().close()
        source, self.source = self.source, None
        if source is not None:
            try:
                task = asyncio.get_running_loop().create_task(source.close())
            except RuntimeError:             # no loop (a test closing it by hand): nothing awaits there
                return
            _CLOSING.add(task)
            task.add_done_callback(_CLOSING.discard)


async def open_gesture(spec: GestureSpec, extractor: FrameExtractor, executor: Executor,
                       observe: Observer = ignore, max_frame_bytes: int | None = None,
                       budget: FrameBudget | None = None, neural: NeuralBackend | None = None,
                       triton_urls: tuple[str, ...] = ()) -> GestureSession:
    """A Gesture session on its source (`triton_urls`: where the aqgt models are served); a NEURAL one
    is admitted to `neural` first."""
    spec = spec.validated()
    style = await timed(observe, "extract", load_style(spec.session, extractor))
    check_frame_size(spec.session, style.width, style.height, max_frame_bytes)
    source = await open_source(spec, executor, triton_urls)
    try:
        return await opened(GestureSession(spec, style, source, executor, observe), spec.session, neural, budget)
    except BaseException:
        await source.close()
        raise
