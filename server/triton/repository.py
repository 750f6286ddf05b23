"""The model repository Triton actually loads, made at start-up from `model_repository/`.

Triton reads instance counts and parameters only from `config.pbtxt`, so the launcher writes a
runtime copy: each model's config (the CPU one, or `configs/gpu.pbtxt` on GPU hosts) with the
instance count and ONNX Runtime thread count filled in, and a symlink to the model's version
folder (code and weights stay where the user put them). A model whose weights are missing is left
out, and so is every ensemble that needs it: Triton still starts and serves the rest, and the
report says once what is missing and where it goes.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from signstream.errors import InvalidArgument
from signstream.triton.parameters import (
    DIGEST_PARAMETER, NEEDS_PARAMETER, PART_OF_PARAMETER, THREADS_PARAMETER, WEIGHTS_PARAMETER,
    missing_weights_message,
)

log = logging.getLogger(__name__)

GPU_CONFIG = Path("configs") / "gpu.pbtxt"


@dataclass(frozen=True)
class ModelPlan:
    name: str
    source: Path                  # the model's folder in the user's repository
    config: mc.ModelConfig
    missing: tuple[Path, ...]     # weight files that are not there


@dataclass
class RepositoryReport:
    """What the runtime repository holds and why anything was left out."""

    path: Path
    models: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)   # model -> reason

    def log_skipped(self) -> None:
        for name, reason in sorted(self.skipped.items()):
            log.warning("model %s not loaded: %s", name, reason)


def read_config(path: Path) -> mc.ModelConfig:
    try:
        return text_format.Parse(path.read_text(encoding="utf-8"), mc.ModelConfig())
    except (OSError, text_format.ParseError) as exc:
        raise InvalidArgument(f"cannot read Triton model config {path}: {exc}") from exc


def weights_digest(files: list[Path]) -> str:
    """Short SHA-256 over a model's weight files, so that swapping a file changes what clients see."""
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _weight_files(model_dir: Path, config: mc.ModelConfig) -> list[Path]:
    """The files a model needs besides its code, by its own config."""
    names = []
    if WEIGHTS_PARAMETER in config.parameters:
        names.append(config.parameters[WEIGHTS_PARAMETER].string_value)
    if config.platform == "tensorrt_plan":
        names.append(config.default_model_filename or "model.plan")
    files = [model_dir / "1" / name for name in names]
    # A large exported ONNX model keeps its weights beside it in <file>.data (renderer export).
    return files + [data for data in (f.with_name(f.name + ".data") for f in files) if data.is_file()]


def plan_models(source: Path, gpu: bool) -> dict[str, ModelPlan]:
    """Every model folder of `source` with a config, its config for this host, and missing files."""
    if not source.is_dir():
        raise InvalidArgument(f"model repository {source} is not a folder; pass --model-repository")
    plans = {}
    for model_dir in sorted(p for p in source.iterdir() if (p / "config.pbtxt").is_file()):
        config_path = model_dir / GPU_CONFIG if gpu and (model_dir / GPU_CONFIG).is_file() else model_dir / "config.pbtxt"
        config = read_config(config_path)
        config.name = config.name or model_dir.name
        missing = tuple(p for p in _weight_files(model_dir, config) if not p.is_file())
        plans[config.name] = ModelPlan(config.name, model_dir, config, missing)
    if not plans:
        raise InvalidArgument(f"model repository {source} holds no model (no */config.pbtxt)")
    return plans


def _declared_needs(config: mc.ModelConfig) -> set[str]:
    """The models a BLS model calls, as its `needs` parameter lists them."""
    if NEEDS_PARAMETER not in config.parameters:
        return set()
    return {n.strip() for n in config.parameters[NEEDS_PARAMETER].string_value.split(",") if n.strip()}


def _unloadable(plans: dict[str, ModelPlan]) -> dict[str, str]:
    """Models left out: missing weights, then (to a fixed point) ensembles and BLS models needing a
    left-out model, then the step models that only a left-out ensemble uses."""
    skipped = {name: "; ".join(missing_weights_message(p) for p in plan.missing)
               for name, plan in plans.items() if plan.missing}
    changed = True
    while changed:
        changed = False
        for name, plan in plans.items():
            if name in skipped:
                continue
            needs = {step.model_name for step in plan.config.ensemble_scheduling.step} | _declared_needs(plan.config)
            lost = sorted(needs & skipped.keys() | needs - plans.keys())
            if lost:
                skipped[name] = f"needs {', '.join(lost)}, not loaded"
                changed = True
    for name, plan in plans.items():
        owner = plan.config.parameters[PART_OF_PARAMETER].string_value if PART_OF_PARAMETER in plan.config.parameters else ""
        if owner in skipped and name not in skipped:
            skipped[name] = f"only {owner} uses it, and {owner} is not loaded"
    return skipped


def tune(config: mc.ModelConfig, instances: int, threads: int) -> None:
    """Set the instance count and, for ONNX Runtime models, the threads of each instance."""
    if config.platform == "ensemble":
        return
    if not config.instance_group:
        config.instance_group.add(kind=mc.ModelInstanceGroup.KIND_CPU)
    for group in config.instance_group:
        group.count = instances
    if THREADS_PARAMETER in config.parameters:
        config.parameters[THREADS_PARAMETER].string_value = str(threads)


def build_runtime_repository(source: Path, dest: Path, *, instances: int = 1, gpu: bool = False,
                             cores: int | None = None) -> RepositoryReport:
    """Write the runtime repository into `dest` (emptied first) and say what it holds."""
    if instances < 1:
        raise InvalidArgument(f"--instances must be at least 1, got {instances}")
    source = source.resolve()
    cores = cores or os.cpu_count() or 1
    plans = plan_models(source, gpu)
    report = RepositoryReport(dest)
    report.skipped = _unloadable(plans)
    # The ONNX Runtime models run side by side (the ensemble pipelines requests through them), so
    # they share the cores: every instance of every such model together stays within them.
    threaded = [n for n, p in plans.items() if n not in report.skipped and THREADS_PARAMETER in p.config.parameters]
    threads = max(1, cores // (instances * max(1, len(threaded))))
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name, plan in plans.items():
        if name in report.skipped:
            continue
        config = mc.ModelConfig()
        config.CopyFrom(plan.config)
        tune(config, instances, threads)
        files = _weight_files(plan.source, plan.config)
        if files:
            config.parameters[DIGEST_PARAMETER].string_value = weights_digest(files)
        model_dir = dest / name
        model_dir.mkdir()
        (model_dir / "config.pbtxt").write_text(text_format.MessageToString(config), encoding="utf-8")
        for version in (p for p in plan.source.iterdir() if p.is_dir() and p.name.isdigit()):
            (model_dir / version.name).symlink_to(version, target_is_directory=True)
        report.models.append(name)
    return report
