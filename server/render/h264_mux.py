"""An Annex-B H.264 stream (what an H264 gRPC stream's frames form, concatenated) -> an MP4 file,
without re-encoding: the access units are copied as they are, one per frame, at the stream's rate.

    frames = mux_h264_to_mp4(h264_bytes, "out.mp4", fps=25.0)

The file is browser-friendly as `Mp4Writer`'s is (`+faststart`); the picture is whatever the
stream holds (an odd size arrives padded to even by the encoder, see `Yuv420pFrames`).
"""
from __future__ import annotations

import contextlib
import io
import os

import av

from signstream.render.video import check_video_params

__all__ = ["mux_h264_to_mp4"]


def mux_h264_to_mp4(data: bytes, path: str | os.PathLike[str], fps: float) -> int:
    """Write the Annex-B stream `data` to `path` as MP4, frame i at i/fps; return the frame count.

    Raises ValueError (and leaves no file) when `data` holds no frame or is not an H.264 stream.
    """
    frame_rate = check_video_params(2, 2, fps)       # the size is the stream's; only the rate is checked
    path = os.fspath(path)
    if not data:
        raise ValueError(f"the stream held no H.264 frames, so {path} was not written")
    try:
        frames = _remux(data, path, 1 / frame_rate)
    except (av.FFmpegError, ValueError):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        raise
    if frames == 0:
        os.remove(path)
        raise ValueError(f"the stream held no H.264 frames, so {path} was not written")
    return frames


def _remux(data: bytes, path: str, time_base) -> int:
    try:
        source = av.open(io.BytesIO(data), format="h264")
    except av.FFmpegError as exc:
        raise ValueError(f"the frames are not an H.264 stream ({exc}), so {path} was not written") from exc
    with source, av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"}) as target:
        video = source.streams.video[0]
        out = target.add_stream_from_template(video)
        frames = 0
        for packet in source.demux(video):
            if not packet.size:          # the demuxer's end-of-stream marker
                continue
            # A raw stream carries no timestamps; without B-frames decode order is display order.
            packet.pts = packet.dts = frames
            packet.duration = 1
            packet.time_base = time_base
            packet.stream = out
            target.mux(packet)
            frames += 1
    return frames
