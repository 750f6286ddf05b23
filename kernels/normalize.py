"""Normalization method `signmail`: fit a sign clip to the style character.

`style` is a float64 array (6,) in the order of STYLE_FIELDS. Every step scales about the origin or
about a per-frame pivot and translates; missing points are never touched, MediaPipe z never changes.
All arithmetic is float64; the result is float32.

Each numba kernel has a plain NumPy reference beside it (`*_reference`); tests hold them to 1e-5.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import layout as L
from .layout import validity

STYLE_FIELDS = ("shoulder", "d_y", "x", "y", "ear_x", "face_length")
_EPS = 1e-6

_NOSE, _NECK, _RSH, _LSH, _REAR, _LEAR = L.NOSE, L.NECK, L.R_SHOULDER, L.L_SHOULDER, L.R_EAR, L.L_EAR
_F0, _F16 = L.FACE_TOP
_F4, _F12 = L.FACE_BOTTOM
# The kernel takes these as an argument, not as globals: numba freezes globals into the compiled code
# and its on-disk cache is keyed on this file only, so a changed layout.py would be silently ignored.
LANDMARKS = np.array([_NOSE, _NECK, _RSH, _LSH, _REAR, _LEAR, _F0, _F16, _F4, _F12], dtype=np.int64)


# --------------------------------------------------------------------------- numba kernel

@njit(cache=True, nogil=True)
def _ratio(target, measured):
    # A clip that never shows the measured feature (or a degenerate style) is left at scale 1.
    if measured > _EPS and target > _EPS:
        return target / measured
    return 1.0


@njit(cache=True, nogil=True)
def _pivots(out, valid, points, pivot):
    """Per-frame pivot (T, 2) and whether there is one (T,).

    A frame that lost its pivot point (a dropped nose or shoulder) borrows the pivot of the nearest
    frame that has it, moved by how far the group's centroid moved between the two frames: scaling
    is then applied in every frame, so a single dropped point never makes a part pop in size."""
    T = out.shape[0]
    centroid = np.zeros((T, 2))
    count = np.zeros(T, dtype=np.int64)
    for t in range(T):
        for i in range(points.shape[0]):
            k = points[i]
            if k != pivot and valid[t, k]:
                centroid[t, 0] += out[t, k, 0]
                centroid[t, 1] += out[t, k, 1]
                count[t] += 1
        if count[t] > 0:
            centroid[t, 0] /= count[t]
            centroid[t, 1] /= count[t]
    piv = np.zeros((T, 2))
    has = np.zeros(T, dtype=np.bool_)
    for t in range(T):
        if valid[t, pivot]:
            piv[t, 0] = out[t, pivot, 0]
            piv[t, 1] = out[t, pivot, 1]
            has[t] = True
    for t in range(T):
        if valid[t, pivot] or count[t] == 0:
            continue
        best = -1
        for d in range(1, T):          # nearest first; the earlier frame wins a tie
            for s in (t - d, t + d):
                if 0 <= s < T and valid[s, pivot] and count[s] > 0:
                    best = s
                    break
            if best >= 0:
                break
        if best >= 0:
            piv[t, 0] = out[best, pivot, 0] + centroid[t, 0] - centroid[best, 0]
            piv[t, 1] = out[best, pivot, 1] + centroid[t, 1] - centroid[best, 1]
            has[t] = True
    return piv, has


@njit(cache=True, nogil=True)
def _scale_about_pivots(out, valid, points, piv, has, r, scale_x, scale_y):
    """Per frame: points p <- pivot + r (p - pivot) in the chosen axes, with pivots from _pivots
    (a clip that never shows the pivot point stays unscaled)."""
    T = out.shape[0]
    for t in range(T):
        if not has[t]:
            continue
        px = piv[t, 0]
        py = piv[t, 1]
        for i in range(points.shape[0]):
            k = points[i]
            if valid[t, k]:
                if scale_x:
                    out[t, k, 0] = px + r * (out[t, k, 0] - px)
                if scale_y:
                    out[t, k, 1] = py + r * (out[t, k, 1] - py)


@njit(cache=True, nogil=True)
def normalize_signmail(frames, valid, style, landmarks, head, left_arm, right_arm):
    """frames (T, K, 3) float32, valid bool (T, K), style (6,) float64, landmarks (10,) = LANDMARKS,
    point index arrays -> normalized (T, K, 3) float32."""
    T, K, _ = frames.shape
    nose, neck, rsh, lsh, rear, lear = landmarks[0], landmarks[1], landmarks[2], landmarks[3], landmarks[4], landmarks[5]
    f0, f16, f4, f12 = landmarks[6], landmarks[7], landmarks[8], landmarks[9]
    out = frames.astype(np.float64)

    # 1. r_w = shoulder / mean shoulder width: scale x and y of everything about the origin.
    total = 0.0
    count = 0
    for t in range(T):
        if valid[t, rsh] and valid[t, lsh]:
            dx = out[t, rsh, 0] - out[t, lsh, 0]
            dy = out[t, rsh, 1] - out[t, lsh, 1]
            total += np.sqrt(dx * dx + dy * dy)
            count += 1
    r_w = _ratio(style[0], total / count if count > 0 else 0.0)
    # 2 is computed after 1, so both passes are fused into one scaling of y by r_w * r_y.
    m = 0.0
    for t in range(T):
        if valid[t, neck] and valid[t, rear] and valid[t, lear]:
            d = abs(r_w * (out[t, neck, 1] - 0.5 * (out[t, rear, 1] + out[t, lear, 1])))
            if d > m:
                m = d
    r_y = _ratio(style[1], m)

    # 3. Translate so that the first frame with a neck puts it on the style neck.
    mx = 0.0
    my = 0.0
    for t in range(T):
        if valid[t, neck]:
            mx = style[2] - out[t, neck, 0] * r_w
            my = style[3] - out[t, neck, 1] * r_w * r_y
            break
    for t in range(T):
        for k in range(K):
            if valid[t, k]:
                out[t, k, 0] = out[t, k, 0] * r_w + mx
                out[t, k, 1] = out[t, k, 1] * (r_w * r_y) + my

    # 4. Head width to the style's ear distance, x only, pinned at the nose.
    m = 0.0
    for t in range(T):
        if valid[t, rear] and valid[t, lear]:
            d = abs(out[t, rear, 0] - out[t, lear, 0])
            if d > m:
                m = d
    r_ear = _ratio(style[4], m)
    head_piv, head_has = _pivots(out, valid, head, nose)
    _scale_about_pivots(out, valid, head, head_piv, head_has, r_ear, True, False)

    # 5, 6. Arms and hands follow the head's ratio, pinned at their shoulder.
    piv, has = _pivots(out, valid, left_arm, lsh)
    _scale_about_pivots(out, valid, left_arm, piv, has, r_ear, True, True)
    piv, has = _pivots(out, valid, right_arm, rsh)
    _scale_about_pivots(out, valid, right_arm, piv, has, r_ear, True, True)

    # 7. Face length, y only, pinned at the nose.
    m = 0.0
    for t in range(T):
        if valid[t, f0] and valid[t, f16] and valid[t, f4] and valid[t, f12]:
            d = abs(0.5 * (out[t, f0, 1] + out[t, f16, 1]) - 0.5 * (out[t, f4, 1] + out[t, f12, 1]))
            if d > m:
                m = d
    r_face = _ratio(style[5], m)
    # The head pivots of step 4 still hold for their y, the only axis used here: step 4 moved head
    # points in x only and steps 5-6 moved arm points, which are not in the head.
    _scale_about_pivots(out, valid, head, head_piv, head_has, r_face, False, True)

    return out.astype(np.float32)


def normalize_clip(frames: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Normalize one sign clip (T, K, 3) to a style (6,) with the numba kernel."""
    return normalize_signmail(
        frames, validity(frames), np.asarray(style, dtype=np.float64), LANDMARKS,
        L.HEAD_POINTS, L.LEFT_ARM_POINTS, L.RIGHT_ARM_POINTS,
    )


