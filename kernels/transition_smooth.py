"""Smooth transitions between adjacent signs (issue 7 item 2; DESIGN §4.2 method `smooth`).

Three steps, each a numba kernel with a plain NumPy reference beside it (tests hold them to 1e-5,
bound_step_maxima to the bit):

1. `choose_join(tail, head)` picks where the signs meet. Candidates are frame `tail[-1 - cut_tail]`
   of sign i against frame `head[cut_head]` of sign i+1, both cuts in 0 .. window-1 (JOIN_WINDOW = 8),
   so hold and rest frames at the junction can be dropped. Metric: the mean Euclidean distance, in
   pixel-proportional units (x·W/H, y), over the body (without knees and ankles, which transitions
   never draw) and both hands' points valid in both frames. A pair with no common point cannot be
   compared and is skipped. Candidates are visited by total cut, then by cut_tail; one replaces the
   best so far only when it is closer by more than JOIN_TIE, so ties keep fewer trimmed frames and
   (0, 0) comes back when the junction is already the closest pair.
2. `smooth_transition(a, b, n, before=, after=, gap=)` draws n frames between frame a and frame b
   (endpoints excluded, τ_j = j / (n+1)). Timing, per channel (a bone's angle, its length, an
   offset or a root's position along its straight way): s(τ) + α₀·h₁(τ) + α₁·h₄(τ) (`_timing`), the
   quintic with end slopes α₀, α₁ (in units of the mean speed) and zero end accelerations; s =
   10τ³ − 15τ⁴ + 6τ⁵ is minimum jerk. α at each end is the speed the sign already has in that channel,
   towards b, from the frame `gap` frames before a (`before`) or after b (`after`), as a share of the
   transition's mean speed, clamped to [0, 1] (`_alpha`): motion towards the next sign carries on,
   motion away from it (or no neighbour frame) starts from rest, and for α in [0, 1] the timing is
   monotone, so the path is re-timed, never overshot. All points form one forest (`PARENT`, `MODE`):
   - body OpenPose-18 rooted at the neck, along DWPose's limbs; each hand's 21 points along its
     edges, its wrist hung on the body wrist (the hand rides on the arm instead of cutting its own
     straight path); these are BONE links: the bone's direction turns along the shorter arc (slerp
     of 2-D unit vectors) and its length moves linearly, then points are rebuilt from the root down,
     so bone lengths hold. The angular work is done in pixel-proportional space (x·aspect, y).
   - face iBUG-68 and the face mesh hang on the nose, MediaPipe pose points on their OpenPose
     counterparts (eyes, mouth on the face; fingers on the wrist; legs on the hip) and MediaPipe hands
     on the flagged hand point of the same index; these are OFFSET links: the point follows its
     anchor's path while its offset blends linearly, so a face turns with the head and keeps its shape.
   A link whose parent is missing at an end uses the nearest ancestor present at both ends; a point
   with none moves straight; a bone shorter than BONE_EPS at an end also blends along its offset
   (no direction to turn). Channel 2 (flag, MediaPipe z) moves linearly with s.
   A point present at one end only never sweeps: it is shown only in the half of the transition next
   to its valid end (2j < n+1 for end a, 2j > n+1 for end b; the middle frame of an odd n shows
   neither), fixed to its nearest ancestor present at that end with its end offset, so a hand that
   leaves keeps its wrist-relative pose and rides on the moving arm. Points missing at both ends stay
   missing; knees and ankles are missing in every transition frame, as in the linear kernel.

3. `transition_length(a, b, max_step, n_min, n_max)`: min-jerk speed peaks at 15/8 of its mean, so a
   fixed n makes far junctions move faster than signing does. This gives the fewest frames (>= n_min)
   that keep every step of each BOUND_POINTS point (wrists and elbows) <= its max_step; the pipeline
   derives those from the in-sign steps (`step_table`) of the signs around the junction
   (server/pipeline.py `reference_steps`). Candidate lengths are measured by `bound_step_maxima`,
   which places only those points and their ancestors and makes no frame.

Streaming: what a caller must hold back. S_i = sign i's normalized source frames (T_i), h_i = the
head cut chosen when S_i arrived (0 for the first sign), W = JOIN_WINDOW, t_i = tail_start(T_i, h_i):
- when S_i arrives, release S_i[h_i : t_i + 1] at once and withhold the rest, S_i[t_i + 1 :] (W − 1
  frames, fewer for a short sign): they may still be trimmed.
- when S_{i+1} arrives: (c_t, c_h) = choose_join(S_i[t_i:], S_{i+1}); release S_i[t_i + 1 : T_i − c_t],
  then smooth_transition(S_i[T_i − 1 − c_t], S_{i+1}[c_h], n) with before = the sign frame before the
  first and after = S_{i+1}[c_h + 1] (gap m + 1), then S_{i+1} from h_{i+1} = c_h as above.
- when the stream ends, or the next sign is late, release the withheld frames untrimmed (c_t = 0);
  a later sign joins the last frame released.
S_i[t_i] is never trimmed (cuts stay inside the window passed), so every sign keeps a frame and head
and tail cuts never overlap. Insert interpolation (§4.3) runs on the kept frames, so with m inserts
(W − 1)(m + 1) output frames wait for the next sign or the end of the stream (280 ms of video at
25 fps, m = 0). Output length: Σ (K_i + (K_i − 1)·m) + Σ n_j, K_i = T_i − h_i − c_t,i the frames
sign i keeps, n_j each transition's length (n, or transition_length's answer).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import layout as L
from .normalize import validity
from .skeleton import BODY_LIMBS, HAND_EDGES, MP_POSE_TO_OPENPOSE

JOIN_WINDOW = 8            # frames of each sign that choose_join may look at (and trim up to W - 1)
JOIN_TIE = 1e-6            # a candidate must be closer than the best by more than this to win
BONE_EPS = 1e-6            # bones shorter than this (pixel-proportional units) have no direction
BONE, OFFSET = 0, 1        # link kinds in MODE


# --------------------------------------------------------------------------- constant tables

def _pose_mp_anchors() -> dict[int, int]:
    """MediaPipe pose index -> OpenPose body point it rides on (legs on the hips: knees are hidden)."""
    anchors = {int(mp): op for op, mp in enumerate(MP_POSE_TO_OPENPOSE)
               if mp >= 0 and op not in L.KNEES_AND_ANKLES}
    extra = {1: L.L_EYE, 3: L.L_EYE, 4: L.R_EYE, 6: L.R_EYE, 9: L.NOSE, 10: L.NOSE}
    for mp in range(17, 33):
        left = mp % 2 == 1                     # MediaPipe: odd = subject's left
        if mp <= 22:
            extra[mp] = L.L_WRIST if left else L.R_WRIST
        else:
            extra[mp] = L.L_HIP if left else L.R_HIP
    anchors.update({k: v for k, v in extra.items() if k not in anchors})
    assert sorted(anchors) == list(range(33))
    return anchors


def _forest() -> tuple[np.ndarray, np.ndarray]:
    """PARENT (K,) int64 (-1 = root) and MODE (K,) int64 (BONE / OFFSET) for every packed point."""
    parent = np.full(L.NUM_POINTS, -1, dtype=np.int64)
    mode = np.full(L.NUM_POINTS, OFFSET, dtype=np.int64)
    for p, c in BODY_LIMBS:                    # DWPose's limbs run outwards from the neck
        parent[c], mode[c] = p, BONE
    for hand, wrist, hand_mp in ((L.LEFT_HAND, L.L_WRIST, L.LEFT_HAND_MP), (L.RIGHT_HAND, L.R_WRIST, L.RIGHT_HAND_MP)):
        parent[hand.start] = wrist
        for p, c in HAND_EDGES:
            parent[hand.start + c], mode[hand.start + c] = hand.start + p, BONE
        parent[hand_mp] = np.arange(hand.start, hand.stop)
    parent[L.FACE] = L.NOSE
    parent[L.FACE_MP] = L.NOSE
    for mp, op in _pose_mp_anchors().items():
        parent[L.POSE_MP.start + mp] = op
    return parent, mode


def _depths(parent: np.ndarray) -> np.ndarray:
    """(K,) int64: how many links lie between each point and its root."""
    depth = np.zeros(parent.shape[0], dtype=np.int64)
    q = parent.copy()
    while (q >= 0).any():
        depth += q >= 0
        q = np.where(q >= 0, parent[np.maximum(q, 0)], -1)
    return depth


PARENT, MODE = _forest()
DEPTH = _depths(PARENT)
ORDER = np.argsort(DEPTH, kind="stable").astype(np.int64)     # every parent before its children
WRISTS = np.array([L.R_WRIST, L.L_WRIST], dtype=np.int64)
# The points whose speed transition_length bounds, and their groups (rows of BOUND_POINTS): the wrists,
# and the elbows, whose bone directions turn on arcs that can carry them further than the wrists.
BOUND_POINTS = np.array([L.R_WRIST, L.L_WRIST, L.R_ELBOW, L.L_ELBOW], dtype=np.int64)
BOUND_GROUPS = ((0, 1), (2, 3))


def _with_ancestors(points: np.ndarray) -> np.ndarray:
    """`points` and every ancestor of theirs in the forest, parents first (ORDER's order)."""
    keep = np.zeros(PARENT.shape[0], dtype=bool)
    for k in points:
        while k >= 0:
            keep[k] = True
            k = PARENT[k]
    return ORDER[keep[ORDER]]
JOIN_POINTS = np.setdiff1d(np.arange(L.BODY.start, L.RIGHT_HAND.stop), L.KNEES_AND_ANKLES).astype(np.int64)


def tail_start(num_frames: int, head_cut: int, window: int = JOIN_WINDOW) -> int:
    """Index of the first tail-window frame of a sign whose first `head_cut` frames were trimmed:
    frames up to and including it can be released; the ones after it are withheld for choose_join."""
    return max(int(head_cut), int(num_frames) - int(window))


# --------------------------------------------------------------------------- numba kernels

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
    (n, K, 3) float32 transition frames; tables as in the module docstring. p is the frame before a
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


def _check_aspect(aspect: float) -> float:
    """aspect as a float, or ValueError: it divides x on the way back from pixel space."""
    aspect = float(aspect)
    if not (np.isfinite(aspect) and aspect > 0):
        raise ValueError(f"aspect (width / height) must be a positive number, got {aspect}")
    return aspect


def choose_join(tail: np.ndarray, head: np.ndarray, window: int = JOIN_WINDOW, aspect: float = 1.0) -> tuple[int, int]:
    """(cut_tail, cut_head): frames to drop from the end of `tail` (T1, K, 3) and the start of `head`
    (T2, K, 3) so that the two frames that meet are the closest pair within the last / first `window`."""
    if window < 1 or tail.shape[0] == 0 or head.shape[0] == 0:
        raise ValueError("choose_join needs a window of at least 1 and a frame on each side")
    tail = np.ascontiguousarray(tail[-window:], dtype=np.float32)
    head = np.ascontiguousarray(head[:window], dtype=np.float32)
    ct, ch = join_cuts(tail, head, validity(tail), validity(head), JOIN_POINTS, _check_aspect(aspect), JOIN_TIE)
    return int(ct), int(ch)


def _ends(a: np.ndarray, b: np.ndarray, before: np.ndarray | None, after: np.ndarray | None,
          gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(4, K, 3) float32 frames before, a, b, after (a for a missing `before`, b for `after`) and
    their validity; ValueError for a gap under one frame."""
    if gap < 1:
        raise ValueError(f"gap must be at least 1 frame, got {gap}")
    ends = np.ascontiguousarray(np.stack([a if before is None else before, a, b, b if after is None else after]),
                                dtype=np.float32)
    return ends, validity(ends)


def smooth_transition(a: np.ndarray, b: np.ndarray, n: int, aspect: float = 1.0, before: np.ndarray | None = None,
                      after: np.ndarray | None = None, gap: int = 1) -> np.ndarray:
    """n (n, K, 3) float32 frames from packed frame a (K, 3) to b, endpoints excluded; aspect = W / H.
    `before` (the frame `gap` frames before a) and `after` (the frame `gap` frames after b) give the
    motion to continue from and into; without them the transition starts and ends at rest."""
    ends, v = _ends(a, b, before, after, gap)
    return smooth_transition_frames(ends[1], ends[2], v[1], v[2], int(n), _check_aspect(aspect),
                                    PARENT, MODE, ORDER, L.POINT_GROUP, L.KNEES_AND_ANKLES,
                                    ends[0], ends[3], v[0], v[3], float(gap))


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
    ends, v = _ends(a, b, before, after, gap)
    return bound_step_maxima(ends[1], ends[2], v[1], v[2], int(n), _check_aspect(aspect), PARENT, MODE,
                             _with_ancestors(points), points, ends[0], ends[3], v[0], v[3], float(gap))


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


# --------------------------------------------------------------------------- NumPy references

def choose_join_reference(tail: np.ndarray, head: np.ndarray, window: int = JOIN_WINDOW,
                          aspect: float = 1.0) -> tuple[int, int]:
    """The distance table of every candidate at once, then the same visiting order and tie rule."""
    tail, head = tail[-window:], head[:window]
    back = tail[::-1][:, None, JOIN_POINTS, :2].astype(np.float64)          # back[ct] = tail[-1 - ct]
    diff = (back - head[None, :, JOIN_POINTS, :2]) * np.array([aspect, 1.0])
    both = L.validity(tail)[::-1][:, None, JOIN_POINTS] & L.validity(head)[None, :, JOIN_POINTS]
    count = both.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        dist = np.where(both, np.hypot(diff[..., 0], diff[..., 1]), 0.0).sum(axis=-1) / count
    candidates = sorted(np.ndindex(dist.shape), key=lambda c: (c[0] + c[1], c[0]))
    best, choice = np.inf, (0, 0)
    for c in candidates:
        if count[c] > 0 and dist[c] < best - JOIN_TIE:
            best, choice = dist[c], c
    return int(choice[0]), int(choice[1])


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
    ends, (vp, va, vb, vq) = _ends(a, b, before, after, gap)
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
