"""Still-image encoders for rendered frames: RGB uint8 (H, W, 3) in, bytes out.

Every function takes RGB; the swap to cv2's BGR happens here and nowhere else. A caller that already
holds BGR (the renderer can draw in BGR) uses `Encoder.encode_bgr` and skips the swap.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from signstream.errors import InvalidArgument

__all__ = [
    "Encoder",
    "ENCODERS",
    "check_rgb",
    "decode_image",
    "encode_jpeg",
    "encode_png",
    "encode_raw",
    "get_encoder",
    "worst_frame_bytes",
]


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """Return `rgb` if it is a (H, W, 3) uint8 image with H, W >= 1, else raise ValueError."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        shape = getattr(rgb, "shape", None)
        dtype = getattr(rgb, "dtype", type(rgb).__name__)
        raise ValueError(f"expected an RGB image of shape (H, W, 3) and dtype uint8, got {dtype} {shape}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"image must not be empty, got shape {rgb.shape}")
    return rgb


def _imencode(ext: str, image: np.ndarray, params: list[int], bgr: bool) -> bytes:
    image = check_rgb(image) if bgr else cv2.cvtColor(check_rgb(image), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise ValueError(f"cv2 could not encode a {image.shape} image as {ext}")
    return buf.tobytes()


def encode_jpeg(rgb: np.ndarray, quality: int = 90, bgr: bool = False) -> bytes:
    """(H, W, 3) uint8 RGB (BGR with `bgr`) -> baseline JPEG bytes; quality 0-100."""
    if not 0 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 0..100, got {quality}")
    return _imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, int(quality)], bgr)


def encode_png(rgb: np.ndarray, compression: int = 1, bgr: bool = False) -> bytes:
    """(H, W, 3) uint8 RGB -> PNG bytes (lossless); compression 0 (none) - 9 (smallest, slowest).

    The default 1 is a streaming choice: rendered skeletons are mostly black and compress well even at
    the fastest level.
    """
    if not 0 <= int(compression) <= 9:
        raise ValueError(f"PNG compression must be in 0..9, got {compression}")
    return _imencode(".png", rgb, [cv2.IMWRITE_PNG_COMPRESSION, int(compression)], bgr)


def encode_raw(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB -> its H*W*3 bytes in C order (row-major, R G B per pixel); no header."""
    return np.ascontiguousarray(check_rgb(rgb)).tobytes()


def decode_image(data: bytes) -> np.ndarray:
    """Encoded image bytes (JPEG, PNG, ... anything cv2 reads) -> (H, W, 3) uint8 RGB. For tests and clients.

    Grey or alpha images come back as three-channel RGB. Raises ValueError if the bytes don't decode.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if bgr is None:
        raise ValueError(f"could not decode {len(data)} bytes as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class Encoder:
    """A named frame encoder: call it with an RGB frame to get bytes. `media_type` is for clients/HTTP."""

    name: str
    media_type: str
    encode: Callable[..., bytes]
    takes_bgr: bool = False          # encode(image, bgr=True) accepts BGR and skips the swap

    def __call__(self, rgb: np.ndarray) -> bytes:
        return self.encode(rgb)

    def encode_bgr(self, bgr: np.ndarray) -> bytes:
        if not self.takes_bgr:
            raise ValueError(f"the {self.name} encoder takes RGB only")
        return self.encode(bgr, bgr=True)


ENCODERS: dict[str, Encoder] = {
    "jpeg": Encoder("jpeg", "image/jpeg", encode_jpeg, takes_bgr=True),
    "png": Encoder("png", "image/png", encode_png, takes_bgr=True),
    "raw_rgb": Encoder("raw_rgb", "application/octet-stream", encode_raw),
}


KEYPOINTS_BYTES = 8 * 1024          # a Frame's Keypoints field (7.6 KiB of floats) with its headers
FRAME_OVERHEAD_BYTES = 1024         # a Frame's other fields and a compressed format's headers


def worst_frame_bytes(encoding: str, width: int, height: int, keypoints: bool) -> int:
    """An upper bound on one Frame message of a width x height stream, known before anything is drawn:
    RAW_RGB is exactly W*H*3; PNG, JPEG and H.264 of a skeleton are far smaller, and none of them
    exceeds the raw size by more than its headers (PNG: a filter byte per row and zlib's 0.03 %)."""
    image = 0 if encoding == "none" else width * height * 3 + height + (width * height * 3) // 1000
    return image + FRAME_OVERHEAD_BYTES + (KEYPOINTS_BYTES if keypoints else 0)


def get_encoder(name: str, **options: int) -> Encoder:
    """The encoder called `name` ("jpeg", "png", "raw_rgb"), with keyword options bound if given
    (e.g. `get_encoder("jpeg", quality=80)`). Raises InvalidArgument (field "encoding") for other names.
    """
    try:
        encoder = ENCODERS[name]
    except KeyError:
        raise InvalidArgument(
            f"unknown frame encoding {name!r}; use one of {', '.join(sorted(ENCODERS))}", field="encoding"
        ) from None
    if not options:
        return encoder
    bound = functools.partial(encoder.encode, **options)
    # Fail now, not on the first frame, if an option name or value is wrong.
    bound(np.zeros((2, 2, 3), dtype=np.uint8))
    return Encoder(encoder.name, encoder.media_type, bound, encoder.takes_bgr)
