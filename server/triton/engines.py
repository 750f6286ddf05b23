"""`signstream build-engines`: TensorRT plans for the GPU configs, built from the ONNX weights.

For every model whose `configs/gpu.pbtxt` is a `tensorrt_plan`, the ONNX file named by its CPU
config (`weights` parameter) becomes the plan named by the GPU config (`default_model_filename`),
in the same version folder. One optimization profile spans batch 1..max_batch_size (optimum at
half of it) and, for the NEURAL models' free spatial dims, frames from FRAME_SIDES' smallest to
largest side (optimum at the middle one; `--frame-sides`); a timing cache file makes rebuilds fast;
FP16 is on when this TensorRT and GPU allow.
Needs the `[gpu]` extra on an NVIDIA host; elsewhere it says so and builds nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from signstream.errors import GpuUnavailable, InvalidArgument
from signstream.triton.parameters import WEIGHTS_PARAMETER
from signstream.triton.repository import GPU_CONFIG, read_config

log = logging.getLogger(__name__)

DEFAULT_WORKSPACE_MIB = 4096
FRAME_SIDES = (256, 512, 768)        # min, opt, max frame side for models with free spatial dims


@dataclass(frozen=True)
class EngineJob:
    model: str
    onnx: Path
    plan: Path
    inputs: dict[str, tuple[int, ...]]   # input name -> dims without the batch dimension (-1: free)
    max_batch: int
    frame_sides: tuple[int, int, int] = FRAME_SIDES

    def profile(self, name: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(min, opt, max) shapes of one input for the optimization profile; free dims sized from
        the NEURAL contract at the smallest, middle and largest frame side."""
        dims = self.inputs[name]
        batches = (1, max(1, self.max_batch // 2), self.max_batch)
        if all(d > 0 for d in dims):
            return tuple((b, *dims) for b in batches)
        from signstream.neural.contract import Tensor, dims_at

        tensor = Tensor(name, "", dims)
        return tuple((b, *dims_at(tensor, side, side)) for b, side in zip(batches, self.frame_sides))


def plan_engines(repository: Path, frame_sides: tuple[int, int, int] = FRAME_SIDES) -> list[EngineJob]:
    """The plans to build for `repository`. A model whose ONNX file is missing is skipped with a log
    line naming it (the NEURAL models are optional); none at all to build is an error naming them."""
    jobs, missing = [], []
    for model_dir in sorted(p for p in repository.iterdir() if (p / GPU_CONFIG).is_file()):
        gpu = read_config(model_dir / GPU_CONFIG)
        if gpu.platform != "tensorrt_plan":
            continue
        cpu = read_config(model_dir / "config.pbtxt")
        if WEIGHTS_PARAMETER not in cpu.parameters:
            raise InvalidArgument(f"{model_dir / 'config.pbtxt'} names no ONNX file (parameter "
                                  f"`{WEIGHTS_PARAMETER}`), so its TensorRT plan cannot be built")
        onnx = model_dir / "1" / cpu.parameters[WEIGHTS_PARAMETER].string_value
        if not onnx.is_file():
            missing.append(onnx)
            log.warning("%s is missing: no plan for %s (README, 'Adding real weights')", onnx, model_dir.name)
            continue
        plan = model_dir / "1" / (gpu.default_model_filename or "model.plan")
        inputs = {tensor.name: tuple(int(d) for d in tensor.dims) for tensor in gpu.input}
        jobs.append(EngineJob(gpu.name or model_dir.name, onnx, plan, inputs, max(1, gpu.max_batch_size),
                              frame_sides))
    if not jobs and missing:
        raise InvalidArgument(f"{', '.join(map(str, missing))} is missing: put the ONNX weights there first "
                              "(README, 'Adding real weights')")
    if not jobs:
        raise InvalidArgument(f"{repository} has no model with a tensorrt_plan {GPU_CONFIG}")
    return jobs


def _tensorrt():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise GpuUnavailable("TensorRT is not installed: on an NVIDIA GPU host run "
                             "`pip install -e '.[gpu]'`, then build the engines again") from exc
    return trt


def build_engine(job: EngineJob, *, fp16: bool = True, timing_cache: Path | None = None,
                 workspace_mib: int = DEFAULT_WORKSPACE_MIB) -> Path:
    """Parse the ONNX file, build a serialized plan with one batch profile, write it beside it."""
    trt = _tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):   # TensorRT 8; implicit in 10
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(job.onnx.read_bytes(), path=str(job.onnx)):     # path: where <file>.data weights lie
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise InvalidArgument(f"TensorRT cannot parse {job.onnx}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if fp16 and getattr(builder, "platform_has_fast_fp16", False):
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        name = network.get_input(index).name
        if name not in job.inputs:
            raise InvalidArgument(f"{job.onnx} has input {name!r}, the config expects {sorted(job.inputs)}")
        profile.set_shape(name, *job.profile(name))
    config.add_optimization_profile(profile)
    cache_bytes = timing_cache.read_bytes() if timing_cache and timing_cache.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise InvalidArgument(f"TensorRT could not build an engine from {job.onnx} (see its log above)")
    partial = job.plan.with_suffix(".plan.partial")
    partial.write_bytes(bytes(serialized))
    partial.replace(job.plan)               # a half-written plan never carries the real name
    if timing_cache is not None:
        timing_cache.write_bytes(bytes(config.get_timing_cache().serialize()))
    log.info("built %s (batch 1..%d%s)", job.plan, job.max_batch, ", FP16" if config.get_flag(trt.BuilderFlag.FP16) else "")
    return job.plan
