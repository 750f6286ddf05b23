"""Where two adjacent signs meet, for smooth transitions: `choose_join(tail, head)`.

Candidates are frame `tail[-1 - cut_tail]` of sign i against frame `head[cut_head]` of sign i+1, both
cuts in 0 .. window-1 (JOIN_WINDOW = 8), so hold and rest frames at the junction can be dropped.
Metric: the mean Euclidean distance, in pixel-proportional units (x·W/H, y), over the body (without
knees and ankles, which transitions never draw) and both hands' points valid in both frames. A pair
with no common point cannot be compared and is skipped. Candidates are visited by total cut, then by
cut_tail; one replaces the best so far only when it is closer by more than JOIN_TIE, so ties keep
fewer trimmed frames and (0, 0) comes back when the junction is already the closest pair.

`join_cuts` is the numba kernel, `choose_join_reference` its NumPy reference (tests hold them equal).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import layout as L
from .layout import validity
from .smooth_forest import check_aspect

JOIN_WINDOW = 8            # frames of each sign that choose_join may look at (and trim up to W - 1)
JOIN_TIE = 1e-6            # a candidate must be closer than the best by more than this to win
JOIN_POINTS = np.setdiff1d(np.arange(L.BODY.start, L.RIGHT_HAND.stop), L.KNEES_AND_ANKLES).astype(np.int64)


def tail_start(num_frames: int, head_cut: int, window: int = JOIN_WINDOW) -> int:
    """Index of the first tail-window frame of a sign whose first `head_cut` frames were trimmed:
    frames up to and including it can be released; the ones after it are withheld for choose_join."""
    return max(int(head_cut), int(num_frames) - int(window))


@njit(cache=True, nogil=True)
def _pose_distance(a, b, va, vb, points, aspect):
    """Mean pixel-proportional distance over `points` valid in both frames; -1 when there is none."""
    total = 0.0
    count = 0
    for i in range(points.shape[0]):
        k = points[i]
        if va[k] and vb[k]:
            dx = (np.float64(a[k, 0]) - b[k, 0]) * aspect
            dy = np.float64(a[k, 1]) - b[k, 1]
            total += np.sqrt(dx * dx + dy * dy)
            count += 1
    return total / count if count > 0 else -1.0


@njit(cache=True, nogil=True)
def join_cuts(tail, head, vt, vh, points, aspect, tie):
    """tail (Wt, K, 3), head (Wh, K, 3) with validity -> (cut_tail, cut_head) of the closest pair."""
    wt = tail.shape[0]
    wh = head.shape[0]
    best = np.inf
    best_t = 0
    best_h = 0
    for total in range(wt + wh - 1):
        for ct in range(max(0, total - wh + 1), min(total, wt - 1) + 1):
            ch = total - ct
            d = _pose_distance(tail[wt - 1 - ct], head[ch], vt[wt - 1 - ct], vh[ch], points, aspect)
            if d >= 0.0 and d < best - tie:
                best = d
                best_t = ct
                best_h = ch
    return best_t, best_h


def choose_join(tail: np.ndarray, head: np.ndarray, window: int = JOIN_WINDOW, aspect: float = 1.0) -> tuple[int, int]:
    """(cut_tail, cut_head): frames to drop from the end of `tail` (T1, K, 3) and the start of `head`
    (T2, K, 3) so that the two frames that meet are the closest pair within the last / first `window`."""
    if window < 1 or tail.shape[0] == 0 or head.shape[0] == 0:
        raise ValueError("choose_join needs a window of at least 1 and a frame on each side")
    tail = np.ascontiguousarray(tail[-window:], dtype=np.float32)
    head = np.ascontiguousarray(head[:window], dtype=np.float32)
    ct, ch = join_cuts(tail, head, validity(tail), validity(head), JOIN_POINTS, check_aspect(aspect), JOIN_TIE)
    return int(ct), int(ch)


def choose_join_reference(tail: np.ndarray, head: np.ndarray, window: int = JOIN_WINDOW,
                          aspect: float = 1.0) -> tuple[int, int]:
    """The distance table of every candidate at once, then the same visiting order and tie rule."""
    tail, head = tail[-window:], head[:window]
    back = tail[::-1][:, None, JOIN_POINTS, :2].astype(np.float64)          # back[ct] = tail[-1 - ct]
    diff = (back - head[None, :, JOIN_POINTS, :2]) * np.array([aspect, 1.0])
    both = L.validity_reference(tail)[::-1][:, None, JOIN_POINTS] & L.validity_reference(head)[None, :, JOIN_POINTS]
    count = both.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        dist = np.where(both, np.hypot(diff[..., 0], diff[..., 1]), 0.0).sum(axis=-1) / count
    candidates = sorted(np.ndindex(dist.shape), key=lambda c: (c[0] + c[1], c[0]))
    best, choice = np.inf, (0, 0)
    for c in candidates:
        if count[c] > 0 and dist[c] < best - JOIN_TIE:
            best, choice = dist[c], c
    return int(choice[0]), int(choice[1])
