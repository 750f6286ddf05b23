"""Normalization method `retarget`: the source motion's bone directions on the style character's bones.

Every point of the packed layout hangs in one tree rooted at the body's neck (`_build_tree`, from the
topology in kernels/skeleton.py):

    body        OpenPose-18 bones from the neck (shoulders, elbows, wrists; hips, knees, ankles; nose,
                eyes, ears), each taking the style's length along the source's direction
    hands       the 21-point tree from the wrist; the hand's wrist hangs on the body's wrist by a bone of
                length 0, so hands stay attached to the retargeted arms
    face        iBUG-68 and the MediaPipe face mesh hang on the nose tip (face 30), which hangs on the body's
                nose: offsets from it scaled per axis by S = style face width / length over the clip's
                largest (the most frontal view; `signmail` measures the face length alike), so the face keeps
                its source shape and expression, sized to the style's face
    pose_mp     the 17 points that have an OpenPose twin follow the same bones; the others (eye corners,
    hands_mp    mouth, pose hand and foot points) keep their offset from their parent scaled by s; the
                MediaPipe hands are trees like the hands. So every MediaPipe point stays on the retargeted
                figure; z is relative depth in MediaPipe's own units and is never changed.

All lengths are measured in canvas-height units (x multiplied by the canvas aspect W/H), so a bone is
as long in pixels whichever way it points. The clip is taken to be framed like the canvas (lexicon clips
do not record their frame size; `signmail` makes the same assumption by working in [0, 1] units).

Per clip (one sign):
  s       = Σ style length / Σ mean source length over the body bones the clip shows (1 if none).
  root    = the neck: the first frame's neck lands on the style neck (x, y); later frames keep the source
            neck's motion relative to that first frame, scaled by s (leaning and shifting stay; a sentence
            still starts every sign at the style neck, as `signmail` does). A frame without a neck borrows
            the nearest frame's (a clip without any uses the centroid of its valid points).
Per frame, parents before children, a valid point whose parent is valid is placed by its link:
  bone    child = parent + unit(child_src − parent_src) · style length   (a zero-length source bone: parent)
  offset  child = parent + S ⊙ (child_src − parent_src)   (face; s for the MediaPipe extras)
A valid point whose parent is missing keeps its source offset from its nearest valid ancestor (the neck,
virtual if missing, at worst), scaled by Σ style / Σ source lengths of the bones on that path (the
clip's mean source lengths; a bone the clip never shows counts as style length / s). Missing points are
never touched: channel 2 and the coordinates of a missing point are carried unchanged.

Float64 arithmetic, float32 out. The numba kernel has a plain NumPy reference beside it; tests hold them
to 1e-5.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import layout as L
from .layout import validity
from .skeleton import (ARM_BONES, BODY_PARENT, HAND_PARENT, IBUG68_NOSE_TIP, MP_POSE_EXTRA_PARENT,
                       MP_POSE_TO_OPENPOSE, length_cv)

ROOT, BONE, FACE_OFFSET, BODY_OFFSET = 0, 1, 2, 3
_EPS = 1e-6
FACE_ANCHOR = IBUG68_NOSE_TIP            # the face hangs on the nose tip


def _build_tree() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(parent, kind, slot, order), each over the K packed points. slot indexes the style lengths
    concatenated as [body (18), hand (21)], -1 for a link without one; order lists parents first."""
    K = L.NUM_POINTS
    parent, kind, slot = np.full(K, -1, np.int64), np.full(K, ROOT, np.int64), np.full(K, -1, np.int64)

    def link(k: int, p: int, how: int, s: int = -1) -> None:
        parent[k], kind[k], slot[k] = p, how, s

    b, pmp, f30 = L.BODY.start, L.POSE_MP.start, L.FACE.start + FACE_ANCHOR
    for j, p in enumerate(BODY_PARENT):
        if p >= 0:
            link(b + j, b + p, BONE, j)
    for part, wrist in ((L.LEFT_HAND, L.L_WRIST), (L.RIGHT_HAND, L.R_WRIST),
                        (L.LEFT_HAND_MP, L.L_WRIST), (L.RIGHT_HAND_MP, L.R_WRIST)):
        link(part.start, b + wrist, BONE)                            # length 0: on the body's wrist
        for i in range(1, 21):
            link(part.start + i, part.start + HAND_PARENT[i], BONE, 18 + i)
    link(f30, b + L.NOSE, FACE_OFFSET)
    for k in [*range(L.FACE.start, L.FACE.stop), *range(L.FACE_MP.start, L.FACE_MP.stop)]:
        if k != f30:
            link(k, f30, FACE_OFFSET)
    for j, src in enumerate(MP_POSE_TO_OPENPOSE):
        if src >= 0:
            p = BODY_PARENT[j]
            link(pmp + src, b + L.NECK if p == L.NECK else pmp + MP_POSE_TO_OPENPOSE[p], BONE, j)
    for i, p in MP_POSE_EXTRA_PARENT.items():
        link(pmp + i, pmp + p, BODY_OFFSET)

    order, frontier = [], [b + L.NECK]
    while frontier:
        order.extend(frontier)
        frontier = [int(k) for k in np.flatnonzero(np.isin(parent, frontier))]
    assert len(order) == K and np.sum(parent < 0) == 1, "every point hangs in one tree"
    return parent, kind, slot, np.array(order, dtype=np.int64)


