"""Streaming sessions: a config once, then sign IDs (or video frames) one by one, frames out as soon
as they are made. Plain asyncio and domain types; the gRPC layer only converts (DESIGN §8).

    spec = SessionSpec(style_image=png, encoding="jpeg").validated()
    session = await open_synthesis(spec, lexicon, extractor, executor)
    async for out in session.add("¶hello"):          # FrameOut or NoticeOut
        ...

CPU work (normalization, rendering, encoding) runs in the executor's threads, a few frames ahead of
the one being sent, so several streams use several cores (the numba kernels release the GIL, and so
do OpenCV's drawing and encoding). Each piece of CPU work carries its frame's index in the stream as
its priority, so with a `PriorityPool` a new stream's first frames go ahead of older streams'
lookahead. Blocking I/O (the lexicon store) runs in threads too. Cancelling the consumer cancels the
frames not yet started.
"""
from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from signstream.errors import (CorruptClip, InvalidArgument, InvalidSignId, LexiconNotFound, LimitExceeded,
                               StoreUnavailable, UnknownSign)
from signstream.extract.base import FrameExtractor
from signstream.kernels.jitter import JitterFilter, JitterParams
from signstream.lexicon import Lexicon, canonical_sign_id, display_sign_id
from signstream.pipeline import NORMALIZERS, Chunk, FrameKind, Sentence, SynthesisOptions
from signstream.render.encode import get_encoder, worst_frame_bytes
from signstream.render.skeleton import render_frame
from signstream.style import MAX_CANVAS_SIDE, Style, decode_style_image, default_style, fit_canvas, style_from_image

ENCODINGS = ("jpeg", "png", "raw_rgb", "h264", "none")
PACINGS = ("asap", "realtime")
RENDERERS = ("skeleton",)            # "neural" arrives with the renderer ensemble
MAX_SIDE = MAX_CANVAS_SIDE           # output width/height limit (README "Limits")
MAX_FPS = 120.0
DEFAULT_FPS = 25.0                   # when neither the config nor a clip gives one (Retarget)
LOOKAHEAD = 4                        # frames rendered ahead of the one being sent, per stream
MAX_SIGN_ID_ECHO = 200               # characters of a bad sign ID repeated back in a Notice


@dataclass(frozen=True)
class SessionSpec:
    """A validated session configuration; 0 / empty fields take the DESIGN §5 defaults."""

    style_image: bytes = b""
    options: SynthesisOptions = field(default_factory=SynthesisOptions)
    encoding: str = "jpeg"
    width: int = 0                   # 0: the style image's, or 1024 without one
    height: int = 0
    pacing: str = "asap"
    fps: float = 0.0                 # 0: the lexicon's (the first sign's clip)
    include_keypoints: bool = False
    renderer: str = "skeleton"

    def validated(self) -> "SessionSpec":
        """Self, or InvalidArgument naming the field, its value and the limit."""
        self.options.validated()
        for name, value, allowed in (("encoding", self.encoding, ENCODINGS), ("pacing", self.pacing, PACINGS),
                                     ("renderer", self.renderer, RENDERERS)):
            if value not in allowed:
                raise InvalidArgument(f"{name} {value!r} is not available; use one of {', '.join(allowed)}",
                                      field=name)
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_SIDE:
                raise InvalidArgument(f"{name} must be 1..{MAX_SIDE} (0 = the style image's), got {value}",
                                      field=name)
        if not (self.fps == 0 or 1.0 <= self.fps <= MAX_FPS) or self.fps != self.fps:
            raise InvalidArgument(f"fps must be 1..{MAX_FPS:g} (0 = the lexicon's), got {self.fps}", field="fps")
        return self

    @property
    def wants_keypoints(self) -> bool:
        return self.include_keypoints or self.encoding == "none"


@dataclass(frozen=True)
class FrameOut:
    index: int
    sign_id: str                     # display form (with ¶); "" for Retarget frames
    kind: FrameKind
    image: bytes                     # empty for encoding "none"
    encoding: str
    width: int
    height: int
    keypoints: np.ndarray | None     # packed (K, 3) when asked for
    fps: float = 0.0                 # the stream's frame rate


@dataclass(frozen=True)
class NoticeOut:
    code: str                        # UNKNOWN_SIGN, INVALID_SIGN_ID, CORRUPT_CLIP, ...
    sign_id: str
    message: str


Output = FrameOut | NoticeOut
Observer = Callable[[str, float], None]      # (stage, seconds): lookup, normalize, render, encode, extract


