"""`signstream bench --renderer neural`: the NEURAL models in the real Triton.

    signstream bench --renderer neural --quick                      # CPU, stand-in weights (written here)
    signstream bench --renderer neural --model-repository DIR --gpu  # a GPU host with exported engines

Figures: per model, latency and frames/s against the batch size a client sends (one request of
batch b: the network's own cost); end to end through `renderer` for M concurrent streams at each
step count and size: frames/s, per-frame latency p50/p99 and the average batch Triton's dynamic
batcher formed on `neural_unet_step` (from its metrics); appearance cost per stream; the bytes the
renderer caches per stream (from the contract's shapes).

On a CPU with stand-ins the figures are behaviour (does batching happen, what a stream costs), not
speed: the stand-ins are a few small convolutions, not a UNet. The published anchor for a GPU host:
StreamDiffusion, 106 frames/s at 1 step, 512², RTX 4090.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpcclient

from signstream.neural import contract as c
from signstream.neural.triton_client import RendererClient, end_request, frame_request

from . import report

ANCHOR = "StreamDiffusion: 106 frames/s at 1 step, 512², RTX 4090 (published)"
CPU_NOTE = "CPU with random-weight stand-ins: behaviour (batching, per-stream cost), not speed"


def model_counters(url: str, model: str) -> dict[str, float]:
    """Triton's nv_inference_* counters of `model` (version 1) from its /metrics at `url`."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    out = {}
    for m in re.finditer(rf'^(nv_inference_\w+){{model="{model}",version="1"}} (\S+)$', text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def counter_delta(after: dict, before: dict, key: str) -> float:
    """How much a counter of two model_counters readings grew (0 when never counted)."""
    return after.get(key, 0.0) - before.get(key, 0.0)


def _inputs(contract: c.ModelContract, batch: int, size: int, rng: np.random.Generator) -> list:
    h = size // c.LATENT_SCALE
    free = {"sample": (c.LATENT_CHANNELS, h, h), "latent": (c.LATENT_CHANNELS, h, h), "pose": (3, size, size),
            "ref_bank": (h * h, c.REF_CHANNELS), "reference": (3, size, size),
            "POSE": (size, size, 3), "REFERENCE": (size, size, 3)}
    tensors = []
    for t in contract.inputs:
        shape = (batch, *free.get(t.name, t.dims))
        if t.dtype == "UINT8":
            array = (rng.random(shape) * 255).astype(np.uint8)
        elif t.name == "sched":
            array = np.repeat(c.schedule(1)[1], batch, 0)
        elif t.name == "timestep":
            array = np.full(shape, 999.0, np.float32)
        else:
            array = rng.standard_normal(shape).astype(np.float32)
        tensor = grpcclient.InferInput(t.name, list(shape), t.dtype)
        tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    return tensors


def per_model(url: str, sizes: list[int], batches: list[int], repeats: int) -> list[dict]:
    client = grpcclient.InferenceServerClient(url)
    rng = np.random.default_rng(0)
    rows = []
    for name in (c.UNET_STEP.name, c.DECODE.name, c.POSE2IMG.name, c.APPEARANCE.name):
        for size in sizes:
            for batch in batches:
                inputs = _inputs(c.NEURAL_MODELS[name], batch, size, rng)
                client.infer(name, inputs)                               # warm
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    client.infer(name, inputs)
                    times.append(time.perf_counter() - start)
                ms = 1000 * float(np.median(times))
                rows.append({"model": name, "size": size, "batch": batch, "ms": round(ms, 2),
                             "frames_per_s": round(batch / (ms / 1000), 1)})
    return rows


async def _streams(url: str, streams: int, frames: int, steps: int, size: int) -> dict:
    rng = np.random.default_rng(steps * 1000 + size)
    poses = [(rng.random((size, size, 3)) * 255).astype(np.uint8) for _ in range(4)]
    reference = (rng.random((size, size, 3)) * 255).astype(np.uint8)
    answered = 0
    errors: list[str] = []
    base = 10_000 * steps + size
    requests = []
    for i in range(frames):
        for s in range(streams):
            requests.append(frame_request(base + s, i, poses[i % 4], reference if i == 0 else None, seed=s + 1,
                                          steps=steps))
    done = asyncio.Event()

    async def source():
        for r in requests:
            yield r
        await done.wait()
        for s in range(streams):
            yield end_request(base + s)

    got = 0
    start = end = time.perf_counter()
    async with RendererClient(url) as client:
        async for index, image, error in client.render(source()):
            got += 1
            if error:
                errors.append(error)
            elif image is not None:
                answered += 1
            if got == len(requests):
                end = time.perf_counter()
                done.set()
            if got == len(requests) + streams:
                break
    return {"frames": answered, "errors": len(errors), "seconds": round(end - start, 3),
            "frames_per_s": round(answered / max(end - start, 1e-9), 2)}


def end_to_end(triton_url: str, metrics_url: str, streams: list[int], steps: list[int], sizes: list[int],
               frames: int) -> list[dict]:
    rows = []
    for size in sizes:
        for s in steps:
            for m in streams:
                before = {k: model_counters(metrics_url, k) for k in (c.UNET_STEP.name, c.APPEARANCE.name)}
                figures = asyncio.run(_streams(triton_url, m, frames, s, size))
                after = {k: model_counters(metrics_url, k) for k in (c.UNET_STEP.name, c.APPEARANCE.name)}
                step_b, step_a = before[c.UNET_STEP.name], after[c.UNET_STEP.name]
                execs = counter_delta(step_a, step_b, "nv_inference_exec_count")
                app_b, app_a = before[c.APPEARANCE.name], after[c.APPEARANCE.name]
                runs = counter_delta(app_a, app_b, "nv_inference_count")
                rows.append({"size": size, "steps": s, "streams": m, **figures,
                             "average_step_batch": round(counter_delta(step_a, step_b, "nv_inference_count") / execs, 2)
                             if execs else None,
                             "appearance_runs": runs,
                             "appearance_ms_per_stream": round(
                                 counter_delta(app_a, app_b, "nv_inference_compute_infer_duration_us") / 1000 / runs, 2)
                             if runs else None})
    return rows


def cached_bytes_per_stream(size: int) -> int:
    h = size // c.LATENT_SCALE
    return 4 * (int(np.prod(c.ID_TOKENS_SHAPE)) + h * h * c.REF_CHANNELS + c.LATENT_CHANNELS * h * h)


def bench(args: argparse.Namespace) -> dict:
    from signstream.models.standin import write_standin_repository
    from signstream.triton.launcher import TritonOptions, TritonServer

    quick = args.quick
    sizes = args.neural_sizes or ([128] if quick else [256, 512])
    steps = args.neural_steps or ([1, 4] if quick else [1, 2, 4])
    streams = args.neural_streams or ([1, 4] if quick else [1, 4, 8])
    batches = [1, 2, 4, 8] if not quick else [1, 4]
    doc = report.document("signstream bench --renderer neural" + (" --quick" if quick else ""), "",
                          setup={"sizes": sizes, "steps": steps, "streams": streams,
                                 "repository": str(args.model_repository or "stand-ins written here"),
                                 "gpu": bool(args.gpu)})
    with contextlib.ExitStack() as stack:
        repository = args.model_repository
        if repository is None:
            repository = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="signstream-neural-"))) / "models"
            from signstream.config import model_repository_path, settings_from_env
            write_standin_repository(model_repository_path(settings_from_env()), repository)
            doc["note"] = CPU_NOTE if not args.gpu else "stand-in weights: behaviour, not speed"
        triton = stack.enter_context(TritonServer(TritonOptions(Path(repository), grpc_port=0, http_port=0,
                                                                metrics_port=0, gpu=bool(args.gpu))))
        doc["per_model"] = per_model(triton.grpc_url, sizes, batches, repeats=3 if quick else 10)
        doc["end_to_end"] = end_to_end(triton.grpc_url, triton.metrics_url, streams, steps, sizes,
                                       frames=4 if quick else 12)
    doc["cache_bytes_per_stream"] = {str(s): cached_bytes_per_stream(s) for s in sizes}
    doc["anchor"] = ANCHOR
    return doc


def markdown(doc: dict) -> str:
    lines = [f"### {doc['benchmark']} — {doc['date']}, {doc['machine']}", ""]
    if doc.get("note"):
        lines += [f"**{doc['note']}.**", ""]
    lines += ["| model | size | batch | ms per call | frames/s |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['size']}² | {r['batch']} | {r['ms']:g} | {r['frames_per_s']:g} |"
              for r in doc["per_model"]]
    lines += ["", "| size | steps | streams | frames/s | average step batch | appearance ms per stream | errors |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['size']}² | {r['steps']} | {r['streams']} | {r['frames_per_s']:g} | {r['average_step_batch']} | "
              f"{r['appearance_ms_per_stream']} | {r['errors']} |" for r in doc["end_to_end"]]
    cache = ", ".join(f"{s}²: {b / 2**20:.2f} MiB" for s, b in doc["cache_bytes_per_stream"].items())
    lines += ["", f"Renderer state cached per stream: {cache}. GPU anchor: {doc['anchor']}."]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    doc = bench(args)
    stem = report.write_results(args.out, "bench-neural-quick" if args.quick else "bench-neural", doc, markdown(doc))
    print(f"wrote {stem}.json, .md")
    return 0
