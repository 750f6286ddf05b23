"""Skeleton rasterizer in numba: the whole DWPose look (colours, widths, confidence gates of `render.skeleton`) drawn in one call without the GIL.

`signstream.render.skeleton` draws a frame with about 200 cv2 calls. Each one releases and re-takes the
GIL, so under load the render threads queue for it behind the event loop and each other, and the render
was the largest share of the gateway's CPU (see README, Benchmarks). This module draws the same picture
in one `nogil` call.

The pixels are cv2's, not an approximation: each primitive (`raster_shapes`) follows the integer
arithmetic of OpenCV's drawing code as the renderer calls it (8-connected lines, `fillConvexPoly` with its outline and scanline
spans, `ellipse2Poly` with its 1-degree sine table, the midpoint filled circle, `line` with thickness 2
as a 16-bit fixed-point polygon plus round caps). The cv2 renderer stays the reference: tests compare
the two pixel for pixel on random and lexicon frames.

Off-canvas parts are clipped as cv2 clips them (its line clipping moves end points, which this follows).
Frames with points absurdly far off the canvas (beyond FAR_OUTSIDE canvas sizes, where cv2's own 64-bit
fixed-point products would overflow) are left to cv2: `draw_skeleton` returns False without touching
the canvas. Every pixel write is bounds-checked.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import layout
from . import skeleton as sk
from .raster_shapes import MAX_ELLIPSE_POINTS, circle, ellipse, thick_line
# A drawn point further off the canvas than this many canvas sizes sends the frame to cv2.
FAR_OUTSIDE = 4.0
_PIXEL_LIMIT = float(1 << 20)
_NUM_DRAWN = layout.FACE.stop
_NUM_BODY = layout.BODY.stop - layout.BODY.start
_HAND_SIZE = layout.LEFT_HAND.stop - layout.LEFT_HAND.start
_FACE_START = layout.FACE.start
_STICK = sk.BODY_STICK_WIDTH
_BODY_RADIUS = sk.BODY_JOINT_RADIUS
_HAND_RADIUS = sk.HAND_JOINT_RADIUS
_FACE_RADIUS = sk.FACE_DOT_RADIUS
_EDGE_THICKNESS = sk.HAND_EDGE_THICKNESS
_DRAW_EPS = sk.DRAW_EPS
# What is drawn, in DWPose's order: limbs (point pairs), hands (first point of each; edges within a hand).
_LIMBS = np.asarray(sk.BODY_LIMBS, dtype=np.int64)
_HAND_STARTS = np.array([layout.LEFT_HAND.start, layout.RIGHT_HAND.start], dtype=np.int64)
_HAND_EDGES = np.array(sk.HAND_EDGES, dtype=np.int64)


def cv_color(color) -> tuple[int, int, int]:
    """A colour as cv2 stores it in a uint8 image: each value rounded half to even, then saturated."""
    return tuple(int(min(255.0, max(0.0, float(np.rint(c))))) for c in color)


def colors(limbs, body, hand_edges, hand_joint, face) -> tuple[np.ndarray, ...]:
    """`draw_skeleton`'s colour arguments from colour tuples in the canvas's channel order, each stored
    as cv2 stores it."""
    def table(rows):
        return np.array([cv_color(c) for c in rows], dtype=np.uint8)
    return table(limbs), table(body), table(hand_edges), table([hand_joint])[0], table([face])[0]

@njit(cache=True, nogil=True)
def draw_skeleton(frame, canvas, limb_colors, body_colors, hand_edge_colors, hand_joint_color, face_color):
    """Clear `canvas` (H, W, 3) uint8 and draw the flagged parts of `frame` (at least FACE.stop rows, 3)
    as `render_frame` does; colours (from `colors`) are uint8 rows in the canvas's channel order. Returns False, with
    the canvas untouched, when a drawn point lies beyond FAR_OUTSIDE canvas sizes (the caller draws it)."""
    height, width = canvas.shape[0], canvas.shape[1]
    n_points = _NUM_DRAWN
    fx = np.empty(n_points, dtype=np.float64)
    fy = np.empty(n_points, dtype=np.float64)
    ix = np.empty(n_points, dtype=np.int64)
    iy = np.empty(n_points, dtype=np.int64)
    valid = np.zeros(n_points, dtype=np.bool_)
    drawable = np.zeros(n_points, dtype=np.bool_)
    for k in range(n_points):
        x = np.float64(frame[k, 0]) * np.float64(width)
        y = np.float64(frame[k, 1]) * np.float64(height)
        finite = np.isfinite(x) and np.isfinite(y)
        if not finite:
            x = 0.0
            y = 0.0
        x = min(max(x, -_PIXEL_LIMIT), _PIXEL_LIMIT)
        y = min(max(y, -_PIXEL_LIMIT), _PIXEL_LIMIT)
        fx[k] = x
        fy[k] = y
        ix[k] = np.int64(x)
        iy[k] = np.int64(y)
        valid[k] = frame[k, 2] > 0 and finite
        drawable[k] = valid[k] and ix[k] > _DRAW_EPS and iy[k] > _DRAW_EPS

    # Far-outside test first: such a frame is left to cv2, untouched.
    for k in range(n_points):
        used = valid[k] if k < _NUM_BODY else drawable[k]
        if used and not (-FAR_OUTSIDE * width <= fx[k] <= (FAR_OUTSIDE + 1) * width
                         and -FAR_OUTSIDE * height <= fy[k] <= (FAR_OUTSIDE + 1) * height):
            return False

    canvas[:] = 0
    vx = np.empty(MAX_ELLIPSE_POINTS, dtype=np.int64)
    vy = np.empty(MAX_ELLIPSE_POINTS, dtype=np.int64)
    for i in range(_LIMBS.shape[0]):
        a, b = _LIMBS[i, 0], _LIMBS[i, 1]
        if not (valid[a] and valid[b]):
            continue
        x0, y0, x1, y1 = fx[a], fy[a], fx[b], fy[b]
        dx = x0 - x1
        dy = y0 - y1
        length = (dy * dy + dx * dx) ** 0.5
        angle = math.atan2(dy, dx) * (180.0 / math.pi)
        ellipse(canvas, np.int64((x0 + x1) / 2.0), np.int64((y0 + y1) / 2.0), np.int64(length / 2),
                 np.int64(_STICK), np.int64(angle), limb_colors[i], vx, vy)
    for k in range(_NUM_BODY):
        if valid[k]:
            circle(canvas, ix[k], iy[k], _BODY_RADIUS, body_colors[k])
    hand_size = _HAND_SIZE
    for h in range(_HAND_STARTS.shape[0]):
        start = _HAND_STARTS[h]
        for e in range(_HAND_EDGES.shape[0]):
            pa, pb = start + _HAND_EDGES[e, 0], start + _HAND_EDGES[e, 1]
            if drawable[pa] and drawable[pb]:
                thick_line(canvas, ix[pa], iy[pa], ix[pb], iy[pb], _EDGE_THICKNESS,
                            hand_edge_colors[e], vx, vy)
        for p in range(start, start + hand_size):
            if drawable[p]:
                circle(canvas, ix[p], iy[p], _HAND_RADIUS, hand_joint_color)
    for p in range(_FACE_START, _NUM_DRAWN):
        if drawable[p]:
            circle(canvas, ix[p], iy[p], _FACE_RADIUS, face_color)
    return True