PARENT, KIND, SLOT, ORDER = _build_tree()
BODY_LINK = (np.arange(L.NUM_POINTS) < L.BODY.stop) & (KIND == BONE)   # the bones that set s
# neck, then the face landmarks: width |f0 - f16|, length between mean(f0, f16) and mean(f4, f12).
LANDMARKS = np.array([L.NECK, *L.FACE_TOP, *L.FACE_BOTTOM], dtype=np.int64)


def link_lengths(body: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """Style bone lengths body (18,) and hand (21,) -> the style length of every point's link (K,)."""
    table = np.concatenate([np.asarray(body, np.float64), np.asarray(hand, np.float64), [0.0]])
    return table[SLOT]                 # slot -1 picks the trailing 0


# --------------------------------------------------------------------------- numba kernel

@njit(cache=True, nogil=True)
def _to_metric(frames, aspect):
    """(T, K, 3) float32 -> (T, K, 2) float64 in canvas-height units (x · W/H)."""
    T, K, _ = frames.shape
    m = np.empty((T, K, 2))
    for t in range(T):
        for k in range(K):
            m[t, k, 0] = frames[t, k, 0] * aspect
            m[t, k, 1] = frames[t, k, 1]
    return m


@njit(cache=True, nogil=True)
def _bone_stats(m, valid, parent, kind):
    """Mean source length (K,) of each bone over the frames showing both ends, and how many (K,)."""
    T, K, _ = m.shape
    mean = np.zeros(K)
    count = np.zeros(K, dtype=np.int64)
    for k in range(K):
        p = parent[k]
        if p < 0 or kind[k] != BONE:
            continue
        for t in range(T):
            if valid[t, k] and valid[t, p]:
                mean[k] += np.sqrt((m[t, k, 0] - m[t, p, 0]) ** 2 + (m[t, k, 1] - m[t, p, 1]) ** 2)
                count[k] += 1
        if count[k] > 0:
            mean[k] /= count[k]
    return mean, count


@njit(cache=True, nogil=True)
def _clip_scale(lengths, mean, count, body_link):
    """s: style over source length of the body bones the clip shows; 1 when it shows none."""
    num = 0.0
    den = 0.0
    for k in range(lengths.shape[0]):
        if body_link[k] and count[k] > 0:
            num += lengths[k]
            den += mean[k]
    return num / den if num > _EPS and den > _EPS else 1.0


@njit(cache=True, nogil=True)
def _path_sums(order, parent, kind, lengths, mean, count, s):
    """Style length, source length and number of bones from the root to each point (K,) x 3."""
    K = order.shape[0]
    style = np.zeros(K)
    source = np.zeros(K)
    bones = np.zeros(K, dtype=np.int64)
    for i in range(1, K):
        k = order[i]
        p = parent[k]
        style[k], source[k], bones[k] = style[p], source[p], bones[p]
        if kind[k] == BONE:
            style[k] += lengths[k]
            source[k] += mean[k] if count[k] > 0 else lengths[k] / s
            bones[k] += 1
    return style, source, bones


@njit(cache=True, nogil=True)
def _face_scale(m, valid, landmarks, face_size, s):
    """S = (style face width / largest source width, style face length / largest source length);
    an axis the clip (or the style) cannot measure takes s."""
    f0, f16, f4, f12 = landmarks[1], landmarks[2], landmarks[3], landmarks[4]
    width = 0.0
    length = 0.0
    for t in range(m.shape[0]):
        if valid[t, f0] and valid[t, f16]:
            width = max(width, abs(m[t, f0, 0] - m[t, f16, 0]))
            if valid[t, f4] and valid[t, f12]:
                length = max(length, abs(0.5 * (m[t, f0, 1] + m[t, f16, 1]) - 0.5 * (m[t, f4, 1] + m[t, f12, 1])))
    sx = face_size[0] / width if width > _EPS and face_size[0] > _EPS else s
    sy = face_size[1] / length if length > _EPS and face_size[1] > _EPS else s
    return sx, sy


@njit(cache=True, nogil=True)
def _root_track(m, valid, neck, target_x, target_y, s):
    """Source root (T, 2): the neck, else the nearest frame's neck (the earlier on a tie), else the
    centroid of all valid points; output root (T, 2): the target plus s times the root's motion since
    the first frame with a neck."""
    T, K, _ = m.shape
    src = np.zeros((T, 2))
    prev = np.full(T, -1, dtype=np.int64)
    nxt = np.full(T, -1, dtype=np.int64)
    for t in range(T):
        prev[t] = t if valid[t, neck] else (prev[t - 1] if t > 0 else -1)
    for t in range(T - 1, -1, -1):
        nxt[t] = t if valid[t, neck] else (nxt[t + 1] if t + 1 < T else -1)
    if nxt[0] < 0:                          # no neck in the whole clip
        n = 0
        for t in range(T):
            for k in range(K):
                if valid[t, k]:
                    src[0, 0] += m[t, k, 0]
                    src[0, 1] += m[t, k, 1]
                    n += 1
        if n > 0:
            src[0] /= n
        for t in range(1, T):
            src[t] = src[0]
    else:
        for t in range(T):
            donor = prev[t] if prev[t] >= 0 and (nxt[t] < 0 or t - prev[t] <= nxt[t] - t) else nxt[t]
            src[t, 0] = m[donor, neck, 0]
            src[t, 1] = m[donor, neck, 1]
    first = max(nxt[0], 0)
    out = np.empty((T, 2))
    for t in range(T):
        out[t, 0] = target_x + s * (src[t, 0] - src[first, 0])
        out[t, 1] = target_y + s * (src[t, 1] - src[first, 1])
    return src, out


@njit(cache=True, nogil=True)
def _place(m, valid, t, k, p, a, kind, lengths, path_style, path_source, path_bones, s, sx, sy, src_pos, out_pos):
    """Output position of valid point k in frame t, whose parent is p and nearest valid ancestor a."""
    dx = m[t, k, 0] - src_pos[a, 0]
    dy = m[t, k, 1] - src_pos[a, 1]
    direct = a == p and valid[t, a]           # the root may be virtual: then it is not a parent to measure from
    if direct and kind[k] == BONE:
        n = np.sqrt(dx * dx + dy * dy)
        if n <= _EPS:
            return out_pos[p, 0], out_pos[p, 1]
        return out_pos[p, 0] + dx / n * lengths[k], out_pos[p, 1] + dy / n * lengths[k]
    if not direct and path_bones[k] > path_bones[a]:
        den = path_source[k] - path_source[a]
        r = (path_style[k] - path_style[a]) / den if den > _EPS else s
        return out_pos[a, 0] + r * dx, out_pos[a, 1] + r * dy
    if kind[k] == FACE_OFFSET:
        return out_pos[a, 0] + sx * dx, out_pos[a, 1] + sy * dy
    return out_pos[a, 0] + s * dx, out_pos[a, 1] + s * dy


@njit(cache=True, nogil=True)
def retarget_frames(frames, valid, order, parent, kind, lengths, body_link, landmarks, neck_xy, face_size, aspect):
    """frames (T, K, 3) float32, valid bool (T, K), the tree (order, parent, kind: (K,) int64), style
    link lengths (K,) and body_link bool (K,), landmarks (5,) = LANDMARKS, style neck (2,) in [0, 1]
    units, style face (width, length) (2,), canvas aspect W/H -> retargeted (T, K, 3) float32."""
    T, K, _ = frames.shape
    m = _to_metric(frames, aspect)
    mean, count = _bone_stats(m, valid, parent, kind)
    s = _clip_scale(lengths, mean, count, body_link)
    path_style, path_source, path_bones = _path_sums(order, parent, kind, lengths, mean, count, s)
    sx, sy = _face_scale(m, valid, landmarks, face_size, s)
    root_src, root_out = _root_track(m, valid, landmarks[0], neck_xy[0] * aspect, neck_xy[1], s)
    out = frames.copy()
    root = order[0]
    anchor = np.empty(K, dtype=np.int64)
    src_pos = np.empty((K, 2))
    out_pos = np.empty((K, 2))
    for t in range(T):
        anchor[root] = root
        src_pos[root, 0], src_pos[root, 1] = root_src[t, 0], root_src[t, 1]
        out_pos[root, 0], out_pos[root, 1] = root_out[t, 0], root_out[t, 1]
        if valid[t, root]:
            out[t, root, 0] = root_out[t, 0] / aspect
            out[t, root, 1] = root_out[t, 1]
        for i in range(1, K):
            k = order[i]
            p = parent[k]
            if not valid[t, k]:
                anchor[k] = anchor[p]
                continue
            x, y = _place(m, valid, t, k, p, anchor[p], kind, lengths, path_style, path_source, path_bones,
                          s, sx, sy, src_pos, out_pos)
            anchor[k] = k
            src_pos[k, 0], src_pos[k, 1] = m[t, k, 0], m[t, k, 1]
            out_pos[k, 0], out_pos[k, 1] = x, y
            out[t, k, 0] = x / aspect
            out[t, k, 1] = y
    return out


def retarget_clip(frames: np.ndarray, lengths: np.ndarray, face_size: np.ndarray, neck_xy: np.ndarray,
                  aspect: float) -> np.ndarray:
    """Retarget one sign clip (T, K, 3) with the numba kernel; lengths (K,) from link_lengths."""
    return retarget_frames(frames, validity(frames), ORDER, PARENT, KIND, lengths, BODY_LINK, LANDMARKS,
                           np.asarray(neck_xy, np.float64), np.asarray(face_size, np.float64), float(aspect))


# --------------------------------------------------------------------------- NumPy reference

def _ratio_ref(num: float, den: float, fallback: float) -> float:
    return num / den if num > _EPS and den > _EPS else fallback


def retarget_reference(frames: np.ndarray, lengths: np.ndarray, face_size: np.ndarray, neck_xy: np.ndarray,
                       aspect: float) -> np.ndarray:
    """The module docstring step by step, vectorized over frames, one tree point at a time."""
    valid = L.validity_reference(frames)
    T = frames.shape[0]
    m = frames[..., :2].astype(np.float64)
    m[..., 0] *= aspect
    up = np.maximum(PARENT, 0)

    # clip statistics: mean source bone lengths, s, path sums, the face scale S
    shown = valid & valid[:, up] & (KIND == BONE)
    count = shown.sum(axis=0)
    bone = np.linalg.norm(m - m[:, up], axis=2)
    mean = np.where(count > 0, (bone * shown).sum(axis=0) / np.maximum(count, 1), 0.0)
    used = BODY_LINK & (count > 0)
    s = _ratio_ref(lengths[used].sum(), mean[used].sum(), 1.0)
    link_src = np.where(count > 0, mean, lengths / s)
    path_style, path_source, path_bones = np.zeros(L.NUM_POINTS), np.zeros(L.NUM_POINTS), np.zeros(L.NUM_POINTS, int)
    for k in ORDER[1:]:
        is_bone = KIND[k] == BONE
        path_style[k] = path_style[PARENT[k]] + (lengths[k] if is_bone else 0.0)
        path_source[k] = path_source[PARENT[k]] + (link_src[k] if is_bone else 0.0)
        path_bones[k] = path_bones[PARENT[k]] + is_bone
    neck, f0, f16, f4, f12 = LANDMARKS
    w_ok = valid[:, f0] & valid[:, f16]
    l_ok = w_ok & valid[:, f4] & valid[:, f12]
    widths = np.abs(m[:, f0, 0] - m[:, f16, 0])[w_ok]
    face_len = np.abs((m[:, f0, 1] + m[:, f16, 1]) / 2 - (m[:, f4, 1] + m[:, f12, 1]) / 2)[l_ok]
    S = np.array([_ratio_ref(face_size[0], widths.max() if widths.size else 0.0, s),
                  _ratio_ref(face_size[1], face_len.max() if face_len.size else 0.0, s)])

    # the root: the neck, else the nearest frame's (earlier on a tie), else the clip's centroid
    has = np.flatnonzero(valid[:, neck])
    if has.size:
        donor = has[np.argmin(np.abs(has[None, :] - np.arange(T)[:, None]), axis=1)]
        root_src = m[donor, neck]
        first = has[0]
    else:
        root_src = np.broadcast_to(m[valid].mean(axis=0) if valid.any() else np.zeros(2), (T, 2))
        first = 0
    root_out = np.array([neck_xy[0] * aspect, neck_xy[1]]) + s * (root_src - root_src[first])

    # the tree walk, parents first; anchor = nearest valid ancestor (the root counts, even if virtual)
    tt = np.arange(T)
    anchor = np.zeros((T, L.NUM_POINTS), dtype=np.int64)
    src_pos, out_pos = m.copy(), np.zeros_like(m)
    root = ORDER[0]
    anchor[:, root], src_pos[:, root], out_pos[:, root] = root, root_src, root_out
    for k in ORDER[1:]:
        p = PARENT[k]
        a = anchor[:, p]
        d = m[:, k] - src_pos[tt, a]
        offset_scale = S if KIND[k] == FACE_OFFSET else np.array([s, s])
        den = path_source[k] - path_source[a]
        r = np.where(den > _EPS, (path_style[k] - path_style[a]) / np.where(den > _EPS, den, 1.0), s)
        through = (path_bones[k] > path_bones[a])[:, None]
        pos = out_pos[tt, a] + np.where(through, r[:, None] * d, offset_scale * d)
        direct = (a == p) & valid[:, p]
        if KIND[k] == BONE:
            n = np.linalg.norm(d, axis=1, keepdims=True)
            along = np.where(n > _EPS, d / np.where(n > _EPS, n, 1.0) * lengths[k], 0.0)
            pos = np.where(direct[:, None], out_pos[:, p] + along, pos)
        else:
            pos = np.where(direct[:, None], out_pos[:, p] + offset_scale * d, pos)
        out_pos[:, k] = pos
        anchor[:, k] = np.where(valid[:, k], k, a)
    out_pos[:, root] = root_out

    out = frames.copy()
    placed = np.where(valid[..., None], out_pos / [aspect, 1.0], frames[..., :2])
    out[..., :2] = placed.astype(np.float32)
    return out


# --------------------------------------------------------------------------- measuring

def bone_length_cv(frames: np.ndarray, aspect: float = 1.0,
                   bones: dict[str, tuple[int, int]] = ARM_BONES) -> dict[str, float]:
    """skeleton.length_cv over a clip (T, K, 3): lengths in canvas-height units (x · aspect), points
    valid by the layout's rules; NaN for a bone no frame shows."""
    return length_cv(frames[..., :2].astype(np.float64) * [aspect, 1.0], validity(frames), bones)
