"""Threads or processes? The same load against gateways that differ only in how they use the cores,
side by side in one run: each layout is a `signstream serve --triton-url` of its own (one shared
Triton), and the load levels alternate between them, median of the repeats. The load generator is
this process (out of every gateway's process), one connection per stream.

    python -m signstream.bench.gateway_processes [--layouts 1x2 2x1 2x2] [--streams 1 4 16]
        [--encodings jpeg none] [--duration 3] [--repeats 3]

A layout PxT is P gateway processes (SO_REUSEPORT on one port) with T CPU threads each.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
from pathlib import Path

from signstream.clients.process import SignstreamProcess, serve_process
from signstream.config import model_repository_path, settings_from_env
from signstream.triton.launcher import TritonOptions, TritonServer
from signstream.v1 import signstream_pb2 as pb

from .loadgen import LoadPlan, run_load
from .options import DEMO_SENTENCE
from .report import document, write_json
from .run import workspace
from .stats import summarize

ENCODINGS = {"jpeg": pb.JPEG, "none": pb.NONE}


def start_layout(layout: str, lexicon: str, triton_url: str, log_dir: Path) -> tuple[SignstreamProcess, str]:
    processes, threads = (int(x) for x in layout.split("x"))
    server, target = serve_process(lexicon, "--triton-url", triton_url, "--wholebody", "off",
                                   "--processes", str(processes), "--workers", str(threads),
                                   log_path=log_dir / f"serve-{layout}.log")
    server.start(300)
    return server, target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", nargs="+", default=["1x2", "2x1", "2x2"])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--encodings", nargs="+", choices=sorted(ENCODINGS), default=["jpeg", "none"])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--json", default="benchmarks/results/gateway_processes.json")
    args = parser.parse_args(argv)
    rows = []
    with contextlib.ExitStack() as stack:
        lexicon, log_dir = workspace(None, stack)
        triton = stack.enter_context(TritonServer(TritonOptions(
            model_repository_path(settings_from_env()), grpc_port=0, http_port=0, metrics_port=0,
            log_file=log_dir / "triton-layouts.log")))
        targets = {}
        for layout in args.layouts:
            server, target = start_layout(layout, lexicon, triton.grpc_url, log_dir)
            stack.callback(server.stop)
            targets[layout] = target
        for encoding in args.encodings:
            config = pb.SessionConfig(encoding=ENCODINGS[encoding], width=args.size, height=args.size)
            for streams in args.streams:
                runs: dict[str, list[dict]] = {layout: [] for layout in args.layouts}
                for _ in range(args.repeats):
                    for layout, target in targets.items():       # alternate: same machine state for all
                        plan = LoadPlan(streams, DEMO_SENTENCE, config, args.duration)
                        runs[layout].append(summarize(*asyncio.run(run_load(target, plan))))
                row = {"encoding": encoding, "streams": streams}
                base = statistics.median(r["frames_per_s"] for r in runs[args.layouts[0]])
                for layout, summaries in runs.items():
                    fps = statistics.median(r["frames_per_s"] for r in summaries)
                    row[layout] = {"frames_per_s": round(fps, 1), "ratio": round(fps / base, 2),
                                   "first_frame_p50_ms": statistics.median(r["first_frame_p50_ms"] for r in summaries),
                                   "first_frame_p99_ms": statistics.median(r["first_frame_p99_ms"] for r in summaries)}
                rows.append(row)
                print(f"{encoding.upper()} S={streams}: " + ", ".join(
                    f"{layout} {row[layout]['frames_per_s']:.0f} frames/s ({row[layout]['ratio']:.2f}x), "
                    f"first frame p50 {row[layout]['first_frame_p50_ms']:.0f} ms" for layout in args.layouts), flush=True)
    command = "python -m signstream.bench.gateway_processes " + " ".join(sys.argv[1:] if argv is None else argv)
    write_json(args.json, document(
        "gateway layouts: processes x threads", command,
        setup={"size": args.size, "signs": list(DEMO_SENTENCE), "duration_s": args.duration,
               "repeats": args.repeats, "baseline": args.layouts[0]},
        results=rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
