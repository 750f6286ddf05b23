"""`signstream bench` flags (kept apart from the bench itself so the CLI starts without importing it)."""
from __future__ import annotations

import argparse
from pathlib import Path

DEMO_SENTENCE = ("¶hello", "¶name", "¶sign", "¶learn", "¶thank-you", "¶friend")
ARRIVALS = ("all", "poisson")
ENCODING_CHOICES = ("jpeg", "none")
MAX_SOAK_MINUTES = 24 * 60


def soak_minutes(text: str) -> float:
    """--soak's value: minutes, more than 0 and at most a day (a soak is always bounded)."""
    try:
        minutes = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes minutes (a number), got {text!r}") from None
    if not 0 < minutes <= MAX_SOAK_MINUTES:
        raise argparse.ArgumentTypeError(
            f"a soak runs more than 0 and at most {MAX_SOAK_MINUTES} minutes (24 h), got {text}")
    return minutes


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="short runs of every figure (under 3 minutes)")
    p.add_argument("--server", metavar="HOST:PORT", help="bench this running gateway instead of starting one")
    p.add_argument("--server-pid", type=int, help="its process ID, for the server CPU and memory figures")
    p.add_argument("--lexicon", help="lexicon for the started server (default: the demo lexicon, built here)")
    p.add_argument("--processes", type=int, default=0,
                   help="gateway processes of the started server (SO_REUSEPORT; 0 = one per core, serve's default)")
    p.add_argument("--workers", type=int, default=0, help="CPU threads per gateway process (0 = cores)")
    p.add_argument("--streams", type=int, nargs="*",
                   help="concurrent streams to sweep (default 1 4 8 16 24; with --soak the largest, default 8; "
                        "with --renderer neural: NEURAL streams through the gateway, default 1 4 8 16)")
    p.add_argument("--encodings", nargs="+", choices=ENCODING_CHOICES, default=["jpeg", "none"])
    p.add_argument("--signs", nargs="+", default=list(DEMO_SENTENCE), help="the K signs each stream sends")
    p.add_argument("--size", type=int, default=512, help="frame width and height")
    p.add_argument("--duration", type=float, help="seconds per load level (default 10; quick 3)")
    p.add_argument("--arrivals", choices=ARRIVALS, default="all", help="streams start all at once or as Poisson arrivals")
    p.add_argument("--realtime-streams", type=int, default=24, help="REALTIME 25 fps streams to hold")
    p.add_argument("--heavy-loops", type=int, default=4, metavar="N",
                   help="clients sending 36 Mpx photos (ExtractKeypoints, Retarget) beside 4 REALTIME streams, for "
                        "the lateness-under-heavy-images figure (0 = skip it)")
    p.add_argument("--idle-streams", type=int, default=100, help="idle streams for the memory-per-stream figure")
    p.add_argument("--memory-minutes", type=float,
                   help="minutes of sustained load (8 JPEG streams) for the memory-growth figure (default 5; quick 0.5)")
    p.add_argument("--triton", action=argparse.BooleanOptionalAction, default=True,
                   help="the Triton benchmarks: holistic through Triton vs in-process MediaPipe, and "
                        "perf_analyzer's concurrency sweep on holistic (default on; --no-triton skips them)")
    p.add_argument("--no-kernels", action="store_true", help="skip the numba vs NumPy kernel figures")
    p.add_argument("--soak", type=soak_minutes, metavar="MINUTES",
                   help="instead of the figures: a soak of random streams (complete, cancelled, abandoned, bad "
                        "inputs) for MINUTES (0 < MINUTES <= 1440), then checks: no lost or duplicated frame, every "
                        "bad input's outcome, health, RSS and open FDs back within 5 %% (soak.json/.md; exit 1 "
                        "if a check fails)")
    p.add_argument("--seed", type=int, default=0, help="--soak: the seed of its random mix of streams")
    p.add_argument("--renderer", choices=("skeleton", "neural"), default="skeleton",
                   help="neural: instead of the streaming figures, the NEURAL models in Triton (per-model latency "
                        "vs batch, end to end through `renderer`, average batch, appearance and cache per stream); "
                        "with --streams, NEURAL streams through the gateway instead (time to first frame, frames/s, "
                        "average Triton batch, degradations; ASAP and REALTIME; bench-neural-streams.json/.md)")
    p.add_argument("--gesture", action="store_true",
                   help="instead of the streaming figures: the co-speech gesture evaluation of the beat source on a "
                        "seeded speech-like corpus (stroke-apex F1 at +-80 ms with and without lookahead and a "
                        "random-timing control, beat alignment beside shuffled and still-pose controls, jerk, bone "
                        "CV; latency at --streams concurrent real-time streams, default 8, in process and through "
                        "a started gateway; --quick: 3 short utterances, in process only; bench-gesture[-quick].json/.md)")
    p.add_argument("--model-repository", type=Path, default=None,
                   help="--renderer neural: the repository to serve (default: stand-ins written here: noise)")
    p.add_argument("--gpu", action="store_true", help="--renderer neural: serve configs/gpu.pbtxt (TensorRT engines)")
    p.add_argument("--neural-sizes", type=int, nargs="+",
                   help="--renderer neural: frame sides (default 256 512; quick 128; with --streams the first, "
                        "default 256, quick 64)")
    p.add_argument("--neural-steps", type=int, nargs="+", choices=(1, 2, 4),
                   help="--renderer neural: steps per frame (default 1 2 4; quick 1 4; with --streams the first, "
                        "default 1)")
    p.add_argument("--neural-streams", type=int, nargs="+", help="--renderer neural: concurrent streams (default 1 4 8)")
    p.add_argument("--out", default="benchmarks/results", help="folder for bench[-quick].json/.md/.png or soak.json/.md")
