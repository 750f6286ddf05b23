"""Skeleton renderer: one packed keypoint frame -> one RGB image in DWPose's `draw_pose` look.

The look is reproduced pixel for pixel from DWPose's `draw_bodypose`, `draw_handpose` and `draw_facepose`
(same cv2 calls, same integer truncations, same order: body limbs, body joints, hands, face), with two
deliberate differences:

* the canvas is RGB and stays RGB (the seed wrote these RGB canvases to a BGR video writer, which
  swapped red and blue in its videos; we don't);
* a point is drawn only when it is valid (channel 2 > 0). DWPose relied on missing points being (-1, -1)
  and on its `> eps` rule; our layout may carry coordinates of missing points, so we check the flag too.

All colours, sizes and pairs come from `signstream.kernels.skeleton`; nothing visual is defined here.

Two implementations draw the same pixels: `signstream.kernels.raster` (numba, one call without the GIL,
used for every frame it can draw) and the cv2 calls below, which are the reference the tests hold the
kernel to and the fallback for frames with points absurdly far off the canvas.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

from signstream.kernels import layout, raster
from signstream.kernels import skeleton as sk

__all__ = ["render_frame", "render_frame_cv2", "render_clip", "CHANNEL_ORDERS"]

# The renderer reads only the flagged parts, which are the first FACE.stop rows of a packed frame.
_NUM_DRAWN = layout.FACE.stop
assert layout.BODY.start == 0 and layout.BODY.stop <= _NUM_DRAWN and layout.RIGHT_HAND.stop <= _NUM_DRAWN

# Plain-int copies of the constants: the per-frame loops below index Python tuples, not numpy arrays,
# because numpy scalar indexing costs more than the cv2 call it feeds.
_LIMBS = tuple((int(a), int(b)) for a, b in sk.BODY_LIMBS)
_NUM_BODY = layout.BODY.stop - layout.BODY.start
_HAND_STARTS = (layout.LEFT_HAND.start, layout.RIGHT_HAND.start)   # DWPose draws hands[0] then hands[1]
_HAND_SIZE = layout.LEFT_HAND.stop - layout.LEFT_HAND.start
_HAND_EDGES = tuple((int(a), int(b)) for a, b in sk.HAND_EDGES)
_FACE_RANGE = range(layout.FACE.start, layout.FACE.stop)


class _Palette:
    """Every colour the renderer draws with, as (c0, c1, c2) tuples in one channel order."""

    def __init__(self, swap: bool):
        # Reversed, never rounded: some colours are floats that cv2 itself rounds (DWPose's hand edges).
        order = (lambda c: tuple(c)[::-1]) if swap else tuple
        self.limbs_dimmed = tuple(order(c) for c in sk.BODY_LIMB_COLORS_DIMMED)
        self.body = tuple(order(c) for c in sk.BODY_COLORS)
        self.hand_edges = tuple(order(c) for c in sk.HAND_EDGE_COLORS)
        self.hand_joint = order(sk.HAND_JOINT_COLOR)
        self.face_dot = order(sk.FACE_DOT_COLOR)
        # The same colours as the numba kernel takes them.
        self.kernel_args = raster.colors(self.limbs_dimmed, self.body, self.hand_edges, self.hand_joint,
                                         self.face_dot)


# "bgr" draws the same picture in OpenCV's channel order, so a frame bound for cv2's JPEG/PNG encoder
# needs no colour conversion (tested: bgr == rgb[..., ::-1] exactly).
_PALETTES = {"rgb": _Palette(swap=False), "bgr": _Palette(swap=True)}
CHANNEL_ORDERS = tuple(_PALETTES)

# Pixel coordinates are clamped to +-2**20 before truncation to int: cv2 takes int32 points, and anything
# that far off-canvas draws nothing visible anyway (for any canvas up to a million pixels wide).
_PIXEL_LIMIT = float(1 << 20)


def _canvas(out: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """The canvas to draw on (its content is replaced)."""
    if out is None:
        return np.empty((height, width, 3), dtype=np.uint8)
    if out.shape != (height, width, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous uint8 array of shape {(height, width, 3)}, "
            f"got {out.dtype} {out.shape}"
        )
    return out


def _check_size(width: int, height: int) -> tuple[int, int]:
    w, h = int(width), int(height)
    if w != width or h != height or w <= 0 or h <= 0:
        raise ValueError(f"canvas size must be positive integers, got width={width!r} height={height!r}")
    return w, h


def _checked(frame: np.ndarray, width: int, height: int, channels: str) -> tuple[np.ndarray, int, int, _Palette]:
    width, height = _check_size(width, height)
    try:
        palette = _PALETTES[channels]
    except KeyError:
        raise ValueError(f"channels must be one of {CHANNEL_ORDERS}, got {channels!r}") from None
    arr = np.asarray(frame)
    if arr.ndim != 2 or arr.shape != (layout.NUM_POINTS, 3):
        raise ValueError(f"a keypoint frame must have shape ({layout.NUM_POINTS}, 3), got {arr.shape}")
    return arr, width, height, palette


def render_frame(
    frame: np.ndarray, width: int, height: int, out: np.ndarray | None = None, channels: str = "rgb"
) -> np.ndarray:
    """Draw one packed frame (K, 3) onto a black canvas; returns (height, width, 3) uint8 RGB
    (or BGR with `channels="bgr"`).

    Only the flagged parts (body, hands, face) are drawn; MediaPipe parts are ignored. Pass `out`
    (height, width, 3) uint8 to draw into an existing buffer (its content is replaced) and avoid
    allocating. Drawn by the numba kernel without holding the GIL; pixel-identical to `render_frame_cv2`.
    """
    arr, width, height, palette = _checked(frame, width, height, channels)
    canvas = _canvas(out, width, height)
    # One compiled variant: writable, C-contiguous float32 or float64 rows (float32 -> float64 is exact,
    # and the kernel computes in float64 as the cv2 path does).
    pts = arr[:_NUM_DRAWN]
    if pts.dtype != np.float32:
        pts = pts.astype(np.float64)
    if not (pts.flags.c_contiguous and pts.flags.writeable):
        pts = pts.copy()
    if raster.draw_skeleton(pts, canvas, *palette.kernel_args):
        return canvas
    canvas.fill(0)
    return _draw_cv2(arr, canvas, width, height, palette)


def render_frame_cv2(
    frame: np.ndarray, width: int, height: int, out: np.ndarray | None = None, channels: str = "rgb"
) -> np.ndarray:
    """`render_frame` drawn with cv2 calls: the reference the numba kernel is tested against."""
    arr, width, height, palette = _checked(frame, width, height, channels)
    canvas = _canvas(out, width, height)
    canvas.fill(0)
    return _draw_cv2(arr, canvas, width, height, palette)


def _draw_cv2(arr: np.ndarray, canvas: np.ndarray, width: int, height: int, palette: _Palette) -> np.ndarray:
    # One numpy pass per frame. Coordinates go to float64 before scaling, as DWPose multiplies its
    # float64 arrays by float(W) / float(H); int truncation (toward zero) matches its int(x * W).
    pts = arr[:_NUM_DRAWN]
    xy = pts[:, :2].astype(np.float64) * (float(width), float(height))
    finite = np.isfinite(xy).all(axis=1)
    np.clip(np.where(finite[:, None], xy, 0.0), -_PIXEL_LIMIT, _PIXEL_LIMIT, out=xy)
    ixy = xy.astype(np.int64)
    valid_arr = (pts[:, 2] > 0) & finite
    # DWPose's hand/face rule compares the *pixel ints* with eps, so a point on column or row 0 is skipped.
    drawable_arr = valid_arr & (ixy[:, 0] > sk.DRAW_EPS) & (ixy[:, 1] > sk.DRAW_EPS)
    fxy = xy.tolist()
    pix = [tuple(p) for p in ixy.tolist()]
    valid = valid_arr.tolist()
    drawable = drawable_arr.tolist()

    # Body limbs. DWPose draws them in BODY_COLORS and then multiplies the whole canvas by 0.6 (truncating
    # to uint8). fillConvexPoly without anti-aliasing writes each covered pixel's colour exactly (later
    # limbs overwrite earlier ones, nothing blends) and the canvas is otherwise black, so every pixel after
    # the multiply is floor(0.6 * colour of the last limb covering it) -- which is exactly what drawing in
    # the pre-dimmed colours gives, without a full-canvas float pass. Bit-identity is tested against the
    # naive draw-then-multiply version in tests/unit/test_render.py.
    stick = sk.BODY_STICK_WIDTH
    dimmed = palette.limbs_dimmed
    for i, (a, b) in enumerate(_LIMBS):
        if not (valid[a] and valid[b]):
            continue
        x0, y0 = fxy[a]
        x1, y1 = fxy[b]
        dx = x0 - x1
        dy = y0 - y1
        # DWPose's own formula, ((X0-X1)**2 + (Y0-Y1)**2) ** 0.5, not math.hypot: same bits, same int().
        length = (dy * dy + dx * dx) ** 0.5
        angle = math.degrees(math.atan2(dy, dx))
        center = (int((x0 + x1) / 2.0), int((y0 + y1) / 2.0))
        polygon = cv2.ellipse2Poly(center, (int(length / 2), stick), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, polygon, dimmed[i])

    # Body joints: full colours, no eps rule (DWPose draws any point in the subset).
    radius = sk.BODY_JOINT_RADIUS
    colors = palette.body
    for i in range(_NUM_BODY):
        if valid[i]:
            cv2.circle(canvas, pix[i], radius, colors[i], thickness=-1)

    # Hands: edges first, then joints, hand by hand.
    edge_colors = palette.hand_edges
    edge_thickness = sk.HAND_EDGE_THICKNESS
    joint_color = palette.hand_joint
    joint_radius = sk.HAND_JOINT_RADIUS
    for start in _HAND_STARTS:
        for ie, (a, b) in enumerate(_HAND_EDGES):
            pa, pb = start + a, start + b
            if drawable[pa] and drawable[pb]:
                cv2.line(canvas, pix[pa], pix[pb], edge_colors[ie], thickness=edge_thickness)
        for p in range(start, start + _HAND_SIZE):
            if drawable[p]:
                cv2.circle(canvas, pix[p], joint_radius, joint_color, thickness=-1)

    # Face: white dots.
    face_color = palette.face_dot
    face_radius = sk.FACE_DOT_RADIUS
    for p in _FACE_RANGE:
        if drawable[p]:
            cv2.circle(canvas, pix[p], face_radius, face_color, thickness=-1)
    return canvas


def render_clip(frames: np.ndarray, width: int, height: int) -> Iterator[np.ndarray]:
    """Render a clip (T, K, 3) frame by frame; yields a new (height, width, 3) uint8 RGB array per frame.

    The clip and size are validated when this is called (shape, at least one frame, finite values), not
    at the first `next()`, so a bad clip fails before any output is produced.
    """
    width, height = _check_size(width, height)
    clip = layout.check_frames(frames)
    return _render_frames(clip, width, height)


def _render_frames(clip: np.ndarray, width: int, height: int) -> Iterator[np.ndarray]:
    for frame in clip:
        yield render_frame(frame, width, height)
