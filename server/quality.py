"""Motion quality of one synthesized sentence (issue 7): bone lengths, transition steps, jerk, hands, checks.

Input is what `normalized_keypoints.npz` holds: frames (N, K, 3) in the packed layout, kinds (N,)
FrameKind, sign_ids (N,), the canvas width and height and the frame rate. All distances are in canvas
pixels (x·W, y·H), so a bone is as long whichever way it points; a point counts only where it is valid
(kernels/layout.py's rules) and finite.

Definitions
- sign frames: SIGN and INSERTED frames (a sign's own frames); transition frames: TRANSITION.
- junction: where sign i meets sign i+1. Its span runs from the last frame of sign i to the first
  frame of sign i+1, both included, over the transition frames between them; with no transition
  frames it is the single step between the two signs (found where sign_ids change; a sign followed
  by itself without transition frames cannot be told apart and counts as one sign).
- step of a point: its frame-to-frame distance, where it is valid in both frames. In-sign steps join
  two sign frames of the same sign; junction steps lie inside a junction's span (so they include the
  step into the first and out of the last transition frame).
- bone-length CV: std / mean of a bone's length over the frames that show both its ends; arms
  (upper arm, forearm per side), shoulders (neck to shoulder) and, per hand, the median and maximum
  over its 20 bones. Reported over sign frames and over all frames.
- transition step ratio of a body joint: its largest junction step divided by the 95th percentile of
  its in-sign steps over the whole sentence, the latter floored at MIN_MOTION_PX: a joint that hardly
  moves while signing (hips, shoulders) is held to junction steps of about a pixel rather than to a
  ratio over a near-zero percentile. Undefined (None) when the joint has no in-sign or junction step.
  Three references for the wrists: worst_wrist (each wrist over its own in-sign p95 across the
  sentence), worst_wrist_adjacent (either wrist over the p95 of both wrists' in-sign steps in the two
  signs the junction joins) and worst_wrist_pooled (over both wrists' in-sign p95 across the
  sentence). The done-when figure (issue 7) is worst_wrist_adjacent, the one a stream can honour:
  the `smooth` transition (server/pipeline.py `reference_steps`) holds each wrist and elbow to the
  smallest of its own and its pair's pooled p95, in the two signs joined and over the signs shown so
  far, so it is bounded by construction. The sentence-wide figures are reported, not bounded: a stream
  cannot know the signs still to come, and a later, slower sign lowers the sentence's p95 after the
  transition was made.
- jerk: |third difference of a wrist's position| · fps³ in px/s³ over four consecutive frames where
  the wrist is valid; "sign" windows have only in-sign steps, "transition" windows touch a junction.
- missing hand: a frame in which none of the hand's 21 (flagged) points is valid.
- checks, each a count that should be 0:
  non_finite_values  NaN or ±inf anywhere in the keypoints;
  appeared           (frame, point) pairs where a point missing at both ends of a junction (the span's
                     first and last frame) is valid in a transition frame of it: a missing point drawn
                     (MediaPipe points by their part's presence; knees and ankles too);
  knees_ankles       knees or ankles valid in a transition frame (both transition kernels hide them);
  out_of_range       valid flagged points outside SANE_RANGE on either axis (a wild point; a hand may
                     leave the canvas a little, not by half a canvas);
  missing_drawn_frames  frames with any `appeared` or `knees_ankles` point.
  Sign frames are not checked for appearing points: kernels never change a point's validity there
  (their parity tests hold that), and the results file does not carry the source clip to compare.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from signstream.kernels import layout as L
from signstream.kernels.skeleton import ARM_BONES, BODY_NAMES, HAND_EDGES, SHOULDER_BONES, length_cv
from signstream.pipeline import FrameKind

HANDS = {"left_hand": L.LEFT_HAND, "right_hand": L.RIGHT_HAND}
WRISTS = {"r_wrist": L.R_WRIST, "l_wrist": L.L_WRIST}
MIN_MOTION_PX = 1.0           # floor of the in-sign p95 step that transition steps are divided by
SANE_RANGE = (-0.5, 1.5)      # normalized coordinates a valid flagged point may take
FLAGGED = np.arange(L.BODY.start, L.FACE.stop)


@dataclass(frozen=True)
class Junction:
    """Where sign `index` meets sign `index + 1`: frames first..last (both included) of the sentence."""

    index: int
    from_sign: str
    to_sign: str
    first: int
    last: int
    transition_frames: int


@dataclass(frozen=True)
class SentenceQuality:
    """Every figure of one sentence (see the module docstring); `to_dict()` is JSON-ready."""

    frames: int
    signs: list[str]
    fps: float
    width: int
    height: int
    arm_cv: dict            # {"sign_frames": worst arm bone CV, "all_frames": ...}
    bone_cv: dict           # {"sign_frames": {bone: cv, hand: {median, max}}, "all_frames": {...}}
    worst_wrist: dict       # the largest wrist ratio: junction, joint, step_px, p95_px, ratio
    worst_wrist_adjacent: dict  # the same against both wrists' p95 in the two signs each junction joins
    worst_wrist_pooled: dict    # the same against both wrists' in-sign p95 over the whole sentence
    worst_joint: dict       # the same over all body joints with a defined ratio
    joints: dict            # per body joint: p95_px (in-sign), max_junction_step_px, ratio
    junctions: list[dict]   # per junction: signs, frames, each wrist's largest step and ratio
    jerk: dict              # {"sign": {mean, p95, samples}, "transition": {...}} px/s³
    missing_hands: dict     # {"all_frames" | "sign_frames" | "transition_frames": {left, right, either}}
    checks: dict            # counts that should be 0, and "ok"

    def to_dict(self) -> dict:
        return json_ready(asdict(self))


def json_ready(value):
    """Nested dicts/lists with NumPy scalars and NaN -> plain Python with None for NaN or ±inf."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------- frame structure