def _ignore(stage: str, seconds: float) -> None:
    pass


def _run_at(executor: Executor, priority: int, fn, *args) -> asyncio.Future:
    """`fn(*args)` in the CPU pool; a PriorityPool runs lower priorities (earlier frames of their
    stream) first, any other executor in order."""
    submit_at = getattr(executor, "submit_at", None)
    return asyncio.wrap_future(submit_at(priority, fn, *args) if submit_at else executor.submit(fn, *args))


async def _timed(observe: Observer, stage: str, awaitable):
    start = time.perf_counter()
    try:
        return await awaitable
    finally:
        observe(stage, time.perf_counter() - start)


async def load_style(spec: SessionSpec, extractor: FrameExtractor) -> Style:
    """The style character from the config's image (decoded in a thread, extracted by `extractor`),
    or the defaults without one; the canvas is the config's size where given."""
    if not spec.style_image:
        return on_canvas(spec, default_style())
    rgb = await asyncio.to_thread(decode_style_image, spec.style_image)
    return on_canvas(spec, style_from_image(rgb, await extractor.extract(rgb)))


def on_canvas(spec: SessionSpec, style: Style) -> Style:
    """The style on the config's canvas where it gives one, else on its own, scaled down to at most
    MAX_SIDE a side (style.fit_canvas)."""
    return fit_canvas(style, spec.width, spec.height)


def check_frame_size(spec: SessionSpec, width: int, height: int, max_frame_bytes: int | None) -> None:
    """LimitExceeded before anything is rendered when a frame of this stream could be larger than one
    message may be (`max_frame_bytes`, None = no limit): RAW_RGB at the largest canvas is 48 MiB."""
    if max_frame_bytes is None:
        return
    need = worst_frame_bytes(spec.encoding, width, height, spec.wants_keypoints)
    if need > max_frame_bytes:
        raise LimitExceeded(
            f"{spec.encoding} frames of {width}x{height} can take up to {need / 2**20:.1f} MiB, over the "
            f"server's {max_frame_bytes / 2**20:.1f} MiB message limit: ask for a smaller width/height or "
            "another encoding", field="encoding")


class Pacer:
    """REALTIME pacing: frames leave 1/fps apart. A late frame leaves at once and the schedule
    restarts from it, so a stall never turns into a burst and the spacing never drifts."""

    def __init__(self, fps: float, clock: Callable[[], float] = time.monotonic):
        self.period = 1.0 / fps
        self._clock = clock
        self._due: float | None = None

    async def wait(self) -> float:
        """Sleep until this frame is due; returns its lateness in seconds (0 if on time)."""
        now = self._clock()
        if self._due is None or now > self._due:
            lateness = 0.0 if self._due is None else now - self._due
            self._due = now + self.period
            return lateness
        await asyncio.sleep(self._due - now)
        self._due += self.period
        return 0.0


_canvases = threading.local()       # per CPU thread: the scratch canvases of the sizes drawn last
CANVASES_PER_THREAD = 4              # sizes kept per thread (a 4096² canvas is 48 MiB)


def _thread_canvas(width: int, height: int) -> np.ndarray:
    """This thread's scratch canvas: a frame that is encoded to bytes before `_draw` returns can be
    drawn into the same memory every time, instead of faulting in a fresh one per frame. Only the
    CANVASES_PER_THREAD sizes used last are kept, so clients asking for many sizes cost bounded memory."""
    cache = getattr(_canvases, "by_size", None)
    if cache is None:
        cache = _canvases.by_size = collections.OrderedDict()
    canvas = cache.pop((width, height), None)
    if canvas is None:
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
    cache[(width, height)] = canvas                # most recently used last
    while len(cache) > CANVASES_PER_THREAD:
        cache.popitem(last=False)
    return canvas


