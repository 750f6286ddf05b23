"""The style character: its proportions (bone lengths the normalizer scales to) and canvas, from a style image or defaults."""
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
from signstream.kernels.retarget import BODY_PARENT, HAND_PARENT

log = logging.getLogger(__name__)

DEFAULT_CANVAS = (1024, 1024)          # width, height when there is no style image
MAX_STYLE_PIXELS = 40_000_000          # larger images are refused before decoding (memory bombs)
MAX_STYLE_SIDE = 8192
MAX_CANVAS_SIDE = 4096                 # output frames are at most this wide and high (README "Limits")


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


BODY_NAMES = ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
              "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear")
BODY_PAIRS = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17))   # right, left


@dataclass(frozen=True)
class StyleSkeleton:
    """The style character's bone lengths for `retarget`, in units of the style image's height (x is
    measured as x·W/H, so a length is the same in pixels whichever way the bone points).

    body: (18,) the bone into each OpenPose-18 point from its parent (kernels.retarget.BODY_PARENT; the
    neck is the root: 0); hand: (21,) the bone into each hand point from its parent (HAND_PARENT; the
    wrist: 0), for both hands; face_width |f0.x − f16.x| and face_length
    |mean(f0.y, f16.y) − mean(f4.y, f12.y)| of the iBUG-68 face; defaulted: the lengths the style image could not give."""

    body: tuple[float, ...]
    hand: tuple[float, ...]
    face_width: float
    face_length: float
    defaulted: tuple[str, ...] = ()


def _default_skeleton() -> StyleSkeleton:
    """Default proportions on the default (square) canvas, derived from DEFAULT_STYLE.

    Arms, trunk and legs: Drillis & Contini's segment lengths as fractions of stature H (upper arm .186,
    forearm .146, hand .108, shoulder breadth .259, hip breadth .191; heights of shoulder .818, hip .530,
    knee .285, ankle .039), with H such that the shoulder breadth is DEFAULT_STYLE.shoulder. Head: the
    ears ear_x apart at d_y above the neck; the nose tip and the eye centres where the iBUG-68 mean face
    (OpenFace's template) puts them once sized to face_length: nose .478 face lengths below the ears'
    line, eyes .426 face lengths either side of the midline, jaw top (f0 to f16) 1.916 face lengths wide.
    Fingers: fractions of the hand length with phalanges in the usual ≈ 1 : 0.6 : 0.4 ratio (the demo
    signer's hand model, signstream.lexicon.demo)."""
    d = DEFAULT_STYLE
    stature = d.shoulder / 0.259
    trunk = stature * float(np.hypot(0.191 / 2, 0.818 - 0.530))
    nose_drop, eye_half = 0.478 * d.face_length, 0.426 * d.face_length
    nose_eye, eye_ear = float(np.hypot(eye_half, nose_drop)), d.ear_x / 2 - eye_half
    upper_arm, forearm = 0.186 * stature, 0.146 * stature
    thigh, shank = (0.530 - 0.285) * stature, (0.285 - 0.039) * stature
    body = (d.d_y - nose_drop, 0.0, d.shoulder / 2, upper_arm, forearm, d.shoulder / 2, upper_arm, forearm,
            trunk, thigh, shank, trunk, thigh, shank, nose_eye, nose_eye, eye_ear, eye_ear)
    fingers = (0, .229, .222, .177, .144, .501, .244, .155, .122, .468, .266, .155, .111,
               .457, .244, .155, .111, .458, .188, .122, .100)
    hand = tuple(0.108 * stature * f for f in fingers)
    return StyleSkeleton(body, hand, 1.916 * d.face_length, d.face_length, _skeleton_names())


def _skeleton_names() -> tuple[str, ...]:
    """Names of every length of a StyleSkeleton, as `defaulted` lists them."""
    body = tuple(BODY_NAMES[j] for j, p in enumerate(BODY_PARENT) if p >= 0)
    return body + tuple(f"hand_{i}" for i in range(1, 21)) + ("face_width", "face_length")