def find_junctions(kinds: np.ndarray, sign_ids: np.ndarray) -> list[Junction]:
    """Each run of transition frames, and each change of sign_id between two sign frames, in order."""
    is_tr = np.asarray(kinds) == FrameKind.TRANSITION
    n = is_tr.shape[0]
    found: list[Junction] = []
    i = 0
    while i < n:
        if is_tr[i]:
            j = i
            while j < n and is_tr[j]:
                j += 1
            first, last = max(i - 1, 0), min(j, n - 1)
            source = str(sign_ids[i - 1]) if i > 0 else ""
            found.append(Junction(len(found), source, str(sign_ids[i]), first, last, j - i))
            i = j
            continue
        if i > 0 and not is_tr[i - 1] and sign_ids[i] != sign_ids[i - 1]:
            found.append(Junction(len(found), str(sign_ids[i - 1]), str(sign_ids[i]), i - 1, i, 0))
        i += 1
    return found


def in_sign_steps(kinds: np.ndarray, sign_ids: np.ndarray) -> np.ndarray:
    """(N-1,) bool: step t -> t+1 joins two sign frames of the same sign."""
    own = np.asarray(kinds) != FrameKind.TRANSITION
    ids = np.asarray(sign_ids)
    return own[:-1] & own[1:] & (ids[:-1] == ids[1:])


def usable(frames: np.ndarray) -> np.ndarray:
    """(N, K) bool: valid by the layout's rules and with finite coordinates."""
    return L.validity(frames) & np.all(np.isfinite(frames[..., :2]), axis=-1)


