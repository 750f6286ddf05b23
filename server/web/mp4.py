"""The viewer's download: the frames a page showed, sent back once the stream has ended, as one MP4.

H.264 frames (the page's Annex-B access units, concatenated) are remuxed as they are, without
re-encoding (render/h264_mux.py), so the file is exactly what was decoded on the page. Still frames
(the JPEG fallback; each one length-prefixed, 4 bytes big-endian) are decoded, each checked as a
client image is, and encoded once with the batch output's MP4 writer.
"""
from __future__ import annotations

import os
import tempfile

import av

from signstream.errors import InvalidArgument, SignStreamError
from signstream.names import Encoding
from signstream.render.h264_mux import mux_h264_to_mp4
from signstream.render.video import Mp4Writer
from signstream.style import decode_style_image

__all__ = ["MP4_ENCODINGS", "stream_to_mp4"]

MP4_ENCODINGS = (Encoding.H264, Encoding.JPEG, Encoding.PNG)
FIELD = "body"


def _stills(data: bytes) -> list[bytes]:
    """Length-prefixed images -> the images."""
    images, at = [], 0
    while at < len(data):
        if at + 4 > len(data):
            raise InvalidArgument(f"the body ends inside the length of frame {len(images)}", field=FIELD)
        size = int.from_bytes(data[at:at + 4], "big")
        if size == 0 or at + 4 + size > len(data):
            raise InvalidArgument(f"frame {len(images)} says it has {size:,} bytes, but the body has "
                                  f"{len(data) - at - 4:,} left: send each frame as a 4-byte big-endian length and "
                                  "its bytes", field=FIELD)
        images.append(data[at + 4:at + 4 + size])
        at += 4 + size
    return images


def _write_stills(images: list[bytes], path: str, fps: float) -> int:
    writer = None
    try:
        for i, image in enumerate(images):
            rgb = decode_style_image(image, name=f"frame {i}", field=FIELD)
            if writer is None:
                writer = Mp4Writer(path, rgb.shape[1], rgb.shape[0], fps=fps)
            writer.write(rgb)
    except (ValueError, SignStreamError):
        if writer is not None:
            writer.abort()
        raise
    writer.close()
    return len(images)


def stream_to_mp4(data: bytes, encoding: str, fps: float) -> tuple[bytes, int]:
    """(the MP4 file's bytes, its frame count) from the frames of one stream; InvalidArgument naming
    what is wrong with them. Blocking: run it in a thread."""
    if encoding not in MP4_ENCODINGS:
        raise InvalidArgument(f"encoding {encoding!r} cannot be made into an MP4 here; use one of "
                              f"{', '.join(MP4_ENCODINGS)}", field="encoding")
    if not data:
        raise InvalidArgument("the body holds no frames", field=FIELD)
    handle, path = tempfile.mkstemp(suffix=".mp4", prefix="signstream-viewer-")
    os.close(handle)
    try:
        if encoding == Encoding.H264:
            frames = mux_h264_to_mp4(data, path, fps)
        else:
            frames = _write_stills(_stills(data), path, fps)
        with open(path, "rb") as f:
            return f.read(), frames
    except (ValueError, av.FFmpegError) as exc:
        raise InvalidArgument(f"the frames could not be made into an MP4: {exc}", field=FIELD) from None
    finally:
        if os.path.exists(path):
            os.remove(path)
