"""The NEURAL renderer on the rendering seam: each frame's skeleton picture (the pose image) and the
stream's reference photo go to Triton's `renderer` model; its photoreal frames come back in order.

    renderer = NeuralRenderer(512, 512, url="127.0.0.1:8001", reference=photo, seed=7, steps=1)
    pictures = await renderer.render(frames)       # up to max_batch frames, one Triton request each
    renderer.close()                                # END: Triton frees the stream's state

A model renderer (`asynchronous`): the frame writer awaits `render` a batch of `max_batch` frames at
a time with the next batch already in flight, so about 2 x max_batch frames of a stream are in
Triton at once; they finish in any order and are released strictly in index order. The gateway
batches nothing itself: Triton's dynamic batcher merges the step requests of all streams. One
bidirectional gRPC stream to Triton per stream; a frame that fails ends the stream with the error.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Sequence

import numpy as np
import tritonclient.grpc.aio as triton_aio

from signstream.errors import RendererFailed, SignStreamError, TritonUnavailable
from signstream.names import Renderer as RendererName
from signstream.neural.triton_client import MAX_MESSAGE, end_request, frame_request
from signstream.render.renderer import FrameObserver, Renderer, ignore_frame
from signstream.render.skeleton import render_frame

IN_FLIGHT = 4                       # frames per render() call (and so per Triton round)
_STREAM_IDS = itertools.count(1)
_END = object()


def new_stream_id() -> int:
    """A stream ID unique in this process; with the process ID, unique on the Triton it talks to."""
    import os

    return (os.getpid() << 32) | next(_STREAM_IDS)


class NeuralRenderer(Renderer):
    name = RendererName.NEURAL
    asynchronous = True
    max_batch = IN_FLIGHT

    def __init__(self, width: int, height: int, *, url: str, reference: np.ndarray, seed: int, steps: int = 1,
                 stream_id: int | None = None, noise: bool = False, observe: FrameObserver | None = None):
        super().__init__(width, height)
        self.observe = observe or ignore_frame
        self.url, self.reference, self.seed, self.steps = url, reference, int(seed), int(steps)
        self.stream_id = new_stream_id() if stream_id is None else stream_id
        self.noise = noise
        self._index = 0
        self._requests: asyncio.Queue | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self._client: triton_aio.InferenceServerClient | None = None
        self._broken: SignStreamError | None = None   # set once the stream to Triton is gone

    async def _open(self) -> None:
        self._client = triton_aio.InferenceServerClient(self.url, channel_args=[
            ("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)])
        self._requests = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(), name=f"neural-{self.stream_id}")

    async def _source(self):
        while (request := await self._requests.get()) is not _END:
            yield request

    async def _read(self) -> None:
        """Every answer to its frame's future. When the stream to Triton ends, broken or not, nothing
        more comes back on it: every frame asked for, now or later, fails with why."""
        lost: SignStreamError = TritonUnavailable(f"lost the neural renderer at {self.url}: its stream ended")
        try:
            async for result, error in self._client.stream_infer(self._source()):
                if error is not None:       # Triton's stream errors name no request: the stream fails
                    self._fail(RendererFailed(f"the neural renderer failed a frame: {error.message()}"))
                    continue
                index = int(result.as_numpy("FRAME_INDEX")[0])
                future = self._pending.pop(index, None)
                if future is not None and not future.done():
                    future.set_result(result.as_numpy("IMAGE"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the connection broke: every pending frame fails
            lost = TritonUnavailable(f"lost the neural renderer at {self.url}: {exc}")
        self._broken = lost
        self._fail(lost)

    def _fail(self, error: SignStreamError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
                future.exception()          # marked seen: a render() awaiting it still raises it
        self._pending.clear()

    def _pose(self, frame: np.ndarray) -> np.ndarray:
        return render_frame(frame, self.width, self.height, channels="rgb")

    async def render(self, frames: np.ndarray, channels: str = "rgb", steps: int | None = None) -> Sequence[np.ndarray]:
        """The pictures of `frames`, each drawn with `steps` sampler steps (default: the renderer's)."""
        if self._broken is not None:
            raise self._broken
        if self._client is None:
            await self._open()
        asked = time.perf_counter()
        poses = await asyncio.to_thread(lambda: [self._pose(f) for f in frames])
        loop = asyncio.get_running_loop()
        futures = []
        for pose in poses:
            first = self._index == 0
            request = frame_request(self.stream_id, self._index, pose, self.reference if first else None,
                                    seed=self.seed if first else None, steps=steps or self.steps)
            future = loop.create_future()
            self._pending[self._index] = future
            futures.append(future)
            self._index += 1
            await self._requests.put(request)
        if self._broken is not None:         # the stream went while these were asked: none will come back
            self._fail(self._broken)
        sent = time.perf_counter()
        self.observe.frames_sent(len(futures), sent - asked)
        try:
            images = await asyncio.gather(*futures)           # in index order, whatever order they finish in
        finally:
            self.observe.frames_back(len(futures), time.perf_counter() - sent)
        return [image if channels == "rgb" else image[..., ::-1] for image in images]

    def close(self) -> None:
        """END to Triton (it frees the stream's state; frames still in flight are dropped), then the
        connection goes once the END is sent."""
        if self._requests is None:
            return
        requests, reader, client = self._requests, self._reader, self._client
        self._requests = self._reader = self._client = None
        requests.put_nowait(end_request(self.stream_id))
        requests.put_nowait(_END)
        self._fail(RendererFailed("the stream ended"))

        async def finish() -> None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(reader), 5.0)
            reader.cancel()
            with contextlib.suppress(BaseException):
                await client.close()

        with contextlib.suppress(RuntimeError):          # no running loop: nothing left to close on
            asyncio.get_running_loop().create_task(finish())
