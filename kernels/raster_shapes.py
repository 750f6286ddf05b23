"""cv2's drawing primitives in numba, pixel for pixel: the integer arithmetic of OpenCV's drawing code
as the skeleton renderer calls it (8-connected lines, `fillConvexPoly` with its outline and scanline
spans, `ellipse2Poly` with its 1-degree sine table, the midpoint filled circle, `line` with thickness 2
as a 16-bit fixed-point polygon plus round caps). Every pixel write is bounds-checked; lines are
clipped as cv2 clips them. `raster.draw_skeleton` draws a frame with these; tests compare each with
cv2 itself.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

XY_SHIFT = 16
XY_ONE = 1 << XY_SHIFT

# cv2's sine table: sin of 0..450 whole degrees as 7-decimal float literals (float32), so that
# SIN[450 - a] is the cosine of a. Reproduced by rounding, which gives the same float32 literals.
SIN_TABLE = np.array([round(math.sin(math.radians(d)), 7) for d in range(451)], dtype=np.float32)

MAX_ELLIPSE_POINTS = 362             # ellipse2Poly with a 1-degree step: at most 361 points + 1


@njit(cache=True, nogil=True, inline="always")
def _cdiv(a, b):
    """C's integer division (truncates toward zero); numba's // floors."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


@njit(cache=True, nogil=True, inline="always")
def _put(canvas, x, y, color):
    if 0 <= y < canvas.shape[0] and 0 <= x < canvas.shape[1]:
        canvas[y, x, 0] = color[0]
        canvas[y, x, 1] = color[1]
        canvas[y, x, 2] = color[2]


@njit(cache=True, nogil=True)
def _hline(canvas, y, x1, x2, color):
    """Pixels x1..x2 (inclusive) of row y, clipped to the canvas."""
    if y < 0 or y >= canvas.shape[0]:
        return
    x1 = max(x1, 0)
    x2 = min(x2, canvas.shape[1] - 1)
    for x in range(x1, x2 + 1):
        canvas[y, x, 0] = color[0]
        canvas[y, x, 1] = color[1]
        canvas[y, x, 2] = color[2]


@njit(cache=True, nogil=True)
def _clip_line(width, height, x1, y1, x2, y2):
    """cv2's clipLine: end points moved onto the rectangle [0, width) x [0, height), in its order and
    with its truncating divisions. Returns (visible, x1, y1, x2, y2)."""
    right = width - 1
    bottom = height - 1
    c1 = (x1 < 0) + (x1 > right) * 2 + (y1 < 0) * 4 + (y1 > bottom) * 8
    c2 = (x2 < 0) + (x2 > right) * 2 + (y2 < 0) * 4 + (y2 > bottom) * 8
    if (c1 & c2) == 0 and (c1 | c2) != 0:
        if c1 & 12:
            a = 0 if c1 < 8 else bottom
            x1 += _cdiv((a - y1) * (x2 - x1), y2 - y1)
            y1 = a
            c1 = (x1 < 0) + (x1 > right) * 2
        if c2 & 12:
            a = 0 if c2 < 8 else bottom
            x2 += _cdiv((a - y2) * (x2 - x1), y2 - y1)
            y2 = a
            c2 = (x2 < 0) + (x2 > right) * 2
        if (c1 & c2) == 0 and (c1 | c2) != 0:
            if c1:
                a = 0 if c1 == 1 else right
                y1 += _cdiv((a - x1) * (y2 - y1), x2 - x1)
                x1 = a
                c1 = 0
            if c2:
                a = 0 if c2 == 1 else right
                y2 += _cdiv((a - x2) * (y2 - y1), x2 - x1)
                x2 = a
                c2 = 0
    return (c1 | c2) == 0, x1, y1, x2, y2


@njit(cache=True, nogil=True)
def line8(canvas, x1, y1, x2, y2, color):
    """8-connected line between integer points, walked from the left end (cv2's LineIterator)."""
    height, width = canvas.shape[0], canvas.shape[1]
    if not (0 <= x1 < width and 0 <= x2 < width and 0 <= y1 < height and 0 <= y2 < height):
        visible, x1, y1, x2, y2 = _clip_line(width, height, x1, y1, x2, y2)
        if not visible:
            return
    if x2 < x1:
        x1, y1, x2, y2 = x2, y2, x1, y1
    major = x2 - x1
    minor = y2 - y1
    step_y = 1
    if minor < 0:
        minor = -minor
        step_y = -1
    along_y = minor > major
    if along_y:
        major, minor = minor, major
    err = major - 2 * minor
    x, y = x1, y1
    for _ in range(major + 1):
        _put(canvas, x, y, color)
        diagonal = err < 0
        err += -2 * minor + (2 * major if diagonal else 0)
        if along_y:
            y += step_y
            if diagonal:
                x += 1
        else:
            x += 1
            if diagonal:
                y += step_y


