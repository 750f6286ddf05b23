"""Packed keypoint layout: one frame is a float32 array (K, 3), a clip is (T, K, 3).

Every part of the seed's frame dict (kernels/seedformat.py) has a fixed slice of the K axis:

    part            points  channel 0, 1      channel 2
    body            18      x, y in [0,1]     1.0 valid / 0.0 missing   (OpenPose-18 order)
    left_hand       21      x, y              1.0 / 0.0                 (seed hands[0])
    right_hand      21      x, y              1.0 / 0.0                 (seed hands[1])
    face            68      x, y              1.0 / 0.0                 (iBUG-68 order)
    pose_mp         33      x, y              z                         (MediaPipe pose)
    face_mp         478     x, y              z                         (MediaPipe face mesh, refined)
    left_hand_mp    21      x, y              z
    right_hand_mp   21      x, y              z

Two validity rules, as in the seed: a 2-D ("flagged") point is valid when channel 2 > 0; a MediaPipe
part is present in a frame when any of its values is non-zero (a missing part is all zeros).
Coordinates of a missing flagged point are carried unchanged (normally -1, -1) so conversion to and
from the seed dict is lossless; kernels never move them.
"""
from __future__ import annotations

import numpy as np
from numba import njit

LAYOUT_VERSION = 1

BODY = slice(0, 18)
LEFT_HAND = slice(18, 39)
RIGHT_HAND = slice(39, 60)
FACE = slice(60, 128)
POSE_MP = slice(128, 161)
FACE_MP = slice(161, 639)
LEFT_HAND_MP = slice(639, 660)
RIGHT_HAND_MP = slice(660, 681)
NUM_POINTS = 681

PARTS: dict[str, slice] = {
    "body": BODY,
    "left_hand": LEFT_HAND,
    "right_hand": RIGHT_HAND,
    "face": FACE,
    "pose_mp": POSE_MP,
    "face_mp": FACE_MP,
    "left_hand_mp": LEFT_HAND_MP,
    "right_hand_mp": RIGHT_HAND_MP,
}
FLAGGED_PARTS = ("body", "left_hand", "right_hand", "face")
MEDIAPIPE_PARTS = ("pose_mp", "face_mp", "left_hand_mp", "right_hand_mp")

# Presence group of every point: -1 = flagged point (own validity in channel 2); g >= 0 = MediaPipe
# part g, whose presence is decided per frame for the whole part. Kernels take these as arrays.
POINT_GROUP = np.full(NUM_POINTS, -1, dtype=np.int64)
GROUP_START = np.zeros(len(MEDIAPIPE_PARTS), dtype=np.int64)
GROUP_STOP = np.zeros(len(MEDIAPIPE_PARTS), dtype=np.int64)
for _g, _name in enumerate(MEDIAPIPE_PARTS):
    _s = PARTS[_name]
    POINT_GROUP[_s] = _g
    GROUP_START[_g], GROUP_STOP[_g] = _s.start, _s.stop

# Body indices (OpenPose-18) used by the algorithms.
NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = 0, 1, 2, 3, 4, 5, 6, 7
R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, R_EYE, L_EYE, R_EAR, L_EAR = range(8, 18)
KNEES_AND_ANKLES = np.array([R_KNEE, R_ANKLE, L_KNEE, L_ANKLE], dtype=np.int64)

# Face-68 indices for the face length (normalize and retarget measure it): top = mean(0, 16), bottom = mean(4, 12).
FACE_TOP = (FACE.start + 0, FACE.start + 16)
FACE_BOTTOM = (FACE.start + 4, FACE.start + 12)


def _indices(*pieces: slice | list[int] | range) -> np.ndarray:
    out: list[int] = []
    for p in pieces:
        out.extend(range(p.start, p.stop) if isinstance(p, slice) else p)
    return np.array(sorted(set(out)), dtype=np.int64)


# Point groups that `signmail` normalization scales about a pivot (kernels/normalize.py).
HEAD_POINTS = _indices(
    [NOSE, R_EYE, L_EYE, R_EAR, L_EAR], FACE, range(POSE_MP.start, POSE_MP.start + 11), FACE_MP
)
LEFT_ARM_POINTS = _indices(
    [L_SHOULDER, L_ELBOW, L_WRIST], [POSE_MP.start + i for i in (11, 13, 15)], LEFT_HAND, LEFT_HAND_MP
)
RIGHT_ARM_POINTS = _indices(
    [R_SHOULDER, R_ELBOW, R_WRIST], [POSE_MP.start + i for i in (12, 14, 16)], RIGHT_HAND, RIGHT_HAND_MP
)


def empty_frames(num_frames: int) -> np.ndarray:
    """All-missing clip (T, K, 3) float32: flagged points at (-1, -1, 0), MediaPipe parts zero."""
    frames = np.zeros((num_frames, NUM_POINTS, 3), dtype=np.float32)
    for name in FLAGGED_PARTS:
        frames[:, PARTS[name], :2] = -1.0
    return frames


@njit(cache=True, nogil=True)
def point_validity(frames, point_group, group_start, group_stop):
    """(T, K, 3) -> bool (T, K). Flagged points: channel 2 > 0; MediaPipe parts: any value non-zero."""
    T, K, _ = frames.shape
    valid = np.zeros((T, K), dtype=np.bool_)
    for t in range(T):
        for k in range(K):
            if point_group[k] < 0:
                valid[t, k] = frames[t, k, 2] > 0
        for g in range(group_start.shape[0]):
            present = False
            for k in range(group_start[g], group_stop[g]):
                if frames[t, k, 0] != 0 or frames[t, k, 1] != 0 or frames[t, k, 2] != 0:
                    present = True
                    break
            for k in range(group_start[g], group_stop[g]):
                valid[t, k] = present
    return valid


def validity(frames: np.ndarray) -> np.ndarray:
    """(T, K, 3) -> bool (T, K): which points are present, by the two rules above (the numba kernel;
    the tables are arguments, as numba freezes globals into its on-disk cache)."""
    return point_validity(frames, POINT_GROUP, GROUP_START, GROUP_STOP)


def validity_reference(frames: np.ndarray) -> np.ndarray:
    """validity in NumPy, the rules as written."""
    valid = frames[..., 2] > 0
    for name in MEDIAPIPE_PARTS:
        s = PARTS[name]
        present = np.any(frames[:, s, :] != 0, axis=(1, 2))
        valid[:, s] = present[:, None]
    return valid


def check_frames(frames: np.ndarray) -> np.ndarray:
    """Return frames as C-contiguous float32 (T, K, 3) or raise ValueError saying what is wrong."""
    arr = np.asarray(frames)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_POINTS, 3):
        raise ValueError(f"keypoint frames must have shape (T, {NUM_POINTS}, 3), got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("a keypoint clip needs at least one frame")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("keypoint frames contain NaN or infinite values")
    return arr
