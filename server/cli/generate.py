"""`signstream generate`: the seed's batch job, same flags, same outputs (in-process)."""
from __future__ import annotations

import argparse
import asyncio
import sys

from signstream.generate import GenerateRequest, generate
from signstream.lexicon import open_lexicon
from signstream.pipeline import KEYPOINT_FILTERS, NORMALIZERS, TRANSITIONS, SynthesisOptions

from .common import add_gateway_client_flags, add_lexicon_flags, channel_security_from_args, settings_from_args
from .flag_types import COUNT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="sign IDs -> out_video.mp4 + normalized_keypoints.pickle/.npz",
        description="Generate a skeleton video and normalized keypoints for a sentence of signs "
        "(the seed's flags are kept).",
    )
    p.add_argument("--sign_ids", nargs="+", required=True, metavar="¶ID", help="sign IDs, with or without ¶")
    p.add_argument("--num_interpolation", type=COUNT, default=None,
                   help="transition frames between signs (default 8; 0: none)")
    p.add_argument("--num_insert_interpolation", type=COUNT, default=None,
                   help="frames inserted between consecutive frames of a sign (default 0)")
    p.add_argument("--style_image_path", default=None,
                   help="photo of the style character (sets proportions and canvas size; default 1024x1024)")
    p.add_argument("--allow-default-style", action="store_true",
                   help="if the style image shows no person, use default proportions instead of failing")
    p.add_argument("--normalization", default="retarget", choices=sorted(NORMALIZERS),
                   help="retarget (the style's bone lengths, default) or signmail (the seed's ratios)")
    p.add_argument("--transition", default="smooth", choices=TRANSITIONS,
                   help="smooth (default: joined where the poses meet, bones turned with minimum-jerk timing "
                        "that continues each sign's motion; at least --num_interpolation frames) or linear "
                        "(the seed's; with --normalization signmail: seed parity)")
    p.add_argument("--keypoint-filter", default="none", choices=KEYPOINT_FILTERS,
                   help="none (default) or one_euro: a jitter filter on each sign clip's keypoints")
    p.add_argument("--out", default="results", help="output folder (default results/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--triton-url", default=None, metavar="HOST:PORT",
                   help="extract the style image through this Triton (default: MediaPipe in this process)")
    p.add_argument("--server", default=None, metavar="HOST:PORT",
                   help="generate through a running gateway (signstream serve) instead of in-process")
    add_gateway_client_flags(p)     # with --server
    add_lexicon_flags(p)
    p.set_defaults(run=run)


def run_remote(args: argparse.Namespace) -> int:
    from signstream.clients.remote_generate import generate_remote
    from signstream.clients.session_config import session_config

    paths, sentence, fps, seconds = asyncio.run(generate_remote(
        args.server, session_config(args), list(args.sign_ids), args.out,
        progress=not args.no_progress and sys.stderr.isatty(), security=channel_security_from_args(args)))
    print(f"{len(sentence.frames)} frames at {fps:g} fps from {args.server}")
    print(timing_line(seconds, len(sentence.frames)))
    for path in paths.values():
        print(path)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.server:
        return run_remote(args)
    settings = settings_from_args(args)
    request = GenerateRequest(
        sign_ids=tuple(args.sign_ids),
        options=SynthesisOptions.resolved(args.num_interpolation, args.num_insert_interpolation, args.normalization,
                                          args.transition, args.keypoint_filter),
        style_image_path=args.style_image_path,
        allow_default_style=args.allow_default_style,
        out_dir=args.out,
        progress=not args.no_progress and sys.stderr.isatty(),
        triton_url=args.triton_url,
    )
    result = generate(request, open_lexicon(settings))
    print(f"{result.num_frames} frames, {result.width}x{result.height} at {result.fps:g} fps")
    print(timing_line(result.seconds, result.num_frames))
    for path in result.paths.values():
        print(path)
    return 0


def timing_line(seconds: dict[str, float], frames: int) -> str:
    """Per-stage wall time, plus per-frame figures for the two frame-proportional stages."""
    parts = [f"{name} {1000 * s:.0f} ms" for name, s in seconds.items()]
    synth, write = seconds.get("synthesize", 0.0), seconds.get("write", 0.0)
    if frames:
        parts.append(f"synthesis {1e6 * synth / frames:.1f} µs/frame")
        if write > 0:
            parts.append(f"render+encode {frames / write:.0f} frames/s")
    return "timings: " + ", ".join(parts)
