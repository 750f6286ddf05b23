"""A random-weight stand-in for the user's AQ-GT export, opt-in: `write_aqgt_standin(repository)`.

It writes `aqgt_generator/1/aqgt_generator.onnx` with the export's exact tensor names and shapes
(signstream.gesture.aqgt_contract: pre_seq, beats, input_values, audio_chunks -> out_dir_vec, batch
dimension "batch") and `aqgt_post/1/aqgt_mean_dir_vec.npy`, a procedural rest pose of our own (arms
down, fingers straight; not AQ-GT's data), and marks both models as stand-ins. Its motion is noise
that follows every input (so tests see seeds, audio and batching matter), small offsets around that
rest pose. `signstream models stand-in` does NOT call it: the aqgt family loads only when a user
exports it or a test asks for this.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from signstream.gesture.aqgt_contract import (GENERATOR_FILE, GENERATOR_INPUTS, GENERATOR_MODEL, MEAN_FILE,
                                              N_JOINTS, N_POSES, PARENT, POSE_DIM, POST_MODEL)
from signstream.models.detectors import OPSET
from signstream.models.standin import mark_stand_in

AMPLITUDE = 0.03            # how far (in AQ-GT units, shoulder span ~0.08) the noise moves a joint offset


def _features(name: str, dims: tuple[int, ...], rng: np.random.Generator, nodes: list, inits: list) -> str:
    """input (batch, *dims) -> (batch, 34): flattened, times a random matrix (scaled to unit variance)."""
    size = int(np.prod(dims))
    inits += [numpy_helper.from_array(np.array([0, size], np.int64), f"{name}_shape"),
              numpy_helper.from_array((rng.standard_normal((size, N_POSES)) / np.sqrt(size)).astype(np.float32),
                                      f"{name}_w")]
    nodes += [helper.make_node("Reshape", [name, f"{name}_shape"], [f"{name}_flat"]),
              helper.make_node("MatMul", [f"{name}_flat", f"{name}_w"], [f"{name}_feat"])]
    return f"{name}_feat"


def generator_model(seed: int = 0) -> onnx.ModelProto:
    """The stand-in graph: out = AMPLITUDE * tanh(pre_seq @ A + (Σ input features)[..., None] * b)."""
    rng = np.random.default_rng(seed)
    nodes: list = []
    inits: list = []
    feats = [_features(name, dims, rng, nodes, inits) for name, (_, dims) in GENERATOR_INPUTS.items() if name != "pre_seq"]
    inits += [numpy_helper.from_array((rng.standard_normal((POSE_DIM + 1, POSE_DIM)) * 0.3).astype(np.float32), "seq_w"),
              numpy_helper.from_array(rng.standard_normal((1, POSE_DIM)).astype(np.float32), "feat_w"),
              numpy_helper.from_array(np.array([-1], np.int64), "last_axis"),
              numpy_helper.from_array(np.array(AMPLITUDE, np.float32), "amplitude")]
    nodes += [helper.make_node("Sum", feats, ["feat_sum"]),
              helper.make_node("Unsqueeze", ["feat_sum", "last_axis"], ["feat_col"]),
              helper.make_node("MatMul", ["feat_col", "feat_w"], ["feat_out"]),
              helper.make_node("MatMul", ["pre_seq", "seq_w"], ["seq_out"]),
              helper.make_node("Add", ["seq_out", "feat_out"], ["pre_act"]),
              helper.make_node("Tanh", ["pre_act"], ["act"]),
              helper.make_node("Mul", ["act", "amplitude"], ["out_dir_vec"])]
    graph = helper.make_graph(
        nodes, "aqgt_generator_stand_in",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *dims])
         for name, (_, dims) in GENERATOR_INPUTS.items()],
        [helper.make_tensor_value_info("out_dir_vec", TensorProto.FLOAT, ["batch", N_POSES, POSE_DIM])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="signstream-stand-in")
    onnx.checker.check_model(model, full_check=True)
    return model


def rest_offsets() -> np.ndarray:
    """(159,) parent offsets of a procedural upper body at rest (x right, y down, z towards the back)."""
    offsets = np.zeros((N_JOINTS, 3))
    body = {0: (0, 0.20, 0), 1: (0, -0.10, 0), 2: (0, -0.10, 0), 3: (0, -0.05, -0.04), 4: (0, -0.06, 0.01),
            5: (0.04, 0.02, 0), 6: (0.01, 0.10, 0), 7: (0, 0.08, -0.01),
            8: (-0.04, 0.02, 0), 9: (-0.01, 0.10, 0), 10: (0, 0.08, -0.01)}
    for j, v in body.items():
        offsets[j] = v
    for start, side in ((11, 1.0), (32, -1.0)):
        for i in range(1, 21):
            finger, joint = (i - 1) // 4, (i - 1) % 4
            base = joint == 0
            spread = side * (0.012 - 0.006 * finger)
            offsets[start + i] = (spread, 0.012, 0) if base else (0.1 * spread, 0.006, 0)
        offsets[start] = (0, 0.002, 0)
    assert PARENT[0] == -1
    return offsets.reshape(POSE_DIM).astype(np.float32)


def write_aqgt_standin(repository: str | Path, seed: int = 0) -> list[Path]:
    """Write the stand-in generator and mean offsets into a model repository's aqgt folders; the paths."""
    repository = Path(repository)
    onnx_path = repository / GENERATOR_MODEL / "1" / GENERATOR_FILE
    mean_path = repository / POST_MODEL / "1" / MEAN_FILE
    for path in (onnx_path, mean_path):
        if not path.parent.is_dir():
            raise FileNotFoundError(f"{path.parent} is missing: {repository} is not a SignStream model repository")
    onnx.save(generator_model(seed), str(onnx_path))
    np.save(mean_path, rest_offsets(), allow_pickle=False)
    for path in (onnx_path, mean_path):
        mark_stand_in(path.parent.parent)
    return [onnx_path, mean_path]