def pixels(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, K, 3) normalized -> (N, K, 2) float64 canvas pixels."""
    return frames[..., :2].astype(np.float64) * np.array([width, height], dtype=np.float64)


def _nan_stat(values: np.ndarray, fn) -> float:
    """fn over the finite values, NaN when there are none."""
    v = values[np.isfinite(values)]
    return float(fn(v)) if v.size else float("nan")


# --------------------------------------------------------------------------- metrics

def bone_cv(xy: np.ndarray, valid: np.ndarray, rows: np.ndarray) -> dict:
    """CV of the arm and shoulder bones and hand summaries over the frames `rows` (bool (N,))."""
    xy, valid = xy[rows], valid[rows]
    out: dict = length_cv(xy, valid, {**ARM_BONES, **SHOULDER_BONES})
    for hand, part in HANDS.items():
        edges = {i: (part.start + p, part.start + c) for i, (p, c) in enumerate(HAND_EDGES)}
        cvs = np.array(list(length_cv(xy, valid, edges).values()))
        out[hand] = {"median": _nan_stat(cvs, np.median), "max": _nan_stat(cvs, np.max),
                     "bones": int(np.isfinite(cvs).sum())}
    return out


def joint_steps(xy: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(N-1, 18) float64: each body joint's step in pixels, NaN where it is missing at either end."""
    body = xy[:, L.BODY]
    ok = valid[:-1, L.BODY] & valid[1:, L.BODY]
    steps = np.linalg.norm(np.diff(body, axis=0), axis=-1)
    return np.where(ok, steps, np.nan)


def _p95(values: np.ndarray) -> float:
    return _nan_stat(values, lambda v: np.percentile(v, 95))


def junction_maxima(steps: np.ndarray, junctions: list[Junction]) -> np.ndarray:
    """(J, 18): each joint's largest step inside each junction's span, NaN where it has none."""
    largest = np.full((len(junctions), steps.shape[1]), np.nan)
    for row, jn in enumerate(junctions):
        span = steps[jn.first:jn.last]
        if span.size:
            seen = np.isfinite(span).any(axis=0)
            largest[row, seen] = np.nanmax(span[:, seen], axis=0)
    return largest


def adjacent_wrist_p95(steps: np.ndarray, own: np.ndarray, junctions: list[Junction]) -> np.ndarray:
    """(J,): p95 of both wrists' in-sign steps in the two signs a junction joins (the smooth kernel's
    own reference, kernels/transition_smooth.py `transition_length`)."""
    bounds = [0, *[b for jn in junctions for b in (jn.first, jn.last)], steps.shape[0]]
    segments = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]   # each sign's steps [a, b)
    wrists = list(WRISTS.values())
    out = np.full(len(junctions), np.nan)
    for k in range(len(junctions)):
        rows = np.array([t for a, b in segments[k:k + 2] for t in range(a, b) if own[t]], dtype=np.int64)
        out[k] = _p95(steps[rows][:, wrists].ravel())
    return out


def _worst(ratio: np.ndarray, largest: np.ndarray, p95: np.ndarray, junctions: list[Junction], joints) -> dict:
    """The junction and joint (among `joints`) with the largest defined ratio; ratio None if none.
    ratio, largest and p95 are (J, 18)."""
    best = {"ratio": float("nan"), "junction": None, "from": None, "to": None, "joint": None,
            "step_px": float("nan"), "p95_px": float("nan")}
    for r, jn in enumerate(junctions):
        for j in joints:
            if math.isfinite(ratio[r, j]) and not (math.isfinite(best["ratio"]) and ratio[r, j] <= best["ratio"]):
                best = {"ratio": ratio[r, j], "junction": jn.index, "from": jn.from_sign, "to": jn.to_sign,
                        "joint": BODY_NAMES[j], "step_px": largest[r, j], "p95_px": p95[r, j]}
    return best


