"""Linear interpolation kernels: the `linear` transition between signs and insert interpolation inside one.

A point is interpolated only when it is present at both ends; otherwise it is missing in every new
frame ((-1, -1, 0) for flagged points, the whole MediaPipe part zero), so a missing point is never
swept into the picture. Channel 2 is interpolated too: the flag stays 1 between two valid points,
MediaPipe z moves linearly. Weights w = j / (n + 1), j = 1..n (endpoints excluded).

Each numba kernel has a plain NumPy reference beside it; tests hold them to 1e-5.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import layout as L
from .layout import validity


@njit(cache=True, nogil=True)
def _lerp_frame(a, b, va, vb, w, point_group, out):
    """out (K, 3) <- a + w (b - a) where both ends are valid, else the missing marker."""
    K = a.shape[0]
    for k in range(K):
        if va[k] and vb[k]:
            for c in range(3):
                out[k, c] = a[k, c] + w * (np.float64(b[k, c]) - a[k, c])
        elif point_group[k] < 0:
            out[k, 0] = -1.0
            out[k, 1] = -1.0
            out[k, 2] = 0.0
        else:
            out[k, 0] = 0.0
            out[k, 1] = 0.0
            out[k, 2] = 0.0


@njit(cache=True, nogil=True)
def insert_interpolation(frames, valid, m, point_group):
    """(T, K, 3) -> (T + (T-1) m, K, 3): m linear frames between each pair of consecutive frames."""
    T, K, _ = frames.shape
    out = np.empty((T + (T - 1) * m, K, 3), dtype=np.float32)
    o = 0
    for t in range(T):
        out[o] = frames[t]
        o += 1
        if t + 1 < T:
            for j in range(1, m + 1):
                _lerp_frame(frames[t], frames[t + 1], valid[t], valid[t + 1], j / (m + 1.0), point_group, out[o])
                o += 1
    return out


@njit(cache=True, nogil=True)
def transition_frames(a, b, va, vb, n, point_group, hidden):
    """Last frame a (K, 3) of one sign, first frame b of the next -> n (n, K, 3) transition frames.
    `hidden` body points (knees and ankles) are missing in every transition frame."""
    K = a.shape[0]
    out = np.empty((n, K, 3), dtype=np.float32)
    for j in range(1, n + 1):
        _lerp_frame(a, b, va, vb, j / (n + 1.0), point_group, out[j - 1])
        for i in range(hidden.shape[0]):
            k = hidden[i]
            out[j - 1, k, 0] = -1.0
            out[j - 1, k, 1] = -1.0
            out[j - 1, k, 2] = 0.0
    return out


def insert_clip(frames: np.ndarray, m: int) -> np.ndarray:
    """Insert interpolation on one clip through the numba kernel (m = 0 returns the clip)."""
    if m <= 0:
        return frames
    return insert_interpolation(frames, validity(frames), int(m), L.POINT_GROUP)


def transition(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Transition between two packed frames (K, 3) through the numba kernel."""
    pair = np.stack([a, b])
    v = validity(pair)
    return transition_frames(pair[0], pair[1], v[0], v[1], int(n), L.POINT_GROUP, L.KNEES_AND_ANKLES)


# --------------------------------------------------------------------------- NumPy references

def _lerp_reference(a: np.ndarray, b: np.ndarray, va: np.ndarray, vb: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a, b (P, K, 3), va, vb (P, K), w (n,) -> (P, n, K, 3)."""
    a64, b64 = a.astype(np.float64)[:, None], b.astype(np.float64)[:, None]
    lerp = a64 + w[None, :, None, None] * (b64 - a64)
    missing = np.zeros(3)
    flagged_missing = np.array([-1.0, -1.0, 0.0])
    marker = np.where((L.POINT_GROUP < 0)[:, None], flagged_missing, missing)   # (K, 3)
    both = (va & vb)[:, None, :, None]
    return np.where(both, lerp, marker).astype(np.float32)


def insert_interpolation_reference(frames: np.ndarray, m: int) -> np.ndarray:
    if m <= 0:
        return frames.copy()
    T = frames.shape[0]
    valid = L.validity_reference(frames)
    w = np.arange(1, m + 1) / (m + 1.0)
    mids = _lerp_reference(frames[:-1], frames[1:], valid[:-1], valid[1:], w)      # (T-1, m, K, 3)
    out = np.empty((T + (T - 1) * m,) + frames.shape[1:], dtype=np.float32)
    out[:: m + 1] = frames
    for j in range(m):
        out[1 + j :: m + 1] = mids[:, j]
    return out


def transition_reference(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    v = L.validity_reference(np.stack([a, b]))
    w = np.arange(1, n + 1) / (n + 1.0)
    out = _lerp_reference(a[None], b[None], v[:1], v[1:], w)[0]
    out[:, L.KNEES_AND_ANKLES] = (-1.0, -1.0, 0.0)
    return out
