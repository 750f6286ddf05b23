"""Smooth transition frames between two signs: timing, the forest walk, and the length probe's kernel.

`smooth_transition(a, b, n, before=, after=, gap=)` draws n frames between frame a and frame b
(endpoints excluded, τ_j = j / (n+1)). Timing, per channel (a bone's angle, its length, an offset or a
root's position along its straight way): s(τ) + α₀·h₁(τ) + α₁·h₄(τ) (`_timing`), the quintic with end
slopes α₀, α₁ (in units of the mean speed) and zero end accelerations; s = 10τ³ − 15τ⁴ + 6τ⁵ is
minimum jerk. α at each end is the speed the sign already has in that channel, towards b, from the
frame `gap` frames before a (`before`) or after b (`after`), as a share of the transition's mean speed,
clamped to [0, 1] (`_alpha`): motion towards the next sign carries on, motion away from it (or no
neighbour frame) starts from rest, and for α in [0, 1] the timing is monotone, so the path is
re-timed, never overshot.

Points move along the forest of kernels/smooth_forest.py. On a BONE link the bone's direction turns
along the shorter arc (slerp of 2-D unit vectors) and its length moves linearly, then points are
rebuilt from the root down, so bone lengths hold; the angular work is done in pixel-proportional space
(x·aspect, y). On an OFFSET link the point follows its anchor's path while its offset blends linearly,
so a face turns with the head and keeps its shape. A link whose parent is missing at an end uses the
nearest ancestor present at both ends; a point with none moves straight; a bone shorter than BONE_EPS
at an end also blends along its offset (no direction to turn). Channel 2 (flag, MediaPipe z) moves
linearly with s. A point present at one end only never sweeps: it is shown only in the half of the
transition next to its valid end (2j < n+1 for end a, 2j > n+1 for end b; the middle frame of an odd
n shows neither), fixed to its nearest ancestor present at that end with its end offset, so a hand
that leaves keeps its wrist-relative pose and rides on the moving arm. Points missing at both ends
stay missing; knees and ankles are missing in every transition frame, as in the linear kernel.

`bound_step_maxima` measures the largest steps of a few points along such a transition without making
its frames (kernels/smooth_steps.py searches lengths with it); it shares `_plan` and `_place` with
`smooth_transition_frames`, so all three stay in this file: numba's on-disk cache of a kernel is
renewed only when the kernel's own file changes, not when a helper in another file does.
`smooth_transition_reference` is the NumPy reference of `smooth_transition_frames` (tests: 1e-5).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import layout as L
from .smooth_forest import BONE, DEPTH, MODE, ORDER, PARENT, check_aspect, end_frames

BONE_EPS = 1e-6            # bones shorter than this (pixel-proportional units) have no direction


@njit(cache=True, nogil=True)
def _minimum_jerk(tau):
    """s(τ) = 10τ³ − 15τ⁴ + 6τ⁵: 0 → 1 with zero velocity and acceleration at both ends."""
    return tau * tau * tau * (10.0 + tau * (-15.0 + 6.0 * tau))


@njit(cache=True, nogil=True)
def _timing(tau, alpha0, alpha1):
    """Share of the way covered at τ: s(τ) + α0·h1(τ) + α1·h4(τ), the quintic whose slope is α0 at
    τ = 0 and α1 at τ = 1 (in units of the mean speed) with zero acceleration at both ends:
    h1 = τ − 6τ³ + 8τ⁴ − 3τ⁵ and h4 = −4τ³ + 7τ⁴ − 3τ⁵ are the Hermite bases of the end slopes.
    α = 0 at both ends is minimum jerk from rest to rest; α = 1 at both ends is uniform speed. For
    α0, α1 in [0, 1] it rises monotonically from 0 to 1, so the path is only re-timed, never
    overshot."""
    t3 = tau * tau * tau
    s = t3 * (10.0 + tau * (-15.0 + 6.0 * tau))
    h1 = tau + t3 * (-6.0 + tau * (8.0 - 3.0 * tau))
    h4 = t3 * (-4.0 + tau * (7.0 - 3.0 * tau))
    return s + alpha0 * h1 + alpha1 * h4


@njit(cache=True, nogil=True)
def _alpha(speed, distance, frames):
    """An end's speed along the way (per frame) as a share of the mean speed distance / frames,
    clamped to [0, 1]: motion away from the target, or none to cover, starts from rest."""
    if not distance > BONE_EPS:
        return 0.0
    return min(max(speed * frames / distance, 0.0), 1.0)


@njit(cache=True, nogil=True)
def _wrap(d):
    """An angle difference on [−π, π): the shorter arc."""
    return d - 2.0 * np.pi * np.floor((d + np.pi) / (2.0 * np.pi))


@njit(cache=True, nogil=True)
def _links(va, vb, parent):
    """Per point: kind (0 missing, 1 both ends, 2 end a only, 3 end b only) and its reference point,
    the nearest ancestor present at both ends (kind 1) or at the point's own valid end (2, 3)."""
    K = parent.shape[0]
    kind = np.zeros(K, dtype=np.int64)
    ref = np.full(K, -1, dtype=np.int64)
    for k in range(K):
        if va[k] and vb[k]:
            kind[k] = 1
        elif va[k]:
            kind[k] = 2
        elif vb[k]:
            kind[k] = 3
        else:
            continue
        need_a = kind[k] != 3
        need_b = kind[k] != 2
        q = parent[k]
        while q >= 0 and not ((va[q] or not need_a) and (vb[q] or not need_b)):
            q = parent[q]
        ref[k] = q
    return kind, ref


