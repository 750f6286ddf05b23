"""`make demo`: start `signstream serve` (Triton + gateway) on free loopback ports, stream a sentence
live with a style image, write results/out_video.mp4 and normalized_keypoints.pickle/.npz from the
streamed keypoints, print time to first frame and frames/s; then stream the same sentence with
renderer NEURAL into results/out_video_neural.mp4 and print its latency too; stream 8 s of synthetic
speech-like audio (results/speech_demo.wav) to rpc Gesture into results/out_video_gesture.mp4; stop
everything.

    python -m signstream.clients.demo --lexicon lexicon --out results --style photo.png ¶hello ¶name ...

NEURAL frames come from the served model repository when its neural renderer is ready there (real
weights installed: health "neural" is SERVING). Otherwise the demo writes the random-weight
stand-ins (`signstream models stand-in`) to a temporary folder and serves those: the video is then
NOISE, and the demo says so (the gateway's STAND_IN_WEIGHTS notice is what tells).
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from signstream.clients.client import SignStreamClient, arrival_summary
from signstream.clients.process import SignstreamProcess, serve_process
from signstream.clients.remote_generate import rendering_notices, sentence_from_responses
from signstream.clients.stream_mp4 import StreamMp4
from signstream.config import model_repository_path, settings_from_env
from signstream.results import write_results
from signstream.v1 import signstream_pb2 as pb

READY_TIMEOUT_S = 300
NEURAL_VIDEO = "out_video_neural.mp4"
NEURAL_SIZE = 256           # small: a CPU with stand-ins draws it in seconds
NEURAL_STEPS = 1
GESTURE_VIDEO = "out_video_gesture.mp4"
GESTURE_SPEECH = "speech_demo.wav"
GESTURE_SECONDS = 8.0


def start_server(lexicon: str, log_dir: Path, *flags: str, logs: str = "") -> tuple[SignstreamProcess, str]:
    """`serve` with `flags`, its output in log_dir/serve{logs}.log and Triton's in triton{logs}.log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    server, target = serve_process(lexicon, "--triton-log-file", str(log_dir / f"triton{logs}.log"), *flags,
                                   log_path=log_dir / f"serve{logs}.log")
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


async def neural_ready(target: str) -> bool:
    async with SignStreamClient(target) as client:
        return await client.health("neural") == "SERVING"


def latency_line(what: str, arrivals: list[float], first: pb.Frame, signs: int) -> str:
    timing = arrival_summary(arrivals)
    return (f"streamed {timing['frames']} {what} frames of {first.width}x{first.height} for {signs} signs: "
            f"time to first frame {timing['first_frame_ms']:.1f} ms, {timing['frames_per_s']:.0f} frames/s, "
            f"inter-frame gap p50 {timing['gap_p50_ms']:.2f} ms / p99 {timing['gap_p99_ms']:.2f} ms")


def neural_config(style: bytes, num_interpolation: int, size: int) -> pb.SessionConfig:
    return pb.SessionConfig(style_image=style, encoding=pb.H264, renderer=pb.NEURAL, neural_steps=NEURAL_STEPS,
                            width=size, height=size, num_interpolation=num_interpolation)


def write_neural(out: Path, responses: list[pb.SynthesizeResponse], arrivals: list[float], signs: int) -> Path:
    """out/out_video_neural.mp4 from a NEURAL stream's H.264 frames (muxed as they are); prints what
    drew it, its latency and, when the gateway said so, that it is noise."""
    frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    if not frames:
        raise SystemExit("the NEURAL stream sent no frames: " + "; ".join(
            f"{r.notice.code}: {r.notice.message}" for r in responses if r.WhichOneof("kind") == "notice"))
    path = out / NEURAL_VIDEO
    mp4 = StreamMp4(path)
    for frame in frames:
        mp4.add(frame)
    mp4.close()
    noise = any(n.code == "STAND_IN_WEIGHTS" for n in rendering_notices(responses))
    print(latency_line(f"NEURAL ({frames[0].neural_steps} step, seed {frames[0].seed}) H.264", arrivals, frames[0],
                       signs))
    if noise:
        print(f"{path}: NOISE — drawn by random-weight stand-ins (`signstream models stand-in`), not a renderer; "
              "it shows the NEURAL path (ordering, batching, latency), never pictures. Real weights: README, "
              "'Real NEURAL weights'.")
    else:
        print(f"{path}: drawn by the neural models in {model_repository_path(settings_from_env())}")
    return path


