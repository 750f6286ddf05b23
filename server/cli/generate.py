"""`signstream generate`: the seed's batch job, same flags, same outputs (in-process, or through a
gateway with --server); `--renderer neural` draws out_video.mp4 through Triton's neural renderer."""
from __future__ import annotations

import argparse
import asyncio
import sys

from signstream.errors import InvalidArgument
from signstream.generate import GenerateRequest, generate
from signstream.lexicon import open_lexicon
from signstream.names import Renderer
from signstream.pipeline import KEYPOINT_FILTERS, NORMALIZERS, TRANSITIONS, SynthesisOptions
from signstream.spec import NEURAL_MODELS

from .common import add_gateway_client_flags, add_lexicon_flags, channel_security_from_args, settings_from_args
from .flag_types import COUNT

# A rendering field a config check names -> the flag that sets it here.
FLAG_OF = {"renderer": "--renderer", "neural_model": "--neural-model", "neural_steps": "--neural-steps",
           "seed": "--seed", "width": "--width", "height": "--height", "style_image": "--style_image_path",
           "triton_url": "--triton-url"}
NOISE_WARNING = ("WARNING: these NEURAL frames are NOISE: Triton's neural models are random-weight stand-ins "
                 "(`signstream models stand-in`), not a renderer. Real weights: README, 'Real NEURAL weights'.")


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
    p.add_argument("--renderer", choices=[r.value for r in Renderer], default=Renderer.SKELETON.value,
                   help="skeleton (default: drawn here) or neural (photoreal frames from the style photo, drawn "
                        "by Triton's neural renderer: needs --triton-url, or --server)")
    p.add_argument("--neural-model", choices=NEURAL_MODELS, default="",
                   help='--renderer neural: "" (default: the diffusion renderer, Triton\'s `renderer`) or pose2img '
                        "(one pass a frame)")
    p.add_argument("--neural-steps", type=int, default=0,
                   help="--renderer neural, diffusion: sampler steps a frame, 1, 2 or 4 (default 0: 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="--renderer neural: the noise seed (default 0: a random one; it is printed, and the same "
                        "seed with the same inputs gives the same video)")
    p.add_argument("--width", type=COUNT, default=0,
                   help="frame width (default 0: the style image's; neural: a multiple of 8 up to 1024)")
    p.add_argument("--height", type=COUNT, default=0, help="frame height (default 0: the style image's)")
    p.add_argument("--out", default="results", help="output folder (default results/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--triton-url", default=None, metavar="HOST:PORT",
                   help="extract the style image (and, --renderer neural, render) through this Triton "
                        "(default: MediaPipe in this process)")
    p.add_argument("--server", default=None, metavar="HOST:PORT",
                   help="generate through a running gateway (signstream serve) instead of in-process")
    add_gateway_client_flags(p)     # with --server
    add_lexicon_flags(p)
    p.set_defaults(run=run)


def generate_request(args: argparse.Namespace) -> GenerateRequest:
    return GenerateRequest(
        sign_ids=tuple(args.sign_ids),
        options=SynthesisOptions.resolved(args.num_interpolation, args.num_insert_interpolation, args.normalization,
                                          args.transition, args.keypoint_filter),
        style_image_path=args.style_image_path,
        allow_default_style=args.allow_default_style,
        out_dir=args.out,
        progress=not args.no_progress and sys.stderr.isatty(),
        triton_url=args.triton_url,
        renderer=args.renderer,
        neural_model=args.neural_model,
        neural_steps=args.neural_steps,
        seed=args.seed,
        width=args.width,
        height=args.height,
    )


def with_flags(call, *args):
    """`call(*args)`, an InvalidArgument about a rendering field re-raised naming the flag that sets it."""
    try:
        return call(*args)
    except InvalidArgument as exc:
        flag = FLAG_OF.get(exc.field or "")
        if flag is None:
            raise
        raise InvalidArgument(f"{flag}: {exc.message}", field=exc.field) from exc


def print_neural(seed: int, steps: int, noise: bool) -> None:
    """What a NEURAL video was drawn with (the seed replays it), and, loudly, when it is noise."""
    if steps:
        print(f"NEURAL frames, seed {seed}, {steps} sampler step{'s' if steps != 1 else ''} a frame "
              f"(the same inputs with --seed {seed} give the same video)")
    else:
        print("NEURAL frames, one pass a frame (pose2img: no noise seed, the same inputs give the same video)")
    if noise:
        print(NOISE_WARNING)
        print(NOISE_WARNING, file=sys.stderr)


def run_remote(args: argparse.Namespace, request: GenerateRequest) -> int:
    from signstream.clients.remote_generate import generate_remote
    from signstream.clients.session_config import read_style, session_config
    from signstream.v1 import signstream_pb2 as pb

    spec = with_flags(request.spec, read_style(args.style_image_path))     # refused here, before connecting
    config = session_config(args, renderer=pb.NEURAL if spec.renderer == Renderer.NEURAL else pb.SKELETON,
                            neural_model=spec.neural_model, neural_steps=spec.neural_steps, seed=spec.seed,
                            width=spec.width, height=spec.height)
    result = asyncio.run(generate_remote(
        args.server, config, list(args.sign_ids), args.out,
        progress=request.progress, security=channel_security_from_args(args)))
    first, frames = result.first, len(result.sentence.frames)
    print(f"{frames} frames, {first.width}x{first.height} at {first.fps:g} fps from {args.server}")
    if first.renderer == pb.NEURAL:
        print_neural(first.seed, first.neural_steps, result.noise)
    print(timing_line(result.seconds, frames))
    for path in result.paths.values():
        print(path)
    return 0


def run(args: argparse.Namespace) -> int:
    request = generate_request(args)
    if args.server:
        return run_remote(args, request)
    result = with_flags(generate, request, open_lexicon(settings_from_args(args)))
    print(f"{result.num_frames} frames, {result.width}x{result.height} at {result.fps:g} fps")
    if result.renderer == Renderer.NEURAL:
        print_neural(result.seed, result.neural_steps, result.noise)
    print(timing_line(result.seconds, result.num_frames))
    for path in result.paths.values():
        print(path)
    return 0


def timing_line(seconds: dict[str, float], frames: int) -> str:
    """Per-stage wall time, plus per-frame figures for the two frame-proportional stages."""
    parts = [f"{name} {1000 * s:.0f} ms" for name, s in seconds.items()]
    write = seconds.get("write", 0.0)
    if frames:
        if "synthesize" in seconds:
            parts.append(f"synthesis {1e6 * seconds['synthesize'] / frames:.1f} µs/frame")
        if write > 0:
            parts.append(f"render+encode {frames / write:.0f} frames/s")
        if "stream" in seconds and seconds["stream"] > 0:
            parts.append(f"streamed {frames / seconds['stream']:.0f} frames/s")
    return "timings: " + ", ".join(parts)
