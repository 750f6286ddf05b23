"""Skeleton constants as data, in one place: topology, keypoint mappings and the DWPose drawing look.

Everything here is plain data (tuples and int arrays) so kernels, renderers and Triton models share it;
each kernel derives its own link tables from the topology below (kernels/retarget.py its tree,
kernels/smooth_forest.py the transition forest). `length_cv` measures bones over it.
"""
from __future__ import annotations

import colorsys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from . import layout as L


# ---- Topology: one record per skeleton, as rtmlib keeps one dict per skeleton. ----

@dataclass(frozen=True)
class Skeleton:
    """Point names in index order, and the bones as (parent, child) index pairs, each running outwards
    from the root, so every point but the root is the child of exactly one bone."""

    name: str
    points: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        children = sorted(c for _, c in self.bones)
        assert children == sorted(set(children)) and len(children) == len(self.points) - 1, self.name
        assert self.parent.count(-1) == 1, f"{self.name}: one root"

    @property
    def parent(self) -> tuple[int, ...]:
        """The parent of each point, -1 for the root."""
        parent = [-1] * len(self.points)
        for p, c in self.bones:
            parent[c] = p
        return tuple(parent)

    @property
    def root(self) -> int:
        return self.parent.index(-1)


# OpenPose-18, rooted at the neck. The bones are the 17 limbs DWPose draws, in its order (its limbSeq
# counts points from 1; these count from 0): limb i is drawn in BODY_COLORS[i].
OPENPOSE_18 = Skeleton(
    "openpose18",
    ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip", "r_knee",
     "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear"),
    ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
     (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)),
)
assert all(getattr(L, name.upper()) == j for j, name in enumerate(OPENPOSE_18.points)), "layout's body indices"
# The 21-point hand (OpenPose, MediaPipe and COCO-WholeBody share it), rooted at the wrist; DWPose's edge order.
HAND_21 = Skeleton(
    "hand21",
    ("wrist", *(f"{finger}_{joint}" for finger in ("thumb", "index", "middle", "ring", "pinky")
                for joint in (1, 2, 3, 4))),
    ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
     (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)),
)
BODY_NAMES = OPENPOSE_18.points
BODY_PARENT = OPENPOSE_18.parent            # (1, -1, 1, 2, 3, 1, 5, 6, 1, 8, 9, 1, 11, 12, 0, 0, 14, 15)
HAND_PARENT = HAND_21.parent
BODY_LIMBS = np.array(OPENPOSE_18.bones, dtype=np.int64)
HAND_EDGES = HAND_21.bones
IBUG68_NOSE_TIP = 30

# Named body bones that quality figures follow.
ARM_BONES = {"r_upper_arm": (L.R_SHOULDER, L.R_ELBOW), "r_forearm": (L.R_ELBOW, L.R_WRIST),
             "l_upper_arm": (L.L_SHOULDER, L.L_ELBOW), "l_forearm": (L.L_ELBOW, L.L_WRIST)}
SHOULDER_BONES = {"r_shoulder": (L.NECK, L.R_SHOULDER), "l_shoulder": (L.NECK, L.L_SHOULDER)}


def length_cv(xy: np.ndarray, valid: np.ndarray, bones: Mapping[str, tuple[int, int]]) -> dict[str, float]:
    """Coefficient of variation (std / mean) of each named bone's length across the frames that show
    both its ends: xy (T, K, 2) float64 in units in which a length is the same whichever way the bone
    points, valid (T, K) bool. NaN for a bone no frame shows (or whose mean length is 0)."""
    cv = {}
    for name, (a, b) in bones.items():
        lengths = np.linalg.norm(xy[:, a] - xy[:, b], axis=-1)[valid[:, a] & valid[:, b]]
        cv[name] = float(lengths.std() / lengths.mean()) if lengths.size and lengths.mean() > 0 else float("nan")
    return cv


