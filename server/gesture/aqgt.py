"""The `aqgt` gesture source: AQ-GT (the user's own export) on Triton, window by window as speech arrives.

    source = open_aqgt_source("127.0.0.1:8001", fps=25.0, lookahead_s=2.4)
    await source.check()                   # optional: fail at the stream's start, not at its first audio
    frames = await source.feed(chunk)      # (T, 681, 3) packed frames now ready
    frames = await source.finish()         # the rest: exactly round(duration * fps) frames in all
    await source.close()

Each window (34 frames at 15 fps, every 2 s of audio: signstream.gesture.aqgt_windows) is one call to
each of aqgt_pre (audio features), aqgt_generator (the model) and aqgt_post (positions) in turn, as soon
as its audio has all arrived; the frames no later window changes are mapped onto our layout
(signstream.gesture.aqgt_pose) and resampled to the stream's fps. A frame is held back at most one
window of audio (34 / 15 s) plus one model frame: AQGT_LOOKAHEAD_S, the least lookahead a client must
declare. Words are accepted and not used (the exported model has the empty sentence's text feature).

Errors: open_aqgt_source raises InvalidArgument for a lookahead below AQGT_LOOKAHEAD_S or a bad fps;
the first of check / feed / finish raises SourceUnavailable (FAILED_PRECONDITION) when the Triton
has no ready aqgt models (their files are missing: it names them and the README recipe) and
TritonUnavailable when Triton cannot be reached (also when it fails a call later); feed raises
InvalidArgument for NaN audio or audio after finish.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import PurePosixPath

import numpy as np
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException

from signstream.errors import InvalidArgument, SourceUnavailable, TritonUnavailable
from signstream.gesture import aqgt_windows as win
from signstream.gesture.aqgt_contract import (GENERATOR_FILE, GENERATOR_MODEL, LICENCE_NOTICE, MEAN_FILE,
                                              MODEL_FPS, MODELS, N_POSES, POST_MODEL, PRE_MODEL, SAMPLE_RATE)
from signstream.gesture.aqgt_pose import GestureBody
from signstream.gesture.source import Word
from signstream.kernels import layout as L

log = logging.getLogger(__name__)

AQGT_LOOKAHEAD_S = N_POSES / MODEL_FPS + 1 / MODEL_FPS       # ~2.33 s
MAX_FPS = 120.0
README_SECTION = 'README, "Co-speech gestures" → "The aqgt source"'


def missing_models_message(url: str, missing: Sequence[str]) -> str:
    files = (f"{GENERATOR_MODEL}/1/{GENERATOR_FILE}", f"{POST_MODEL}/1/{MEAN_FILE}")
    return (f"the aqgt gesture source needs the Triton models {', '.join(MODELS)}; {url} has no ready "
            f"{', '.join(missing)}: they load only when the model repository holds "
            f"{' and '.join(str(PurePosixPath('model_repository', f)) for f in files)}, which you export "
            f"from your own AQ-GT checkout ({README_SECTION}; AQ-GT is CC BY-NC 3.0, non-commercial)")


def _tensor(name: str, array: np.ndarray) -> triton_aio.InferInput:
    tensor = triton_aio.InferInput(name, list(array.shape), "FP32")
    tensor.set_data_from_numpy(np.ascontiguousarray(array, np.float32))
    return tensor


class AqgtSource:
    """One stream's AQ-GT gestures (never shared). Keeps the stream's audio and the model frames not
    yet sent; `close` releases the Triton connection."""

    def __init__(self, url: str, fps: float, lookahead_s: float, client=None):
        self.url = url
        self._client = client               # made at the first check (it needs the running event loop)
        self._checked = self._closed = False
        self.fps, self.lookahead_s = float(fps), float(lookahead_s)
        self._body = GestureBody()
        self._audio = np.zeros(0, np.float32)
        self._model_frames = np.zeros((0, 53, 3), np.float32)   # 15 fps positions so far (blended)
        self._previous: np.ndarray | None = None                # the last window's raw out_dir_vec
        self._windows = 0
        self._sent = 0
        self._finished = False

    # ------------------------------------------------------------------ GestureSource

    async def check(self) -> None:
        """Make sure the Triton serves the three aqgt models (once; feed and finish call it)."""
        if self._checked:
            return
        if self._closed:
            raise InvalidArgument("the aqgt source is closed")
        if self._client is None:
            self._client = triton_aio.InferenceServerClient(self.url)
        try:
            missing = [m for m in MODELS if not await self._client.is_model_ready(m)]
        except InferenceServerException as exc:
            raise TritonUnavailable(f"Triton at {self.url} cannot be reached: {exc.message()}") from exc
        if missing:
            raise SourceUnavailable(missing_models_message(self.url, missing), field="source")
        log.info("%s (Triton %s)", LICENCE_NOTICE, self.url)
        self._checked = True

    async def feed(self, audio: np.ndarray, words: Sequence[Word] = ()) -> np.ndarray:
        """Take the next audio (float32 mono 16 kHz); run every window it completes; the frames ready."""
        if self._finished:
            raise InvalidArgument("audio after the end of the speech")
        await self.check()
        chunk = np.asarray(audio, np.float32).reshape(-1)
        if not np.all(np.isfinite(chunk)):
            raise InvalidArgument("audio holds NaN or infinite samples", field="audio")
        self._audio = np.concatenate([self._audio, chunk])
        while win.window_ready(self._windows, len(self._audio)):
            await self._run_window()
        final = win.final_frames(self._windows, last=False)
        return self._release(min(win.resampled_ready(final, self.fps),
                                 win.stream_frame_count(len(self._audio), self.fps)))

    async def finish(self) -> np.ndarray:
        """The speech ended: run the windows still owed (zero-padded audio); every frame still owed."""
        self._finished = True
        await self.check()
        while self._windows < win.window_count(len(self._audio) / SAMPLE_RATE):
            await self._run_window()
        return self._release(win.stream_frame_count(len(self._audio), self.fps))

    async def close(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # ------------------------------------------------------------------ the three models

    async def _infer(self, model: str, inputs: dict[str, np.ndarray], outputs: Sequence[str]) -> list[np.ndarray]:
        if self._closed:
            raise InvalidArgument("the aqgt source is closed")
        try:
            result = await self._client.infer(model, [_tensor(n, a) for n, a in inputs.items()],
                                              outputs=[triton_aio.InferRequestedOutput(n) for n in outputs])
        except InferenceServerException as exc:
            raise TritonUnavailable(f"Triton at {self.url} failed {model}: {exc.message()}") from exc
        return [result.as_numpy(n) for n in outputs]

    async def _run_window(self) -> None:
        i = self._windows
        window = win.window_audio(self._audio, i)[None]
        input_values, chunks, beats = await self._infer(PRE_MODEL, {"AUDIO": window},
                                                        ("input_values", "audio_chunks", "beats"))
        (dir_vec,) = await self._infer(GENERATOR_MODEL, {
            "pre_seq": win.pre_seq(self._previous)[None], "beats": beats, "input_values": input_values,
            "audio_chunks": chunks}, ("out_dir_vec",))
        (positions,) = await self._infer(POST_MODEL, {"out_dir_vec": dir_vec}, ("POSITIONS",))
        self._previous = dir_vec[0]
        self._model_frames = win.crossfade(self._model_frames, positions[0])
        self._windows += 1

    def _release(self, upto: int) -> np.ndarray:
        """Stream frames [sent, upto) as packed frames."""
        if upto <= self._sent:
            return np.zeros((0, L.NUM_POINTS, 3), np.float32)
        positions = win.resample(self._model_frames, self._sent, upto, self.fps)
        self._sent = upto
        return self._body.frames(positions)


def _check_options(fps: float, lookahead_s: float) -> None:
    if not 0 < fps <= MAX_FPS:
        raise InvalidArgument(f"fps must be in (0, {MAX_FPS:g}], got {fps}", field="fps")
    if lookahead_s < AQGT_LOOKAHEAD_S:
        raise InvalidArgument(f"the aqgt source holds frames back up to {AQGT_LOOKAHEAD_S:.2f} s (one "
                              f"34-frame window at 15 fps): declare lookahead_s >= that, got {lookahead_s}",
                              field="lookahead_s")


def open_aqgt_source(url: str, fps: float, lookahead_s: float) -> AqgtSource:
    """A new source for one stream on the Triton at `url` (host:port, gRPC). Nothing is sent yet: the
    models are checked at the source's first check / feed / finish."""
    _check_options(fps, lookahead_s)
    return AqgtSource(url, fps, lookahead_s)
