"""`signstream gesture --server H:P speech.wav --mp4 OUT.mp4`: stream an audio file to a gateway's Gesture
rpc and save the gesturing avatar as an MP4 (or its frames), printing per-frame timing."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from signstream.clients.audio_file import read_pcm16
from signstream.clients.call_errors import call_errors
from signstream.clients.client import SignStreamClient, arrival_summary
from signstream.clients.session_config import read_style
from signstream.gesture.audio import MAX_CHUNK_BYTES
from signstream.gesture.source import SAMPLE_RATE
from signstream.gesture.spec import MAX_LOOKAHEAD_MS, SOURCES
from signstream.names import Encoding, Renderer
from signstream.v1 import signstream_pb2 as pb

from .common import add_gateway_client_flags, channel_security_from_args
from .flag_types import COUNT, NON_NEGATIVE_REAL
from .stream import FrameSink, check_output_flags


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gesture", help="stream speech audio to a gateway and save the gesturing avatar")
    p.add_argument("audio", metavar="SPEECH", help="the speech: WAV (any rate, channels, sample format), FLAC, "
                   "MP3 or Ogg; sent as PCM16 mono 16 kHz")
    p.add_argument("--server", required=True, metavar="HOST:PORT", help="the gateway (signstream serve)")
    p.add_argument("--source", choices=SOURCES, default="beat",
                   help="beat (default: beat gestures from the speech's rhythm) or aqgt (the AQ-GT model, when the "
                   "gateway's Triton has it installed)")
    p.add_argument("--lookahead-ms", type=COUNT, default=0, help="how far frames may lag the audio, so strokes land "
                   f"on their beats (0 = the source's default; at most {MAX_LOOKAHEAD_MS})")
    p.add_argument("--style_image_path", "--style", default=None, help="style photo (JPEG/PNG)")
    p.add_argument("--encoding", choices=[e.name for e in Encoding], default="JPEG",
                   help="JPEG (default), PNG, RAW_RGB, H264 or NONE (keypoints only: no --mp4, no --frames-dir)")
    p.add_argument("--renderer", choices=[r.name for r in Renderer], default="SKELETON")
    p.add_argument("--pacing", choices=("ASAP", "REALTIME"), default="ASAP")
    p.add_argument("--live", action="store_true", help="send each 0.5 s of audio at its playing time, as a "
                   "microphone would (default: as fast as the gateway takes it)")
    p.add_argument("--width", type=COUNT, default=0, help="frame width (default 0: the style image's)")
    p.add_argument("--height", type=COUNT, default=0, help="frame height (default 0: the style image's)")
    p.add_argument("--fps", type=NON_NEGATIVE_REAL, default=0.0, help="frame rate (default 0: 25)")
    p.add_argument("--keypoints", action="store_true", help="ask for keypoints with every frame")
    p.add_argument("--frames-dir", default=None, metavar="DIR", help="save every frame here (H264: one .h264 file)")
    p.add_argument("--mp4", default=None, metavar="FILE", help="write the frames as an MP4")
    p.add_argument("--quiet", action="store_true", help="only the summary")
    add_gateway_client_flags(p)
    p.set_defaults(run=run)


def gesture_config(args: argparse.Namespace) -> pb.GestureConfig:
    session = pb.SessionConfig(style_image=read_style(args.style_image_path),
                               encoding=pb.Encoding.Value(args.encoding), pacing=pb.Pacing.Value(args.pacing),
                               renderer=pb.Renderer.Value(args.renderer), width=args.width, height=args.height,
                               fps=args.fps, include_keypoints=args.keypoints)
    return pb.GestureConfig(session=session, source=args.source, lookahead_ms=args.lookahead_ms)


async def stream(args: argparse.Namespace, pcm: bytes, sink: FrameSink) -> dict:
    sent_at: list[float] = []
    latencies: list[float] = []
    notices = 0
    async with SignStreamClient(args.server, security=channel_security_from_args(args)) as client, \
            call_errors(client):
        async for response, at in client.stream_audio(gesture_config(args), pcm, MAX_CHUNK_BYTES, live=args.live,
                                                      sent_at=sent_at):
            if response.WhichOneof("kind") == "notice":
                notices += 1
                print(f"notice  {response.notice.code}: {response.notice.message}", file=sys.stderr)
                continue
            frame = response.frame
            if sent_at:
                latencies.append(at - sent_at[-1])       # since the chunk most recently sent (live: the one it waited for)
            sink.add(frame, at, f"frame {frame.index:5d}  {pb.FrameKind.Name(frame.kind):<8} {1000 * at:8.1f} ms  "
                     f"{len(frame.image):8d} B")
    summary = {**arrival_summary(sink.times), "notices": notices}
    if args.live and latencies:
        summary["chunk_to_frame_p99_ms"] = float(np.percentile(latencies, 99) * 1000)
    return summary


def run(args: argparse.Namespace) -> int:
    check_output_flags(args)
    pcm, found = read_pcm16(args.audio)
    seconds = len(pcm) / (2 * SAMPLE_RATE)
    print(f"{args.audio}: {found['codec']} {found['rate']} Hz x{found['channels']}, {seconds:.2f} s -> PCM16 mono "
          f"{SAMPLE_RATE} Hz", file=sys.stderr)
    sink = FrameSink(args)
    summary, mp4_said = sink.run(stream(args, pcm, sink))
    first = "n/a" if summary["first_frame_ms"] is None else f"{summary['first_frame_ms']:.1f} ms"
    live = (f"; audio chunk -> frame p99 {summary['chunk_to_frame_p99_ms']:.1f} ms"
            if "chunk_to_frame_p99_ms" in summary else "")
    print(f"{summary['frames']} frames for {seconds:.2f} s of speech, {summary['notices']} notices; time to first "
          f"frame {first}; {summary['frames_per_s']:.1f} frames/s{live}" + mp4_said)
    return 0 if summary["frames"] else 2
