"""`signstream bench`: a load generator in this process against a gateway in another, and the figures
issue 5 asks for, each beside its target.

    signstream bench --quick                          # under 3 minutes: every figure, short runs
    signstream bench                                  # the full run behind the README table
    signstream bench --server 127.0.0.1:50051 --server-pid 1234   # a server you started

Without `--server` it starts `signstream serve` on free loopback ports (Triton included) with the
demo lexicon (built in a temporary folder unless `--lexicon`), and stops it at the end. In the same
run it measures the JPEG-encode ceiling for the same frames, the numba kernels against their NumPy
references, holistic through Triton against in-process MediaPipe and perf_analyzer's sweep on holistic
(`--no-triton` skips the Triton part).
Results: JSON, a Markdown table and a PNG plot in `--out` (default benchmarks/results/).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

from signstream.clients.process import SignstreamProcess, metrics_flags, serve_process
from signstream.config import Settings
from signstream.lexicon import canonical_sign_id, open_lexicon
from signstream.pipeline import SynthesisOptions
from signstream.v1 import signstream_pb2 as pb

from . import ceiling, heavy_images, procstat, report
from .loadgen import LoadPlan, open_idle_streams, run_load
from .stats import summarize
from .targets import evaluate

ENCODINGS = {"jpeg": pb.JPEG, "none": pb.NONE}
READY_TIMEOUT_S = 300
IDLE_SETTLE_S = 1.0
HEAVY_REALTIME_STREAMS = 4      # REALTIME streams measured beside the heavy-image load


def _config(encoding: str, size: int, pacing: int = pb.ASAP, fps: float = 0.0) -> pb.SessionConfig:
    return pb.SessionConfig(encoding=ENCODINGS[encoding], width=size, height=size, pacing=pacing, fps=fps)


class Server:
    """The gateway under test: started here (`serve` on free ports, plus `flags` and `env`; with
    `metrics`, its /metrics on free ports too, one per gateway process) or given by --server."""

    def __init__(self, args: argparse.Namespace, lexicon: str, log_dir: Path, *flags: str, metrics: bool = False,
                 env: dict[str, str] | None = None):
        self.process: SignstreamProcess | None = None
        self.metrics_urls: list[str] = []
        if args.server:
            self.target, self.pid = args.server, args.server_pid
            return
        if metrics:
            metrics_flags_, self.metrics_urls = metrics_flags(args.processes or os.cpu_count() or 1)
            flags = (*flags, *metrics_flags_)
        self.process, self.target = serve_process(
            lexicon, "--workers", str(args.workers), "--processes", str(args.processes), "--wholebody", "off",
            "--triton-log-file", str(log_dir / "triton.log"), *flags, log_path=log_dir / "serve.log", env=env)
        self.pid = None

    def __enter__(self) -> "Server":
        if self.process is not None:
            self.process.start(READY_TIMEOUT_S)
            self.pid = self.process.process.pid
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.stop()

    def sample(self) -> procstat.Sample | None:
        return procstat.sample(self.pid) if self.pid else None


def _load_level(server: Server, plan: LoadPlan, fps: float | None = None) -> dict:
    client0, server0 = time.process_time(), server.sample()
    records, start, end = asyncio.run(run_load(server.target, plan))
    client1, server1 = time.process_time(), server.sample()
    summary = summarize(records, start, end, fps)
    summary["streams"] = plan.streams
    summary["client_cores_busy"] = round((client1 - client0) / (end - start), 2)
    if server0 and server1:
        summary["server_cores_busy"] = procstat.cores_busy(server0, server1)
        summary["server_rss_mib"] = round(server1.rss_bytes / 2**20, 1)
    return summary


async def _idle(server: Server, config: pb.SessionConfig, count: int) -> dict:
    await asyncio.sleep(IDLE_SETTLE_S)           # the last level's connections finish closing first
    before = server.sample()
    calls, channels = await open_idle_streams(server.target, config, count)
    try:
        await asyncio.sleep(IDLE_SETTLE_S)
        during = server.sample()
    finally:
        for call in calls:
            call.cancel()
        for ch in channels:
            await ch.close()
    if not (before and during):
        return {"streams": count}
    return {"streams": count, "rss_before_mib": round(before.rss_bytes / 2**20, 1),
            "rss_open_mib": round(during.rss_bytes / 2**20, 1),
            "rss_per_stream_mib": round((during.rss_bytes - before.rss_bytes) / count / 2**20, 3),
            "fds_per_stream": round((during.fds - before.fds) / count, 2)}


async def _sustained(server: Server, plan: LoadPlan, every_s: float) -> dict:
    """Run `plan` while sampling the server's RSS every `every_s`; growth is the last sample against
    the first (taken once the load is running)."""
    async with procstat.Sampler(server.pid, every_s) as sampler:
        records, start, end = await run_load(server.target, plan)
    return {"minutes": round((end - start) / 60, 2), "streams": plan.streams,
            "streams_done": sum(r.ok for r in records), "streams_failed": sum(not r.ok for r in records),
            **sampler.figures()}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def workspace(lexicon_dir: str | None, stack: contextlib.ExitStack) -> tuple[str, Path]:
    """(the lexicon folder: `lexicon_dir`, or else the demo lexicon built in a temporary folder that
    `stack` removes; ./logs for the started servers' logs)."""
    if lexicon_dir is None:
        from signstream.lexicon.demo import write_demo_lexicon
        lexicon_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="signstream-bench-"))
        write_demo_lexicon(lexicon_dir)
    log_dir = Path("logs")
    log_dir.mkdir(exist_ok=True)
    return lexicon_dir, log_dir


def command_line() -> str:
    """How this bench was run, for the result document."""
    return "signstream bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:])