@njit(cache=True, nogil=True)
def _plan(a, b, va, vb, n, aspect, parent, mode, p, q, vp, vq, gap):
    """What every transition frame is made from: end positions in pixel-proportional space, each
    point's link (kind, ref), the turning bones' angles and lengths, and each channel's end slopes."""
    K = a.shape[0]
    pa = np.empty((K, 2))
    pb = np.empty((K, 2))
    pp = np.empty((K, 2))
    pq = np.empty((K, 2))
    for k in range(K):
        pa[k, 0] = a[k, 0] * aspect
        pa[k, 1] = a[k, 1]
        pb[k, 0] = b[k, 0] * aspect
        pb[k, 1] = b[k, 1]
        pp[k, 0] = p[k, 0] * aspect
        pp[k, 1] = p[k, 1]
        pq[k, 0] = q[k, 0] * aspect
        pq[k, 1] = q[k, 1]
    kind, ref = _links(va, vb, parent)
    turn = np.zeros(K, dtype=np.bool_)          # a BONE link with a direction at both ends
    theta = np.zeros(K)
    dtheta = np.zeros(K)
    la = np.zeros(K)
    lb = np.zeros(K)
    alpha = np.zeros((K, 2, 2))                 # per end (a, b) and channel: the timing's end slope
    frames = n + 1.0                            # τ runs over n + 1 frame steps
    for k in range(K):
        r = ref[k]
        if kind[k] != 1:
            continue
        # the link's offset (or position, for a root) at p, a, b, q; p and q count where present
        use_p = vp[k] and (r < 0 or vp[r])
        use_q = vq[k] and (r < 0 or vq[r])
        ax, ay, bx, by = pa[k, 0], pa[k, 1], pb[k, 0], pb[k, 1]
        px, py, qx, qy = pp[k, 0], pp[k, 1], pq[k, 0], pq[k, 1]
        if r >= 0:
            ax, ay, bx, by = ax - pa[r, 0], ay - pa[r, 1], bx - pb[r, 0], by - pb[r, 1]
            px, py, qx, qy = px - pp[r, 0], py - pp[r, 1], qx - pq[r, 0], qy - pq[r, 1]
        if r >= 0 and mode[k] == 0:
            la[k] = np.sqrt(ax * ax + ay * ay)
            lb[k] = np.sqrt(bx * bx + by * by)
            if la[k] > BONE_EPS and lb[k] > BONE_EPS:
                turn[k] = True
                theta[k] = np.arctan2(ay, ax)
                dtheta[k] = _wrap(np.arctan2(by, bx) - theta[k])        # shorter arc
                lp = np.sqrt(px * px + py * py)
                lq = np.sqrt(qx * qx + qy * qy)
                sign_t = 1.0 if dtheta[k] >= 0 else -1.0
                sign_l = 1.0 if lb[k] >= la[k] else -1.0
                if use_p and lp > BONE_EPS:
                    alpha[k, 0, 0] = _alpha(sign_t * _wrap(theta[k] - np.arctan2(py, px)) / gap, abs(dtheta[k]), frames)
                    alpha[k, 0, 1] = _alpha(sign_l * (la[k] - lp) / gap, abs(lb[k] - la[k]), frames)
                if use_q and lq > BONE_EPS:
                    alpha[k, 1, 0] = _alpha(sign_t * _wrap(np.arctan2(qy, qx) - np.arctan2(by, bx)) / gap,
                                            abs(dtheta[k]), frames)
                    alpha[k, 1, 1] = _alpha(sign_l * (lq - lb[k]) / gap, abs(lb[k] - la[k]), frames)
                continue
        dx, dy = bx - ax, by - ay                # the way to go; end velocities count along it
        dist = np.sqrt(dx * dx + dy * dy)
        if dist > BONE_EPS:
            if use_p:
                alpha[k, 0, 0] = _alpha(((ax - px) * dx + (ay - py) * dy) / dist / gap, dist, frames)
            if use_q:
                alpha[k, 1, 0] = _alpha(((qx - bx) * dx + (qy - by) * dy) / dist / gap, dist, frames)
    return pa, pb, kind, ref, turn, theta, dtheta, la, lb, alpha


