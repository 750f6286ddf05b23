"""The demo signs' animation: a procedural signer driven by keyframe tables (the tables are in
signstream.lexicon.demo and demo_letters).

A front-facing signer framed from head to hips in normalized image coordinates (x right, y down).
The subject faces the camera, so the subject's RIGHT side is on the IMAGE LEFT (smaller x).
Each sign is a short table of keyframes (wrist targets, handshape, hand direction and roll, head and
face state), turned into joint angles by two-bone IK at the keys, eased between keys and animated with
small sinusoidal secondary motion. Bones are laid out from angles, so arm lengths never change.
All parts of the packed layout (`signstream.kernels.layout`) are filled consistently, MediaPipe parts included.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signstream.kernels import layout as L
from signstream.kernels.skeleton import MP_FACE_TO_IBUG68, MP_POSE_TO_OPENPOSE

FPS = 25.0
LO, HI = 0.02, 0.98                       # every valid coordinate stays inside this box
NECK = np.array([0.5, 0.55])
HALF_SHOULDER = 0.15
UPPER_ARM, FOREARM = 0.17, 0.15
HIPS = np.array([[0.41, 0.90], [0.59, 0.90]])        # R-hip (image left), L-hip (image right)
HEAD_FROM_NECK = np.array([0.0, -0.185])             # neck -> head pivot; puts the ears ~0.21 above it
FACE_SCALE = 0.175                                   # template units -> image; face length ~0.082
ELBOW_PREF = {"r": np.array([-0.5, 0.85]), "l": np.array([0.5, 0.85])}  # elbows fall down and out

# Canonical iBUG-68 mean shape (OpenFace's alignment template; x image-left->right, y down, width ~1).
_F68 = np.array([
    .079, .339, .083, .457, .097, .576, .122, .692, .169, .800, .240, .896, .326, .977, .422, 1.043,
    .532, 1.061, .641, 1.040, .738, .972, .824, .890, .895, .792, .939, .682, .961, .562, .971, .442,
    .971, .322, .164, .249, .218, .204, .291, .192, .367, .204, .439, .233, .586, .228, .660, .196,
    .737, .182, .813, .193, .871, .235, .515, .319, .516, .396, .517, .474, .518, .553, .434, .604,
    .476, .621, .521, .634, .566, .619, .607, .602, .252, .331, .299, .303, .356, .303, .404, .339,
    .353, .350, .297, .350, .631, .334, .679, .296, .736, .295, .783, .321, .740, .342, .685, .344,
    .353, .746, .415, .719, .478, .707, .523, .717, .570, .705, .635, .716, .700, .739, .639, .805,
    .576, .835, .525, .842, .476, .838, .414, .810, .380, .750, .478, .745, .523, .749, .571, .743,
    .672, .744, .573, .777, .523, .780, .478, .778,
]).reshape(68, 2)
_PIVOT = np.array([0.52, 0.55, 0.35])     # head rotates about a point behind the face, so nods move it


def _depth(xy: np.ndarray) -> np.ndarray:
    """A rounded face: cheeks and jaw recede, the nose sticks out (negative z = towards the camera)."""
    x, y = xy[:, 0] - 0.52, xy[:, 1] - 0.6
    return 0.3 * (x / 0.45) ** 2 + 0.15 * (y / 0.45) ** 2 - 0.1 * np.exp(-(x**2 / 0.004 + (y + 0.05) ** 2 / 0.03))


def _with_depth(xy: np.ndarray) -> np.ndarray:
    return np.column_stack([xy, _depth(xy)])


def _face_mesh_template() -> np.ndarray:
    """478 points: the 68 mapped ones, irises 468-477 on the eyes, the rest a sunflower spiral in the oval."""
    mesh = np.zeros((478, 2))
    k = np.arange(468 - 68) + 0.5
    r, a = np.sqrt(k / k.size), k * np.pi * (3 - np.sqrt(5))
    others = np.setdiff1d(np.arange(468), MP_FACE_TO_IBUG68)
    mesh[others] = np.column_stack([0.525 + 0.38 * r * np.cos(a), 0.64 + 0.38 * r * np.sin(a)])
    mesh[MP_FACE_TO_IBUG68] = _F68
    ring = 0.022 * np.array([[0, 0], [1, 0], [0, -1], [-1, 0], [0, 1]])
    mesh[468:473] = _F68[36:42].mean(0) + ring      # image-left eye (the one holding 33/133)
    mesh[473:478] = _F68[42:48].mean(0) + ring
    return _with_depth(mesh)


_MESH = _face_mesh_template()
_EARS = _with_depth(np.array([[0.04, 0.42], [1.0, 0.42]])) + [0, 0, 0.45]   # R-ear image-left, behind
_MOUTH_OPEN = np.zeros((68, 3))             # lower lip and jaw drop when the mouth opens
_MOUTH_OPEN[[55, 56, 57, 58, 59, 65, 66, 67], 1] = [0.05, 0.08, 0.09, 0.08, 0.05, 0.08, 0.09, 0.08]
_MOUTH_OPEN[5:12, 1] = [0.02, 0.04, 0.05, 0.05, 0.05, 0.04, 0.02]
_BROW_UP = np.zeros((68, 3))
_BROW_UP[17:27, 1] = -0.06

# Hand model, in hand units where the flat hand measures 0.09 wrist -> middle fingertip.
# Local axes: a = across the palm towards the thumb, b = along the fingers, c = out of the palm.
_FINGERS = (   # MCP (a, b), splay (rad, + towards the thumb), phalanx lengths
    ((0.019, 0.041), 0.12, (0.022, 0.014, 0.011)),
    ((0.004, 0.042), 0.0, (0.024, 0.014, 0.010)),
    ((-0.010, 0.040), -0.09, (0.022, 0.014, 0.010)),
    ((-0.022, 0.035), -0.2, (0.017, 0.011, 0.009)),
)
_FINGER_BEND = (1.45, 1.75, 1.15)           # MCP, PIP, DIP flexion at curl 1 (a tight fist)
_THUMB_CMC = (0.016, 0.013)
_THUMB_LEN = (0.020, 0.016, 0.013)
_THUMB_ALPHA = np.radians((50, 35, 25))     # in-palm angle from the finger axis when extended
_THUMB_SWING = np.radians((55, 75, 85))     # how far curling swings it across the palm
_THUMB_TUCK = np.radians((25, 55, 80))      # and bends it out of the palm plane
HANDSHAPES = {                               # curls: thumb, index, middle, ring, pinky
    "rest": (0.2, 0.25, 0.3, 0.35, 0.4), "B": (0.35, 0, 0, 0, 0), "5": (0, 0, 0, 0, 0),
    "S": (0.8, 1, 1, 1, 1), "A": (0.05, 1, 1, 1, 1), "1": (0.8, 0, 1, 1, 1), "V": (0.8, 0, 0, 1, 1),
    "X": (0.8, 0.55, 1, 1, 1), "C": (0.3, 0.45, 0.45, 0.45, 0.45), "O": (0.6, 0.65, 0.65, 0.65, 0.65),
    "claw": (0.4, 0.75, 0.75, 0.75, 0.75), "N": (0.0, 0, 0, 1, 1), "N0": (0.55, 0.55, 0.55, 1, 1),
}

# Keyframes: (t in [0, 1], right hand, left hand, head/face). A hand is (wrist x, y, handshape (a name
# in HANDSHAPES or its five curls), finger
# direction in image degrees (0 right, -90 up), roll in degrees (0 palm to camera, -90 palm to midline)),
# or None for the rest pose. Osc: (column, amplitude, cycles, t0, t1[, phase]). Drop: (hand, t0, t1)
# frames where the hand detector lost that hand.
R_REST, L_REST = (0.40, 0.82, "rest", 60, -70), (0.60, 0.82, "rest", 120, -70)


@dataclass(frozen=True)
class SignSpec:
    sign_id: str
    gloss: str
    seconds: float
    keys: tuple
    osc: tuple = ()
    drop: tuple = ()


_HAND_COLS = ("sh", "el", "flex", "roll", "c0", "c1", "c2", "c3", "c4")
_COLS = tuple(f"{s}_{c}" for s in "rl" for c in _HAND_COLS) + ("pitch", "yaw", "tilt", "mouth", "brow", "shrug")
_C = {name: i for i, name in enumerate(_COLS)}
_UPPER_ARMS = [_C["r_sh"], _C["l_sh"]]
# Secondary motion: (columns, amplitude); each column gets its own seeded frequency and phase.
_SECONDARY = (("r_sh l_sh", 0.03), ("r_el l_el", 0.04), ("r_roll l_roll", 0.08), ("pitch tilt", 0.02),
              ("yaw", 0.03), (" ".join(f"{s}_c{i}" for s in "rl" for i in range(5)), 0.04))
# MediaPipe pose depth per point (same scale as x, negative = towards the camera); 17-22 hand points.
_POSE_Z = np.array([-0.30, -0.28, -0.28, -0.28, -0.28, -0.28, -0.28, -0.15, -0.15, -0.27, -0.27,
                    -0.08, -0.08, -0.10, -0.10, -0.18, -0.18, -0.2, -0.2, -0.2, -0.2, -0.2, -0.2,
                    0.0, 0.0, 0.02, 0.02, 0.04, 0.04, 0.05, 0.05, 0.0, 0.0])
_LEGS = {25: (0.59, 0.94), 26: (0.41, 0.94), 27: (0.59, 0.96), 28: (0.41, 0.96),   # below the frame cut,
         29: (0.60, 0.965), 30: (0.40, 0.965), 31: (0.58, 0.97), 32: (0.42, 0.97)}   # squeezed inside



@dataclass(frozen=True, eq=False)
class DemoSign:
    sign_id: str
    gloss: str
    frames: np.ndarray      # (T, 681, 3) float32, packed layout
    fps: float
    note: str = ""          # e.g. the letter signs' "procedural, not checked by signers"


def _wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def _ik(shoulder: np.ndarray, target: np.ndarray, pref: np.ndarray) -> tuple[float, float]:
    """Two-bone IK in the image plane -> (upper-arm angle, elbow bend); the elbow goes to the `pref` side."""
    d = target - shoulder
    dist = float(np.clip(np.hypot(*d), abs(UPPER_ARM - FOREARM) + 1e-3, UPPER_ARM + FOREARM - 1e-3))
    dh = d / np.hypot(*d)
    a = (UPPER_ARM**2 - FOREARM**2 + dist**2) / (2 * dist)
    n = np.array([-dh[1], dh[0]])
    n = n if n @ pref >= 0 else -n
    elbow = shoulder + a * dh + np.sqrt(max(UPPER_ARM**2 - a**2, 0.0)) * n
    wrist = shoulder + dist * dh
    upper = np.arctan2(*(elbow - shoulder)[::-1])
    return upper, _wrap(np.arctan2(*(wrist - elbow)[::-1]) - upper)


def _hinge(bend: float, side: str) -> float:
    """Keep each elbow's 2-D bend on one side of straight (right arm < 0, left > 0, mirrored).

    With constant 2-D bone lengths an elbow can only swap sides of the shoulder-wrist line by passing
    straight or folded; pinning the sign makes transitions fold past the shoulder (as a real hand rising
    in front of the body looks) instead of swinging a straight arm out of the frame.
    """
    if side == "r" and bend > 0:
        return bend - 2 * np.pi
    if side == "l" and bend < 0:
        return bend + 2 * np.pi
    return bend


def _key_vector(key: tuple, jitter: np.ndarray) -> np.ndarray:
    """One keyframe -> the parameter vector `_COLS`, angles from IK on the neutral body."""
    _, right, left, head = key
    vec = np.zeros(len(_COLS))
    for s, hand, sign, j in (("r", right or R_REST, -1, jitter[:2]), ("l", left or L_REST, 1, jitter[2:])):
        x, y, shape, direction, roll = hand
        shoulder = NECK + [sign * HALF_SHOULDER, 0.0]
        upper, bend = _ik(shoulder, np.array([x, y]) + j, ELBOW_PREF[s])
        flex = np.clip(_wrap(np.radians(direction) - upper - bend), -1.4, 1.4)   # wrist limits
        bend = _hinge(bend, s)
        vec[[_C[f"{s}_sh"], _C[f"{s}_el"], _C[f"{s}_flex"], _C[f"{s}_roll"]]] = upper, bend, flex, np.radians(roll)
        vec[_C[f"{s}_c0"]:_C[f"{s}_c4"] + 1] = HANDSHAPES[shape] if isinstance(shape, str) else shape
    for name, value in head.items():
        vec[_C[name]] = value
    return vec


def _animate(spec: SignSpec, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """(T, len(_COLS)) parameters: eased keyframes + windowed oscillations + secondary motion."""
    times = np.array([k[0] for k in spec.keys])
    keys = np.stack([_key_vector(k, rng.uniform(-0.006, 0.006, 4)) for k in spec.keys])
    keys[:, _UPPER_ARMS] = np.unwrap(keys[:, _UPPER_ARMS], axis=0)   # swing the upper arm the short way
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    u = np.clip((t - times[i]) / (times[i + 1] - times[i]), 0.0, 1.0)
    e = (u * u * (3 - 2 * u))[:, None]                           # smoothstep: rest at every key
    params = keys[i] * (1 - e) + keys[i + 1] * e
    for col, amp, cycles, t0, t1, *phase in spec.osc:
        s = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
        params[:, _C[col]] += amp * rng.uniform(0.9, 1.1) * np.sin(np.pi * s) * np.sin(
            2 * np.pi * cycles * s + (phase[0] if phase else 0.0))
    seconds = t * (len(t) - 1) / FPS
    for cols, amp in _SECONDARY:
        for col in cols.split():
            f, ph = rng.uniform(0.4, 0.9), rng.uniform(0, 2 * np.pi)
            params[:, _C[col]] += amp * np.sin(2 * np.pi * f * seconds + ph)
    for s in "rl":
        params[:, _C[f"{s}_c0"]:_C[f"{s}_c4"] + 1] = np.clip(params[:, _C[f"{s}_c0"]:_C[f"{s}_c4"] + 1], 0, 1)
    return params


def _hand(wrist: np.ndarray, angle: np.ndarray, roll: np.ndarray, curls: np.ndarray, side: float) -> np.ndarray:
    """21 hand points (T, 21, 3) in MediaPipe order; z relative to the wrist as MediaPipe's hands are.

    Fingers point along `angle` in the image plane; `roll` turns the palm about that axis; side +1 puts
    a right hand's thumb towards the midline with the palm to the camera (mirrored for the left hand).
    """
    n = len(angle)
    loc = np.zeros((n, 21, 3))
    loc[:, 1, :2] = _THUMB_CMC
    p = loc[:, 1].copy()
    for k in range(3):
        a, ph = _THUMB_ALPHA[k] - curls[:, 0] * _THUMB_SWING[k], curls[:, 0] * _THUMB_TUCK[k]
        p = p + _THUMB_LEN[k] * np.stack([np.cos(ph) * np.sin(a), np.cos(ph) * np.cos(a), np.sin(ph)], -1)
        loc[:, 2 + k] = p
    for f, ((a0, b0), splay, lengths) in enumerate(_FINGERS):
        p, phi = np.tile([a0, b0, 0.0], (n, 1)), np.zeros(n)
        loc[:, 5 + 4 * f] = p
        for k in range(3):
            phi = phi + curls[:, f + 1] * _FINGER_BEND[k]       # curling bends towards the palm side
            p = p + lengths[k] * np.stack([np.cos(phi) * np.sin(splay), np.cos(phi) * np.cos(splay), np.sin(phi)], -1)
            loc[:, 6 + 4 * f + k] = p
    zero = np.zeros(n)
    u = np.stack([np.cos(angle), np.sin(angle), zero], -1)
    v0, w0 = side * np.stack([-u[:, 1], u[:, 0], zero], -1), np.array([0.0, 0.0, -1.0])
    cr, sr = np.cos(roll)[:, None], np.sin(roll)[:, None]
    v, w = cr * v0 + sr * w0, cr * w0 - sr * v0
    world = loc[..., :1] * v[:, None] + loc[..., 1:2] * u[:, None] + loc[..., 2:] * w[:, None]
    world[..., :2] += wrist[:, None]
    return world


def _head(pivot: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face mesh (T, 478, 3) and ears (T, 2, 2): template deformed (mouth, brows), rotated, placed."""
    pitch, yaw, tilt, mouth, brow = (params[:, _C[c]] for c in ("pitch", "yaw", "tilt", "mouth", "brow"))
    n = len(pitch)
    pts = np.concatenate([np.broadcast_to(_MESH, (n, 478, 3)), np.broadcast_to(_EARS, (n, 2, 3))], axis=1).copy()
    pts[:, MP_FACE_TO_IBUG68] += mouth[:, None, None] * _MOUTH_OPEN + brow[:, None, None] * _BROW_UP
    c, s = np.cos, np.sin
    one, zero = np.ones(n), np.zeros(n)
    rx = np.stack([one, zero, zero, zero, c(pitch), -s(pitch), zero, s(pitch), c(pitch)], -1).reshape(n, 3, 3)
    ry = np.stack([c(yaw), zero, s(yaw), zero, one, zero, -s(yaw), zero, c(yaw)], -1).reshape(n, 3, 3)
    rz = np.stack([c(tilt), -s(tilt), zero, s(tilt), c(tilt), zero, zero, zero, one], -1).reshape(n, 3, 3)
    out = np.einsum("tij,tkj->tki", rz @ ry @ rx, pts - _PIVOT) * FACE_SCALE
    out[..., :2] += pivot[:, None]
    return out[:, :478], out[:, 478:, :2]