@njit(cache=True, nogil=True)
def _line_fixed(canvas, x1, y1, x2, y2, color):
    """Line between 16.16 fixed-point points (cv2's outline of a sub-pixel polygon)."""
    visible, x1, y1, x2, y2 = _clip_line(np.int64(canvas.shape[1]) << XY_SHIFT,
                                         np.int64(canvas.shape[0]) << XY_SHIFT, x1, y1, x2, y2)
    if not visible:
        return
    x_step = y_step = XY_ONE
    dx = x2 - x1
    dy = y2 - y1
    ax = abs(dx)
    ay = abs(dy)
    if ax > ay:
        if dx < 0:
            dy = -dy
            x1, y1, x2, y2 = x2, y2, x1, y1
        y_step = _cdiv(dy << XY_SHIFT, ax | 1)
        count = (x2 - x1) >> XY_SHIFT
    else:
        if dy < 0:
            dx = -dx
            x1, y1, x2, y2 = x2, y2, x1, y1
        x_step = _cdiv(dx << XY_SHIFT, ay | 1)
        count = (y2 - y1) >> XY_SHIFT
    x1 += XY_ONE >> 1
    y1 += XY_ONE >> 1
    _put(canvas, (x2 + (XY_ONE >> 1)) >> XY_SHIFT, (y2 + (XY_ONE >> 1)) >> XY_SHIFT, color)
    if ax > ay:
        x = x1 >> XY_SHIFT
        while count >= 0:
            _put(canvas, x, y1 >> XY_SHIFT, color)
            x += 1
            y1 += y_step
            count -= 1
    else:
        y = y1 >> XY_SHIFT
        while count >= 0:
            _put(canvas, x1 >> XY_SHIFT, y, color)
            x1 += x_step
            y += 1
            count -= 1


@njit(cache=True, nogil=True)
def fill_convex(canvas, vx, vy, n, shift, color):
    """A convex polygon of n vertices (fixed point with `shift` fraction bits): outline, then spans."""
    delta = (1 << shift) >> 1
    up = XY_SHIFT - shift
    half = XY_ONE >> 1
    imin = 0
    xmin = xmax = vx[0]
    ymin = ymax = vy[0]
    px = vx[n - 1] << up
    py = vy[n - 1] << up
    for i in range(n):
        if vy[i] < ymin:
            ymin = vy[i]
            imin = i
        ymax = max(ymax, vy[i])
        xmax = max(xmax, vx[i])
        xmin = min(xmin, vx[i])
        qx = vx[i] << up
        qy = vy[i] << up
        if shift == 0:
            x0, y0, x1, y1 = px >> XY_SHIFT, py >> XY_SHIFT, qx >> XY_SHIFT, qy >> XY_SHIFT
            if abs(x1 - x0) <= 1 and abs(y1 - y0) <= 1:
                # Most sides of an ellipse polygon: such a line is exactly its end points.
                _put(canvas, x0, y0, color)
                _put(canvas, x1, y1, color)
            else:
                line8(canvas, x0, y0, x1, y1, color)
        else:
            _line_fixed(canvas, px, py, qx, qy, color)
        px = qx
        py = qy
    xmin = (xmin + delta) >> shift
    xmax = (xmax + delta) >> shift
    ymin = (ymin + delta) >> shift
    ymax = (ymax + delta) >> shift
    height, width = canvas.shape[0], canvas.shape[1]
    if n < 3 or xmax < 0 or ymax < 0 or xmin >= width or ymin >= height:
        return
    ymax = min(ymax, height - 1)
    # Two edges walk down from the top vertex, one each way round the polygon (0: forward, 1: backward).
    y = ymin
    idx_0 = idx_1 = imin
    x_0 = x_1 = -XY_ONE
    dx_0 = dx_1 = 0
    ye_0 = ye_1 = y
    remaining = n
    while True:
        if y >= ye_0:
            remaining, idx_0, x_0, dx_0, ye_0 = _next_edge(vx, vy, n, shift, y, idx_0, 1, remaining,
                                                           x_0, dx_0, ye_0)
        if y >= ye_1:
            remaining, idx_1, x_1, dx_1, ye_1 = _next_edge(vx, vy, n, shift, y, idx_1, n - 1, remaining,
                                                           x_1, dx_1, ye_1)
        if remaining < 0:
            break
        if y >= 0:
            x1 = (min(x_0, x_1) + half) >> XY_SHIFT
            x2 = (max(x_0, x_1) + half) >> XY_SHIFT
            if x2 >= 0 and x1 < width:
                _hline(canvas, y, x1, x2, color)
        x_0 += dx_0
        x_1 += dx_1
        y += 1
        if y > ymax:
            break


