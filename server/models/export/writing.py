"""ONNX side of `signstream renderer export`: trace a wrapper, give it the contract's tensors in the
contract's order, append the folded LCM update, compose the one-pass model, and write each file
where the model repository's config names it.

    model = trace(module, example, contract, opset=17)      # torch -> onnx.ModelProto, dims named
    model = with_sampler_update(model)                      # eps -> x_prev (contract.folded_update)
    save(conform(model, c.UNET_STEP), repo / "neural_unet_step" / "1" / "neural_unet_step.onnx")

A model over EXTERNAL_ABOVE bytes of weights (a real SD1.5 UNet is 3.4 GB in float32; protobuf
stops at 2 GB) is written as `<file>.onnx` plus `<file>.onnx.data` in the same folder, which ONNX
Runtime and TensorRT's parser read from there. A file is written under a `.partial` name and renamed
once checked, so a failed export never leaves a half file under the served name.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from signstream.errors import UnusableWeights
from signstream.models.neural import Graph, sampler_update
from signstream.neural import contract as c

EXTERNAL_ABOVE = 1 << 30                # bytes of weights above which a model's weights go to <file>.data
DTYPES = {"FP32": TensorProto.FLOAT, "UINT8": TensorProto.UINT8}
_SIDES = {"latent": ("h", "w"), "frame": ("height", "width"), "tokens": ("tokens",)}
_OF_REFERENCE = ("reference", "REFERENCE", "ref_bank", "REF_BANK")   # sized by the reference, not the frame


def dim_names(tensor: c.Tensor) -> list[str | int]:
    """`tensor`'s dims with the batch and each free dim named: frame `height`, latent `h`, and
    `ref_...` for the reference's own sizes."""
    prefix = "ref_" if tensor.name in _OF_REFERENCE else ""
    sides = list(_SIDES.get(c._SPATIAL.get(tensor.name, ""), ()))
    return ["batch"] + [d if d > 0 else prefix + sides.pop(0) for d in tensor.dims]


def dynamic_axes(contract: c.ModelContract, names: tuple[str, ...]) -> dict[str, dict[int, str]]:
    """torch.onnx's dynamic_axes for the contract's tensors named in `names`."""
    return {t.name: {i: d for i, d in enumerate(dim_names(t)) if isinstance(d, str)}
            for t in (*contract.inputs, *contract.outputs) if t.name in names}


class _Prefixed(Graph):
    """Graph whose value names cannot meet the names torch gave the traced graph."""

    def __init__(self, prefix: str):
        super().__init__(np.random.default_rng(0))
        self.prefix = prefix

    def name(self, stem: str) -> str:
        return self.prefix + super().name(stem)


def trace(module, example: tuple, input_names: tuple[str, ...], output_names: tuple[str, ...],
          contract: c.ModelContract, opset: int) -> onnx.ModelProto:
    """`module` traced on `example` by torch's TorchScript-based ONNX exporter (no onnxscript needed),
    the contract's free dims dynamic; the weights loaded back into memory."""
    import torch

    with tempfile.TemporaryDirectory(prefix="signstream-export-") as work:
        path = Path(work) / "traced.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")          # tracer and deprecation chatter from torch and diffusers
            torch.onnx.export(module, example, str(path), input_names=list(input_names),
                              output_names=list(output_names), opset_version=opset, dynamo=False,
                              do_constant_folding=True,
                              dynamic_axes=dynamic_axes(contract, (*input_names, *output_names)))
        return onnx.load(str(path))                 # external data (a > 2 GB trace) is read in too


def with_sampler_update(model: onnx.ModelProto, eps: str = "eps") -> onnx.ModelProto:
    """The traced UNet's `eps` output replaced by `x_prev`: the folded LCM update of the stand-ins
    (signstream.models.neural.sampler_update, equal to contract.folded_update), with `sched` added
    as an input."""
    g = _Prefixed("signstream_update/")
    sampler_update(g, "sample", eps, "sched", out="x_prev")
    graph = model.graph
    graph.node.extend(g.nodes)
    graph.initializer.extend(g.initializers)
    graph.input.append(helper.make_tensor_value_info("sched", TensorProto.FLOAT, ["batch", c.SCHED_SIZE]))
    traced = next(o for o in graph.output if o.name == eps)
    x_prev = helper.make_tensor_value_info("x_prev", TensorProto.FLOAT, None)
    x_prev.type.CopyFrom(traced.type)
    graph.output.remove(traced)
    graph.output.append(x_prev)
    return model


