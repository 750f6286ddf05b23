"""Triton's own perf_analyzer on `holistic` over a concurrency sweep, a real photo as the request.

    python -m signstream.bench.triton_perf [--url HOST:PORT] [--concurrency 1 2 4] [--instances 2]
                                           [--requests-per-window 16] [--csv benchmarks/results/triton_perf.csv]

Without --url it starts Triton (the project's launcher, free loopback ports, `--instances` of each
model) and stops it afterwards. The request is the skimage astronaut, 512x512 RGB, as raw bytes
named after the input tensor. Windows count as stable within 30 % (these 2-core machines are noisy).
perf_analyzer comes with the tritonclient wheel; it needs Debian's libb64-0d and libcudart.so.12
(PyPI nvidia-cuda-runtime-cu12) even on CPU, both installed by `make install`. `signstream bench`
runs this sweep with its Triton figures.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MODEL = "holistic"
INPUT = "IMAGE"
SHAPE = (512, 512, 3)
STABILITY_PERCENT = 30
MAX_TRIALS = 20


def perf_analyzer_binary() -> Path:
    """The perf_analyzer next to this interpreter (the tritonclient wheel's), else on PATH."""
    here = Path(sys.executable).parent / "perf_analyzer"
    found = here if here.exists() else shutil.which("perf_analyzer")
    if not found:
        raise FileNotFoundError("perf_analyzer not found: it comes with tritonclient[all]; run `make install`")
    return Path(found)


def _environment() -> dict[str, str]:
    """LD_LIBRARY_PATH with the PyPI CUDA runtime, which perf_analyzer links even on CPU."""
    env = dict(os.environ)
    with contextlib.suppress(ImportError):
        import nvidia.cuda_runtime
        lib = os.path.join(list(nvidia.cuda_runtime.__path__)[0], "lib")
        env["LD_LIBRARY_PATH"] = lib + (os.pathsep + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def _request_data(folder: Path) -> None:
    import skimage.data
    image = skimage.data.astronaut()
    assert image.shape == SHAPE and image.dtype.name == "uint8"
    (folder / INPUT).write_bytes(image.tobytes())


def sweep(url: str, concurrency: list[int], requests_per_window: int = 16, timeout_s: float = 600) -> list[dict]:
    """One perf_analyzer run per concurrency level against Triton at `url` (gRPC); a row per level
    with perf_analyzer's CSV columns (throughput in inferences/s, latencies in µs)."""
    binary = perf_analyzer_binary()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="signstream-perf-") as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        _request_data(work / "data")
        for c in concurrency:
            out = work / f"c{c}.csv"
            done = subprocess.run(
                [str(binary), "-m", MODEL, "-u", url, "-i", "grpc", "--input-data", str(work / "data"),
                 "--shape", f"{INPUT}:{','.join(map(str, SHAPE))}", "--concurrency-range", str(c),
                 "--measurement-mode", "count_windows", "--measurement-request-count", str(requests_per_window),
                 "--stability-percentage", str(STABILITY_PERCENT), "--max-trials", str(MAX_TRIALS), "-f", str(out)],
                capture_output=True, text=True, env=_environment(), timeout=timeout_s)
            if done.returncode != 0:
                raise RuntimeError(f"perf_analyzer failed at concurrency {c} (exit {done.returncode}):\n"
                                   f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
            rows.extend(csv.DictReader(io.StringIO(out.read_text())))
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """The figures the bench reports from a sweep: throughput and p50/p99 latency per concurrency."""
    return [{"concurrency": int(r["Concurrency"]), "inferences_per_s": round(float(r["Inferences/Second"]), 2),
             "p50_ms": round(float(r["p50 latency"]) / 1000, 1), "p99_ms": round(float(r["p99 latency"]) / 1000, 1),
             "server_compute_infer_ms": round(float(r["Server Compute Infer"]) / 1000, 1)} for r in rows]


@contextlib.contextmanager
def triton_for_perf(instances: int):
    """A Triton of our own on free loopback ports; yields its gRPC URL."""
    from signstream.config import model_repository_path, settings_from_env
    from signstream.triton.launcher import TritonOptions, TritonServer
    options = TritonOptions(model_repository_path(settings_from_env()), grpc_port=0, http_port=0,
                            metrics_port=0, instances=instances)
    with TritonServer(options) as triton:
        yield triton.grpc_url


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Triton's gRPC HOST:PORT (default: start one here)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--instances", type=int, default=2, help="model instances of the started Triton")
    parser.add_argument("--requests-per-window", type=int, default=16)
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/results/triton_perf.csv"))
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(triton_for_perf(args.instances))
        print(f"perf_analyzer: {MODEL} at {url}, concurrency {args.concurrency}, 512x512 astronaut", flush=True)
        rows = sweep(url, args.concurrency, args.requests_per_window)
    write_csv(args.csv, rows)
    for row in summarize(rows):
        print(f"concurrency {row['concurrency']}: {row['inferences_per_s']} infer/s, "
              f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms")
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