# --------------------------------------------------------------------------- NumPy reference

def _ratio_ref(target: float, measured: float) -> float:
    return target / measured if measured > _EPS and target > _EPS else 1.0


def _pivots_ref(out, valid, points, pivot):
    """NumPy version of _pivots: same substitute pivot for frames that lost the pivot point."""
    others = points[points != pivot]
    sel = valid[:, others]
    count = sel.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = (out[:, others, :2] * sel[..., None]).sum(axis=1) / count[:, None]
    has = valid[:, pivot].copy()
    piv = np.where(has[:, None], out[:, pivot, :2], 0.0)
    donors = np.flatnonzero(valid[:, pivot] & (count > 0))
    for t in np.flatnonzero(~valid[:, pivot] & (count > 0)):
        if donors.size:
            dist = np.abs(donors - t)
            s = donors[np.argmin(dist)]          # argmin picks the earlier frame on a tie
            piv[t] = out[s, pivot, :2] + centroid[t] - centroid[s]
            has[t] = True
    return piv, has


def _scale_about_pivot_ref(out, valid, points, pivot, r, axes):
    piv, has = _pivots_ref(out, valid, points, pivot)
    sel = valid[:, points] & has[:, None]
    for axis in axes:
        p = piv[:, axis][:, None]
        block = out[:, points, axis]
        out[:, points, axis] = np.where(sel, p + r * (block - p), block)


