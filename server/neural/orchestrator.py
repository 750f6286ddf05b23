"""What the `renderer` model does per request, as plain asyncio: a pose frame (and, first, the stream's
reference) in, a photoreal frame out, through `neural_appearance`, S x `neural_unet_step` and
`neural_decode`. The Triton model (model_repository/renderer) gives it BLS calls as `infer`; tests
can give it ONNX sessions.

    renderer = NeuralOrchestrator(infer, StreamCache())
    image = await renderer.frame(stream_id, pose, reference=photo, seed=7, steps=2)   # (H, W, 3) uint8
    renderer.end(stream_id)

Each model call is one request of batch 1: Triton's dynamic batcher merges the step requests of all
streams and all step indices (each carries its own timestep and coefficients), so the orchestrator
assembles no batches itself. A stream's first frame must carry its reference; its appearance runs
once, even when several first frames arrive together.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import cv2
import numpy as np

from signstream.errors import FrameDropped, InvalidArgument
from signstream.neural import contract as c
from signstream.neural.cache import StreamCache, StreamState

Infer = Callable[[str, dict[str, np.ndarray]], Awaitable[dict[str, np.ndarray]]]


def _chw(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 in 0..1."""
    return (np.ascontiguousarray(image.transpose(2, 0, 1))[None] / np.float32(255)).astype(np.float32)


def check_image(image: np.ndarray | None, name: str) -> np.ndarray:
    if image is None or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        got = "nothing" if image is None else f"{image.dtype} {tuple(image.shape)}"
        raise InvalidArgument(f"{name} must be an (H, W, 3) uint8 RGB image, got {got}", field=name)
    return image


class NeuralOrchestrator:
    def __init__(self, infer: Infer, cache: StreamCache):
        self.infer = infer
        self.cache = cache
        self._opening: dict[int, asyncio.Future] = {}      # first frames of a stream wait on one appearance run
        self._ending: set[int] = set()                      # ended while its appearance ran
        self.appearance_runs = 0

    async def _open(self, stream_id: int, reference: np.ndarray, seed: int, width: int, height: int) -> StreamState:
        if stream_id in self._opening:
            return await asyncio.shield(self._opening[stream_id])
        opening = asyncio.get_running_loop().create_future()
        self._opening[stream_id] = opening
        try:
            noise = c.stream_noise(seed, height, width)[None]
            if (width, height) != (reference.shape[1], reference.shape[0]):
                reference = cv2.resize(reference, (width, height), interpolation=cv2.INTER_AREA)
            self.appearance_runs += 1
            out = await self.infer(c.APPEARANCE.name, {"reference": _chw(reference)})
            state = self.cache.add(stream_id, StreamState(out["ID_TOKENS"], out["REF_BANK"], noise, width, height))
            if stream_id in self._ending:       # END overtook its first frame: the frames are dropped
                self._ending.discard(stream_id)
                self.cache.end(stream_id)
            opening.set_result(state)
            return state
        except BaseException as exc:
            opening.set_exception(exc)
            opening.exception()               # retrieved here: the waiters, if any, re-raise it
            raise
        finally:
            del self._opening[stream_id]

    async def frame(self, stream_id: int, pose: np.ndarray, reference: np.ndarray | None = None, seed: int = 0,
                    steps: int = c.DEFAULT_STEPS, cancelled: Callable[[], bool] = lambda: False) -> np.ndarray:
        """The stream's next frame for `pose` (H, W, 3) uint8; `reference` (any size, resized to the
        frame) with its first frame. FrameDropped when the stream ends (or `cancelled()` turns true)
        before the frame is done; InvalidArgument for a bad request."""
        pose = check_image(pose, "POSE")
        height, width = pose.shape[:2]
        if steps not in c.STEPS_ALLOWED:
            raise InvalidArgument(f"STEPS must be one of {', '.join(map(str, c.STEPS_ALLOWED))}, got {steps}",
                                  field="STEPS")
        state = self.cache.get(stream_id)
        if state is None:
            if reference is None and stream_id not in self._opening:
                raise InvalidArgument(f"stream {stream_id} has no reference: send REFERENCE with its first frame "
                                      "(a stream's state is also freed after END or its idle timeout)",
                                      field="REFERENCE")
            if height % c.LATENT_SCALE or width % c.LATENT_SCALE:
                raise InvalidArgument(f"POSE is {width}x{height}; the neural renderer needs sides that are "
                                      f"multiples of {c.LATENT_SCALE}", field="POSE")
            state = await self._open(stream_id, check_image(reference, "REFERENCE") if reference is not None
                                     else None, seed, width, height)
        if (width, height) != (state.width, state.height):
            raise InvalidArgument(f"POSE is {width}x{height} but stream {stream_id} renders at "
                                  f"{state.width}x{state.height}: a stream keeps one frame size", field="POSE")
        state.in_flight += 1
        try:
            timesteps, sched = c.schedule(steps)
            pose_chw = _chw(pose)
            sample = state.noise
            for k in range(steps):
                if state.ended or cancelled():
                    raise FrameDropped(f"stream {stream_id} ended; its frame was dropped before step {k + 1} of {steps}")
                sample = (await self.infer(c.UNET_STEP.name, {
                    "sample": sample, "timestep": timesteps[k:k + 1], "sched": sched[k:k + 1],
                    "id_tokens": state.id_tokens, "pose": pose_chw, "ref_bank": state.ref_bank}))["x_prev"]
            if state.ended or cancelled():
                raise FrameDropped(f"stream {stream_id} ended; its frame was dropped before decoding")
            image = (await self.infer(c.DECODE.name, {"latent": sample}))["IMAGE"][0]
            state.frames += 1
            return image
        finally:
            state.in_flight -= 1
            state.last_used = self.cache.clock()

    def end(self, stream_id: int) -> bool:
        """Free the stream's state (its frames in flight are dropped); whether it had any."""
        if stream_id in self._opening:
            self._ending.add(stream_id)
            return True
        return self.cache.end(stream_id)
