"""Encoders: pictures -> what each frame carries (or a file), for one stream or one batch output.

Every stream and the batch output draw through a `Renderer` and encode through an `Encoder`:

* `StillEncoder` (JPEG, PNG, RAW_RGB): each frame on its own (`ordered = False`), so the frame
  writer encodes a frame in the same CPU-pool job that drew it, several at once;
* `H264Encoder`: one libx264 stream per client stream, frames one at a time in stream order
  (`ordered = True`); each frame's bytes are its access unit;
* `Mp4FileEncoder`: the batch output's `out_video.mp4`; frames are muxed into the file (each
  `encode` returns b"") and `flush` finalises it.

`open_encoder(encoding, width, height, fps)` gives a stream's encoder (None for NONE: nothing is
drawn). `channels` is the order an encoder takes ("bgr": cv2's, no swap); renderers draw in it.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod

import numpy as np

from signstream.names import STILL_ENCODINGS, Encoding
from signstream.render.encode import get_encoder
from signstream.render.h264_stream import H264StreamEncoder
from signstream.render.video import Mp4Writer

__all__ = ["Encoder", "H264Encoder", "Mp4FileEncoder", "StillEncoder", "open_encoder"]


class Encoder(ABC):
    """Pictures of one size in, in stream order; bytes out."""

    name: str
    channels: str = "rgb"
    ordered: bool = True          # False: frames can be encoded in any thread, in any order

    @abstractmethod
    def encode(self, image: np.ndarray) -> bytes:
        """The bytes this frame carries (b"" where they go elsewhere, or an encoder holds the frame)."""

    def flush(self) -> bytes:
        """What the encoder still holds once the last frame is in; it takes no frame after this."""
        return b""

    def close(self) -> None:
        """Release the encoder (without flushing); idempotent."""


class StillEncoder(Encoder):
    """A still image per frame: JPEG, PNG or raw RGB bytes (see signstream.render.encode)."""

    ordered = False

    def __init__(self, encoding: str, **options: int):
        self._still = get_encoder(encoding, **options)
        self.name = self._still.name
        self.media_type = self._still.media_type
        self.channels = "bgr" if self._still.takes_bgr else "rgb"

    def encode(self, image: np.ndarray) -> bytes:
        return self._still.encode_bgr(image) if self.channels == "bgr" else self._still(image)


class H264Encoder(Encoder):
    """One H.264 stream (Annex-B, zerolatency: each frame's bytes are its own access unit)."""

    name = Encoding.H264

    def __init__(self, width: int, height: int, fps: float):
        self._stream: H264StreamEncoder | None = H264StreamEncoder(width, height, fps)

    def encode(self, image: np.ndarray) -> bytes:
        if self._stream is None:
            raise ValueError("encode() on a closed H264Encoder")
        return self._stream.encode(image)

    def flush(self) -> bytes:
        return self._stream.flush() if self._stream is not None else b""

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class Mp4FileEncoder(Encoder):
    """Frames into an H.264 MP4 file (signstream.render.video.Mp4Writer); `flush` finalises it,
    `close` before that removes the partial file."""

    name = "mp4"

    def __init__(self, path: str | os.PathLike[str], width: int, height: int, fps: float):
        self.path = os.fspath(path)
        self._writer = Mp4Writer(path, width, height, fps)
        self._done = False

    def encode(self, image: np.ndarray) -> bytes:
        self._writer.write(image)
        return b""

    def flush(self) -> bytes:
        self._writer.close()
        self._done = True
        return b""

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._writer.abort()


def open_encoder(encoding: str, width: int, height: int, fps: float) -> Encoder | None:
    """A stream's encoder for `encoding` (a validated name); None for NONE (no image is drawn)."""
    if encoding == Encoding.NONE:
        return None
    if encoding == Encoding.H264:
        return H264Encoder(width, height, fps)
    if encoding in STILL_ENCODINGS:
        return StillEncoder(encoding)
    raise ValueError(f"no encoder for {encoding!r}")
