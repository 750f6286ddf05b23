"""MediaPipe Holistic output -> packed frame (the layout in `layout.py`).

Holistic gives, in image-normalized coordinates:
    pose  (33, 4) x, y, z, visibility      face (478, 3)      left_hand, right_hand (21, 3)
(zeros where a part was not found). The OpenPose-18 body, the hands and the iBUG-68 face are derived
from them; the MediaPipe parts are kept as they are.
"""
from __future__ import annotations

import numpy as np

from . import layout as L
from .skeleton import MP_FACE_TO_IBUG68, MP_NECK_FROM, MP_POSE_TO_OPENPOSE

# A pose landmark whose visibility is below this is treated as missing in the OpenPose body, the
# way DWPose drops points scored below 0.3 (MediaPipe guesses off-screen hips and knees).
VISIBILITY_THRESHOLD = 0.3


def _missing(n: int) -> np.ndarray:
    """(n, 3) flagged points, all missing: the seed's (-1, -1) with flag 0."""
    out = np.full((n, 3), -1.0, dtype=np.float32)
    out[:, 2] = 0.0
    return out


def _whole_part(xy: np.ndarray, present: bool) -> np.ndarray:
    """A part MediaPipe finds whole or not at all: (n, 2) -> (n, 3) x, y, flag."""
    out = _missing(len(xy))
    if present:
        out[:, :2] = xy
        out[:, 2] = 1.0
    return out


def pose_to_openpose18(pose: np.ndarray) -> np.ndarray:
    """MediaPipe pose (33, 4) -> OpenPose-18 (18, 3): x, y, valid flag. All missing if pose is zero."""
    out = _missing(18)
    if not np.any(pose):
        return out
    vis = pose[:, 3] >= VISIBILITY_THRESHOLD
    for j, src in enumerate(MP_POSE_TO_OPENPOSE):
        if src >= 0 and vis[src]:
            out[j] = (pose[src, 0], pose[src, 1], 1.0)
    a, b = MP_NECK_FROM
    if vis[a] and vis[b]:
        out[L.NECK] = ((pose[a, 0] + pose[b, 0]) / 2, (pose[a, 1] + pose[b, 1]) / 2, 1.0)
    return out


def face_to_ibug68(face: np.ndarray) -> np.ndarray:
    """MediaPipe face mesh (478, 3) -> iBUG-68 (68, 3): x, y, valid flag."""
    return _whole_part(face[MP_FACE_TO_IBUG68, :2], bool(np.any(face)))


def hand_to_flagged(hand: np.ndarray) -> np.ndarray:
    """MediaPipe hand (21, 3) -> (21, 3): x, y, valid flag."""
    return _whole_part(hand[:, :2], bool(np.any(hand)))


def holistic_to_frame(pose: np.ndarray, face: np.ndarray, left_hand: np.ndarray, right_hand: np.ndarray) -> np.ndarray:
    """Holistic arrays (subject's left/right) -> packed frame (K, 3) float32."""
    pose = np.asarray(pose, dtype=np.float32).reshape(33, 4)
    face = np.asarray(face, dtype=np.float32).reshape(478, 3)
    left_hand = np.asarray(left_hand, dtype=np.float32).reshape(21, 3)
    right_hand = np.asarray(right_hand, dtype=np.float32).reshape(21, 3)
    frame = np.zeros((L.NUM_POINTS, 3), dtype=np.float32)
    frame[L.BODY] = pose_to_openpose18(pose)
    frame[L.LEFT_HAND] = hand_to_flagged(left_hand)
    frame[L.RIGHT_HAND] = hand_to_flagged(right_hand)
    frame[L.FACE] = face_to_ibug68(face)
    frame[L.POSE_MP] = pose[:, :3]
    frame[L.FACE_MP] = face
    frame[L.LEFT_HAND_MP] = left_hand
    frame[L.RIGHT_HAND_MP] = right_hand
    return frame


def has_person(frame: np.ndarray) -> bool:
    """A style image needs a body whose neck and shoulders were found."""
    body = frame[L.BODY]
    return bool(body[L.NECK, 2] > 0 and body[L.R_SHOULDER, 2] > 0 and body[L.L_SHOULDER, 2] > 0)
