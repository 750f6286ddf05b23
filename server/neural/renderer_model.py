"""The `renderer` Triton model (decoupled python backend, `async def execute`): requests in, one final
response each, the work done by `NeuralOrchestrator` with BLS calls to the neural models.

Requests: STREAM_ID, FRAME_INDEX, POSE (H, W, 3) uint8, and REFERENCE + SEED with a stream's first
frame, STEPS (1, 2 or 4); or STREAM_ID + END to free the stream (its frames still in flight are
dropped before their next step, with a CANCELLED-coded error). A request the client cancelled is
dropped the same way. Idle streams are freed after `idle_seconds`. Only importable inside Triton's
python stub (it needs `triton_python_backend_utils`).
"""
from __future__ import annotations

import asyncio
import json
import logging

import numpy as np
import triton_python_backend_utils as pb_utils

from signstream.errors import SignStreamError
from signstream.neural.cache import MIB, StreamCache
from signstream.neural.orchestrator import NeuralOrchestrator

log = logging.getLogger(__name__)
SWEEP_EVERY_S = 1.0
FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL


def _optional(request, name: str):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy()


def _scalar(request, name: str, default):
    array = _optional(request, name)
    return default if array is None or array.size == 0 else array.reshape(-1)[0].item()


class RendererModel:
    def initialize(self, args):
        parameters = json.loads(args["model_config"]).get("parameters", {})

        def parameter(key: str, default: str) -> str:
            return parameters.get(key, {}).get("string_value", default)

        self.cache = StreamCache(max_streams=int(parameter("max_streams", "64")),
                                 max_bytes=int(float(parameter("max_cache_mib", "1024")) * MIB),
                                 idle_s=float(parameter("idle_seconds", "60")))
        self.renderer = NeuralOrchestrator(self._infer, self.cache)
        self._sweeper: asyncio.Task | None = None

    async def _infer(self, model: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        request = pb_utils.InferenceRequest(
            model_name=model, inputs=[pb_utils.Tensor(name, np.ascontiguousarray(a)) for name, a in inputs.items()],
            requested_output_names=[])
        response = await request.async_exec()
        if response.has_error():
            raise RuntimeError(f"{model}: {response.error().message()}")
        return {t.name(): t.as_numpy() for t in response.output_tensors()}

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            for stream_id in self.cache.sweep():
                log.info("renderer: stream %d idle for %g s: its state was freed", stream_id, self.cache.idle_s)

    async def execute(self, requests):
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
        await asyncio.gather(*(self._answer(r) for r in requests))
        return None

    async def _answer(self, request) -> None:
        sender = request.get_response_sender()
        index = np.array([_scalar(request, "FRAME_INDEX", -1)], dtype=np.int64)
        try:
            stream_id = int(_scalar(request, "STREAM_ID", 0))
            if _scalar(request, "END", False):
                self.renderer.end(stream_id)
                sender.send(pb_utils.InferenceResponse([pb_utils.Tensor("FRAME_INDEX", index)]), flags=FINAL)
                return
            image = await self.renderer.frame(stream_id, _optional(request, "POSE"), _optional(request, "REFERENCE"),
                                              seed=int(_scalar(request, "SEED", 0)),
                                              steps=int(_scalar(request, "STEPS", 1)),
                                              cancelled=request.is_cancelled)
            sender.send(pb_utils.InferenceResponse([pb_utils.Tensor("IMAGE", np.ascontiguousarray(image)),
                                                    pb_utils.Tensor("FRAME_INDEX", index)]), flags=FINAL)
        except SignStreamError as exc:
            sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{exc.code}: {exc.message}")), flags=FINAL)
        except Exception as exc:  # noqa: BLE001 - any failure ends this request only
            log.exception("renderer request failed")
            sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{type(exc).__name__}: {exc}")),
                        flags=FINAL)

    def finalize(self):
        if self._sweeper is not None:
            self._sweeper.cancel()
