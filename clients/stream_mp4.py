"""A stream's frames as one MP4 file (`signstream stream --mp4 F`): still frames (JPEG, PNG, RAW_RGB)
are decoded and encoded again; H.264 frames are already an H.264 stream and are muxed as they are.

    mp4 = StreamMp4("out.mp4")
    for frame in frames:                 # pb.Frame, all of one encoding (not NONE: no pictures)
        mp4.add(frame)
    written = mp4.close()                # False when no frame came: then no file either

The file is written only by `close()` (H.264) or is removed again by `abort()` (stills), so a stream
that fails midway leaves no half-written file.
"""
from __future__ import annotations

import os

import numpy as np

from signstream.names import Encoding
from signstream.render import Mp4Writer
from signstream.render.encode import decode_image
from signstream.render.h264_mux import mux_h264_to_mp4
from signstream.v1 import signstream_pb2 as pb

DEFAULT_FPS = 25.0          # a frame that carries no rate (fps 0)
PICTURE_ENCODINGS = tuple(e.name for e in Encoding if e is not Encoding.NONE)     # NONE: keypoints only


def decode(frame: pb.Frame) -> np.ndarray:
    """A still frame's picture as (height, width, 3) RGB."""
    if frame.encoding == pb.RAW_RGB:
        return np.frombuffer(frame.image, np.uint8).reshape(frame.height, frame.width, 3)
    return decode_image(frame.image)


class StreamMp4:
    """Collects the frames of one stream into the MP4 file at `path`."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self.frames = 0
        self._fps = DEFAULT_FPS
        self._writer: Mp4Writer | None = None        # stills
        self._h264 = bytearray()                     # H.264: the stream so far

    def add(self, frame: pb.Frame) -> None:
        if pb.Encoding.Name(frame.encoding) not in PICTURE_ENCODINGS:
            raise ValueError(f"a frame of encoding {pb.Encoding.Name(frame.encoding)} has no picture for "
                             f"{self.path}; ask for one of {', '.join(PICTURE_ENCODINGS)}")
        if self.frames == 0:
            self._fps = frame.fps or DEFAULT_FPS
        if frame.encoding == pb.H264:
            self._h264 += frame.image
        else:
            if self._writer is None:
                self._writer = Mp4Writer(self.path, frame.width, frame.height, fps=self._fps)
            self._writer.write(decode(frame))
        self.frames += 1

    def close(self) -> bool:
        """Finish the file; True when it was written, False when no frame came (and no file exists)."""
        if self.frames == 0:
            return False
        if self._writer is not None:
            self._writer.close()
        else:
            mux_h264_to_mp4(bytes(self._h264), self.path, self._fps)
        return True

    def abort(self) -> None:
        """Give up: remove whatever was written."""
        if self._writer is not None:
            self._writer.abort()
        self._h264.clear()
