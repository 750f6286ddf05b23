"""`signstream stream --server H:P ¶a ¶b ... [--text "..."]`: a live client that prints per-frame timing
and can save the frames or an MP4."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from signstream.clients.call_errors import call_errors
from signstream.clients.client import SignStreamClient, arrival_summary
from signstream.clients.session_config import session_config
from signstream.clients.stream_mp4 import PICTURE_ENCODINGS, StreamMp4
from signstream.errors import InvalidArgument
from signstream.names import Encoding
from signstream.text import POLICIES, Text
from signstream.v1 import signstream_pb2 as pb

from .common import add_gateway_client_flags, channel_security_from_args
from .flag_types import COUNT, NON_NEGATIVE_REAL

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "RAW_RGB": "rgb", "H264": "h264"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="stream a sentence from a running gateway, printing per-frame timing")
    p.add_argument("sign_ids", nargs="*", metavar="¶ID", help="sign IDs to send, in order (after any --text)")
    p.add_argument("--text", action="append", default=[], metavar="TEXT",
                   help="a text to send, glossed by the gateway (README \"Text input\"); repeat for more")
    p.add_argument("--fingerspell", choices=POLICIES, default=None,
                   help="which words of a text without a sign are fingerspelled (default names)")
    p.add_argument("--server", required=True, metavar="HOST:PORT", help="the gateway (signstream serve)")
    p.add_argument("--style_image_path", "--style", default=None, help="style photo (JPEG/PNG)")
    p.add_argument("--num_interpolation", type=COUNT, default=None, help="transition frames (default 8; 0: none)")
    p.add_argument("--num_insert_interpolation", type=COUNT, default=None, help="inserted frames (default 0)")
    p.add_argument("--normalization", default="", help="retarget (default) or signmail (the seed's)")
    p.add_argument("--transition", default="", help="smooth (default; a sign's last 7 frames wait up to their "
                   "playing time for the next sign, to choose the join) or linear (the seed's)")
    p.add_argument("--keypoint-filter", default="", help="none (default) or one_euro (causal for Retarget)")
    p.add_argument("--encoding", choices=[e.name for e in Encoding], default="JPEG",
                   help="JPEG (default), PNG, RAW_RGB, H264 or NONE (keypoints only: no --mp4, no --frames-dir)")
    p.add_argument("--pacing", choices=("ASAP", "REALTIME"), default="ASAP")
    p.add_argument("--width", type=COUNT, default=0, help="frame width (default 0: the style image's)")
    p.add_argument("--height", type=COUNT, default=0, help="frame height (default 0: the style image's)")
    p.add_argument("--fps", type=NON_NEGATIVE_REAL, default=0.0, help="frame rate (default 0: the lexicon's)")
    p.add_argument("--keypoints", action="store_true", help="ask for keypoints with every frame")
    p.add_argument("--frames-dir", default=None, metavar="DIR", help="save every frame here (H264: one .h264 file)")
    p.add_argument("--mp4", default=None, metavar="FILE",
                   help="write the frames as an MP4 (JPEG/PNG/RAW_RGB: encoded again; H264: muxed as sent)")
    p.add_argument("--quiet", action="store_true", help="only the summary")
    add_gateway_client_flags(p)
    p.set_defaults(run=run)


def check_flags(args: argparse.Namespace) -> None:
    """Refuse, before connecting, output flags that the encoding cannot fill, and a call with nothing to send."""
    if not args.sign_ids and not args.text:
        raise InvalidArgument("nothing to stream: give sign IDs (¶hello ...) or --text \"...\"", field="sign_ids")
    check_output_flags(args)


def check_output_flags(args: argparse.Namespace) -> None:
    """Refuse --mp4/--frames-dir when the encoding sends no pictures (NONE)."""
    if args.encoding == Encoding.NONE.name:
        wanting = [flag for flag, value in (("--mp4", args.mp4), ("--frames-dir", args.frames_dir)) if value]
        if wanting:
            raise InvalidArgument(f"{' and '.join(wanting)} need pictures, but --encoding NONE sends keypoints "
                                  f"only: choose --encoding {', '.join(PICTURE_ENCODINGS)}, or drop "
                                  f"{' and '.join(wanting)}", field="encoding")


def save_frame(frames_dir: Path, frame: pb.Frame) -> None:
    """A still as its own file; H.264 appended to the one stream.h264."""
    if frame.encoding == pb.H264:
        with open(frames_dir / "stream.h264", "ab") as handle:
            handle.write(frame.image)
    else:
        name = f"{frame.index:06d}.{EXTENSIONS[pb.Encoding.Name(frame.encoding)]}"
        (frames_dir / name).write_bytes(frame.image)


class FrameSink:
    """Where a client verb's frames go: a line each on stdout (unless --quiet), a file each in
    --frames-dir, the --mp4; `times` holds their arrival times."""

    def __init__(self, args: argparse.Namespace):
        self.quiet = args.quiet
        self.frames_dir = Path(args.frames_dir) if args.frames_dir else None
        if self.frames_dir:
            self.frames_dir.mkdir(parents=True, exist_ok=True)
        self.mp4_path = args.mp4
        self.mp4 = StreamMp4(args.mp4) if args.mp4 else None
        self.times: list[float] = []

    def add(self, frame: pb.Frame, at: float, line: str) -> None:
        self.times.append(at)
        if not self.quiet:
            print(line)
        if self.frames_dir:
            save_frame(self.frames_dir, frame)
        if self.mp4 is not None:
            self.mp4.add(frame)

    def run(self, coroutine) -> tuple[dict, str]:
        """Run the client's call; (its summary, what became of the MP4: "" or "; wrote PATH" ...)."""
        try:
            summary = asyncio.run(coroutine)
        except BaseException:
            if self.mp4 is not None:
                self.mp4.abort()
            raise
        written = self.mp4.close() if self.mp4 is not None else False
        return summary, mp4_note(self.mp4_path, written)


