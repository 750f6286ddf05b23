"""`signstream build-engines`: TensorRT plans for the GPU model configs (NVIDIA hosts only)."""
from __future__ import annotations

import argparse
from pathlib import Path

from signstream.config import model_repository_path, settings_from_env
from signstream.triton.engines import DEFAULT_WORKSPACE_MIB, FRAME_SIDES, build_engine, plan_engines


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-engines", help="build TensorRT plans from the ONNX weights (GPU hosts)",
                       description="Build TensorRT plans (yolox, dwpose and the NEURAL models whose ONNX files "
                                   "are there) for `signstream triton --gpu`.")
    p.add_argument("--model-repository", default=None, metavar="DIR", help="as for `signstream triton`")
    p.add_argument("--no-fp16", action="store_true", help="build FP32 plans even where FP16 is fast")
    p.add_argument("--timing-cache", default=None, metavar="FILE",
                   help="TensorRT timing cache to read and update (default: <repository>/trt.timing.cache)")
    p.add_argument("--workspace-mib", type=int, default=DEFAULT_WORKSPACE_MIB, help="builder workspace")
    p.add_argument("--frame-sides", type=int, nargs=3, default=FRAME_SIDES, metavar=("MIN", "OPT", "MAX"),
                   help="NEURAL models: the frame sides their engines' profiles span "
                        f"(default {' '.join(map(str, FRAME_SIDES))}; multiples of 8)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    repository = model_repository_path(settings_from_env(model_repository=args.model_repository))
    cache = Path(args.timing_cache) if args.timing_cache else repository / "trt.timing.cache"
    if any(side <= 0 or side % 8 for side in args.frame_sides) or list(args.frame_sides) != sorted(args.frame_sides):
        raise SystemExit("signstream build-engines: --frame-sides takes MIN <= OPT <= MAX, each a positive multiple of 8")
    for job in plan_engines(repository, tuple(args.frame_sides)):
        print(f"building {job.plan} from {job.onnx} ...", flush=True)
        build_engine(job, fp16=not args.no_fp16, timing_cache=cache, workspace_mib=args.workspace_mib)
    return 0
