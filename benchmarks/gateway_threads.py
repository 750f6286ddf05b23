"""Does the gateway's thread pool use both cores? Frames/s delivered to S concurrent JPEG streams
(512x512, ASAP, 6 demo signs each, no style image) with 1 CPU worker thread vs one per core, side
by side in one run (alternating, median of repeats).

    python benchmarks/gateway_threads.py [--streams 1 2 4] [--repeats 3] [--json benchmarks/results/gateway_threads.json]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signstream.clients.client import SignStreamClient  # noqa: E402
from signstream.config import S3Settings, Settings  # noqa: E402
from signstream.extract.base import LocalExtractor  # noqa: E402
from signstream.lexicon import LexiconWriter, open_lexicon, open_store  # noqa: E402
from signstream.lexicon.demo import demo_signs  # noqa: E402
from signstream.v1 import signstream_pb2 as pb  # noqa: E402
from tests.support.gateway import GatewayThread  # noqa: E402

SIGNS = ["¶hello", "¶name", "¶sign", "¶learn", "¶thank-you", "¶friend"]


async def load(target: str, streams: int) -> float:
    config = pb.SessionConfig(encoding=pb.JPEG, width=512, height=512)
    async with SignStreamClient(target) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(client.synthesize_all(config, SIGNS) for _ in range(streams)))
        seconds = time.perf_counter() - start
    return sum(len(r) for r in results) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "gateway_threads.json"))
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 2
    with tempfile.TemporaryDirectory() as tmp:
        writer = LexiconWriter(open_store(tmp, S3Settings()))
        for sign in demo_signs():
            writer.add_sign(sign.sign_id, sign.frames, sign.fps)
        writer.commit()
        gateways = {w: GatewayThread(open_lexicon(Settings(lexicon=tmp)), LocalExtractor(), workers=w).start()
                    for w in (1, cores)}
        try:
            rows = []
            for streams in args.streams:
                fps = {w: [] for w in gateways}
                for _ in range(args.repeats):
                    for workers, gateway in gateways.items():
                        fps[workers].append(asyncio.run(load(gateway.target, streams)))
                one, many = statistics.median(fps[1]), statistics.median(fps[cores])
                rows.append({"streams": streams, "frames_per_s_1_thread": round(one, 1),
                             f"frames_per_s_{cores}_threads": round(many, 1), "ratio": round(many / one, 2)})
                print(f"S={streams}: 1 thread {one:.0f} frames/s, {cores} threads {many:.0f} frames/s, "
                      f"ratio {many / one:.2f}", flush=True)
        finally:
            for gateway in gateways.values():
                gateway.stop()
    document = {"benchmark": "gateway CPU threads: 1 vs one per core", "date": dt.date.today().isoformat(),
                "machine": f"{platform.machine()}, {cores} cores", "python": platform.python_version(),
                "command": "python benchmarks/gateway_threads.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                "results": rows}
    Path(args.json).write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
