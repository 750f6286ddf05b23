"""Low-latency H.264 for one gRPC stream: RGB frames in, Annex-B bytes per frame out.

    encoder = H264StreamEncoder(width, height, fps=25.0)
    for rgb in frames:
        send(encoder.encode(rgb))       # this frame's bytes, available at once
    send(encoder.flush())               # b"" with the default settings
    encoder.close()

The bytes of every frame, concatenated in order, form a playable `.h264` elementary stream (Annex-B start
codes, SPS/PPS repeated before every keyframe), so a client can start decoding at any keyframe. Settings:
libx264 `tune=zerolatency` (no B-frames, no lookahead, sliced threads: one frame in, one packet out),
yuv420p BT.601 limited range, a keyframe first and then every `round(keyframe_seconds * fps)` frames (x264
may add one at a scene cut). Odd sizes are padded with a black column/row exactly like `Mp4Writer`, so
decoded frames are `coded_width` x `coded_height`.

Preset `veryfast`: on a 2-core box a 512x512 frame takes ~1.7 ms (skeleton render) to ~2.9 ms (moving
photo), RGB -> YUV included, for 1/2 (skeleton) to 1/4 (photo) of the bytes `ultrafast` needs at ~1.4-1.8 ms.

Not thread-safe: one encoder belongs to one stream and is called sequentially.
"""
from __future__ import annotations

import logging
from types import TracebackType

import av
import numpy as np

from signstream.render.video import Yuv420pFrames, check_video_params

__all__ = ["H264StreamEncoder"]

logger = logging.getLogger(__name__)


class H264StreamEncoder:
    """One libx264 encoder producing an Annex-B stream, frame by frame, for one client stream.

    * `encode(rgb)` returns the bytes of every packet the encoder released for that call. With the
      zerolatency tune that is exactly the frame just given (`frames_delayed` stays 0). Should a build
      of libx264 ever hold frames back, `encode` returns b"" (or the bytes of earlier, delayed frames) and
      `frames_delayed` counts the frames still inside; `flush()` returns them. Either way the
      concatenation of all returned bytes is the complete stream, in order.
    * `flush()` drains the encoder; no frame can be encoded after it. `close()` releases the encoder
      (without flushing). Both are idempotent. Also usable as a context manager (closes on exit).
    """

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        *,
        crf: int = 23,
        preset: str = "veryfast",
        keyframe_seconds: float = 2.0,
        threads: int = 0,
    ) -> None:
        self.frame_rate = check_video_params(width, height, fps)
        if not keyframe_seconds > 0:
            raise ValueError(f"keyframe_seconds must be positive, got {keyframe_seconds!r}")
        self._frames = Yuv420pFrames(width, height)
        self.width, self.height = self._frames.width, self._frames.height
        self.coded_width, self.coded_height = self._frames.coded_width, self._frames.coded_height
        self.gop_size = max(1, round(keyframe_seconds * float(self.frame_rate)))
        self.frames_encoded = 0      # frames given to encode()
        self.packets_out = 0         # packets returned so far
        self._flushed = False

        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = self.coded_width, self.coded_height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = 1 / self.frame_rate
        ctx.framerate = self.frame_rate          # written into the SPS timing info
        ctx.gop_size = self.gop_size
        ctx.max_b_frames = 0
        ctx.thread_count = int(threads)          # 0 = libx264's choice (sliced threads under zerolatency)
        self._frames.tag(ctx)
        # No GLOBAL_HEADER flag: x264 then writes SPS/PPS in-band before each IDR, in Annex-B form.
        ctx.options = {"preset": str(preset), "tune": "zerolatency", "crf": str(int(crf))}
        ctx.open()
        self._ctx: av.codec.context.CodecContext | None = ctx

    @property
    def frames_delayed(self) -> int:
        """Frames given to the encoder whose bytes have not been returned yet (0 under zerolatency)."""
        return self.frames_encoded - self.packets_out

    def encode(self, rgb: np.ndarray) -> bytes:
        """Encode one (height, width, 3) uint8 RGB frame; return the bytes released (see the class doc).

        Raises ValueError for a frame of another shape/dtype or after `flush()`/`close()`.
        """
        ctx = self._open_context("encode")
        frame = self._frames(rgb)
        frame.pts = self.frames_encoded
        frame.time_base = ctx.time_base
        packets = ctx.encode(frame)
        self.frames_encoded += 1
        self.packets_out += len(packets)
        if len(packets) != 1:
            logger.debug("libx264 returned %d packets for frame %d", len(packets), self.frames_encoded - 1)
        return b"".join(bytes(p) for p in packets)

    def flush(self) -> bytes:
        """Drain the encoder and return the bytes of any frames it still held (normally b"")."""
        if self._flushed or self._ctx is None:
            return b""
        packets = self._ctx.encode(None)
        self._flushed = True
        self.packets_out += len(packets)
        return b"".join(bytes(p) for p in packets)

    def close(self) -> None:
        """Release the encoder. Frames still held (none under zerolatency) are dropped; call flush() first."""
        self._ctx = None

    def _open_context(self, what: str) -> av.codec.context.CodecContext:
        if self._ctx is None:
            raise ValueError(f"{what}() on a closed H264StreamEncoder")
        if self._flushed:
            raise ValueError(f"{what}() after flush(): the H.264 stream has ended")
        return self._ctx

    def __enter__(self) -> H264StreamEncoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
