"""MP4 output for rendered clips (H.264 via PyAV/libx264) and the seed's output frame-rate rule.

Browser-friendly by construction: H.264, yuv420p, `+faststart` (the moov index goes first so playback can
start while downloading), BT.601 limited-range tags matching the conversion actually done.
"""
from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from types import TracebackType

import av
import numpy as np

from signstream.render.encode import check_rgb

__all__ = [
    "Mp4Writer",
    "SEED_DEFAULT_FPS",
    "SEED_MAX_FPS",
    "Yuv420pFrames",
    "check_video_params",
    "frame_rate_from_clips",
    "probe_video",
    "read_video_frames",
]

logger = logging.getLogger(__name__)

SEED_MAX_FPS = 62.0       # the seed ignores clips recorded above this as implausible
SEED_DEFAULT_FPS = 30.0   # and falls back to this when no clip qualifies

# AVColorSpace / AVColorRange values (libavutil/pixfmt.h). swscale's default RGB -> YUV matrix is BT.601
# in limited range; we request it explicitly and tag the stream with it so players don't guess BT.709.
_AVCOL_SPC_SMPTE170M = 6
_AVCOL_RANGE_MPEG = 1


def frame_rate_from_clips(clip_fps: Sequence[float]) -> float:
    """THE SEED'S RULE for the output frame rate of a stitched video, and the one rule every output uses
    when the config gives no fps: batch output applies it to every clip of the sentence, a stream to the
    clips known when its first frame leaves (its first sign's), since that frame carries the rate.

    The mean of the clips' frame rates that are <= 62 fps (clips above 62 fps are ignored as implausible);
    if no clip qualifies (or there are none), 30.0. Kept exactly as the seed computes it, including that
    a NaN rate never qualifies (NaN <= 62 is false).
    """
    kept = [float(f) for f in clip_fps if f <= SEED_MAX_FPS]
    if not kept:
        return SEED_DEFAULT_FPS
    return sum(kept) / len(kept)


def check_video_params(width: int, height: int, fps: float) -> Fraction:
    """Validate an H.264 output size and rate; return the rate as `Fraction(fps).limit_denominator(1001)`.

    Raises ValueError unless width and height are positive integers and fps a positive finite number.
    """
    if int(width) != width or int(height) != height or width <= 0 or height <= 0:
        raise ValueError(f"video size must be positive integers, got {width!r} x {height!r}")
    if isinstance(fps, bool) or not (isinstance(fps, numbers.Real) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    frame_rate = Fraction(fps).limit_denominator(1001)
    if frame_rate <= 0:
        raise ValueError(f"fps {fps!r} is too small to represent")
    return frame_rate


class Yuv420pFrames:
    """RGB frames of one size -> yuv420p `av.VideoFrame`s for libx264, shared by every H.264 writer.

    yuv420p needs even sizes, so an odd width (height) is padded with one black column on the right (row at
    the bottom): frames are given at width x height and come out at `coded_width` x `coded_height`. The
    conversion is BT.601 limited range; `tag(codec_context)` labels the stream accordingly.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        self.coded_width = self.width + (self.width & 1)
        self.coded_height = self.height + (self.height & 1)
        # Padding buffer, allocated once; its extra column/row stays black.
        self._padded = (
            np.zeros((self.coded_height, self.coded_width, 3), dtype=np.uint8)
            if (self.coded_width, self.coded_height) != (self.width, self.height)
            else None
        )

    @staticmethod
    def tag(codec_context: av.codec.context.CodecContext) -> None:
        """Mark the stream BT.601 limited range, matching the conversion done in `__call__`."""
        codec_context.colorspace = _AVCOL_SPC_SMPTE170M
        codec_context.color_range = _AVCOL_RANGE_MPEG

    def __call__(self, rgb: np.ndarray) -> av.VideoFrame:
        """(height, width, 3) uint8 RGB -> padded yuv420p frame (no pts set). ValueError on other input."""
        check_rgb(rgb)
        if rgb.shape != (self.height, self.width, 3):
            raise ValueError(f"frame must have shape {(self.height, self.width, 3)}, got {rgb.shape}")
        if self._padded is not None:
            self._padded[: self.height, : self.width] = rgb
            rgb = self._padded
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        return frame.reformat(format="yuv420p", dst_colorspace="itu601", dst_color_range="MPEG")


class Mp4Writer:
    """Write RGB frames to an H.264 MP4 file.

        with Mp4Writer("out.mp4", width, height, fps=25.0) as writer:
            for rgb in frames:
                writer.write(rgb)

    * Frame rate: `Fraction(fps).limit_denominator(1001)`, so 29.97 is exactly 2997/100 and 30000/1001
      survives; frame i has pts i in time base 1/frame_rate.
    * Odd sizes: yuv420p needs even width and height, so an odd width (height) is padded with one black
      column on the right (row at the bottom). The file's size is then `coded_width` x `coded_height`;
      readers see the extra black pixels. Frames are still given at width x height.
    * On an exception inside the `with` block the writer is aborted and the partial file removed.
    * `close()` flushes the encoder and finalises the file; closing with no frame written raises
      ValueError (there would be no video) and leaves no file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        fps: float,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        frame_rate = check_video_params(width, height, fps)
        self.path = os.fspath(path)
        self._frames = Yuv420pFrames(width, height)
        self.width, self.height = self._frames.width, self._frames.height
        self.coded_width, self.coded_height = self._frames.coded_width, self._frames.coded_height
        self.frame_rate = frame_rate
        self.frames_written = 0
        self._closed = False
        self._container = av.open(self.path, mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            stream = self._container.add_stream("libx264", rate=frame_rate)
            stream.width = self.coded_width
            stream.height = self.coded_height
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = 1 / frame_rate
            self._frames.tag(stream.codec_context)
            stream.options = {"crf": str(int(crf)), "preset": str(preset)}
        except (av.FFmpegError, ValueError, TypeError):
            self.abort()
            raise
        self._stream = stream

    def write(self, rgb: np.ndarray) -> None:
        """Append one frame: (height, width, 3) uint8 RGB. Raises ValueError on any other shape/dtype."""
        if self._closed:
            raise ValueError("write() on a closed Mp4Writer")
        frame = self._frames(rgb)
        frame.pts = self.frames_written
        frame.time_base = self._stream.codec_context.time_base
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finalise the file. Idempotent."""
        if self._closed:
            return
        if self.frames_written == 0:
            self.abort()
            raise ValueError(f"no frames were written to {self.path}; no video file was produced")
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def abort(self) -> None:
        """Close without finalising and remove whatever was written."""
        self._closed = True
        try:
            # The container may be half-written or already failing; its close error is not the news.
            with contextlib.suppress(av.FFmpegError, OSError):
                self._container.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
                logger.debug("removed partial video %s", self.path)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        elif not self._closed:
            self.abort()


def read_video_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Decode the first video stream of a file; yields (H, W, 3) uint8 RGB frames at the coded size."""
    with av.open(os.fspath(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def probe_video(path: str | os.PathLike[str]) -> dict:
    """Describe the first video stream: {codec, pix_fmt, width, height, fps, frames}.

    `fps` is the average frame rate as a float; `frames` is the container's frame count, or the number of
    packets when the container doesn't record it.
    """
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate
        frames = stream.frames
        if not frames:
            frames = sum(1 for packet in container.demux(stream) if packet.size)
        return {
            "codec": ctx.name,
            "pix_fmt": ctx.pix_fmt,
            "width": ctx.width,
            "height": ctx.height,
            "fps": float(rate) if rate else 0.0,
            "frames": int(frames),
        }
