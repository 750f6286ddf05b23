"""Streaming sessions: a config once, then sign IDs (or video frames) one by one, frames out as soon
as they are made. Plain asyncio and domain types; transports only convert.

    spec = SessionSpec(style_image=png, encoding="jpeg").validated()
    session = await open_synthesis(spec, lexicon, extractor, executor)
    async for out in session.add("¶hello"):          # FrameOut or NoticeOut
        ...

Each session draws and encodes through its renderer and encoder (signstream.render) in a
`FrameWriter`: CPU work runs in the executor's threads, a few frames ahead of the one being sent, so
several streams use several cores. Blocking I/O (the lexicon store) runs in threads too. Cancelling
the consumer cancels the frames not yet started.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Executor

import cv2
import numpy as np

from signstream.cpu_pool import run_at
from signstream.errors import (CorruptClip, InvalidArgument, InvalidImage, InvalidSignId, LexiconNotFound,
                               RendererUnavailable, StoreUnavailable, UnknownSign)
from signstream.extract.base import FrameExtractor
from signstream.extract.bounded import extract_encoded
from signstream.frame_writer import FrameWriter, Observer, ignore, timed
from signstream.kernels.jitter import JitterFilter, JitterParams
from signstream.lexicon import Lexicon, canonical_sign_id, display_sign_id
from signstream.limits import FrameBudget
from signstream.outputs import FrameOut, NoticeOut, Output
from signstream.pipeline import NORMALIZERS, Chunk, FrameKind, Sentence
from signstream.render.encoder import open_encoder
from signstream.render.video import frame_rate_from_clips
from signstream.names import Pacing, Renderer
from signstream.render.adaptive import AdaptiveRenderer
from signstream.render.neural_backend import NeuralBackend, NeuralLease
from signstream.render.renderer import open_renderer
from signstream.spec import DEFAULT_FPS, SessionSpec, check_frame_size, load_style
from signstream.style import Style, decode_style_image
from signstream.text import Step, Text, gloss_message, staged

MAX_SIGN_ID_ECHO = 200               # characters of a bad sign ID repeated back in a Notice
STAND_IN_NOTICE = "STAND_IN_WEIGHTS"  # a NEURAL stream on random-weight stand-ins: its frames are noise


class _Session:
    """What both stream kinds share: the spec, the style, the CPU pool and the frame writer (made at
    the first frame, when the stream's frame rate is known). `add(item)` takes the stream's next item
    (a sign ID, or an encoded video frame)."""

    fps: float | None
    budget: FrameBudget | None = None    # the server's frame memory budget (set by open_*), None: unbounded

    def __init__(self, spec: SessionSpec, style: Style, executor: Executor, observe: Observer):
        self.spec = spec
        self.style = style
        self.executor = executor
        self.observe = observe
        self.frames_out = 0              # the stream index of the next frame
        self._writer: FrameWriter | None = None
        self.neural: NeuralLease | None = None   # a NEURAL stream's renderer slot (attach_neural)
        self._reference: np.ndarray | None = None
        self._first_render_at: float | None = None

    async def attach_neural(self, backend: NeuralBackend | None) -> None:
        """A NEURAL stream: admit it to the renderer (its slot, its Triton, its seed) and decode its
        reference photo at the canvas size. Refused with the reason when it cannot render."""
        if backend is None:
            raise RendererUnavailable("renderer NEURAL is not available here (no Triton to render on); use "
                                      "renderer SKELETON, or a gateway started with --triton-url", field="renderer")
        self.neural = await backend.lease(self.spec.neural_model, self.spec.steps, self.spec.seed)
        try:
            self._reference = await asyncio.to_thread(self._decode_reference)
        except BaseException:
            self.neural.release()
            raise

    def _decode_reference(self) -> np.ndarray:
        rgb = decode_style_image(self.spec.style_image)
        size = (self.style.width, self.style.height)
        return rgb if rgb.shape[1::-1] == size else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)

    def playout_wait(self) -> float:
        """REALTIME NEURAL streams: seconds the first frame still waits so that playback starts with the
        next batch rendered too (the lease's playout delay, from the stream's first render); 0 else."""
        if self.neural is None or self._first_render_at is None:
            return 0.0
        return max(0.0, self._first_render_at + self.neural.playout_delay_s - asyncio.get_running_loop().time())

    def _frame_writer(self) -> FrameWriter:
        if self._writer is None:
            width, height = self.style.width, self.style.height
            encoder = open_encoder(self.spec.encoding, width, height, self.fps)
            if encoder is None:
                renderer = None
            elif self.neural is not None:
                renderer = self.neural.renderer(width, height, self.fps, self._reference,
                                                realtime=self.spec.pacing == Pacing.REALTIME)
            else:
                renderer = open_renderer(self.spec.renderer, width, height)
            self._writer = FrameWriter(renderer, encoder, self.executor, self.observe, budget=self.budget)
        return self._writer

    async def _frames(self, sign_id: str, frames: np.ndarray, kinds: np.ndarray) -> AsyncIterator[Output]:
        """FrameOuts of these frames, drawn and encoded, in order; a NEURAL stream's Notices (stand-in
        weights, degraded or recovered rendering) before the frame they concern."""
        writer = self._frame_writer()
        adaptive = writer.renderer if isinstance(writer.renderer, AdaptiveRenderer) else None
        if self.neural is not None and self._first_render_at is None:
            self._first_render_at = asyncio.get_running_loop().time()
            if self.neural.noise:
                yield NoticeOut(STAND_IN_NOTICE, "", f"the neural models on Triton at {self.neural.url} are "
                                "random-weight stand-ins: this stream's NEURAL frames are NOISE, not pictures "
                                "(real weights: README, 'Real NEURAL weights')")
        seed = self.neural.seed if self.neural is not None else 0
        i = 0
        async for image in writer.images(frames):
            renderer, steps = Renderer.SKELETON.value, 0
            if adaptive is not None:
                made = adaptive.made.popleft()
                renderer, steps = made.renderer, made.steps
                if made.notice is not None:
                    yield NoticeOut(made.notice[0], "", made.notice[1])
            keypoints = frames[i] if self.spec.wants_keypoints else None
            yield FrameOut(self.frames_out, sign_id, FrameKind(int(kinds[i])), image, self.spec.encoding,
                           self.style.width, self.style.height, keypoints, self.fps, seed, str(renderer), steps)
            self.frames_out += 1
            i += 1

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
        if self._writer is not None:
            self._writer.close()
        if self.neural is not None:
            self.neural.release()


StreamSession = _Session      # what every stream kind's session builds on (signstream.gesture.session too)


class AnchoredNormalizer:
    """A live stream's normalization onto the style: every frame is normalized together with the
    stream's first, as `signmail` anchors a clip's first frame, so the body keeps its motion."""

    def __init__(self, style: Style, normalization: str):
        self._pair = NORMALIZERS[normalization](style)
        self._first: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """One frame (K, 3) -> its normalized frame (1, K, 3)."""
        if self._first is None:
            self._first = frame
        return self._pair(np.stack([self._first, frame]))[1:]


class SynthesisSession(_Session):
    """One Synthesize stream: sign IDs and texts in, frames out. An ID that cannot be used (malformed,
    unknown, a corrupt clip, the store down) or a word that cannot be signed is skipped with a Notice;
    the stream goes on."""

    def __init__(self, spec: SessionSpec, style: Style, lexicon: Lexicon, executor: Executor,
                 observe: Observer = ignore):
        super().__init__(spec, style, executor, observe)
        self.lexicon = lexicon
        self.fps = spec.fps or None
        self._sentence = Sentence(style, spec.options)
        self._spelling = spec.spelling
        self._signs_made = 0                      # names the frames held back (see held)

    async def add(self, item: str | Text) -> AsyncIterator[Output]:
        """A sign ID: the transition into the sign and its frames, a Notice instead if it cannot be
        used. A Text: glossed (signstream.text) and each of its signs and fingerspelled letters made
        the same way, in the order of its words, with a Notice for each word it cannot sign."""
        outputs = self._text(item.text) if isinstance(item, Text) else self._sign(item)
        async for out in outputs:
            yield out

    async def _text(self, text: str) -> AsyncIterator[Output]:
        try:
            # the table may still have to be read (a store read: in a thread); glossing itself is cheap
            glosses = await asyncio.to_thread(lambda: gloss_message(self.lexicon.table, self._spelling, text))
        except (CorruptClip, StoreUnavailable, LexiconNotFound) as exc:
            yield NoticeOut(exc.code, "", f"{exc.message}; the text was skipped")
            return
        for item, steps in staged(glosses):
            if item.code:
                yield NoticeOut(item.code, "", f"{item.token}: {item.why}")
            for step in steps:
                async for out in self._sign(step.sign_id, step):
                    yield out

    async def _sign(self, raw_sign_id: str, step: Step | None = None) -> AsyncIterator[Output]:
        """The transition into this sign and its frames (joined as `step` says: fingerspelled
        letters); a Notice instead if it cannot be used."""
        try:
            sign_id = canonical_sign_id(raw_sign_id)
        except InvalidSignId as exc:
            yield NoticeOut(exc.code, str(raw_sign_id)[:MAX_SIGN_ID_ECHO], exc.message)
            return
        try:
            # A cached clip is taken on the loop: it never waits behind store reads that other streams
            # have blocked in threads (a dead S3 holds each for its whole retry budget).
            clip = self.lexicon.cached_clip(sign_id) or await timed(
                self.observe, "lookup", asyncio.to_thread(self.lexicon.get_clip, sign_id))
        except (UnknownSign, CorruptClip, StoreUnavailable, LexiconNotFound) as exc:
            yield NoticeOut(exc.code, display_sign_id(sign_id), f"{exc.message}; skipped")
            return
        if self.fps is None:      # batch output's rule, over the clips known when the first frame leaves
            self.fps = frame_rate_from_clips([clip.fps])
        join = step.join(clip.fps) if step is not None else None
        chunk = await timed(self.observe, "normalize", run_at(self.executor, self.frames_out, self._sentence.add,
                                                              sign_id, clip.frames, clip.fps, join))
        self._signs_made += 1
        async for frame in self._write(chunk):
            yield frame

    async def _write(self, chunk: Chunk) -> AsyncIterator[FrameOut]:
        """A chunk's frames, each under the sign it belongs to (a smooth join releases the previous
        sign's last frames first)."""
        if chunk.tail:
            async for frame in self._frames(display_sign_id(chunk.tail_of), chunk.frames[: chunk.tail],
                                            chunk.kinds[: chunk.tail]):
                yield frame
        async for frame in self._frames(display_sign_id(chunk.sign_id), chunk.frames[chunk.tail:],
                                        chunk.kinds[chunk.tail:]):
            yield frame

    def held(self) -> tuple[int, float] | None:
        """The frames held back for the next sign: (which sign's, seconds they take to play), None
        when none are. Smooth transitions hold a sign's last frames (up to 7) until the next sign
        shows where the two meet; the streaming core lets them wait at most their playing time (280 ms
        at 25 fps) from when everything before them was sent, then they go out untrimmed (finish), so
        every frame of a sign streams whether or not the next sign comes."""
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