def transition_steps(steps: np.ndarray, own: np.ndarray, junctions: list[Junction]) -> dict:
    """From the joint steps (N-1, 18): per-joint figures, per-junction wrist rows and the worst ratios
    (per joint against its own sentence-wide p95; wrists also against the adjacent signs' pooled p95)."""
    p95 = np.array([_p95(steps[own, j]) for j in range(steps.shape[1])])
    largest = junction_maxima(steps, junctions)
    own_p95 = np.broadcast_to(p95, largest.shape)
    ratio = largest / np.maximum(own_p95, MIN_MOTION_PX)       # NaN stays NaN (np.maximum propagates it)
    pooled_p95 = np.broadcast_to(adjacent_wrist_p95(steps, own, junctions)[:, None], largest.shape)
    pooled = largest / np.maximum(pooled_p95, MIN_MOTION_PX)
    wrists = list(WRISTS.values())
    sentence_p95 = np.full(largest.shape, _p95(steps[own][:, wrists].ravel()) if own.any() else np.nan)
    sentence = largest / np.maximum(sentence_p95, MIN_MOTION_PX)
    joints = {name: {"p95_px": p95[j], "max_junction_step_px": _nan_stat(largest[:, j], np.max),
                     "ratio": _nan_stat(ratio[:, j], np.max)} for j, name in enumerate(BODY_NAMES)}
    rows = [{"junction": jn.index, "from": jn.from_sign, "to": jn.to_sign, "transition_frames": jn.transition_frames,
             **{f"{w}_step_px": largest[r, j] for w, j in WRISTS.items()},
             **{f"{w}_ratio": ratio[r, j] for w, j in WRISTS.items()},
             "adjacent_wrist_p95_px": pooled_p95[r, 0] if len(junctions) else None,
             "adjacent_ratio": _nan_stat(pooled[r, wrists], np.max)} for r, jn in enumerate(junctions)]
    return {"joints": joints, "junctions": rows,
            "worst_wrist": _worst(ratio, largest, own_p95, junctions, wrists),
            "worst_wrist_adjacent": _worst(pooled, largest, pooled_p95, junctions, wrists),
            "worst_wrist_pooled": _worst(sentence, largest, sentence_p95, junctions, wrists),
            "worst_joint": _worst(ratio, largest, own_p95, junctions, range(steps.shape[1]))}


def jerk(xy: np.ndarray, valid: np.ndarray, own: np.ndarray, fps: float) -> dict:
    """Wrist jerk in px/s³, both wrists pooled: mean and p95 over sign and over transition windows."""
    sign_w = own[:-2] & own[1:-1] & own[2:]                 # window t..t+3 uses steps t, t+1, t+2
    pooled = {"sign": [], "transition": []}
    for w in WRISTS.values():
        ok = valid[:-3, w] & valid[1:-2, w] & valid[2:-1, w] & valid[3:, w]
        mag = np.linalg.norm(np.diff(xy[:, w], n=3, axis=0), axis=-1) * fps ** 3
        pooled["sign"].append(mag[ok & sign_w])
        pooled["transition"].append(mag[ok & ~sign_w])
    out = {}
    for where, parts in pooled.items():
        v = np.concatenate(parts) if parts else np.zeros(0)
        out[where] = {"mean": _nan_stat(v, np.mean), "p95": _nan_stat(v, lambda a: np.percentile(a, 95)),
                      "samples": int(v.size)}
    return out


def missing_hands(valid: np.ndarray, kinds: np.ndarray) -> dict:
    """Share of frames without the left, the right, either hand: all, sign and transition frames."""
    left = ~valid[:, L.LEFT_HAND].any(axis=1)
    right = ~valid[:, L.RIGHT_HAND].any(axis=1)
    is_tr = np.asarray(kinds) == FrameKind.TRANSITION
    out = {}
    for where, rows in (("all_frames", np.ones_like(is_tr)), ("sign_frames", ~is_tr), ("transition_frames", is_tr)):
        n = int(rows.sum())
        share = (lambda m: float(m[rows].mean())) if n else (lambda m: float("nan"))
        out[where] = {"left": share(left), "right": share(right), "either": share(left | right), "frames": n}
    return out


