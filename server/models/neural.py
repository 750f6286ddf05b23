"""Random-weight stand-ins for the NEURAL models: the contract's exact tensor names and shapes
(signstream.neural.contract), tiny convolutions inside. Their frames are noise, by design: they prove
the serving path (batching, per-stream state, determinism, conditioning), never picture quality.

Each network reads every input it is given, so conditioning is real: another reference, pose, seed
or step changes the output. Weights come from a fixed seed, so two stand-in repositories are the same.

    write_neural_standins(repository)     # <repo>/neural_appearance/1/neural_appearance.onnx, ...
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from signstream.neural import contract as c

OPSET = 17
WEIGHT_SEED = 20261205
HIDDEN = 16

_TYPES = {"FP32": TensorProto.FLOAT, "UINT8": TensorProto.UINT8}


class Graph:
    """Nodes and initializers of one ONNX graph, built in order."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, array: np.ndarray, stem: str = "c") -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, shape: tuple[int, ...], fan_in: int, stem: str = "w") -> str:
        return self.const((self.rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), stem)

    def op(self, op_type: str, inputs: list[str], stem: str | None = None, **attrs) -> str:
        out = self.name(stem or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def conv(self, x: str, c_in: int, c_out: int, k: int) -> str:
        w = self.weight((c_out, c_in, k, k), c_in * k * k)
        b = self.const(np.zeros(c_out, np.float32), "b")
        return self.op("Conv", [x, w, b], pads=[k // 2] * 4)

    def to_uint8_image(self, chw: str, out: str) -> None:
        """(B, 3, H, W) in 0..1 -> (B, H, W, 3) uint8 named `out` (rounded, saturated)."""
        scaled = self.op("Mul", [chw, self.const(np.array(255.0, np.float32))])
        clipped = self.op("Clip", [self.op("Round", [scaled]), self.const(np.array(0.0, np.float32)),
                                   self.const(np.array(255.0, np.float32))])
        hwc = self.op("Transpose", [clipped], perm=[0, 2, 3, 1])
        self.nodes.append(helper.make_node("Cast", [hwc], [out], to=TensorProto.UINT8))

    def from_uint8_image(self, hwc: str) -> str:
        """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in 0..1."""
        as_float = self.op("Cast", [hwc], to=TensorProto.FLOAT)
        return self.op("Transpose", [self.op("Mul", [as_float, self.const(np.array(1 / 255, np.float32))])],
                       perm=[0, 3, 1, 2])

    def model(self, contract: c.ModelContract, outputs: dict[str, str]) -> onnx.ModelProto:
        """The model with the contract's inputs and outputs (`outputs`: contract name -> value here)."""
        for name, value in outputs.items():
            if value != name:
                self.nodes.append(helper.make_node("Identity", [value], [name]))

        def info(t: c.Tensor, i: int) -> onnx.ValueInfoProto:
            dims = ["batch"] + [d if d > 0 else f"{t.name}_{i}_{k}" for k, d in enumerate(t.dims)]
            return helper.make_tensor_value_info(t.name, _TYPES[t.dtype], dims)

        graph = helper.make_graph(self.nodes, f"signstream_{contract.name}_stand_in",
                                  [info(t, i) for i, t in enumerate(contract.inputs)],
                                  [info(t, i) for i, t in enumerate(contract.outputs)], initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="signstream-stand-in")
        model.doc_string = "random-weight stand-in: its output is noise"
        onnx.checker.check_model(model, full_check=True)
        return model


def sampler_update(g: Graph, sample: str, eps: str, sched: str, out: str = "x_prev") -> str:
    """The folded LCM update (contract.folded_update) as graph nodes; the exporter appends the same
    nodes after a real UNet."""
    s = g.op("Unsqueeze", [sched, g.const(np.array([2, 3], np.int64))])           # (B, 6, 1, 1)
    parts = [g.op("Slice", [s, g.const(np.array([i], np.int64)), g.const(np.array([i + 1], np.int64)),
                            g.const(np.array([1], np.int64))]) for i in range(c.SCHED_SIZE)]
    x0 = g.op("Div", [g.op("Sub", [sample, g.op("Mul", [parts[1], eps])]), parts[0]])
    denoised = g.op("Add", [g.op("Mul", [parts[2], sample]), g.op("Mul", [parts[3], x0])])
    g.nodes.append(helper.make_node("Add", [g.op("Mul", [parts[4], denoised]), g.op("Mul", [parts[5], eps])], [out]))
    return out


def appearance_model(rng: np.random.Generator) -> onnx.ModelProto:
    g = Graph(rng)
    tokens = int(np.prod(c.ID_TOKENS_SHAPE))
    mean = g.op("ReduceMean", ["reference"], axes=[2, 3], keepdims=0)                   # (B, 3)
    ident = g.op("Tanh", [g.op("MatMul", [mean, g.weight((3, tokens), 3)])])
    id_tokens = g.op("Reshape", [ident, g.const(np.array([0, *c.ID_TOKENS_SHAPE], np.int64))])
    pooled = g.op("AveragePool", ["reference"], kernel_shape=[c.LATENT_SCALE] * 2, strides=[c.LATENT_SCALE] * 2)
    features = g.conv(pooled, 3, c.REF_CHANNELS, 1)                                     # (B, 320, h, w)
    flat = g.op("Reshape", [features, g.const(np.array([0, c.REF_CHANNELS, -1], np.int64))])
    bank = g.op("Transpose", [flat], perm=[0, 2, 1])                                    # (B, h * w, 320)
    return g.model(c.APPEARANCE, {"ID_TOKENS": id_tokens, "REF_BANK": bank})


def unet_step_model(rng: np.random.Generator) -> onnx.ModelProto:
    g = Graph(rng)
    pose = g.op("AveragePool", ["pose"], kernel_shape=[c.LATENT_SCALE] * 2, strides=[c.LATENT_SCALE] * 2)
    ref = g.op("Transpose", [g.op("MatMul", ["ref_bank", g.weight((c.REF_CHANNELS, c.LATENT_CHANNELS),
                                                                    c.REF_CHANNELS)])], perm=[0, 2, 1])
    ref_map = g.op("Reshape", [ref, g.op("Shape", ["sample"])])                          # (B, 4, h, w)
    x = g.op("Concat", ["sample", pose, ref_map], axis=1)
    hidden = g.conv(x, 2 * c.LATENT_CHANNELS + 3, HIDDEN, 3)
    ident = g.op("MatMul", [g.op("ReduceMean", ["id_tokens"], axes=[1], keepdims=0),
                            g.weight((c.ID_TOKENS_SHAPE[1], HIDDEN), c.ID_TOKENS_SHAPE[1])])
    when = g.op("MatMul", [g.op("Mul", ["timestep", g.const(np.array(1 / c.TRAIN_TIMESTEPS, np.float32))]),
                           g.weight((1, HIDDEN), 1)])
    cond = g.op("Unsqueeze", [g.op("Add", [ident, when]), g.const(np.array([2, 3], np.int64))])
    residual = g.conv(g.op("Tanh", [g.op("Add", [hidden, cond])]), HIDDEN, c.LATENT_CHANNELS, 3)
    # A noise estimate near the sample itself (as a trained UNet's is at high t), so latents stay in range.
    eps = g.op("Add", ["sample", g.op("Mul", [residual, g.const(np.array(0.1, np.float32))])])
    sampler_update(g, "sample", eps, "sched")
    return g.model(c.UNET_STEP, {"x_prev": "x_prev"})


def decode_model(rng: np.random.Generator) -> onnx.ModelProto:
    g = Graph(rng)
    scales = g.const(np.array([1, 1, c.LATENT_SCALE, c.LATENT_SCALE], np.float32))
    up = g.op("Resize", ["latent", "", scales], mode="nearest")
    rgb = g.op("Sigmoid", [g.conv(g.op("Tanh", [g.conv(up, c.LATENT_CHANNELS, HIDDEN, 3)]), HIDDEN, 3, 3)])
    g.to_uint8_image(rgb, "IMAGE")
    return g.model(c.DECODE, {"IMAGE": "IMAGE"})


def pose2img_model(rng: np.random.Generator) -> onnx.ModelProto:
    g = Graph(rng)
    x = g.op("Concat", [g.from_uint8_image("POSE"), g.from_uint8_image("REFERENCE")], axis=1)
    rgb = g.op("Sigmoid", [g.conv(g.op("Tanh", [g.conv(x, 6, HIDDEN, 3)]), HIDDEN, 3, 3)])
    g.to_uint8_image(rgb, "IMAGE")
    return g.model(c.POSE2IMG, {"IMAGE": "IMAGE"})


BUILDERS = {c.APPEARANCE.name: appearance_model, c.UNET_STEP.name: unet_step_model,
            c.DECODE.name: decode_model, c.POSE2IMG.name: pose2img_model}


def write_neural_standins(repository: str | Path) -> list[Path]:
    """Each neural model's stand-in where a user puts the exported file: <repo>/<model>/1/<weights>."""
    written = []
    for i, (name, build) in enumerate(BUILDERS.items()):
        contract = c.NEURAL_MODELS[name]
        path = Path(repository) / name / "1" / contract.weights
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(build(np.random.default_rng(WEIGHT_SEED + i)), str(path))
        written.append(path)
    return written