@njit(cache=True, nogil=True)
def _place(j, n, k, pa, pb, kind, ref, turn, theta, dtheta, la, lb, alpha, pos):
    """Point k's position in transition frame j (1..n) into pos[k] (its reference placed before it);
    False when the point is not shown in that frame."""
    tau = j / (n + 1.0)
    r = ref[k]
    if kind[k] == 1:
        w = _timing(tau, alpha[k, 0, 0], alpha[k, 1, 0])
        if turn[k]:
            ang = theta[k] + w * dtheta[k]
            length = la[k] + _timing(tau, alpha[k, 0, 1], alpha[k, 1, 1]) * (lb[k] - la[k])
            pos[k, 0] = pos[r, 0] + length * np.cos(ang)
            pos[k, 1] = pos[r, 1] + length * np.sin(ang)
        elif r >= 0:
            for c in range(2):
                off_a = pa[k, c] - pa[r, c]
                pos[k, c] = pos[r, c] + off_a + w * (pb[k, c] - pb[r, c] - off_a)
        else:
            for c in range(2):
                pos[k, c] = pa[k, c] + w * (pb[k, c] - pa[k, c])
        return True
    if kind[k] == 2 and 2 * j < n + 1:
        for c in range(2):
            pos[k, c] = pa[k, c] if r < 0 else pos[r, c] + pa[k, c] - pa[r, c]
        return True
    if kind[k] == 3 and 2 * j > n + 1:
        for c in range(2):
            pos[k, c] = pb[k, c] if r < 0 else pos[r, c] + pb[k, c] - pb[r, c]
        return True
    return False


@njit(cache=True, nogil=True)
def smooth_transition_frames(a, b, va, vb, n, aspect, parent, mode, order, point_group, hidden,
                             p, q, vp, vq, gap):
    """Last frame a (K, 3) of one sign, first frame b (K, 3) of the next, validity va, vb (K,) ->
    (n, K, 3) float32 transition frames; parent, mode, order: smooth_forest's tables, point_group:
    the layout's, hidden: points never shown (knees, ankles). p is the frame before a
    and q the frame after b (validity vp, vq), `gap` output frames away: each link leaves a and
    reaches b at the velocity it has there (pass p = a, q = b for transitions from and to rest)."""
    K = a.shape[0]
    pa, pb, kind, ref, turn, theta, dtheta, la, lb, alpha = _plan(a, b, va, vb, n, aspect, parent, mode,
                                                                  p, q, vp, vq, gap)
    hide = np.zeros(K, dtype=np.bool_)
    for i in range(hidden.shape[0]):
        hide[hidden[i]] = True
    out = np.empty((n, K, 3), dtype=np.float32)
    pos = np.empty((K, 2))
    for j in range(1, n + 1):
        s = _minimum_jerk(j / (n + 1.0))
        for i in range(K):
            k = order[i]
            shown = _place(j, n, k, pa, pb, kind, ref, turn, theta, dtheta, la, lb, alpha, pos)
            if shown:
                if kind[k] == 1:
                    out[j - 1, k, 2] = a[k, 2] + s * (np.float64(b[k, 2]) - a[k, 2])
                else:
                    out[j - 1, k, 2] = a[k, 2] if kind[k] == 2 else b[k, 2]
            if shown and not hide[k]:
                out[j - 1, k, 0] = pos[k, 0] / aspect
                out[j - 1, k, 1] = pos[k, 1]
            elif point_group[k] < 0:
                out[j - 1, k, 0] = -1.0
                out[j - 1, k, 1] = -1.0
                out[j - 1, k, 2] = 0.0
            else:
                out[j - 1, k, 0] = 0.0
                out[j - 1, k, 1] = 0.0
                out[j - 1, k, 2] = 0.0
    return out