def contract_problems(model: onnx.ModelProto, contract: c.ModelContract) -> list[str]:
    """How `model`'s graph inputs and outputs differ from the contract's (names, order, types, ranks,
    fixed dims); empty when they are the contract."""
    problems = []
    for kind, values, tensors in (("inputs", model.graph.input, contract.inputs),
                                  ("outputs", model.graph.output, contract.outputs)):
        names = [v.name for v in values]
        if names != [t.name for t in tensors]:
            problems.append(f"{kind} {names}, the contract's are {[t.name for t in tensors]}")
            continue
        for value, tensor in zip(values, tensors):
            ttype = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in ttype.shape.dim]
            fixed = [-1] + [d if d > 0 else -1 for d in tensor.dims]
            if ttype.elem_type != DTYPES[tensor.dtype] or len(dims) != len(fixed) or \
                    any(f > 0 and d != f for d, f in zip(dims, fixed)):
                problems.append(f"{tensor.name} is {TensorProto.DataType.Name(ttype.elem_type)} {dims}, the contract's "
                                f"is {tensor.dtype} [batch, {', '.join(map(str, tensor.dims))}]")
    return problems


def conform(model: onnx.ModelProto, contract: c.ModelContract, doc: str = "") -> onnx.ModelProto:
    """`model` with its inputs in the contract's order and its outputs typed as the contract's
    (torch's tracer leaves outputs' fixed dims unknown; ONNX Runtime then checks them at every run),
    checked against the contract."""
    by_name = {v.name: v for v in model.graph.input}
    if set(by_name) == set(contract.input_names):
        ordered = [by_name[name] for name in contract.input_names]
        del model.graph.input[:]
        model.graph.input.extend(ordered)
    for value, tensor in zip(model.graph.output, contract.outputs):
        if value.name == tensor.name and value.type.tensor_type.elem_type == DTYPES[tensor.dtype]:
            value.CopyFrom(helper.make_tensor_value_info(tensor.name, DTYPES[tensor.dtype], dim_names(tensor)))
    problems = contract_problems(model, contract)
    if problems:
        raise UnusableWeights(f"the exported {contract.name} is not the contract: {'; '.join(problems)}")
    model.producer_name = "signstream-renderer-export"
    model.doc_string = doc
    return model


def _weight_bytes(model: onnx.ModelProto) -> int:
    return sum(len(t.raw_data) or t.ByteSize() for t in model.graph.initializer)


def save(model: onnx.ModelProto, path: Path, external_above: int = EXTERNAL_ABOVE) -> list[Path]:
    """Write `model` to `path` (and its weights to `<path>.data` when over `external_above` bytes),
    checked, replacing what was there; the files written. Written with external data, `model` itself
    then points at that file (onnx moves the weights out): load the file again to use it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = path.with_name(path.name + ".data")
    partial = path.with_name(path.name + ".partial")
    data.unlink(missing_ok=True)                     # onnx appends to an existing data file
    external = _weight_bytes(model) > external_above
    onnx.save_model(model, str(partial), save_as_external_data=external, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=1024)
    try:
        onnx.checker.check_model(str(partial))      # by path: external data and > 2 GB models too
    except onnx.checker.ValidationError as exc:
        partial.unlink(missing_ok=True)
        raise UnusableWeights(f"the exported {path.name} does not pass the ONNX checker: {exc}") from exc
    os.replace(partial, path)
    return [path, data] if external else [path]


def _inline(graph: onnx.GraphProto, model: onnx.ModelProto, prefix: str, feeds: dict[str, str]) -> dict[str, str]:
    """`model`'s nodes and weights into `graph` under `prefix`, its inputs fed from `graph`'s values
    (`feeds`: input -> value); its outputs' names in `graph`."""
    inner = onnx.compose.add_prefix(model, prefix).graph
    for name, value in feeds.items():
        graph.node.append(helper.make_node("Identity", [value], [prefix + name]))
    graph.node.extend(inner.node)
    graph.initializer.extend(inner.initializer)
    return {o.name[len(prefix):]: o.name for o in inner.output}