DEFAULT_SKELETON = _default_skeleton()


@dataclass(frozen=True)
class Style:
    params: StyleParams
    width: int
    height: int
    defaulted: tuple[str, ...] = ()    # parameters the style image could not give
    skeleton: StyleSkeleton = DEFAULT_SKELETON


def default_style(width: int = DEFAULT_CANVAS[0], height: int = DEFAULT_CANVAS[1]) -> Style:
    """The default proportions, on the default canvas or on a given one."""
    return Style(DEFAULT_STYLE, width, height, tuple(f.name for f in fields(StyleParams)))


def as_style(style: "Style | StyleParams") -> Style:
    """A Style as it is; bare `signmail` proportions (the API before `retarget`) on the default canvas
    with the default skeleton."""
    if isinstance(style, Style):
        return style
    return Style(style, *DEFAULT_CANVAS)


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


def _measure(xy: np.ndarray, ok: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """Length of the bone into each point (n,) from (n, 2) points in height units; NaN where the
    point, its parent or a usable length is missing (the root: NaN)."""
    out = np.full(len(parents), np.nan)
    for j, p in enumerate(parents):
        if p >= 0 and ok[j] and ok[p]:
            length = float(np.hypot(*(xy[j] - xy[p])))
            if np.isfinite(length) and length > 1e-4:
                out[j] = length
    return out


def _fill(measured: np.ndarray, default: tuple[float, ...], scale: float | None = None) -> tuple[np.ndarray, float]:
    """Missing (NaN) lengths <- default × scale, where scale (unless given) is how the measured lengths
    compare with the defaults of the same bones (1 with none measured). Returns (lengths, scale)."""
    base = np.asarray(default, dtype=np.float64)
    got = np.isfinite(measured) & (base > 0)
    if scale is None:
        scale = float(measured[got].sum() / base[got].sum()) if got.any() else 1.0
    return np.where(np.isfinite(measured), measured, base * scale), scale


def skeleton_from_frame(frame: np.ndarray, width: int, height: int) -> StyleSkeleton:
    """The style character's skeleton from its packed frame (K, 3) on a width×height image.

    Left and right take the longer of the two sides (a photo can shorten a bone by pointing it at the
    camera, never lengthen it), one hand gives both, and a length the frame cannot give at all is the
    default proportion scaled by how the measured bones compare with their defaults, so a missing
    hip or hand keeps the character's size."""
    xy = frame[:, :2].astype(np.float64) * [width / height, 1.0]
    ok = frame[:, 2] > 0
    body = _measure(xy[L.BODY], ok[L.BODY], BODY_PARENT)
    for r, left in BODY_PAIRS:
        body[r] = body[left] = np.fmax(body[r], body[left])
    hands = [_measure(xy[part], ok[part], HAND_PARENT) for part in (L.LEFT_HAND, L.RIGHT_HAND)]
    hand = np.fmax(*hands)
    f0, f16 = (xy[k] for k in L.FACE_TOP)
    f4, f12 = (xy[k] for k in L.FACE_BOTTOM)
    face = np.full(2, np.nan)
    if ok[L.FACE_TOP[0]] and ok[L.FACE_TOP[1]]:
        face[0] = abs(f0[0] - f16[0])
        if ok[L.FACE_BOTTOM[0]] and ok[L.FACE_BOTTOM[1]]:
            face[1] = abs((f0[1] + f16[1]) / 2 - (f4[1] + f12[1]) / 2)
    face[~(face > 1e-4)] = np.nan
    d = DEFAULT_SKELETON
    body_out, scale = _fill(body, d.body)
    hand_out, _ = _fill(hand, d.hand, None if np.isfinite(hand).any() else scale)
    face_out, _ = _fill(face, (d.face_width, d.face_length), scale)
    measured = np.concatenate([body[[j for j, p in enumerate(BODY_PARENT) if p >= 0]], hand[1:], face])
    defaulted = tuple(n for n, v in zip(_skeleton_names(), measured) if not np.isfinite(v))
    return StyleSkeleton(tuple(map(float, body_out)), tuple(map(float, hand_out)), float(face_out[0]),
                         float(face_out[1]), defaulted)


# The formats an image may come in (a style image, a Retarget frame, an ExtractKeypoints image), as
# Pillow names them from the header -> as messages name them; every message lists these. MPO is the
# JPEG that cameras write with a second picture (a preview or a depth map) after the first; it is
# decoded as the JPEG it starts with.
IMAGE_FORMATS: dict[str, str] = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "BMP": "BMP",
                                 "TIFF": "TIFF"}