def run_neural(args, style: bytes, target: str | None, log_dir: Path) -> Path:
    """The NEURAL stream on `target` (a server whose renderer is ready), or on a server of its own
    over the stand-ins (target None)."""
    config = neural_config(style, args.num_interpolation, args.neural_size)
    if target is not None:
        return write_neural(Path(args.out), *asyncio.run(stream(target, config, args.sign_ids)), len(args.sign_ids))
    from signstream.models.standin import write_standin_repository

    with tempfile.TemporaryDirectory(prefix="signstream-demo-") as tmp:
        standins = Path(tmp) / "standin_models"
        write_standin_repository(model_repository_path(settings_from_env()), standins)
        print(f"no neural weights in the model repository: serving random-weight stand-ins from {standins} "
              "(their frames are NOISE)", flush=True)
        server, target = start_server(args.lexicon, log_dir, "--model-repository", str(standins),
                                      "--wholebody", "off", logs="-neural")
        try:
            responses, arrivals = asyncio.run(stream(target, config, args.sign_ids))
        finally:
            server.stop()
    return write_neural(Path(args.out), responses, arrivals, len(args.sign_ids))


def run_gesture(out: Path, style: bytes, target: str) -> str:
    """Synthetic speech (seeded, speech-LIKE: see signstream.gesture.speech_corpus) through rpc Gesture with
    the beat source -> out/out_video_gesture.mp4; its latency line."""
    import wave

    from signstream.gesture.speech_corpus import SAMPLE_RATE, make_utterance, pcm16

    out.mkdir(parents=True, exist_ok=True)
    pcm = pcm16(make_utterance(1, GESTURE_SECONDS).audio)
    with wave.open(str(out / GESTURE_SPEECH), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    config = pb.GestureConfig(session=pb.SessionConfig(style_image=style, encoding=pb.H264), source="beat")
    mp4, arrivals, first = StreamMp4(str(out / GESTURE_VIDEO)), [], None

    async def go() -> None:
        nonlocal first
        async with SignStreamClient(target) as client:
            async for response, at in client.stream_audio(config, pcm):
                if response.WhichOneof("kind") == "frame":
                    first = first or response.frame
                    arrivals.append(at)
                    mp4.add(response.frame)
    try:
        asyncio.run(go())
    except BaseException:
        mp4.abort()
        raise
    mp4.close()
    timing = arrival_summary(arrivals)
    return (f"streamed {timing['frames']} GESTURE H.264 frames of {first.width}x{first.height} for "
            f"{GESTURE_SECONDS:.0f} s of synthetic speech ({out / GESTURE_SPEECH}, beat source): time to first "
            f"frame {timing['first_frame_ms']:.1f} ms, {timing['frames_per_s']:.0f} frames/s\n{out / GESTURE_VIDEO}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sign_ids", nargs="+")
    parser.add_argument("--lexicon", default="lexicon")
    parser.add_argument("--out", default="results")
    parser.add_argument("--style", required=True)
    parser.add_argument("--num_interpolation", type=int, default=8)
    parser.add_argument("--neural-size", type=int, default=NEURAL_SIZE,
                        help=f"side of the NEURAL video's frames (default {NEURAL_SIZE}; 0: no NEURAL video)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    style = Path(args.style).read_bytes()
    config = pb.SessionConfig(style_image=style, encoding=pb.JPEG, include_keypoints=True,
                              num_interpolation=args.num_interpolation)
    log_dir = Path("logs")
    server, target = start_server(args.lexicon, log_dir)
    try:
        responses, arrivals = asyncio.run(stream(target, config, args.sign_ids))
        gesture = run_gesture(Path(args.out), style, target)
        same_server = args.neural_size > 0 and asyncio.run(neural_ready(target))
        neural = run_neural(args, style, target, log_dir) if same_server else None
    finally:
        server.stop()
    sentence, first = sentence_from_responses(responses)
    paths = write_results(args.out, sentence, first.fps, first.width, first.height, progress=False)
    print(latency_line("JPEG", arrivals, first, len(args.sign_ids)))
    for path in paths.values():
        print(path)
    print(gesture)
    print("server stopped (gateway, then Triton)")
    if args.neural_size > 0 and neural is None:
        neural = run_neural(args, style, None, log_dir)
        print("stand-in server stopped")
    if neural is not None:
        print(neural)
    print(f"demo done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