def compose_pose2img(appearance: onnx.ModelProto, step: onnx.ModelProto, decode: onnx.ModelProto,
                     max_side: int) -> onnx.ModelProto:
    """The one-pass `pose2img`: POSE, REFERENCE (uint8) -> appearance -> one LCM step (t = 999) from
    a fixed noise latent -> decode -> IMAGE, the three exported graphs inlined. The noise is one
    seeded (4, max_side / 8, max_side / 8) tensor cut to the frame's latent (frames up to max_side)."""
    g = _Prefixed("pose2img/")
    pose, reference = g.from_uint8_image("POSE"), g.from_uint8_image("REFERENCE")
    shape = g.op("Shape", [pose])
    batch = g.op("Slice", [shape, g.const(np.array([0], np.int64)), g.const(np.array([1], np.int64))])
    latent_hw = g.op("Div", [g.op("Slice", [shape, g.const(np.array([2], np.int64)), g.const(np.array([4], np.int64))]),
                             g.const(np.array([c.LATENT_SCALE], np.int64))])
    side = max_side // c.LATENT_SCALE
    noise = g.const(c.stream_noise(0, side * c.LATENT_SCALE, side * c.LATENT_SCALE)[None], "noise")
    cut = g.op("Slice", [noise, g.const(np.array([0, 0], np.int64)), latent_hw, g.const(np.array([2, 3], np.int64))])

    def per_item(array: np.ndarray) -> str:        # (1, n) constant -> (B, n)
        return g.op("Expand", [g.const(array), g.op("Concat", [batch, g.const(np.array([1], np.int64))], axis=0)])

    ones = g.op("Concat", [batch, g.const(np.array([1, 1, 1], np.int64))], axis=0)
    sample = g.op("Expand", [cut, ones])
    timesteps, sched = c.schedule(1)
    timestep, sched = per_item(timesteps[:1]), per_item(sched[:1])
    graph = helper.make_graph(g.nodes, "signstream_pose2img", [
        helper.make_tensor_value_info(t.name, DTYPES[t.dtype], dim_names(t)) for t in c.POSE2IMG.inputs],
        [], initializer=g.initializers)
    looks = _inline(graph, appearance, "appearance/", {"reference": reference})
    stepped = _inline(graph, step, "step/", {"sample": sample, "timestep": timestep,
                                             "sched": sched, "id_tokens": looks["ID_TOKENS"],
                                             "pose": pose, "ref_bank": looks["REF_BANK"]})
    image = _inline(graph, decode, "decode/", {"latent": stepped["x_prev"]})["IMAGE"]
    graph.node.append(helper.make_node("Identity", [image], ["IMAGE"]))
    graph.output.append(helper.make_tensor_value_info("IMAGE", TensorProto.UINT8, dim_names(c.POSE2IMG.outputs[0])))
    model = helper.make_model(graph, opset_imports=list(step.opset_import))
    model.ir_version = step.ir_version
    return model


def read_id_tokens(path: Path | None) -> np.ndarray:
    """The fixed ID_TOKENS (77, 768) float32: a prompt embedding saved with np.save, or zeros."""
    if path is None:
        return np.zeros(c.ID_TOKENS_SHAPE, np.float32)
    try:
        tokens = np.load(str(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UnusableWeights(f"--id-tokens {path} cannot be read as a .npy array: {exc}", field="id_tokens") from exc
    tokens = tokens.reshape(tokens.shape[1:]) if tokens.ndim == 3 and tokens.shape[0] == 1 else tokens
    if tokens.shape != c.ID_TOKENS_SHAPE or not np.all(np.isfinite(tokens)):
        raise UnusableWeights(f"--id-tokens {path} holds a {tokens.dtype} {tokens.shape} array; it must be "
                              f"{c.ID_TOKENS_SHAPE} finite numbers (the CLIP text encoder's last hidden state "
                              "for one prompt)", field="id_tokens")
    return tokens.astype(np.float32)