@njit(cache=True, nogil=True)
def bound_step_maxima(a, b, va, vb, n, aspect, parent, mode, order, points, p, q, vp, vq, gap):
    """The largest step of each of `points` along a -> the n transition frames -> b, (P,) float64,
    as step_table measures the frames smooth_transition_frames returns (positions rounded to float32,
    steps where the point is present, flag > 0, in both frames), without making those frames: only
    `order` (the points and their ancestors, parents first) is placed. For transition_length's search."""
    K = a.shape[0]
    P = points.shape[0]
    pa, pb, kind, ref, turn, theta, dtheta, la, lb, alpha = _plan(a, b, va, vb, n, aspect, parent, mode,
                                                                  p, q, vp, vq, gap)
    pos = np.empty((K, 2))
    shown = np.zeros(K, dtype=np.bool_)
    best = np.zeros(P)
    last = np.empty((P, 2))
    seen = np.zeros(P, dtype=np.bool_)
    for i in range(P):
        k = points[i]
        seen[i] = a[k, 2] > 0
        last[i, 0] = np.float64(a[k, 0]) * aspect
        last[i, 1] = np.float64(a[k, 1])
    for j in range(1, n + 2):
        s = _minimum_jerk(j / (n + 1.0))
        if j <= n:
            for i in range(order.shape[0]):
                k = order[i]
                shown[k] = _place(j, n, k, pa, pb, kind, ref, turn, theta, dtheta, la, lb, alpha, pos)
        for i in range(P):
            k = points[i]
            if j > n:                           # frame b
                present = b[k, 2] > 0
                x, y = np.float64(b[k, 0]) * aspect, np.float64(b[k, 1])
            else:                               # as the frame would hold it: float32, flag > 0
                flag = a[k, 2] + s * (np.float64(b[k, 2]) - a[k, 2]) if kind[k] == 1 else (
                    a[k, 2] if kind[k] == 2 else b[k, 2])
                present = shown[k] and np.float32(flag) > 0
                x, y = np.float64(np.float32(pos[k, 0] / aspect)) * aspect, np.float64(np.float32(pos[k, 1]))
            if present and seen[i]:
                step = np.hypot(x - last[i, 0], y - last[i, 1])
                if step > best[i]:
                    best[i] = step
            seen[i] = present
            last[i, 0] = x
            last[i, 1] = y
    return best


def smooth_transition(a: np.ndarray, b: np.ndarray, n: int, aspect: float = 1.0, before: np.ndarray | None = None,
                      after: np.ndarray | None = None, gap: int = 1) -> np.ndarray:
    """n (n, K, 3) float32 frames from packed frame a (K, 3) to b, endpoints excluded; aspect = W / H.
    `before` (the frame `gap` frames before a) and `after` (the frame `gap` frames after b) give the
    motion to continue from and into; without them the transition starts and ends at rest."""
    ends, v = end_frames(a, b, before, after, gap)
    return smooth_transition_frames(ends[1], ends[2], v[1], v[2], int(n), check_aspect(aspect),
                                    PARENT, MODE, ORDER, L.POINT_GROUP, L.KNEES_AND_ANKLES,
                                    ends[0], ends[3], v[0], v[3], float(gap))


# --------------------------------------------------------------------------- NumPy reference

