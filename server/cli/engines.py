"""`signstream build-engines`: TensorRT plans for the GPU model configs (NVIDIA hosts only)."""
from __future__ import annotations

import argparse
from pathlib import Path

from signstream.config import model_repository_path, settings_from_env
from signstream.triton.engines import DEFAULT_WORKSPACE_MIB, build_engine, plan_engines


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-engines", help="build TensorRT plans from the ONNX weights (GPU hosts)",
                       description="Build yolox/dwpose TensorRT plans for `signstream triton --gpu`.")
    p.add_argument("--model-repository", default=None, metavar="DIR", help="as for `signstream triton`")
    p.add_argument("--no-fp16", action="store_true", help="build FP32 plans even where FP16 is fast")
    p.add_argument("--timing-cache", default=None, metavar="FILE",
                   help="TensorRT timing cache to read and update (default: <repository>/trt.timing.cache)")
    p.add_argument("--workspace-mib", type=int, default=DEFAULT_WORKSPACE_MIB, help="builder workspace")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    repository = model_repository_path(settings_from_env(model_repository=args.model_repository))
    cache = Path(args.timing_cache) if args.timing_cache else repository / "trt.timing.cache"
    for job in plan_engines(repository):
        print(f"building {job.plan} from {job.onnx} ...", flush=True)
        build_engine(job, fp16=not args.no_fp16, timing_cache=cache, workspace_mib=args.workspace_mib)
    return 0
