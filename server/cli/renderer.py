"""`signstream renderer export`: local diffusers folders -> the NEURAL renderer's ONNX files in a
model repository (needs the `export` extra: torch CPU and diffusers)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("renderer", help="NEURAL renderer tools (export real weights)")
    verbs = p.add_subparsers(dest="renderer_command", required=True, metavar="VERB")
    e = verbs.add_parser(
        "export", help="convert local diffusers folders to the NEURAL models' ONNX files",
        description="Convert an SD1.5-family UNet (LCM-LoRA fused, or a Turbo-style SD1.5 UNet), ControlNet-OpenPose "
                    "and TAESD, saved as diffusers folders, to neural_appearance, neural_unet_step (LCM update "
                    "folded in), neural_decode and pose2img in the model repository --out; then serve it with "
                    "`signstream triton --model-repository OUT`. Needs the `export` extra (torch CPU, diffusers). "
                    "Nothing is downloaded.")
    e.add_argument("--pipeline", type=Path, default=None, metavar="DIR",
                   help="a diffusers pipeline folder with unet/, controlnet/ and taesd/ (or a TAESD vae/); "
                        "--unet/--controlnet/--taesd override its parts")
    e.add_argument("--unet", type=Path, default=None, metavar="DIR", help="UNet2DConditionModel folder")
    e.add_argument("--controlnet", type=Path, default=None, metavar="DIR", help="ControlNetModel folder (OpenPose)")
    e.add_argument("--taesd", type=Path, default=None, metavar="DIR", help="AutoencoderTiny folder (TAESD)")
    e.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="model repository to write into (a new folder gets a copy of --model-repository first)")
    e.add_argument("--model-repository", type=Path, default=None, metavar="DIR",
                   help="the repository a new --out copies (default: the project's)")
    e.add_argument("--id-tokens", type=Path, default=None, metavar="FILE.npy",
                   help="(77, 768) float array: the prompt embedding every stream's ID_TOKENS carry "
                        "(default zeros: no prompt)")
    e.add_argument("--frame-side", type=int, default=256,
                   help="side of the example frame traced (default 256; any multiple of 8 serves afterwards)")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17; 14..21)")
    e.add_argument("--control-scale", type=float, default=1.0, help="ControlNet conditioning scale (default 1.0)")
    e.add_argument("--no-pose2img", dest="pose2img", action="store_false",
                   help="skip the one-pass pose2img model (it holds a second copy of the UNet and ControlNet)")
    e.add_argument("--pose2img-max-side", type=int, default=1024,
                   help="largest frame side pose2img takes (default 1024)")
    e.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from signstream.models.export.exporter import ExportOptions, export_repository
    from signstream.models.export.loading import find_sources

    sources = find_sources(args.pipeline, args.unet, args.controlnet, args.taesd)
    options = ExportOptions(out=args.out, frame_side=args.frame_side, opset=args.opset, id_tokens=args.id_tokens,
                            control_scale=args.control_scale, pose2img=args.pose2img,
                            pose2img_max_side=args.pose2img_max_side, source_repository=args.model_repository)
    written = export_repository(sources, options, progress=lambda line: print(line, flush=True))
    print(f"{args.out}: {len(written)} files written; serve with `signstream triton --model-repository {args.out}` "
          "(GPU: `signstream build-engines --model-repository ...` then `signstream triton --gpu`)", flush=True)
    return 0
