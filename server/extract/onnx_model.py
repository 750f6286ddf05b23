"""An ONNX Runtime session that takes batches: what the `yolox` and `dwpose` python models wrap.

Triton hands a python model several requests at once (dynamic batching); `run_batches` runs them
as one session call and splits the result back, so a batch costs one call. A request that cannot
run gets its own error and the others still get their results. Exported YOLOX/DWPose files often
fix their batch dimension at 1: the session is then called once per image instead.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from signstream.errors import ExtractionFailed
from signstream.triton.parameters import THREADS_PARAMETER, WEIGHTS_PARAMETER, missing_weights_message

log = logging.getLogger(__name__)

_NUMPY_TYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
}

Outcome = dict[str, np.ndarray] | Exception


def raise_or_return(outcome: Outcome) -> dict[str, np.ndarray]:
    """One `run_batches` outcome -> its outputs, or raise its error (for the Triton adapter)."""
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


class OnnxBatchModel:
    """One ONNX Runtime CPU session. Inputs and outputs are batch-first NumPy arrays by tensor name.

    `inputs` / `outputs`, when given, are the tensor names the caller relies on: a file with other
    names is refused when it is opened, not at the first request.
    """

    def __init__(self, path: str | Path, *, inputs: Sequence[str] | None = None,
                 outputs: Sequence[str] | None = None, intra_op_threads: int = 1):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(missing_weights_message(path))
        import onnxruntime as ort   # only where a network really runs

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(intra_op_threads))
        options.inter_op_num_threads = 1     # one graph branch at a time: instances x threads <= cores
        self.path = path
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        args = self.session.get_inputs()
        self.input_names = tuple(a.name for a in args)
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        for kind, expected, actual in (("inputs", inputs, self.input_names), ("outputs", outputs, self.output_names)):
            if expected is not None and tuple(expected) != actual:
                raise ValueError(f"{path} has {kind} {list(actual)}, expected {list(expected)}")
        # Per input: dims after the batch (None where symbolic) and the NumPy dtype.
        self.item_shapes = {a.name: tuple(d if isinstance(d, int) else None for d in a.shape[1:]) for a in args}
        self.dtypes = {a.name: _NUMPY_TYPES.get(a.type) for a in args}
        batch_dims = {a.shape[0] if a.shape else None for a in args}
        fixed = {d for d in batch_dims if isinstance(d, int)}
        if fixed - {1}:
            raise ValueError(f"{path} fixes its batch dimension at {sorted(fixed)}; only 1 or dynamic is supported")
        self.one_at_a_time = bool(fixed)       # batch dimension fixed at 1: loop over the batch
        log.info("opened %s (%s, %d threads%s)", path, ", ".join(self.input_names),
                 options.intra_op_num_threads, ", one image per call" if self.one_at_a_time else "")

    @classmethod
    def from_triton_args(cls, args: Mapping[str, str], *, inputs: Sequence[str], outputs: Sequence[str]) -> "OnnxBatchModel":
        """From a python model's initialize() args: the file named by the `weights` parameter in
        `<model_repository>/<model_version>/`, with `intra_op_threads` threads."""
        parameters = json.loads(args["model_config"]).get("parameters", {})

        def parameter(key: str) -> str | None:
            return parameters.get(key, {}).get("string_value")

        weights = parameter(WEIGHTS_PARAMETER)
        if not weights:
            raise ValueError(f"model config has no `{WEIGHTS_PARAMETER}` parameter naming the ONNX file")
        path = Path(args["model_repository"]) / str(args["model_version"]) / weights
        return cls(path, inputs=inputs, outputs=outputs, intra_op_threads=int(parameter(THREADS_PARAMETER) or 1))

    def check(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Validate one batch (every input, batch-first, same batch size, the model's item shape)
        and return it as contiguous arrays of the model's dtypes. Raises ValueError saying why."""
        checked, sizes = {}, set()
        for name in self.input_names:
            if name not in inputs:
                raise ValueError(f"input `{name}` is missing")
            array = np.asarray(inputs[name])
            item = self.item_shapes[name]
            if array.ndim != len(item) + 1 or any(e is not None and e != d for e, d in zip(item, array.shape[1:])):
                want = ", ".join("?" if d is None else str(d) for d in (None, *item))
                raise ValueError(f"input `{name}` must have shape ({want}), got {array.shape}")
            sizes.add(array.shape[0])
            checked[name] = np.ascontiguousarray(array, dtype=self.dtypes[name])
        if len(sizes) != 1 or 0 in sizes:
            raise ValueError(f"inputs must share one non-zero batch size, got {sorted(sizes)}")
        return checked

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One batch: input name -> (B, ...) array  ->  output name -> (B, ...) array."""
        feeds = self.check(inputs)
        if not self.one_at_a_time:
            return dict(zip(self.output_names, self.session.run(self.output_names, feeds)))
        size = len(next(iter(feeds.values())))
        runs = [self.session.run(self.output_names, {n: a[i:i + 1] for n, a in feeds.items()}) for i in range(size)]
        return {name: np.concatenate([r[k] for r in runs]) for k, name in enumerate(self.output_names)}

    def run_batches(self, batches: Sequence[Mapping[str, np.ndarray]]) -> list[Outcome]:
        """Several requests' batches -> per request its outputs or its error, in order.

        Valid requests run as one batch; if that call fails they are retried one by one, so only
        the request that breaks the session gets the error.
        """
        outcomes: list[Outcome | None] = []
        for batch in batches:
            try:
                self.check(batch)
                outcomes.append(None)
            except ValueError as exc:
                outcomes.append(exc)
        ready = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if not ready:
            return outcomes
        try:
            joint = self.run({n: np.concatenate([np.asarray(batches[i][n]) for i in ready]) for n in self.input_names})
        # ONNX Runtime's errors share no base narrower than Exception.
        except Exception:  # noqa: BLE001
            log.warning("a batch of %d requests failed in %s; running them one by one", len(ready), self.path.name)
            for i in ready:
                outcomes[i] = self._run_alone(batches[i])
            return outcomes
        start = 0
        for i in ready:
            size = len(np.asarray(batches[i][self.input_names[0]]))
            outcomes[i] = {name: array[start:start + size] for name, array in joint.items()}
            start += size
        return outcomes

    def _run_alone(self, batch: Mapping[str, np.ndarray]) -> Outcome:
        try:
            return self.run(batch)
        except Exception as exc:  # noqa: BLE001 - see run_batches
            return ExtractionFailed(f"{self.path.name} failed on this request: {exc}")
