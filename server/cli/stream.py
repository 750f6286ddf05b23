"""`signstream stream --server H:P ¶a ¶b ...`: a live client that prints per-frame timing and can save
the frames or an MP4."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import grpc
import numpy as np

from signstream.clients.client import SignStreamClient, arrival_summary
from signstream.clients.remote_generate import domain_error
from signstream.clients.session_config import session_config
from signstream.render import Mp4Writer
from signstream.render.encode import decode_image
from signstream.v1 import signstream_pb2 as pb

from .common import add_gateway_client_flags, channel_security_from_args

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "RAW_RGB": "rgb", "H264": "h264"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="stream a sentence from a running gateway, printing per-frame timing")
    p.add_argument("sign_ids", nargs="+", metavar="¶ID")
    p.add_argument("--server", required=True, metavar="HOST:PORT", help="the gateway (signstream serve)")
    p.add_argument("--style_image_path", "--style", default=None, help="style photo (JPEG/PNG)")
    p.add_argument("--num_interpolation", type=int, default=None, help="transition frames (default 8; 0: none)")
    p.add_argument("--num_insert_interpolation", type=int, default=None, help="inserted frames (default 0)")
    p.add_argument("--normalization", default="", help="retarget (default) or signmail (the seed's)")
    p.add_argument("--transition", default="", help="smooth (default; a sign's last 7 frames wait up to their "
                   "playing time for the next sign, to choose the join) or linear (the seed's)")
    p.add_argument("--keypoint-filter", default="", help="none (default) or one_euro (causal for Retarget)")
    p.add_argument("--encoding", choices=("JPEG", "PNG", "RAW_RGB", "H264", "NONE"), default="JPEG")
    p.add_argument("--pacing", choices=("ASAP", "REALTIME"), default="ASAP")
    p.add_argument("--width", type=int, default=0)
    p.add_argument("--height", type=int, default=0)
    p.add_argument("--fps", type=float, default=0.0)
    p.add_argument("--keypoints", action="store_true", help="ask for keypoints with every frame")
    p.add_argument("--frames-dir", default=None, metavar="DIR", help="save every frame here (H264: one .h264 file)")
    p.add_argument("--mp4", default=None, metavar="FILE", help="write the frames as an MP4 (JPEG/PNG/RAW_RGB)")
    p.add_argument("--quiet", action="store_true", help="only the summary")
    add_gateway_client_flags(p)
    p.set_defaults(run=run)


def decode(frame: pb.Frame) -> np.ndarray:
    if frame.encoding == pb.RAW_RGB:
        return np.frombuffer(frame.image, np.uint8).reshape(frame.height, frame.width, 3)
    return decode_image(frame.image)


async def stream(args: argparse.Namespace) -> dict:
    config = session_config(args, encoding=pb.Encoding.Value(args.encoding), pacing=pb.Pacing.Value(args.pacing),
                            width=args.width, height=args.height, fps=args.fps, include_keypoints=args.keypoints)
    frames_dir = Path(args.frames_dir) if args.frames_dir else None
    if frames_dir:
        frames_dir.mkdir(parents=True, exist_ok=True)
    writer = None
    times: list[float] = []
    notices = 0
    async with SignStreamClient(args.server, security=channel_security_from_args(args)) as client:
        async for response, at in client.stream_sentence(config, args.sign_ids):
            if response.WhichOneof("kind") == "notice":
                notices += 1
                n = response.notice
                print(f"notice  {n.code} {n.sign_id}: {n.message}", file=sys.stderr)
                continue
            frame = response.frame
            times.append(at)
            if not args.quiet:
                print(f"frame {frame.index:5d}  {frame.sign_id:<14} {pb.FrameKind.Name(frame.kind):<10} "
                      f"{1000 * at:8.1f} ms  {len(frame.image):8d} B")
            if frames_dir and frame.encoding == pb.H264:
                with open(frames_dir / "stream.h264", "ab") as handle:
                    handle.write(frame.image)
            elif frames_dir and frame.encoding != pb.NONE:
                name = f"{frame.index:06d}.{EXTENSIONS[pb.Encoding.Name(frame.encoding)]}"
                (frames_dir / name).write_bytes(frame.image)
            if args.mp4 and frame.encoding in (pb.JPEG, pb.PNG, pb.RAW_RGB):
                if writer is None:
                    writer = Mp4Writer(args.mp4, frame.width, frame.height, fps=frame.fps or 25.0)
                writer.write(decode(frame))
    if writer is not None:
        writer.close()
    return {**arrival_summary(times), "notices": notices}


def run(args: argparse.Namespace) -> int:
    try:
        summary = asyncio.run(stream(args))
    except grpc.aio.AioRpcError as exc:          # e.g. UNAUTHENTICATED: printed with its advice, exit 3
        raise domain_error(exc) from exc
    first = "n/a" if summary["first_frame_ms"] is None else f"{summary['first_frame_ms']:.1f} ms"
    print(f"{summary['frames']} frames, {summary['notices']} notices; time to first frame {first}; "
          f"{summary['frames_per_s']:.1f} frames/s; inter-frame gap p50 {summary['gap_p50_ms']:.1f} ms, "
          f"p99 {summary['gap_p99_ms']:.1f} ms, max {summary['gap_max_ms']:.1f} ms" + (f"; wrote {args.mp4}" if args.mp4 else ""))
    return 0 if summary["frames"] else 2