def bench(args: argparse.Namespace) -> dict:
    quick = args.quick
    streams = args.streams or ([1, 16] if quick else [1, 4, 8, 16, 24])
    duration = args.duration or (3.0 if quick else 10.0)
    signs = tuple(args.signs)
    doc = report.document(
        "signstream bench" + (" --quick" if quick else ""), command_line(),
        setup={"size": args.size, "signs": list(signs), "duration_s": duration, "arrivals": args.arrivals,
               # a server given with --server has its own layout, which the bench cannot see
               "processes": None if args.server else args.processes or os.cpu_count(),
               "workers": None if args.server else args.workers or os.cpu_count(),
               "server": args.server or "started here"})
    with contextlib.ExitStack() as stack:
        lexicon_dir, log_dir = workspace(args.lexicon, stack)
        lexicon = open_lexicon(Settings(lexicon=lexicon_dir))

        progress("JPEG-encode ceiling for the same frames ...")
        frames = ceiling.sentence_frames(lexicon, [canonical_sign_id(s) for s in signs], SynthesisOptions())
        images = ceiling.rendered(frames, args.size, args.size)
        doc["jpeg_ceiling"] = {"frames_per_s": round(ceiling.jpeg_ceiling(images, 1.0 if quick else 3.0), 1),
                               "frames_per_stream": len(frames)}

        progress(f"starting the server (--processes {args.processes}) ..." if not args.server else
                  f"benching {args.server} ...")
        server = stack.enter_context(Server(args, lexicon_dir, log_dir))
        # Warm every gateway process (each new connection may land on any) before anything counts;
        # memory growth is measured from here to the end of the run.
        progress("warming up ...")
        asyncio.run(run_load(server.target, LoadPlan(max(streams), signs, _config("jpeg", args.size), 1.0)))
        start_sample = server.sample()
        doc["load"] = {}
        for encoding in args.encodings:
            for s in streams:
                progress(f"{encoding.upper()} ASAP, {s} streams, {duration:g} s ...")
                plan = LoadPlan(s, signs, _config(encoding, args.size), duration, args.arrivals)
                doc["load"][f"{encoding}@{s}"] = _load_level(server, plan)
        jpeg = [v["frames_per_s"] for k, v in doc["load"].items() if k.startswith("jpeg@")]
        none = [v["frames_per_s"] for k, v in doc["load"].items() if k.startswith("none@")]
        if jpeg:
            doc["jpeg_ceiling"]["best_share"] = round(max(jpeg) / doc["jpeg_ceiling"]["frames_per_s"], 3)
        if none:
            doc["load"]["best_none_frames_per_s"] = max(none)

        s = args.realtime_streams
        progress(f"REALTIME 25 fps JPEG, {s} streams ...")
        plan = LoadPlan(s, signs, _config("jpeg", args.size, pb.REALTIME, 25.0),
                        max(duration, 6.0 if quick else 15.0), args.arrivals, max_streams_per_worker=1)
        doc["realtime"] = _load_level(server, plan, fps=25.0)

        if args.heavy_loops > 0:
            progress(f"REALTIME 25 fps JPEG, {HEAVY_REALTIME_STREAMS} streams, alone and beside {args.heavy_loops} "
                     "clients sending 36 Mpx photos ...")
            plan = LoadPlan(HEAVY_REALTIME_STREAMS, signs, _config("jpeg", args.size, pb.REALTIME, 25.0),
                            max(duration, 6.0 if quick else 15.0), "all", max_streams_per_worker=1)
            doc["heavy_images"] = heavy_images.side_by_side(lambda: _load_level(server, plan, fps=25.0),
                                                            server.target, args.heavy_loops)

        progress(f"{args.idle_streams} idle streams ...")
        doc["idle"] = asyncio.run(_idle(server, _config("jpeg", args.size), args.idle_streams))
        end_sample = server.sample()
        if start_sample and end_sample:
            doc["memory"] = {"rss_start_mib": round(start_sample.rss_bytes / 2**20, 1),
                             "rss_end_mib": round(end_sample.rss_bytes / 2**20, 1),
                             "growth_share": round(end_sample.rss_bytes / start_sample.rss_bytes - 1, 3),
                             "over_s": round(end_sample.at - start_sample.at, 1)}

        minutes = args.memory_minutes if args.memory_minutes is not None else (0.5 if quick else 5.0)
        if minutes > 0 and server.pid:
            progress(f"sustained load for the memory figure: 8 JPEG streams, {minutes:g} min ...")
            plan = LoadPlan(8, signs, _config("jpeg", args.size), minutes * 60, "poisson", think_s=0.2)
            doc.setdefault("memory", {})["sustained"] = asyncio.run(
                _sustained(server, plan, every_s=max(2.0, minutes * 60 / 30)))

    if not args.no_kernels:
        progress("numba kernels vs NumPy references ...")
        from . import kernels
        doc["kernels"] = kernels.summary(repeats=3 if quick else 7)
    if args.triton:
        progress("holistic through Triton vs in-process ...")
        from . import extract, triton_perf
        doc["triton"] = extract.summary(frames=16 if quick else 24, repeats=2 if quick else 3)
        progress("perf_analyzer on holistic ...")
        with triton_perf.triton_for_perf(instances=2) as url:
            rows = triton_perf.sweep(url, [1, 2] if quick else [1, 2, 4], requests_per_window=8 if quick else 16)
        doc["triton"]["perf_analyzer"] = triton_perf.summarize(rows)
    doc["targets"] = evaluate(doc)
    return doc


def main(args: argparse.Namespace) -> int:
    doc = bench(args)
    stem = report.write_results(args.out, "bench-quick" if args.quick else "bench", doc, report.markdown(doc))
    report.plot(doc, stem.with_suffix(".png"))
    print(f"wrote {stem}.json, .md, .png")
    return 0
