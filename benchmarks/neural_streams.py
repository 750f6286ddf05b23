"""`signstream bench --renderer neural --streams [N ...]`: NEURAL streams through the gateway.

    signstream bench --renderer neural --streams --quick                 # CPU, stand-in weights (written here)
    signstream bench --renderer neural --streams 1 4 8 16 --size 512 \\
        --model-repository DIR --gpu                                      # a GPU host with exported engines

Starts Triton on the repository (default: random-weight stand-ins written to a temporary folder)
and `signstream serve --triton-url` on it (its /metrics on), then at each load level runs N
concurrent NEURAL Synthesize streams from this process (the load generator: one connection a
stream, each sign sent as the previous one's first frame arrives), once ASAP and once REALTIME at
25 fps. Figures per level: time to first frame (p50 / p95 over streams), frames/s in all and per
stream (after its first frame), the average batch Triton's dynamic batcher formed on `neural_unet_step` (its
nv_inference_count over nv_inference_exec_count, deltas over the level), the gateway's mean
renderer queue and Triton time per batch, and the degradations: RENDERER_DEGRADED /
RENDERER_RECOVERED notices the streams got and the frames the gateway drew below the asked level
(ASAP streams never degrade: a non-zero figure there is a bug).

On a CPU with stand-ins the figures are behaviour (does Triton batch across streams, when does a
REALTIME stream step down, does anything stall), not speed: the stand-ins are a few small
convolutions, not a UNet. GPU figures come only from a GPU host.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from pathlib import Path

import cv2
import numpy as np

from signstream.neural import contract as c
from signstream.v1 import signstream_pb2 as pb

from . import promtext, report
from .loadgen import LoadPlan, StreamRecord, run_load
from .neural import CPU_NOTE, counter_delta, model_counters
from .options import DEMO_SENTENCE
from .photos import PHOTOS
from .run import Server, command_line, progress, workspace
from .stats import summarize

DEFAULT_STREAMS = [1, 4, 8, 16]
QUICK_SIGNS = ("¶hello", "¶name")
REALTIME_FPS = 25.0
PACINGS = {"asap": pb.ASAP, "realtime": pb.REALTIME}
DEGRADED, RECOVERED, STAND_IN = "RENDERER_DEGRADED", "RENDERER_RECOVERED", "STAND_IN_WEIGHTS"
GATEWAY_DEGRADED = "signstream_neural_frames_degraded_total"
GATEWAY_SECONDS = "signstream_neural_frame_seconds"
GPU_ANCHOR = "StreamDiffusion: 106 frames/s at 1 step, 512², RTX 4090 (published)"


def style_png() -> bytes:
    """The reference photo every stream sends (skimage's astronaut), as PNG."""
    return cv2.imencode(".png", cv2.cvtColor(PHOTOS["astronaut"](), cv2.COLOR_RGB2BGR))[1].tobytes()


def neural_config(style: bytes, size: int, steps: int, pacing: str) -> pb.SessionConfig:
    return pb.SessionConfig(style_image=style, encoding=pb.JPEG, width=size, height=size, renderer=pb.NEURAL,
                            neural_steps=steps, pacing=PACINGS[pacing],
                            fps=REALTIME_FPS if pacing == "realtime" else 0.0)


def _pct_ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else None


def stream_figures(records: list[StreamRecord], start: float, end: float, realtime: bool) -> dict:
    """One level's client-side figures (times in ms)."""
    base = summarize(records, start, end, REALTIME_FPS if realtime else None)
    ok = [r for r in records if r.ok and r.arrivals]
    first = [r.first_frame_s for r in ok if r.first_frame_s is not None]
    # a stream's delivery rate once its first frame is out (the wait for that one is the figure above)
    per_stream = [(len(r.arrivals) - 1) / (r.arrivals[-1] - r.arrivals[0]) for r in ok if len(r.arrivals) > 1]
    notices = [code for r in records for code in r.notices]
    figures = {
        "streams_completed": base["streams_completed"], "streams_failed": base["streams_failed"],
        "statuses": base["statuses"], "frames": base["frames"], "wall_s": base["wall_s"],
        "first_frame_p50_ms": _pct_ms(first, 50), "first_frame_p95_ms": _pct_ms(first, 95),
        "frames_per_s": base["frames_per_s"],
        "frames_per_s_per_stream_mean": round(float(np.mean(per_stream)), 1) if per_stream else None,
        "frames_per_s_per_stream_min": round(float(np.min(per_stream)), 1) if per_stream else None,
        "streams_out_of_order": base["streams_out_of_order"],
        "degraded_notices": notices.count(DEGRADED), "recovered_notices": notices.count(RECOVERED),
        "streams_degraded": sum(DEGRADED in r.notices for r in records),
        "stand_in": STAND_IN in notices,
    }
    if realtime:
        figures["lateness_p99_ms"] = base["lateness_p99_ms"]
        figures["kept_real_time_share"] = base["goodput_share"]
    return figures


class Counters:
    """Triton's counters on neural_unet_step and the gateway's NEURAL counters, read before and after
    a level; `figures(before, after)` turns two readings into the level's server-side figures."""

    def __init__(self, triton_metrics_url: str | None, gateway_metrics_urls: list[str]):
        self.triton, self.gateway = triton_metrics_url, gateway_metrics_urls

    def read(self) -> dict:
        reading = {"unet": model_counters(self.triton, c.UNET_STEP.name) if self.triton else {}}
        series = [promtext.scrape(url) for url in self.gateway]
        for name, labels in ((GATEWAY_DEGRADED, {}),
                             (f"{GATEWAY_SECONDS}_sum", {"stage": "queue"}), (f"{GATEWAY_SECONDS}_count", {"stage": "queue"}),
                             (f"{GATEWAY_SECONDS}_sum", {"stage": "render"}), (f"{GATEWAY_SECONDS}_count", {"stage": "render"})):
            key = name + "".join(f":{v}" for v in labels.values())
            reading[key] = sum(promtext.value(s, name, **labels) for s in series)
        return reading

    @staticmethod
    def figures(before: dict, after: dict) -> dict:
        def delta(key: str) -> float:
            return after.get(key, 0.0) - before.get(key, 0.0)

        execs = counter_delta(after["unet"], before["unet"], "nv_inference_exec_count")
        requests = counter_delta(after["unet"], before["unet"], "nv_inference_count")
        queue_us = counter_delta(after["unet"], before["unet"], "nv_inference_queue_duration_us")

        def mean_ms(stage: str) -> float | None:
            n = delta(f"{GATEWAY_SECONDS}_count:{stage}")
            return round(1000 * delta(f"{GATEWAY_SECONDS}_sum:{stage}") / n, 1) if n else None

        return {"unet_step_requests": int(requests),
                "average_unet_step_batch": round(requests / execs, 2) if execs else None,
                "unet_step_queue_ms_mean": round(queue_us / 1000 / requests, 2) if requests else None,
                "gateway_queue_ms_per_batch": mean_ms("queue"),
                "triton_ms_per_batch": mean_ms("render"),
                "degraded_frames": int(delta(GATEWAY_DEGRADED))}


def run_level(server: Server, counters: Counters, streams: int, signs: tuple[str, ...], config: pb.SessionConfig,
              realtime: bool) -> dict:
    plan = LoadPlan(streams, signs, config, duration_s=3600.0, max_streams_per_worker=1)   # one stream a worker
    before = counters.read()
    records, start, end = asyncio.run(run_load(server.target, plan))
    return {"streams": streams, **stream_figures(records, start, end, realtime),
            **Counters.figures(before, counters.read())}


def settings(args: argparse.Namespace) -> dict:
    quick = args.quick
    steps = (args.neural_steps or [1])[0]
    return {"streams": args.streams or ([1, 4, 8, 16] if quick else DEFAULT_STREAMS),
            "size": args.neural_sizes[0] if args.neural_sizes else (64 if quick else 256),
            "steps": steps, "signs": list(QUICK_SIGNS if quick else args.signs or DEMO_SENTENCE),
            "pacings": list(PACINGS), "realtime_fps": REALTIME_FPS}


def bench(args: argparse.Namespace) -> dict:
    from signstream.config import model_repository_path, settings_from_env
    from signstream.models.standin import write_standin_repository
    from signstream.triton.launcher import TritonOptions, TritonServer

    setup = settings(args)
    doc = report.document("signstream bench --renderer neural --streams" + (" --quick" if args.quick else ""),
                          command_line(), setup={**setup, "gpu": bool(args.gpu),
                                                 "repository": str(args.model_repository or "stand-ins written here")})
    with contextlib.ExitStack() as stack:
        lexicon_dir, log_dir = workspace(args.lexicon, stack)
        repository = args.model_repository
        if repository is None:
            repository = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="signstream-neural-"))) / "models"
            write_standin_repository(model_repository_path(settings_from_env()), repository)
        progress(f"starting Triton on {repository} ...")
        triton = stack.enter_context(TritonServer(TritonOptions(
            Path(repository), grpc_port=0, http_port=0, metrics_port=0, gpu=bool(args.gpu),
            log_file=log_dir / "triton-neural-streams.log")))
        progress("starting the gateway ...")
        server = stack.enter_context(Server(args, lexicon_dir, log_dir, "--triton-url", triton.grpc_url,
                                            "--max-neural-streams", str(max(setup["streams"])), metrics=True))
        counters = Counters(triton.metrics_url, server.metrics_urls)
        style, signs = style_png(), tuple(setup["signs"])
        progress("warming up (one stream) ...")
        run_level(server, counters, 1, signs[:1], neural_config(style, setup["size"], setup["steps"], "asap"), False)
        doc["levels"] = []
        for pacing in setup["pacings"]:
            config = neural_config(style, setup["size"], setup["steps"], pacing)
            for streams in setup["streams"]:
                progress(f"NEURAL {pacing.upper()}, {streams} streams, {setup['size']}², {setup['steps']} step ...")
                doc["levels"].append({"pacing": pacing, **run_level(server, counters, streams, signs, config,
                                                                    pacing == "realtime")})
    doc["stand_in"] = any(level["stand_in"] for level in doc["levels"])
    doc["note"] = (CPU_NOTE if not args.gpu else "stand-in weights: behaviour, not speed") if doc["stand_in"] else \
        ("GPU, the repository's weights" if args.gpu else "CPU: not a speed figure for a GPU host")
    doc["anchor"] = GPU_ANCHOR
    return doc


