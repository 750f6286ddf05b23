"""Frames of the NEURAL renderer for the tests: from Triton's `renderer` model (requests sent on one
stream, answers collected), or from ONNX Runtime sessions driven by the orchestrator in-process."""
from __future__ import annotations

import asyncio

import numpy as np

from signstream.neural.triton_client import RendererClient, end_request


def render(grpc_url: str, requests: list, end: list[int] = (), timeout: float = 120
           ) -> tuple[dict[int, list[np.ndarray]], list[str]]:
    """{frame index: [images]} and the errors for `requests` sent on one stream to `renderer`; then,
    once every frame has been answered, END for the streams in `end` (an END sent earlier would drop
    the frames still in flight, as it is meant to)."""
    async def run():
        frames, errors = {}, []
        answered = asyncio.Event()
        if not requests:
            answered.set()

        async def source():
            for request in requests:
                yield request
            await answered.wait()
            for stream_id in end:
                yield end_request(stream_id)

        async with RendererClient(grpc_url) as client:
            got = 0
            async for index, image, error in client.render(source()):
                got += 1
                if error is not None:
                    errors.append(error)
                elif image is not None:
                    frames.setdefault(index, []).append(image)
                if got == len(requests):
                    answered.set()
                if got == len(requests) + len(end):
                    break
        return frames, errors
    return asyncio.run(asyncio.wait_for(run(), timeout))


class Direct:
    """`infer` straight into ONNX Runtime sessions, counting calls per model."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.calls: dict[str, int] = {}

    async def __call__(self, model, inputs):
        self.calls[model] = self.calls.get(model, 0) + 1
        session = self.sessions[model]
        names = [o.name for o in session.get_outputs()]
        await asyncio.sleep(0)            # let other frames interleave, as BLS calls do
        return dict(zip(names, session.run(names, inputs)))