async def opened(session: _Session, spec: SessionSpec, neural: NeuralBackend | None,
                  budget: FrameBudget | None) -> _Session:
    session.budget = budget
    if spec.renderer == Renderer.NEURAL:
        await session.attach_neural(neural)
    return session


async def open_synthesis(spec: SessionSpec, lexicon: Lexicon, extractor: FrameExtractor,
                         executor: Executor, observe: Observer = ignore,
                         max_frame_bytes: int | None = None, budget: FrameBudget | None = None,
                         neural: NeuralBackend | None = None) -> SynthesisSession:
    """A Synthesize session; a NEURAL one is admitted to `neural` (its renderer) first."""
    spec = spec.validated()
    style = await timed(observe, "extract", load_style(spec, extractor))
    check_frame_size(spec, style.width, style.height, max_frame_bytes)
    return await opened(SynthesisSession(spec, style, lexicon, executor, observe), spec, neural, budget)


class RetargetSession(_Session):
    """One Retarget stream: video frames in, each extracted, normalized to the style and rendered.

    Normalization anchors the first frame, as `signmail` anchors a clip's first frame: every frame is
    normalized together with the first one, so the body keeps its motion across the picture. An input
    frame that cannot be decoded is skipped with an INVALID_IMAGE Notice naming its position among the
    frames the client sent (0-based)."""

    def __init__(self, spec: SessionSpec, style: Style, extractor: FrameExtractor, executor: Executor,
                 observe: Observer = ignore):
        super().__init__(spec, style, executor, observe)
        self.extractor = extractor
        self._anchored = AnchoredNormalizer(style, spec.options.normalization)
        self._kinds = np.array([FrameKind.SIGN], dtype=np.uint8)
        self.fps = spec.fps or DEFAULT_FPS
        self.frames_in = 0                  # input frames received, good or not
        # Extracted keypoints arrive one frame at a time: the filter runs causally (no added latency).
        self._filter = (JitterFilter(JitterParams(fps=self.fps, aspect=style.width / style.height))
                        if spec.options.keypoint_filter == "one_euro" else None)

    def _normalize(self, frame: np.ndarray) -> np.ndarray:
        if self._filter is not None:
            frame = self._filter.push(frame)
        return self._anchored(frame)

    async def add(self, data: bytes) -> AsyncIterator[Output]:
        """One encoded video frame -> its rendered frame, or a Notice if the image is unusable."""
        position = self.frames_in
        self.frames_in += 1
        try:
            frame, _ = await timed(self.observe, "extract", extract_encoded(self.extractor, data, "Retarget frame"))
        except InvalidArgument as exc:
            yield NoticeOut(InvalidImage.code, "", f"input frame {position}: {exc.message}; skipped")
            return
        normalized = await timed(self.observe, "normalize",
                                 run_at(self.executor, self.frames_out, self._normalize, frame))
        async for out in self._frames("", normalized, self._kinds):
            yield out


async def open_retarget(spec: SessionSpec, extractor: FrameExtractor, executor: Executor,
                        observe: Observer = ignore, max_frame_bytes: int | None = None,
                        budget: FrameBudget | None = None, neural: NeuralBackend | None = None) -> RetargetSession:
    """A Retarget session; a NEURAL one is admitted to `neural` (its renderer) first."""
    spec = spec.validated()
    style = await timed(observe, "extract", load_style(spec, extractor))
    check_frame_size(spec, style.width, style.height, max_frame_bytes)
    return await opened(RetargetSession(spec, style, extractor, executor, observe), spec, neural, budget)
