"""The style character: its proportions (DESIGN §4.1) and canvas, from a style image or defaults."""
from __future__ import annotations

import io
import logging
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from signstream.errors import NoPersonError, StyleImageError
from signstream.kernels import layout as L
from signstream.kernels.mappings import has_person

log = logging.getLogger(__name__)

DEFAULT_CANVAS = (1024, 1024)          # width, height when there is no style image
MAX_STYLE_PIXELS = 40_000_000          # larger images are refused before decoding (memory bombs)
MAX_STYLE_SIDE = 8192


@dataclass(frozen=True)
class StyleParams:
    """Proportions of the style character in image-normalized units (order = kernels' STYLE_FIELDS)."""

    shoulder: float = 0.323
    d_y: float = 0.208
    x: float = 0.502
    y: float = 0.559
    ear_x: float = 0.159
    face_length: float = 0.0821

    def as_array(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)


DEFAULT_STYLE = StyleParams()


@dataclass(frozen=True)
class Style:
    params: StyleParams
    width: int
    height: int
    defaulted: tuple[str, ...] = ()    # parameters the style image could not give


def default_style(width: int = DEFAULT_CANVAS[0], height: int = DEFAULT_CANVAS[1]) -> Style:
    """The default proportions, on the default canvas or on a given one."""
    return Style(DEFAULT_STYLE, width, height, tuple(f.name for f in fields(StyleParams)))


def params_from_frame(frame: np.ndarray) -> tuple[StyleParams, tuple[str, ...]]:
    """Style proportions from a packed frame (K, 3); each one the frame cannot give is the default."""
    body, face = frame[L.BODY], frame[L.FACE]
    ok = body[:, 2] > 0
    fok = face[:, 2] > 0
    c = body[:, :2].astype(np.float64)
    f = face[:, :2].astype(np.float64)
    values: dict[str, float] = {}
    if ok[L.R_SHOULDER] and ok[L.L_SHOULDER]:
        values["shoulder"] = float(np.hypot(*(c[L.R_SHOULDER] - c[L.L_SHOULDER])))
    if ok[L.NECK] and ok[L.R_EAR] and ok[L.L_EAR]:
        values["d_y"] = float(abs(c[L.NECK, 1] - (c[L.R_EAR, 1] + c[L.L_EAR, 1]) / 2))
    if ok[L.NECK]:
        values["x"], values["y"] = float(c[L.NECK, 0]), float(c[L.NECK, 1])
    if ok[L.R_EAR] and ok[L.L_EAR]:
        values["ear_x"] = float(abs(c[L.R_EAR, 0] - c[L.L_EAR, 0]))
    if fok[0] and fok[16] and fok[4] and fok[12]:
        values["face_length"] = float(abs((f[0, 1] + f[16, 1]) / 2 - (f[4, 1] + f[12, 1]) / 2))
    values = {k: v for k, v in values.items() if np.isfinite(v) and (k in ("x", "y") or v > 1e-4)}
    defaulted = tuple(fl.name for fl in fields(StyleParams) if fl.name not in values)
    return replace(DEFAULT_STYLE, **values), defaulted


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"            # the IEND chunk's type and CRC close every PNG


def _truncated(data: bytes) -> bool:
    """A JPEG without its end-of-image marker or a PNG without its IEND chunk. cv2 decodes such a
    file anyway, greying out what is missing, which would give a wrong style or a wrong frame."""
    if data.startswith(b"\xff\xd8"):          # the last scan must be followed by end-of-image
        return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")
    if data.startswith(_PNG_SIGNATURE):
        return _PNG_END not in data
    return False


def decode_style_image(data: bytes, name: str = "style image") -> np.ndarray:
    """Encoded JPEG/PNG bytes -> RGB uint8 (H, W, 3); refuses oversized images before decoding."""
    if not data:
        raise StyleImageError(f"{name} is empty: give a JPEG or PNG photo of a person", field="style_image")
    try:
        # Pillow reads the header only, so a declared 30000x30000 image costs nothing here.
        with Image.open(io.BytesIO(data)) as header:
            w, h = header.size
    except Image.DecompressionBombError as exc:          # Pillow's own limit, far above ours
        raise StyleImageError(f"{name} declares too many pixels ({exc}); the limit is {MAX_STYLE_SIDE} px a side "
                              f"and {MAX_STYLE_PIXELS:,} pixels: resize it", field="style_image") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad headers
        raise StyleImageError(f"{name} is not a readable image ({exc}): give a JPEG or PNG", field="style_image") from exc
    if _truncated(data):
        raise StyleImageError(f"{name} is truncated (its end-of-image marker is missing): send the whole file",
                              field="style_image")
    if w * h > MAX_STYLE_PIXELS or max(w, h) > MAX_STYLE_SIDE:
        raise StyleImageError(
            f"{name} is {w}x{h}; the limit is {MAX_STYLE_SIDE} px a side and {MAX_STYLE_PIXELS:,} pixels: resize it",
            field="style_image",
        )
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise StyleImageError(f"{name} could not be decoded (truncated or corrupt?): give a JPEG or PNG", field="style_image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_style_image(path: str | Path) -> np.ndarray:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StyleImageError(f"cannot read style image {p}: {exc.strerror}", field="style_image_path") from exc
    return decode_style_image(data, name=f"style image {p}")


def style_from_image(rgb: np.ndarray, frame: np.ndarray, allow_default: bool = False) -> Style:
    """Style from a decoded style image and its extracted packed frame.

    No person in the image is an error unless `allow_default`, which then uses the default
    proportions on the image's canvas size."""
    h, w = rgb.shape[:2]
    if not has_person(frame):
        if not allow_default:
            raise NoPersonError(
                "no person found in the style image (need a visible neck and both shoulders): "
                "use a photo of one person facing the camera, or pass --allow-default-style",
                field="style_image",
            )
        log.warning("no person in the style image: using the default proportions on its %dx%d canvas", w, h)
        return default_style(w, h)
    params, defaulted = params_from_frame(frame)
    if defaulted:
        log.warning("style image lacks %s: using the defaults for them", ", ".join(defaulted))
    return Style(params, w, h, defaulted)