_ONE_PICTURE_FORMATS = frozenset({"MPO"})   # their further pictures are not frames: only the first is read


def _either(names: list[str]) -> str:
    """["a", "b", "c"] -> "a, b or c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


ACCEPTED_FORMATS = _either(list(dict.fromkeys(IMAGE_FORMATS.values())))   # "JPEG, PNG, WebP, BMP or TIFF"
_SIZE_LIMIT = f"the limit is {MAX_STYLE_SIDE} px a side and {MAX_STYLE_PIXELS:,} pixels: resize it"

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


def _read_header(data: bytes, name: str, field: str) -> tuple[str, int, tuple[int, int]]:
    """(Pillow's format name, frame count, (width, height)) from the header alone, so a declared
    30000x30000 image costs nothing. StyleImageError for an empty or unreadable header, or one that
    declares more pixels than Pillow opens at all (a decompression bomb). The message never quotes
    Pillow: its text names a Python object and its own limit; the log keeps it."""
    if not data:
        raise StyleImageError(f"{name} is empty: send a photo of a person as {ACCEPTED_FORMATS}", field=field)
    try:
        with Image.open(io.BytesIO(data)) as header:
            frames = 1 if header.format in _ONE_PICTURE_FORMATS else getattr(header, "n_frames", 1)
            return header.format or "unknown", frames, header.size
    except Image.DecompressionBombError as exc:
        log.info("%s: %s", name, exc)
        raise StyleImageError(f"{name} declares far too many pixels; {_SIZE_LIMIT}", field=field) from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad headers
        log.debug("%s: Pillow cannot read the header: %s", name, exc)
        raise StyleImageError(f"{name} is not a readable image: send a {ACCEPTED_FORMATS} file",
                              field=field) from exc


def _check_still_and_accepted(fmt: str, frames: int, name: str, field: str) -> None:
    """StyleImageError unless the image is one still picture in one of IMAGE_FORMATS."""
    if frames > 1:
        raise StyleImageError(f"{name} has {frames} frames ({IMAGE_FORMATS.get(fmt, fmt)}); only still images "
                              f"are accepted: send one frame as {ACCEPTED_FORMATS}", field=field)
    if fmt not in IMAGE_FORMATS:
        raise StyleImageError(f"{name} is a {fmt} image, which is not accepted: send it as {ACCEPTED_FORMATS}",
                              field=field)


def _checked_header(data: bytes, name: str, field: str) -> tuple[str, int, int]:
    """(format, width, height) of an image that passes every check made before decoding."""
    fmt, frames, (w, h) = _read_header(data, name, field)
    _check_still_and_accepted(fmt, frames, name, field)
    if _truncated(data):
        raise StyleImageError(f"{name} is truncated (its end-of-image marker is missing): send the whole file",
                              field=field)
    if w * h > MAX_STYLE_PIXELS or max(w, h) > MAX_STYLE_SIDE:
        raise StyleImageError(f"{name} is {w}x{h}; {_SIZE_LIMIT}", field=field)
    return fmt, w, h


def _decode(data: bytes, fmt: str, name: str, field: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if bgr is None:
        raise StyleImageError(f"{name} could not be decoded: its {IMAGE_FORMATS[fmt]} data is truncated or "
                              "corrupt; send the whole file", field=field)
    return bgr


def decode_style_image(data: bytes, name: str = "style image", field: str = "style_image") -> np.ndarray:
    """Encoded image bytes -> RGB uint8 (H, W, 3). `name` says what the image is in messages, `field`
    is the request field they name. Refuses, before decoding, an image that is not one still picture
    in one of IMAGE_FORMATS, is truncated, or is over MAX_STYLE_SIDE / MAX_STYLE_PIXELS."""
    fmt, _, _ = _checked_header(data, name, field)
    return cv2.cvtColor(_decode(data, fmt, name, field), cv2.COLOR_BGR2RGB)


# JPEG decodes at 1/2, 1/4 or 1/8 of its size for a fraction of the work (libjpeg's DCT scaling).
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def decode_for_models(data: bytes, max_side: int, name: str = "style image",
                      field: str = "style_image") -> tuple[np.ndarray, tuple[int, int]]:
    """Encoded image bytes -> (RGB uint8 with no side over `max_side`, aspect kept; the image's own
    (width, height)). Keypoints are fractions of the image, so the models see what they need and the
    work and memory stay bounded whatever size the client sends: a large JPEG is decoded at the largest
    reduced scale that still covers `max_side`, then scaled down (area average). The same checks and
    errors as decode_style_image."""
    fmt, w, h = _checked_header(data, name, field)
    side = max(w, h)
    if side <= max_side:
        return cv2.cvtColor(_decode(data, fmt, name, field), cv2.COLOR_BGR2RGB), (w, h)
    flags = cv2.IMREAD_COLOR
    if IMAGE_FORMATS[fmt] == "JPEG":
        flags = next((flag for factor, flag in _REDUCED if side // factor >= max_side), cv2.IMREAD_COLOR)
    bgr = _decode(data, fmt, name, field, flags)
    scale = max_side / max(bgr.shape[:2])
    if scale < 1.0:
        size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (w, h)


def fit_canvas(style: Style, width: int = 0, height: int = 0) -> Style:
    """The style on the canvas frames are drawn on: `width`/`height` where given (callers refuse
    values over MAX_CANVAS_SIDE), else the style image's own size, scaled down (aspect kept) so that
    no side taken from it is over MAX_CANVAS_SIDE. Keypoints are fractions of the canvas, so scaling
    it changes how many pixels are drawn, not the pose."""
    taken = [side for side, given in ((style.width, width), (style.height, height)) if not given]
    scale = min([1.0] + [MAX_CANVAS_SIDE / side for side in taken])
    fitted = (width or max(1, round(style.width * scale)), height or max(1, round(style.height * scale)))
    if scale < 1.0:
        log.info("style image is %dx%d: frames are drawn at %dx%d (at most %d px a side)",
                 style.width, style.height, *fitted, MAX_CANVAS_SIDE)
    return replace(style, width=fitted[0], height=fitted[1])


def read_style_bytes(path: str | Path) -> bytes:
    """The style photo's file as it is, or StyleImageError naming it."""
    p = Path(path)
    try:
        return p.read_bytes()
    except OSError as exc:
        raise StyleImageError(f"cannot read style image {p}: {exc.strerror}", field="style_image_path") from exc


def read_style_image(path: str | Path) -> np.ndarray:
    return decode_style_image(read_style_bytes(path), name=f"style image {Path(path)}")


def style_from_image(rgb: np.ndarray, frame: np.ndarray, allow_default: bool = False) -> Style:
    """Style from a decoded style image and its extracted packed frame (see style_from_frame)."""
    return style_from_frame(frame, rgb.shape[1], rgb.shape[0], allow_default)


def style_from_frame(frame: np.ndarray, w: int, h: int, allow_default: bool = False) -> Style:
    """Style from a style image's packed frame and the image's own size (the canvas; the models may
    have seen it scaled down: keypoints are fractions of the image either way).

    No person in the image is an error unless `allow_default`, which then uses the default
    proportions on the image's canvas size."""
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
    skeleton = skeleton_from_frame(frame, w, h)
    if skeleton.defaulted:
        log.info("style image does not show the bones %s: `retarget` uses default proportions for them",
                 ", ".join(skeleton.defaulted))
    return Style(params, w, h, defaulted, skeleton)