def _links_reference(va: np.ndarray, vb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kind and ref for every point, walking all points up the forest together."""
    kind = np.select([va & vb, va, vb], [1, 2, 3], 0)
    need_a, need_b = np.isin(kind, (1, 2)), np.isin(kind, (1, 3))
    ref = np.where(kind > 0, PARENT, -1)
    while True:
        q = np.maximum(ref, 0)
        climb = (ref >= 0) & ~((va[q] | ~need_a) & (vb[q] | ~need_b))
        if not climb.any():
            return kind, ref
        ref[climb] = PARENT[ref[climb]]


def smooth_transition_reference(a: np.ndarray, b: np.ndarray, n: int, aspect: float = 1.0,
                                before: np.ndarray | None = None, after: np.ndarray | None = None,
                                gap: int = 1) -> np.ndarray:
    """The same transition computed one forest level at a time, vectorized over frames."""
    ends, (vp, va, vb, vq) = end_frames(a, b, before, after, gap)
    kind, ref = _links_reference(va, vb)
    scale = np.array([aspect, 1.0])
    pp, pa, pb, pq = ends[..., :2].astype(np.float64) * scale
    j = np.arange(1, n + 1)
    tau = j / (n + 1.0)
    s = (10 * tau**3 - 15 * tau**4 + 6 * tau**5)[:, None, None]
    h1 = (tau - 6 * tau**3 + 8 * tau**4 - 3 * tau**5)[:, None]
    h4 = (-4 * tau**3 + 7 * tau**4 - 3 * tau**5)[:, None]
    r = np.maximum(ref, 0)
    rooted = (ref >= 0)[:, None]
    off_p, off_a, off_b, off_q = (np.where(rooted, x - x[r], x) for x in (pp, pa, pb, pq))  # roots: positions
    use_p = (kind == 1) & vp & ((ref < 0) | vp[r])
    use_q = (kind == 1) & vq & ((ref < 0) | vq[r])
    lp, la, lb, lq = (np.hypot(*x.T) for x in (off_p, off_a, off_b, off_q))
    turn = (kind == 1) & (ref >= 0) & (MODE == BONE) & (la > BONE_EPS) & (lb > BONE_EPS)
    th_p, th_a, th_b, th_q = (np.arctan2(x[:, 1], x[:, 0]) for x in (off_p, off_a, off_b, off_q))
    wrap = lambda d: (d + np.pi) % (2 * np.pi) - np.pi                                   # noqa: E731
    dth = wrap(th_b - th_a)
    frames = n + 1.0

    def alpha(speed, distance, use):        # an end's speed as a share of the mean, clamped to [0, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.clip(speed * frames / distance, 0.0, 1.0)
        return np.where(use & (distance > BONE_EPS), share, 0.0)

    def timing(alpha0, alpha1):             # (n, K): s + α0·h1 + α1·h4
        return s[..., 0] + alpha0 * h1 + alpha1 * h4

    # turning bones: the angle and the length, each timed by its own end speeds
    sign_t, sign_l = np.where(dth >= 0, 1.0, -1.0), np.where(lb >= la, 1.0, -1.0)
    w_ang = timing(alpha(sign_t * wrap(th_a - th_p) / gap, np.abs(dth), turn & use_p & (lp > BONE_EPS)),
                   alpha(sign_t * wrap(th_q - th_b) / gap, np.abs(dth), turn & use_q & (lq > BONE_EPS)))
    w_len = timing(alpha(sign_l * (la - lp) / gap, np.abs(lb - la), turn & use_p & (lp > BONE_EPS)),
                   alpha(sign_l * (lq - lb) / gap, np.abs(lb - la), turn & use_q & (lq > BONE_EPS)))
    # everything else: the offset (or a root's position) along the straight way from a to b
    way = off_b - off_a
    dist = np.hypot(*way.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        along = lambda v: np.sum(v * way, axis=-1) / dist                                # noqa: E731
        w_off = timing(alpha(along(off_a - off_p) / gap, dist, ~turn & use_p),
                       alpha(along(off_q - off_b) / gap, dist, ~turn & use_q))
    ang = th_a + w_ang * dth
    length = la + w_len * (lb - la)
    bone = length[..., None] * np.stack([np.cos(ang), np.sin(ang)], axis=-1)               # (n, K, 2)
    offset = np.where(turn[:, None], bone, off_a + w_off[..., None] * way)
    shown = (kind == 1) | ((kind == 2) & (2 * j < n + 1)[:, None]) | ((kind == 3) & (2 * j > n + 1)[:, None])
    fixed = np.where((kind == 3)[:, None], pb - pb[r], pa - pa[r])                        # one-sided offsets
    offset = np.where((kind == 1)[None, :, None], offset, fixed)
    alone = np.where((kind == 1)[None, :, None], offset, np.where((kind == 3)[:, None], pb, pa))
    pos = np.zeros((n, L.NUM_POINTS, 2))
    for level in (np.flatnonzero(DEPTH == d) for d in range(DEPTH.max() + 1)):
        has_ref = ref[level] >= 0
        riding = pos[:, np.maximum(ref[level], 0)] + offset[:, level]
        pos[:, level] = np.where(has_ref[None, :, None], riding, alone[:, level])
    blend = ends[1, :, 2] + s[..., 0] * (ends[2, :, 2].astype(np.float64) - ends[1, :, 2])
    c2 = np.where(kind == 3, ends[2, :, 2], np.where(kind == 2, ends[1, :, 2], blend))
    shown[:, L.KNEES_AND_ANKLES] = False
    out = np.concatenate([pos / scale, np.broadcast_to(c2, (n, L.NUM_POINTS))[..., None]], axis=-1)
    marker = np.where((L.POINT_GROUP < 0)[:, None], [-1.0, -1.0, 0.0], 0.0)
    return np.where(shown[..., None], out, marker).astype(np.float32)