async def stream(args: argparse.Namespace, sink: FrameSink) -> dict:
    config = session_config(args, encoding=pb.Encoding.Value(args.encoding), pacing=pb.Pacing.Value(args.pacing),
                            width=args.width, height=args.height, fps=args.fps, include_keypoints=args.keypoints)
    if args.fingerspell:
        config.fingerspell = args.fingerspell
    notices = 0
    async with SignStreamClient(args.server, security=channel_security_from_args(args)) as client, \
            call_errors(client):
        async for response, at in client.stream_sentence(config, [*map(Text, args.text), *args.sign_ids]):
            if response.WhichOneof("kind") == "notice":
                notices += 1
                n = response.notice
                print(f"notice  {n.code} {n.sign_id}: {n.message}", file=sys.stderr)
                continue
            frame = response.frame
            sink.add(frame, at, f"frame {frame.index:5d}  {frame.sign_id:<14} {pb.FrameKind.Name(frame.kind):<10} "
                     f"{1000 * at:8.1f} ms  {len(frame.image):8d} B")
    return {**arrival_summary(sink.times), "notices": notices}


def mp4_note(path: str | None, written: bool) -> str:
    if not path:
        return ""
    return f"; wrote {path}" if written else f"; no frame arrived, so {path} was not written"


def run(args: argparse.Namespace) -> int:
    check_flags(args)
    sink = FrameSink(args)
    summary, mp4_said = sink.run(stream(args, sink))
    first = "n/a" if summary["first_frame_ms"] is None else f"{summary['first_frame_ms']:.1f} ms"
    print(f"{summary['frames']} frames, {summary['notices']} notices; time to first frame {first}; "
          f"{summary['frames_per_s']:.1f} frames/s; inter-frame gap p50 {summary['gap_p50_ms']:.1f} ms, "
          f"p99 {summary['gap_p99_ms']:.1f} ms, max {summary['gap_max_ms']:.1f} ms" + mp4_said)
    return 0 if summary["frames"] else 2
