"""Holistic extraction frames/s: through Triton vs in-process MediaPipe, same frames, equal parallelism.

    python benchmarks/extract.py [--parallel 1 2] [--frames 24] [--repeats 3] [--json benchmarks/results/extract.json]

The frames are crops of the real photos (astronaut, camera, grace_hopper) moving across each photo,
resized to 512x512. For each parallelism P:
- in-process: P threads, each with its own MediaPipe Holistic graph (static image mode);
- Triton: `holistic` with P instances, P requests in flight through `TritonExtractor` (gRPC).
Both run the same frames one after the other, alternating, `--repeats` times; the median wall time of
each gives frames/s and the ratio Triton / in-process. Each side is warmed up first (one frame per
worker) and its output checked against the other's, so the work is the same.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from signstream.bench.photos import PHOTOS
from signstream.bench.report import document, write_json
from signstream.config import model_repository_path, settings_from_env
from signstream.extract.holistic import HolisticExtractor
from signstream.extract.remote import TritonExtractor
from signstream.triton.launcher import TritonOptions, TritonServer

ROOT = Path(__file__).resolve().parents[1]

SIZE = 512


def moving_crops(frames: int) -> list[np.ndarray]:
    """`frames` 512x512 RGB frames: a crop window sliding and zooming over each photo in turn."""
    photos = [PHOTOS[name]() for name in sorted(PHOTOS)]
    out = []
    for i in range(frames):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        t = (i // len(photos)) / max(1, frames // len(photos))
        side = int(min(h, w) * (0.95 - 0.1 * t))
        x, y = int((w - side) * t), int((h - side) * 0.5 * t)
        out.append(cv2.resize(np.ascontiguousarray(photo[y:y + side, x:x + side]), (SIZE, SIZE)))
    return out


def run_in_process(graphs: list[HolisticExtractor], frames: list[np.ndarray]) -> tuple[float, list]:
    """Wall seconds for all frames over len(graphs) threads; the outputs in frame order."""
    results: list = [None] * len(frames)

    def work(graph: HolisticExtractor, start: int) -> None:
        for i in range(start, len(frames), len(graphs)):
            results[i] = graph(frames[i]).to_frame()

    threads = [threading.Thread(target=work, args=(g, k)) for k, g in enumerate(graphs)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, results


async def run_triton(extractor: TritonExtractor, frames: list[np.ndarray], parallel: int) -> tuple[float, list]:
    results: list = [None] * len(frames)

    async def work(start: int) -> None:
        for i in range(start, len(frames), parallel):
            results[i] = await extractor.extract(frames[i])

    t0 = time.perf_counter()
    await asyncio.gather(*(work(k) for k in range(parallel)))
    return time.perf_counter() - t0, results


def measure(parallel: int, frames: list[np.ndarray], repeats: int, repository: Path) -> dict:
    graphs = [HolisticExtractor(static_image_mode=True) for _ in range(parallel)]
    options = TritonOptions(repository, grpc_port=0, http_port=0, metrics_port=0, instances=parallel)
    local_s, triton_s = [], []
    try:
        with TritonServer(options) as triton:
            async def triton_side():
                async with TritonExtractor(triton.grpc_url, wholebody=False) as extractor:
                    await run_triton(extractor, frames[:parallel], parallel)        # warm-up
                    for _ in range(repeats):
                        seconds, remote = await run_triton(extractor, frames, parallel)
                        triton_s.append(seconds)
                        yield remote

            run_in_process(graphs, frames[:parallel])                                 # warm-up
            loop = asyncio.new_event_loop()
            side = triton_side()
            for _ in range(repeats):
                seconds, local = run_in_process(graphs, frames)
                local_s.append(seconds)
                remote = loop.run_until_complete(side.__anext__())
                # Same graphs, same frames: the keypoints agree (a landmark on an ambiguous frame may
                # move by a few thousandths between runs, so the check is on the mean).
                mean = float(np.mean([np.abs(a - b).mean() for a, b in zip(local, remote)]))
                if mean > 1e-3:
                    raise SystemExit(f"Triton and in-process keypoints differ by {mean:.2g} on average: "
                                     "not the same work")
            loop.run_until_complete(side.aclose())
            loop.close()
    finally:
        for graph in graphs:
            graph.close()
    local_fps = len(frames) / statistics.median(local_s)
    triton_fps = len(frames) / statistics.median(triton_s)
    return {"parallel": parallel, "frames": len(frames), "in_process_fps": round(local_fps, 2),
            "triton_fps": round(triton_fps, 2), "ratio": round(triton_fps / local_fps, 3),
            "in_process_s": [round(s, 3) for s in local_s], "triton_s": [round(s, 3) for s in triton_s]}


def summary(frames: int = 24, repeats: int = 3, parallel: tuple[int, ...] = (1, 2)) -> dict:
    """The bench's Triton figures: frames/s ratio Triton / in-process at each parallelism."""
    repository = model_repository_path(settings_from_env())
    crops = moving_crops(frames)
    rows = [measure(p, crops, repeats, repository) for p in parallel]
    return {**{f"ratio_p{row['parallel']}": row["ratio"] for row in rows}, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-repository", default=None)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "extract.json"))
    args = parser.parse_args(argv)
    repository = model_repository_path(settings_from_env(model_repository=args.model_repository))
    frames = moving_crops(args.frames)
    rows = []
    for parallel in args.parallel:
        row = measure(parallel, frames, args.repeats, repository)
        rows.append(row)
        print(f"P={parallel}: in-process {row['in_process_fps']:.1f} frames/s, Triton {row['triton_fps']:.1f} "
              f"frames/s, ratio {row['ratio']:.2f}", flush=True)
    write_json(args.json, document(
        "holistic extraction, Triton vs in-process MediaPipe",
        "python benchmarks/extract.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        image=f"{SIZE}x{SIZE} moving crops of astronaut, camera, grace_hopper", results=rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