# ---- MediaPipe pose 33 -> OpenPose-18: the pose index of each OpenPose point; -1 marks the neck, the mean
# of 11 and 12. ----
MP_POSE_TO_OPENPOSE = np.array([0, -1, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7], dtype=np.int64)
MP_NECK_FROM = (11, 12)
# MediaPipe pose points without an OpenPose twin -> the pose point they hang on (eye corners on the eyes,
# mouth on the nose, the pose hand points on the wrists, heels and toes on the ankles).
MP_POSE_EXTRA_PARENT = {1: 2, 3: 2, 4: 5, 6: 5, 9: 0, 10: 0, 17: 15, 19: 15, 21: 15, 18: 16, 20: 16, 22: 16,
                        29: 27, 31: 27, 30: 28, 32: 28}
assert sorted([*MP_POSE_EXTRA_PARENT, *MP_POSE_TO_OPENPOSE[MP_POSE_TO_OPENPOSE >= 0]]) == list(range(33))

# ---- MediaPipe face mesh 478 -> iBUG-68: the mesh index of each iBUG-68 point. ----
MP_FACE_TO_IBUG68 = np.array(
    [
        # jaw 0-16, image left (subject's right) to image right
        162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
        # brows 17-21 (subject's right), 22-26 (subject's left)
        71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
        # nose bridge 27-30, nostrils 31-35
        168, 197, 5, 4, 75, 97, 2, 326, 305,
        # eyes 36-41 (subject's right), 42-47 (subject's left)
        33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
        # outer lips 48-59, inner lips 60-67
        61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
    ],
    dtype=np.int64,
)
assert MP_FACE_TO_IBUG68.shape == (68,)

# ---- DWPose body look: limbs (BODY_LIMBS above) and points take BODY_COLORS by index. ----
BODY_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
BODY_STICK_WIDTH = 4
BODY_LIMB_DIM = 0.6          # the whole limb canvas is multiplied by this before joints are drawn
# BODY_COLORS after DWPose's `(canvas * 0.6).astype(np.uint8)`, computed by that very expression (uint8
# times a Python float in float64, truncated) so a renderer drawing limbs in these colours is bit-identical
# to drawing in BODY_COLORS and then dimming the whole canvas.
BODY_LIMB_COLORS_DIMMED = tuple(
    tuple(int(v) for v in row)
    for row in (np.array(BODY_COLORS, dtype=np.uint8) * BODY_LIMB_DIM).astype(np.uint8)
)
BODY_JOINT_RADIUS = 4

# matplotlib's hsv_to_rgb([i/20, 1, 1]) * 255, as DWPose passes it to cv2 (floats, RGB).
HAND_EDGE_COLORS = tuple(
    tuple(255.0 * c for c in colorsys.hsv_to_rgb(i / len(HAND_EDGES), 1.0, 1.0)) for i in range(len(HAND_EDGES))
)
HAND_EDGE_THICKNESS = 2
HAND_JOINT_COLOR = (0, 0, 255)
HAND_JOINT_RADIUS = 4
FACE_DOT_COLOR = (255, 255, 255)
FACE_DOT_RADIUS = 3
DRAW_EPS = 0.01              # DWPose skips hand/face points whose pixel coordinates are <= this

# ---- DWPose COCO-WholeBody 133 -> the seed's parts. ----
# COCO-WholeBody order: 0-16 body (0 nose, 1/2 left/right eye, 3/4 ears, 5/6 shoulders, 7/8 elbows,
# 9/10 wrists, 11/12 hips, 13/14 knees, 15/16 ankles; odd = subject's left), 17-22 feet, 23-90 face
# (iBUG-68 order), 91-111 the subject's left hand, 112-132 the subject's right hand.
# DWPose inserts a neck at index 17 (134 points), then moves body points from mmpose to OpenPose order.
WHOLEBODY_NECK_FROM = (5, 6)            # left and right shoulder
WHOLEBODY_NECK_AT = 17
WHOLEBODY_MMPOSE_ORDER = (17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3)
WHOLEBODY_OPENPOSE_ORDER = (1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17)
# Slices of the 134-point array after the neck insertion and the reorder (feet 18:24 are unused).
WHOLEBODY_SLICES = {
    "body": slice(0, 18),
    "face": slice(24, 92),
    "left_hand": slice(92, 113),
    "right_hand": slice(113, 134),
}
WHOLEBODY_MIN_SCORE = 0.3               # DWPose drops points scored below this (the neck: both shoulders)