@njit(cache=True, nogil=True)
def _next_edge(vx, vy, n, shift, y, idx0, di, remaining, x, dx, ye):
    """Advance one edge of `fill_convex` to the polygon side that crosses row y; returns the
    remaining side count and the edge (index, x, dx, end row), unchanged when no side is left."""
    delta = (1 << shift) >> 1
    up = XY_SHIFT - shift
    idx = idx0 + di
    if idx >= n:
        idx -= n
    while True:
        more = remaining > 0
        remaining -= 1
        if not more:
            return remaining, idx0, x, dx, ye
        ty = (vy[idx] + delta) >> shift
        if ty > y:
            xs = vx[idx0] << up
            xe = vx[idx] << up
            return remaining, idx, xs, _cdiv((xe - xs) * 2 + (ty - y), 2 * (ty - y)), ty
        idx0 = idx
        idx += di
        if idx >= n:
            idx -= n


@njit(cache=True, nogil=True)
def circle(canvas, cx, cy, radius, color):
    """A filled circle with integer centre and radius (cv2's midpoint circle)."""
    err = 0
    dx = radius
    dy = 0
    plus = 1
    minus = (radius << 1) - 1
    while dx >= dy:
        _hline(canvas, cy - dy, cx - dx, cx + dx, color)
        _hline(canvas, cy + dy, cx - dx, cx + dx, color)
        _hline(canvas, cy - dx, cx - dy, cx + dy, color)
        _hline(canvas, cy + dx, cx - dy, cx + dy, color)
        dy += 1
        err += plus
        plus += 2
        if err > 0:
            err -= minus
            dx -= 1
            minus -= 2


@njit(cache=True, nogil=True)
def thick_line(canvas, x0, y0, x1, y1, thickness, color, vx, vy):
    """cv2.line with integer end points and thickness > 1: a fixed-point quad and two round caps."""
    p0x = np.int64(x0) << XY_SHIFT
    p0y = np.int64(y0) << XY_SHIFT
    p1x = np.int64(x1) << XY_SHIFT
    p1y = np.int64(y1) << XY_SHIFT
    dx = (p0x - p1x) * (1.0 / XY_ONE)
    dy = (p1y - p0y) * (1.0 / XY_ONE)
    r = dx * dx + dy * dy
    odd = thickness & 1
    half_width = thickness << (XY_SHIFT - 1)
    if abs(r) > 2.220446049250313e-16:
        r = (half_width + odd * XY_ONE * 0.5) / math.sqrt(r)
        dpx = np.int64(np.rint(dy * r))
        dpy = np.int64(np.rint(dx * r))
        vx[0] = p0x + dpx
        vy[0] = p0y + dpy
        vx[1] = p0x - dpx
        vy[1] = p0y - dpy
        vx[2] = p1x - dpx
        vy[2] = p1y - dpy
        vx[3] = p1x + dpx
        vy[3] = p1y + dpy
        fill_convex(canvas, vx, vy, 4, XY_SHIFT, color)
    cap = (half_width + (XY_ONE >> 1)) >> XY_SHIFT
    circle(canvas, x0, y0, cap, color)
    circle(canvas, x1, y1, cap, color)


@njit(cache=True, nogil=True)
def ellipse(canvas, cx, cy, a, b, angle, color, vx, vy):
    """cv2.fillConvexPoly(cv2.ellipse2Poly(centre, (a, b), angle, 0, 360, 1)) with integer inputs."""
    while angle < 0:
        angle += 360
    while angle > 360:
        angle -= 360
    cos_a = np.float64(SIN_TABLE[450 - angle])
    sin_a = np.float64(SIN_TABLE[angle])
    n = 0
    for deg in range(361):
        x = a * np.float64(SIN_TABLE[450 - deg])
        y = b * np.float64(SIN_TABLE[deg])
        px = np.int64(np.rint(cx + x * cos_a - y * sin_a))
        py = np.int64(np.rint(cy + x * sin_a + y * cos_a))
        if n == 0 or px != vx[n - 1] or py != vy[n - 1]:
            vx[n] = px
            vy[n] = py
            n += 1
    if n == 1:
        vx[0] = vx[1] = cx
        vy[0] = vy[1] = cy
        n = 2
    fill_convex(canvas, vx, vy, n, 0, color)