def normalize_signmail_reference(frames: np.ndarray, style: np.ndarray) -> np.ndarray:
    """The kernel's seven steps (1 shoulder width, 2 d_y, 3 neck, 4 head width, 5-6 arms, 7 face
    length) vectorized, one at a time (the readable version)."""
    out = frames.astype(np.float64)
    valid = L.validity_reference(frames)
    sx, sy = out[..., 0], out[..., 1]

    both = valid[:, _RSH] & valid[:, _LSH]
    widths = np.hypot(sx[:, _RSH] - sx[:, _LSH], sy[:, _RSH] - sy[:, _LSH])[both]
    r_w = _ratio_ref(style[0], widths.mean() if widths.size else 0.0)
    sx[valid] *= r_w
    sy[valid] *= r_w

    ok = valid[:, _NECK] & valid[:, _REAR] & valid[:, _LEAR]
    dys = np.abs(sy[:, _NECK] - (sy[:, _REAR] + sy[:, _LEAR]) / 2)[ok]
    r_y = _ratio_ref(style[1], dys.max() if dys.size else 0.0)
    sy[valid] *= r_y

    necks = np.flatnonzero(valid[:, _NECK])
    if necks.size:
        t0 = necks[0]
        dx, dy = style[2] - sx[t0, _NECK], style[3] - sy[t0, _NECK]
        sx[valid] += dx
        sy[valid] += dy

    ok = valid[:, _REAR] & valid[:, _LEAR]
    ears = np.abs(sx[:, _REAR] - sx[:, _LEAR])[ok]
    r_ear = _ratio_ref(style[4], ears.max() if ears.size else 0.0)
    _scale_about_pivot_ref(out, valid, L.HEAD_POINTS, _NOSE, r_ear, (0,))
    _scale_about_pivot_ref(out, valid, L.LEFT_ARM_POINTS, _LSH, r_ear, (0, 1))
    _scale_about_pivot_ref(out, valid, L.RIGHT_ARM_POINTS, _RSH, r_ear, (0, 1))

    ok = valid[:, _F0] & valid[:, _F16] & valid[:, _F4] & valid[:, _F12]
    lengths = np.abs((sy[:, _F0] + sy[:, _F16]) / 2 - (sy[:, _F4] + sy[:, _F12]) / 2)[ok]
    r_face = _ratio_ref(style[5], lengths.max() if lengths.size else 0.0)
    _scale_about_pivot_ref(out, valid, L.HEAD_POINTS, _NOSE, r_face, (1,))
    return out.astype(np.float32)