class _FrameWriter:
    """Render + encode for one stream, a few frames ahead, in order."""

    def __init__(self, spec: SessionSpec, width: int, height: int, executor: Executor, observe: Observer):
        self.spec, self.width, self.height, self.executor = spec, width, height, executor
        self.observe = observe
        self._still = get_encoder(spec.encoding) if spec.encoding in ("jpeg", "png", "raw_rgb") else None
        self._h264 = None
        self.index = 0

    def _draw(self, frame: np.ndarray) -> bytes | np.ndarray:
        start = time.perf_counter()
        if self._still is None:                 # the H.264 encoder takes the array itself: a fresh one each
            rgb = render_frame(frame, self.width, self.height)
            self.observe("render", time.perf_counter() - start)   # (the observer is thread-safe)
            return rgb
        bgr = self._still.takes_bgr             # draw in cv2's channel order: no conversion to encode
        canvas = render_frame(frame, self.width, self.height, out=_thread_canvas(self.width, self.height),
                              channels="bgr" if bgr else "rgb")
        self.observe("render", time.perf_counter() - start)
        start = time.perf_counter()
        image = self._still.encode_bgr(canvas) if bgr else self._still(canvas)
        self.observe("encode", time.perf_counter() - start)
        return image

    async def frames(self, sign_id: str, frames: np.ndarray, kinds: np.ndarray, fps: float) -> AsyncIterator[FrameOut]:
        first = self.index          # the stream index of frames[0]: its priority in the CPU pool
        draw = self.spec.encoding != "none"
        if draw and self.spec.encoding == "h264" and self._h264 is None:
            from signstream.render.h264_stream import H264StreamEncoder

            self._h264 = H264StreamEncoder(self.width, self.height, fps)
        pending: collections.deque[asyncio.Future] = collections.deque()
        submitted = 0
        try:
            for i in range(len(frames)):
                while draw and submitted < len(frames) and len(pending) < LOOKAHEAD:
                    pending.append(_run_at(self.executor, first + submitted, self._draw, frames[submitted]))
                    submitted += 1
                image = await pending.popleft() if draw else b""
                if self._h264 is not None:
                    image = await _timed(self.observe, "encode",
                                         _run_at(self.executor, self.index, self._h264.encode, image))
                keypoints = frames[i] if self.spec.wants_keypoints else None
                yield FrameOut(self.index, sign_id, FrameKind(int(kinds[i])), image, self.spec.encoding,
                               self.width, self.height, keypoints, fps)
                self.index += 1
        finally:
            for future in pending:          # a cancelled consumer: drop the work not yet started
                future.cancel()

    def close(self) -> None:
        if self._h264 is not None:
            self._h264.close()
            self._h264 = None


class _Session:
    """What both stream kinds share: the spec, the style, the CPU pool and one frame writer.
    `add(item)` takes the stream's next item (a sign ID, or an encoded video frame)."""

    def __init__(self, spec: SessionSpec, style: Style, executor: Executor, observe: Observer):
        self.spec = spec
        self.style = style
        self.executor = executor
        self.observe = observe
        self._writer = _FrameWriter(spec, style.width, style.height, executor, observe)

    def add(self, item) -> AsyncIterator[Output]:
        raise NotImplementedError

    async def finish(self) -> AsyncIterator[Output]:
        """What the stream still owes once its client has sent everything, or what it holds back
        for the next item when that is late (nothing by default)."""
        return
        yield

    def held(self) -> tuple[int, float] | None:
        """Frames held back for the next item: (a name for them, their playing time), or None."""
        return None

    def close(self) -> None:
        self._writer.close()


