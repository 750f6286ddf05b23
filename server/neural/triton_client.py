"""The client side of the `renderer` model: its requests and a bidirectional stream of them.

    async with RendererClient("127.0.0.1:8001") as renderer:
        async for index, image, error in renderer.render([frame_request(7, 0, pose, reference, seed=1),
                                                          frame_request(7, 1, pose), end_request(7)]):
            ...

Responses arrive as frames finish, not in request order (the renderer works on many at once);
each carries its FRAME_INDEX. An END request's answer has no image.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import numpy as np
import tritonclient.grpc.aio as triton_aio

RENDERER_MODEL = "renderer"
MAX_MESSAGE = 64 * 1024 * 1024


def _tensor(name: str, array: np.ndarray, dtype: str) -> triton_aio.InferInput:
    tensor = triton_aio.InferInput(name, list(array.shape), dtype)
    tensor.set_data_from_numpy(np.ascontiguousarray(array))
    return tensor


def frame_request(stream_id: int, index: int, pose: np.ndarray, reference: np.ndarray | None = None,
                  seed: int | None = None, steps: int | None = None) -> dict:
    """One frame of one stream: `pose` (H, W, 3) uint8; `reference` and `seed` with its first frame."""
    inputs = [_tensor("STREAM_ID", np.array([stream_id], np.uint64), "UINT64"),
              _tensor("FRAME_INDEX", np.array([index], np.int64), "INT64"),
              _tensor("POSE", pose, "UINT8")]
    if reference is not None:
        inputs.append(_tensor("REFERENCE", reference, "UINT8"))
    if seed is not None:
        inputs.append(_tensor("SEED", np.array([seed], np.uint64), "UINT64"))
    if steps is not None:
        inputs.append(_tensor("STEPS", np.array([steps], np.int32), "INT32"))
    return {"model_name": RENDERER_MODEL, "inputs": inputs, "request_id": f"{stream_id}:{index}"}


def end_request(stream_id: int) -> dict:
    """Free the stream's state in the renderer (its frames still in flight are dropped)."""
    return {"model_name": RENDERER_MODEL, "request_id": f"{stream_id}:end",
            "inputs": [_tensor("STREAM_ID", np.array([stream_id], np.uint64), "UINT64"),
                       _tensor("FRAME_INDEX", np.array([-1], np.int64), "INT64"),
                       _tensor("END", np.array([True]), "BOOL")]}


class RendererClient:
    def __init__(self, url: str):
        self.url = url
        self._client: triton_aio.InferenceServerClient | None = None

    async def __aenter__(self) -> "RendererClient":
        self._client = triton_aio.InferenceServerClient(self.url, channel_args=[
            ("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)])
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def render(self, requests: Iterable[dict] | AsyncIterator[dict]
                     ) -> AsyncIterator[tuple[int, np.ndarray | None, str | None]]:
        """(frame index, image or None, error text or None) per request, as they finish."""
        async def source():
            if hasattr(requests, "__aiter__"):
                async for request in requests:
                    yield request
            else:
                for request in requests:
                    yield request

        async for result, error in self._client.stream_infer(source()):
            if error is not None:
                yield -1, None, str(error)
                continue
            index = int(result.as_numpy("FRAME_INDEX")[0])
            yield index, result.as_numpy("IMAGE"), None