def _cell(value) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def markdown(doc: dict) -> str:
    setup = doc["setup"]
    lines = [f"### {doc['benchmark']} — {doc['date']}, {doc['machine']}", "",
             f"`{doc['command']}` · {setup['size']}² NEURAL frames, {setup['steps']} sampler step · "
             f"{len(setup['signs'])} signs per stream · JPEG · REALTIME at {setup['realtime_fps']:g} fps", "",
             f"**{doc['note']}.**" if doc.get("note") else "", "",
             "| pacing | streams | done (failed) | first frame p50 / p95 ms | frames/s | per stream mean / min | "
             "avg unet_step batch | gateway queue / Triton ms per batch | degraded notices (streams) | "
             "degraded frames | recovered |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in doc["levels"]:
        lines.append(
            f"| {r['pacing']} | {r['streams']} | {r['streams_completed']} ({r['streams_failed']}) | "
            f"{_cell(r['first_frame_p50_ms'])} / {_cell(r['first_frame_p95_ms'])} | {_cell(r['frames_per_s'])} | "
            f"{_cell(r['frames_per_s_per_stream_mean'])} / {_cell(r['frames_per_s_per_stream_min'])} | "
            f"{_cell(r['average_unet_step_batch'])} | {_cell(r['gateway_queue_ms_per_batch'])} / "
            f"{_cell(r['triton_ms_per_batch'])} | {r['degraded_notices']} ({r['streams_degraded']}) | "
            f"{r['degraded_frames']} | {r['recovered_notices']} |")
    lines += ["", f"GPU anchor: {doc['anchor']}."]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    doc = bench(args)
    name = "bench-neural-streams-quick" if args.quick else "bench-neural-streams"
    stem = report.write_results(args.out, name, doc, markdown(doc))
    print(f"wrote {stem}.json, .md")
    return 0
