"""The one-pass NEURAL renderer on the rendering seam: each frame's skeleton picture and the stream's
reference photo (at the frame's size) go to Triton's `pose2img` model, one request per frame.

    renderer = Pose2ImgRenderer(512, 512, url="127.0.0.1:8001", reference=photo)
    pictures = await renderer.render(frames)     # up to max_batch frames, their requests all in flight
    renderer.close()

A model renderer like `NeuralRenderer`, but stateless on the Triton side: every request carries the
reference, so nothing is cached per stream and nothing needs an END. Triton's dynamic batcher merges
the requests of every stream of the same frame size.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import cv2
import numpy as np
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException

from signstream.errors import RendererFailed, TritonUnavailable
from signstream.names import Renderer as RendererName
from signstream.neural.triton_client import MAX_MESSAGE
from signstream.render.neural import IN_FLIGHT
from signstream.render.renderer import FrameObserver, Renderer, ignore_frame
from signstream.render.skeleton import render_frame

POSE2IMG_MODEL = "pose2img"


def _tensor(name: str, array: np.ndarray) -> triton_aio.InferInput:
    tensor = triton_aio.InferInput(name, [1, *array.shape], "UINT8")
    tensor.set_data_from_numpy(np.ascontiguousarray(array)[None])
    return tensor


class Pose2ImgRenderer(Renderer):
    name = RendererName.NEURAL
    asynchronous = True
    max_batch = IN_FLIGHT

    def __init__(self, width: int, height: int, *, url: str, reference: np.ndarray, noise: bool = False,
                 observe: FrameObserver | None = None, timeout_s: float = 60.0):
        super().__init__(width, height)
        self.url, self.noise, self.timeout_s = url, noise, timeout_s
        self.observe = observe or ignore_frame
        if reference.shape[:2] != (height, width):
            reference = cv2.resize(reference, (width, height), interpolation=cv2.INTER_AREA)
        self._reference = _tensor("REFERENCE", reference)
        self._client: triton_aio.InferenceServerClient | None = None

    async def _frame(self, pose: np.ndarray) -> np.ndarray:
        try:
            result = await self._client.infer(POSE2IMG_MODEL, [_tensor("POSE", pose), self._reference],
                                              outputs=[triton_aio.InferRequestedOutput("IMAGE")],
                                              client_timeout=self.timeout_s)
        except InferenceServerException as exc:
            status = (exc.status() or "").upper()
            if "UNAVAILABLE" in status or "DEADLINE" in status:
                raise TritonUnavailable(f"lost the neural renderer at {self.url}: {exc.message()}") from exc
            raise RendererFailed(f"pose2img failed a frame: {exc.message()}") from exc
        return result.as_numpy("IMAGE")[0]

    async def render(self, frames: np.ndarray, channels: str = "rgb", steps: int | None = None) -> Sequence[np.ndarray]:
        """The pictures of `frames` in order (`steps` is the diffusion renderer's; one pass here)."""
        if self._client is None:
            self._client = triton_aio.InferenceServerClient(self.url, channel_args=[
                ("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)])
        asked = time.perf_counter()
        poses = await asyncio.to_thread(lambda: [render_frame(f, self.width, self.height, channels="rgb")
                                                 for f in frames])
        sent = time.perf_counter()
        self.observe.frames_sent(len(poses), sent - asked)
        try:
            images = await asyncio.gather(*(self._frame(pose) for pose in poses))
        finally:
            self.observe.frames_back(len(poses), time.perf_counter() - sent)
        return [image if channels == "rgb" else image[..., ::-1] for image in images]

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(RuntimeError):          # no running loop: nothing left to close on
            asyncio.get_running_loop().create_task(client.close())