class SynthesisSession(_Session):
    """One Synthesize stream: sign IDs in, frames out (DESIGN §5)."""

    def __init__(self, spec: SessionSpec, style: Style, lexicon: Lexicon, executor: Executor,
                 observe: Observer = _ignore):
        super().__init__(spec, style, executor, observe)
        self.lexicon = lexicon
        self.fps = spec.fps or None
        self._sentence = Sentence(style, spec.options)
        self._signs_made = 0                      # names the frames held back (see held)

    async def add(self, raw_sign_id: str) -> AsyncIterator[Output]:
        """The transition into this sign and its frames; a Notice instead if it cannot be used."""
        try:
            sign_id = canonical_sign_id(raw_sign_id)
        except InvalidSignId as exc:
            yield NoticeOut(exc.code, str(raw_sign_id)[:MAX_SIGN_ID_ECHO], exc.message)
            return
        try:
            # A cached clip is taken on the loop: it never waits behind store reads that other streams
            # have blocked in threads (a dead S3 holds each for its whole retry budget).
            clip = self.lexicon.cached_clip(sign_id) or await _timed(
                self.observe, "lookup", asyncio.to_thread(self.lexicon.get_clip, sign_id))
        except (UnknownSign, CorruptClip, StoreUnavailable, LexiconNotFound) as exc:
            yield NoticeOut(exc.code, display_sign_id(sign_id), f"{exc.message}; skipped")
            return
        if self.fps is None:
            self.fps = clip.fps
        chunk = await _timed(self.observe, "normalize", _run_at(self.executor, self._writer.index, self._sentence.add,
                                                                sign_id, clip.frames, clip.fps))
        self._signs_made += 1
        async for frame in self._write(chunk):
            yield frame

    async def _write(self, chunk: Chunk) -> AsyncIterator[FrameOut]:
        """A chunk's frames, each under the sign it belongs to (a smooth join releases the previous
        sign's last frames first)."""
        if chunk.tail:
            async for frame in self._writer.frames(display_sign_id(chunk.tail_of), chunk.frames[: chunk.tail],
                                                   chunk.kinds[: chunk.tail], self.fps):
                yield frame
        async for frame in self._writer.frames(display_sign_id(chunk.sign_id), chunk.frames[chunk.tail:],
                                               chunk.kinds[chunk.tail:], self.fps):
            yield frame

    def held(self) -> tuple[int, float] | None:
        """The frames held back for the next sign: (which sign's, seconds they take to play), None
        when none are. Smooth transitions hold a sign's last frames (up to 7) until the next sign
        shows where the two meet; the gateway lets them wait at most their playing time (280 ms at
        25 fps) from when everything before them was sent, then they go out untrimmed (finish), so
        every frame of a sign streams whether or not the next sign comes (DESIGN §5)."""
        held = self._sentence.withheld
        if not held or self.fps is None:
            return None
        return self._signs_made, held * (self._sentence.options.num_insert_interpolation + 1) / self.fps

    async def finish(self) -> AsyncIterator[Output]:
        """The frames smooth transitions still withhold: at the end of the stream, or when the next
        sign is late (see held)."""
        chunk = self._sentence.finish()
        if chunk is not None and self.fps is not None:
            async for frame in self._write(chunk):
                yield frame


async def open_synthesis(spec: SessionSpec, lexicon: Lexicon, extractor: FrameExtractor,
                         executor: Executor, observe: Observer = _ignore,
                         max_frame_bytes: int | None = None) -> SynthesisSession:
    spec = spec.validated()
    style = await _timed(observe, "extract", load_style(spec, extractor))
    check_frame_size(spec, style.width, style.height, max_frame_bytes)
    return SynthesisSession(spec, style, lexicon, executor, observe)


class RetargetSession(_Session):
    """One Retarget stream: video frames in, each extracted, normalized to the style and rendered.

    Normalization anchors the first frame, as `signmail` anchors a clip's first frame: every frame is
    normalized together with the first one, so the body keeps its motion across the picture."""

    def __init__(self, spec: SessionSpec, style: Style, extractor: FrameExtractor, executor: Executor,
                 observe: Observer = _ignore):
        super().__init__(spec, style, executor, observe)
        self.extractor = extractor
        self._first: np.ndarray | None = None
        self._normalize_pair = NORMALIZERS[spec.options.normalization](style)
        self._kinds = np.array([FrameKind.SIGN], dtype=np.uint8)
        self.fps = spec.fps or DEFAULT_FPS
        # Extracted keypoints arrive one frame at a time: the filter runs causally (no added latency).
        self._filter = (JitterFilter(JitterParams(fps=self.fps, aspect=style.width / style.height))
                        if spec.options.keypoint_filter == "one_euro" else None)

    def _normalize(self, frame: np.ndarray) -> np.ndarray:
        if self._filter is not None:
            frame = self._filter.push(frame)
        if self._first is None:
            self._first = frame
        return self._normalize_pair(np.stack([self._first, frame]))[1:]

    async def add(self, data: bytes) -> AsyncIterator[Output]:
        """One encoded video frame -> its rendered frame, or a Notice if the image is unusable."""
        try:
            rgb = await asyncio.to_thread(decode_style_image, data, "Retarget frame")
        except InvalidArgument as exc:
            yield NoticeOut("INVALID_IMAGE", "", f"frame {self._writer.index}: {exc.message}; skipped")
            return
        frame = await _timed(self.observe, "extract", self.extractor.extract(rgb))
        normalized = await _timed(self.observe, "normalize",
                                  _run_at(self.executor, self._writer.index, self._normalize, frame))
        async for out in self._writer.frames("", normalized, self._kinds, self.fps):
            yield out


async def open_retarget(spec: SessionSpec, extractor: FrameExtractor, executor: Executor,
                        observe: Observer = _ignore, max_frame_bytes: int | None = None) -> RetargetSession:
    spec = spec.validated()
    style = await _timed(observe, "extract", load_style(spec, extractor))
    check_frame_size(spec, style.width, style.height, max_frame_bytes)
    return RetargetSession(spec, style, extractor, executor, observe)
