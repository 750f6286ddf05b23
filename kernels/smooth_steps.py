"""How many frames a smooth transition needs: the length probe and the step bounds.

Min-jerk speed peaks at 15/8 of its mean, so a fixed n makes far junctions move faster than signing
does. `transition_length(a, b, max_step, n_min, n_max)` gives the fewest frames (>= n_min) that keep
every step of each BOUND_POINTS point (wrists and elbows) <= its max_step; the pipeline derives those
from the in-sign steps (`step_table`) of the signs around the junction (server/pipeline.py
`reference_steps`). Candidate lengths are measured by `largest_steps` through the numba kernel
`bound_step_maxima` (kernels/smooth_path.py), which places only those points and their ancestors and
makes no frame; `largest_steps_reference` measures the frames smooth_transition makes (tests: to the bit).
"""
from __future__ import annotations

import numpy as np

from . import layout as L
from .smooth_forest import MODE, PARENT, check_aspect, end_frames, with_ancestors
from .smooth_path import bound_step_maxima, smooth_transition

WRISTS = np.array([L.R_WRIST, L.L_WRIST], dtype=np.int64)
# The points whose speed transition_length bounds, and their groups (rows of BOUND_POINTS): the wrists,
# and the elbows, whose bone directions turn on arcs that can carry them further than the wrists.
BOUND_POINTS = np.array([L.R_WRIST, L.L_WRIST, L.R_ELBOW, L.L_ELBOW], dtype=np.int64)
BOUND_GROUPS = ((0, 1), (2, 3))


def step_table(frames: np.ndarray, aspect: float = 1.0,
               points: np.ndarray = BOUND_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Frame-to-frame steps of `points` (pixel-proportional units), (T−1, P) float64, and whether the
    point is present in both frames of the step, (T−1, P) bool. Row t is the step from frame t to t+1,
    so the steps of frames[:e] are the first e − 1 rows."""
    xy = frames[:, points, :2].astype(np.float64) * np.array([aspect, 1.0])
    present = frames[:, points, 2] > 0
    step = np.hypot(*np.moveaxis(np.diff(xy, axis=0), -1, 0))
    return step, present[1:] & present[:-1]


def largest_steps(a: np.ndarray, b: np.ndarray, n: int, aspect: float = 1.0,
                  points: np.ndarray = BOUND_POINTS, before: np.ndarray | None = None,
                  after: np.ndarray | None = None, gap: int = 1) -> np.ndarray:
    """(P,) the largest step of each of `points` from a through the n transition frames to b (0 where
    the point is never present in two frames running), as step_table measures smooth_transition's
    frames (bound_step_maxima: only the points and their ancestors are placed, no frame is made)."""
    points = np.asarray(points, dtype=np.int64)
    ends, v = end_frames(a, b, before, after, gap)
    return bound_step_maxima(ends[1], ends[2], v[1], v[2], int(n), check_aspect(aspect), PARENT, MODE,
                             with_ancestors(points), points, ends[0], ends[3], v[0], v[3], float(gap))


def largest_steps_reference(a: np.ndarray, b: np.ndarray, n: int, aspect: float = 1.0,
                            points: np.ndarray = BOUND_POINTS, **ends) -> np.ndarray:
    """largest_steps measured on the frames smooth_transition makes."""
    path = np.concatenate([a[None], smooth_transition(a, b, n, aspect, **ends), b[None]])
    step, ok = step_table(path, aspect, points)
    return np.where(ok, step, 0.0).max(axis=0, initial=0.0)


def transition_length(a: np.ndarray, b: np.ndarray, max_step, n_min: int, n_max: int,
                      aspect: float = 1.0, points: np.ndarray = BOUND_POINTS, **ends) -> int:
    """Fewest transition frames in [n_min, n_max] that keep every step of each of `points` along
    a -> transition -> b at most its `max_step` (one number for all, or (P,); inf leaves a point
    free), n_max if none does; `ends` as smooth_transition's before/after/gap. Steps shrink as n
    grows (all but always: end speeds re-time each n a little differently), so a proportional guess
    finds a length that is enough and a bisection below it the fewest that keeps the bound."""
    limit = np.broadcast_to(np.asarray(max_step, dtype=np.float64), (len(points),))
    if not np.all(limit > 0):
        raise ValueError(f"max_step must be positive, got {max_step}")

    def excess(n: int) -> float:                 # how many times too fast the fastest point is
        return float(np.max(largest_steps(a, b, n, aspect, points, **ends) / limit))

    lo, hi = int(n_min), int(n_min)
    over = excess(hi)
    while over > 1.0 and hi < n_max:
        lo = hi + 1
        hi = min(int(n_max), max(lo, int(np.ceil((hi + 1) * over)) - 1))
        over = excess(hi)
    if over > 1.0:
        return int(n_max)
    while lo < hi:
        mid = (lo + hi) // 2
        if excess(mid) <= 1.0:
            hi = mid
        else:
            lo = mid + 1
    return hi
