"""The one piece every python-backend `model.py` shares: run a function per request and turn its
arrays (or its error) into that request's response.

A bad request gets its own error response; the other requests Triton batched with it still get
their results. Only importable inside Triton's python stub (it needs `triton_python_backend_utils`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import triton_python_backend_utils as pb_utils

from signstream.errors import SignStreamError

log = logging.getLogger(__name__)


def input_array(request, name: str) -> np.ndarray:
    """The request's input `name` as a NumPy array (batch dimension first)."""
    return pb_utils.get_input_tensor_by_name(request, name).as_numpy()


def respond_each(requests: Sequence, infer: Callable[[object], dict[str, np.ndarray]]) -> list:
    """One InferenceResponse per request, in order. `infer(request)` returns output name -> array;
    any exception becomes that request's error, never the others'."""
    responses = []
    for request in requests:
        try:
            outputs = infer(request)
        except (SignStreamError, ValueError) as exc:       # the request's own fault: say why
            message = exc.message if isinstance(exc, SignStreamError) else str(exc)
            responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(message)))
            continue
        # Anything else (cv2.error, a MediaPipe RuntimeError) still fails this request only; the
        # traceback goes to Triton's log.
        except Exception as exc:  # noqa: BLE001
            log.exception("request failed")
            responses.append(pb_utils.InferenceResponse(
                error=pb_utils.TritonError(f"{type(exc).__name__}: {exc}")))
            continue
        tensors = [pb_utils.Tensor(name, np.ascontiguousarray(array)) for name, array in outputs.items()]
        responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
    return responses


class OnnxTritonModel:
    """A python model that is one ONNX Runtime session (signstream.extract.onnx_model): subclass it as
    `TritonPythonModel` with the tensor names the model's contract fixes. Queued requests run as one
    session call; a bad request gets its own error."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    def initialize(self, args):
        import json

        from signstream.extract.onnx_model import OnnxBatchModel
        from signstream.triton.parameters import DELAY_PARAMETER

        self.model = OnnxBatchModel.from_triton_args(args, inputs=self.inputs, outputs=self.outputs)
        parameters = json.loads(args["model_config"]).get("parameters", {})
        self.delay_s = float(parameters.get(DELAY_PARAMETER, {}).get("string_value", "0") or 0) / 1000

    def execute(self, requests):
        from signstream.extract.onnx_model import raise_or_return

        if self.delay_s:                # a slower device, simulated (tests of falling behind real time)
            import time

            time.sleep(self.delay_s)

        batches = [{name: input_array(r, name) for name in self.model.input_names} for r in requests]
        return respond_each(self.model.run_batches(batches), raise_or_return)
