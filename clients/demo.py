"""`make demo`: start `signstream serve` (Triton + gateway) on free loopback ports, stream a sentence
live with a style image, write results/out_video.mp4 and normalized_keypoints.pickle/.npz from the
streamed keypoints, print time to first frame and frames/s, and stop everything.

    python -m signstream.clients.demo --lexicon lexicon --out results --style photo.png ¶hello ¶name ...
"""
from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path


from signstream.clients.client import SignStreamClient, arrival_summary
from signstream.clients.process import SignstreamProcess, serve_process
from signstream.clients.remote_generate import sentence_from_responses
from signstream.results import write_results
from signstream.v1 import signstream_pb2 as pb

READY_TIMEOUT_S = 300


def start_server(lexicon: str, log_dir: Path) -> tuple[SignstreamProcess, str]:
    log_dir.mkdir(parents=True, exist_ok=True)
    server, target = serve_process(lexicon, "--triton-log-file", str(log_dir / "triton.log"),
                                   log_path=log_dir / "serve.log")
    t0 = time.monotonic()
    try:
        server.start(READY_TIMEOUT_S)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    print(f"server ready in {time.monotonic() - t0:.1f} s on {target} (Triton + gateway)", flush=True)
    return server, target


async def stream(target: str, config: pb.SessionConfig, sign_ids: list[str]):
    responses, arrivals = [], []
    async with SignStreamClient(target) as client:
        async for response, at in client.stream_sentence(config, sign_ids):
            responses.append(response)
            if response.WhichOneof("kind") == "frame":
                arrivals.append(at)
    return responses, arrivals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sign_ids", nargs="+")
    parser.add_argument("--lexicon", default="lexicon")
    parser.add_argument("--out", default="results")
    parser.add_argument("--style", required=True)
    parser.add_argument("--num_interpolation", type=int, default=8)
    args = parser.parse_args(argv)
    config = pb.SessionConfig(style_image=Path(args.style).read_bytes(), encoding=pb.JPEG,
                              include_keypoints=True, num_interpolation=args.num_interpolation)
    server, target = start_server(args.lexicon, Path("logs"))
    try:
        responses, arrivals = asyncio.run(stream(target, config, args.sign_ids))
    finally:
        server.stop()
    sentence, first = sentence_from_responses(responses)
    paths = write_results(args.out, sentence, first.fps, first.width, first.height, progress=False)
    timing = arrival_summary(arrivals)
    print(f"streamed {timing['frames']} JPEG frames of {first.width}x{first.height} for {len(args.sign_ids)} signs: "
          f"time to first frame {timing['first_frame_ms']:.1f} ms, {timing['frames_per_s']:.0f} frames/s, "
          f"inter-frame gap p50 {timing['gap_p50_ms']:.2f} ms / p99 {timing['gap_p99_ms']:.2f} ms")
    for path in paths.values():
        print(path)
    print("server stopped (gateway, then Triton)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