def build_clip(spec: SignSpec, rng: np.random.Generator) -> np.ndarray:
    n = int(round(spec.seconds * FPS))
    t = np.linspace(0.0, 1.0, n)
    params = _animate(spec, rng, t)
    seconds = t * (n - 1) / FPS
    f, ph = rng.uniform(0.3, 0.6), rng.uniform(0, 2 * np.pi)
    dropped = {s: np.zeros(n, dtype=bool) for s in "rl"}
    for hand, t0, t1 in spec.drop:
        dropped[hand] |= (t >= t0) & (t <= t1)
    return pose_frames(params, seconds, f, ph, dropped)


def key_params(keys) -> np.ndarray:
    """Keyframes (t, right hand, left hand, head/face dict; as in SignSpec.keys) -> their parameter
    vectors (len(keys), len(_COLS)) by IK on the neutral body, the upper arms unwrapped (no jitter)."""
    params = np.stack([_key_vector(k, np.zeros(4)) for k in keys])
    params[:, _UPPER_ARMS] = np.unwrap(params[:, _UPPER_ARMS], axis=0)
    return params


def pose_frames(params: np.ndarray, seconds: np.ndarray, sway_f: float, sway_phase: float,
                dropped: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The packed frames (T, 681, 3) of a parameter track (T, len(_COLS)) at times `seconds`: the torso
    sways and breathes at `sway_f` Hz from `sway_phase`; `dropped[s]` marks frames whose hand `s` the
    hand detector lost."""
    n = len(params)
    f, ph = sway_f, sway_phase
    # Torso: slight sway, breathing and shrug move the shoulder line; the neck is their midpoint.
    center = np.column_stack([NECK[0] + 0.004 * np.sin(2 * np.pi * f * seconds + ph),
                              NECK[1] - 0.012 * params[:, _C["shrug"]] - 0.002 * np.sin(2 * np.pi * f * seconds)])
    gamma = 0.015 * np.sin(2 * np.pi * f * seconds + 2 * ph)
    across = HALF_SHOULDER * np.column_stack([np.cos(gamma), np.sin(gamma)])
    shoulders = {"r": center - across, "l": center + across}
    body = np.full((n, 18, 3), -1.0)
    body[..., 2] = 1.0
    hands = {}
    for s, (sh_i, el_i, wr_i), side in (("r", (2, 3, 4), 1.0), ("l", (5, 6, 7), -1.0)):
        upper, bend, flex, roll = (params[:, _C[f"{s}_{c}"]] for c in ("sh", "el", "flex", "roll"))
        elbow = shoulders[s] + UPPER_ARM * np.column_stack([np.cos(upper), np.sin(upper)])
        wrist = elbow + FOREARM * np.column_stack([np.cos(upper + bend), np.sin(upper + bend)])
        body[:, [sh_i, el_i, wr_i], :2] = np.stack([shoulders[s], elbow, wrist], 1)
        curls = params[:, _C[f"{s}_c0"]:_C[f"{s}_c4"] + 1]
        hands[s] = _hand(wrist, upper + bend + flex, roll, curls, side)
    body[:, 1, :2] = center
    face_mp, ears = _head(center + HEAD_FROM_NECK, params)
    face68 = face_mp[:, MP_FACE_TO_IBUG68, :2]
    body[:, 0, :2] = face68[:, 30]                                   # nose tip
    body[:, 14, :2], body[:, 15, :2] = face68[:, 36:42].mean(1), face68[:, 42:48].mean(1)
    body[:, 16, :2], body[:, 17, :2] = ears[:, 0], ears[:, 1]
    body[:, [8, 11], :2] = HIPS + (center - NECK)[:, None] * 0.3
    body[:, L.KNEES_AND_ANKLES] = (-1.0, -1.0, 0.0)                  # the frame cuts at the hips

    pose = np.zeros((n, 33, 3))
    for op, mp in enumerate(MP_POSE_TO_OPENPOSE):
        if mp >= 0 and op not in L.KNEES_AND_ANKLES:
            pose[:, mp, :2] = body[:, op, :2]
    pose[:, [1, 3, 4, 6, 9, 10], :2] = face68[:, [42, 45, 39, 36, 54, 48]]   # next to MP eyes 2 / 5
    pose[:, [17, 19, 21], :2] = hands["l"][:, [17, 5, 2], :2]
    pose[:, [18, 20, 22], :2] = hands["r"][:, [17, 5, 2], :2]
    for mp, xy in _LEGS.items():
        pose[:, mp, :2] = np.asarray(xy) + (body[:, 8 if mp % 2 == 0 else 11, :2] - HIPS[0 if mp % 2 == 0 else 1])
    pose[..., 2] = _POSE_Z
    pose[..., :2] = np.clip(pose[..., :2], LO, HI)     # pose hand points of a hand that left the frame

    frames = L.empty_frames(n)
    frames[:, L.BODY] = body
    frames[:, L.FACE, :2], frames[:, L.FACE, 2] = face68, 1.0
    frames[:, L.POSE_MP], frames[:, L.FACE_MP] = pose, face_mp
    for s, flagged, mp in (("r", L.RIGHT_HAND, L.RIGHT_HAND_MP), ("l", L.LEFT_HAND, L.LEFT_HAND_MP)):
        inside = np.all((hands[s][..., :2] >= LO) & (hands[s][..., :2] <= HI), axis=(1, 2))
        if dropped is not None:
            inside &= ~dropped[s]
        frames[inside, flagged, :2], frames[inside, flagged, 2] = hands[s][inside, :, :2], 1.0
        frames[inside, mp] = hands[s][inside]
    return frames