def checks(frames: np.ndarray, valid: np.ndarray, kinds: np.ndarray, junctions: list[Junction]) -> dict:
    """The counts of the module docstring's checks, and ok = all of them 0."""
    is_tr = np.asarray(kinds) == FrameKind.TRANSITION
    appeared = np.zeros(frames.shape[0], dtype=np.int64)
    for jn in junctions:
        gone = ~valid[jn.first] & ~valid[jn.last]
        inside = np.arange(jn.first, jn.last + 1)
        inside = inside[is_tr[inside]]
        appeared[inside] = (valid[inside] & gone).sum(axis=1)
    knees = np.zeros(frames.shape[0], dtype=np.int64)
    knees[is_tr] = valid[is_tr][:, L.KNEES_AND_ANKLES].sum(axis=1)
    xy = frames[:, FLAGGED, :2]
    low, high = SANE_RANGE
    with np.errstate(invalid="ignore"):
        wild = valid[:, FLAGGED] & np.any((xy < low) | (xy > high), axis=-1)
    out = {"non_finite_values": int((~np.isfinite(frames)).sum()), "appeared": int(appeared.sum()),
           "knees_ankles": int(knees.sum()), "out_of_range": int(wild.sum()),
           "missing_drawn_frames": int(((appeared + knees) > 0).sum())}
    out["ok"] = not any(out.values())
    return out


# --------------------------------------------------------------------------- entry points

def assess(frames: np.ndarray, kinds: np.ndarray, sign_ids: np.ndarray, width: int, height: int,
           fps: float) -> SentenceQuality:
    """Every figure of one sentence: frames (N, K, 3), kinds (N,), sign_ids (N,), canvas W×H, fps."""
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[1:] != (L.NUM_POINTS, 3) or frames.shape[0] == 0:
        raise ValueError(f"keypoints must have shape (N>0, {L.NUM_POINTS}, 3), got {frames.shape}")
    kinds, sign_ids = np.asarray(kinds), np.asarray(sign_ids).astype(str)
    if kinds.shape != (frames.shape[0],) or sign_ids.shape != (frames.shape[0],):
        raise ValueError(f"kinds {kinds.shape} and sign_ids {sign_ids.shape} must have one entry per frame "
                         f"({frames.shape[0]})")
    if not (width > 0 and height > 0 and fps > 0):
        raise ValueError(f"width, height and fps must be positive, got {width}, {height}, {fps}")
    valid = usable(frames)
    xy = pixels(frames, width, height)
    own = in_sign_steps(kinds, sign_ids)
    junctions = find_junctions(kinds, sign_ids)
    is_sign = kinds != FrameKind.TRANSITION
    cvs = {"sign_frames": bone_cv(xy, valid, is_sign), "all_frames": bone_cv(xy, valid, np.ones_like(is_sign))}
    arm = {where: _nan_stat(np.array([c[b] for b in ARM_BONES]), np.max) for where, c in cvs.items()}
    moves = transition_steps(joint_steps(xy, valid), own, junctions)
    signs = [str(s) for k, s in enumerate(sign_ids) if k == 0 or s != sign_ids[k - 1]]
    return SentenceQuality(
        frames=int(frames.shape[0]), signs=signs, fps=float(fps), width=int(width), height=int(height),
        arm_cv=arm, bone_cv=cvs, worst_wrist=moves["worst_wrist"], worst_wrist_adjacent=moves["worst_wrist_adjacent"],
        worst_wrist_pooled=moves["worst_wrist_pooled"],
        worst_joint=moves["worst_joint"], joints=moves["joints"], junctions=moves["junctions"],
        jerk=jerk(xy, valid, own, fps), missing_hands=missing_hands(valid, kinds),
        checks=checks(frames, valid, kinds, junctions))


def assess_results(data: dict) -> SentenceQuality:
    """assess() over what `signstream.results.load_results_npz` returns."""
    return assess(data["keypoints"], data["kinds"], data["sign_ids"], int(data["width"]), int(data["height"]),
                  float(data["fps"]))
