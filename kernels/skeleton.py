"""Skeleton constants as data, in one place: keypoint mappings and the DWPose drawing look.

Everything here is plain data (tuples and int arrays) so kernels, renderers and Triton models share it.
"""
from __future__ import annotations

import colorsys

import numpy as np

# ---- MediaPipe pose 33 -> OpenPose-18 (DESIGN §3). -1 marks the neck, the mean of 11 and 12. ----
MP_POSE_TO_OPENPOSE = np.array([0, -1, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7], dtype=np.int64)
MP_NECK_FROM = (11, 12)

# ---- MediaPipe face mesh 478 -> iBUG-68 (DESIGN §3). ----
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

# ---- DWPose body look (DESIGN §4.4). Pairs are 1-indexed as in OpenPose; only the first 17 drawn. ----
BODY_LIMBS_1BASED = (
    (2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13),
    (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18),
)
BODY_LIMBS = np.array(BODY_LIMBS_1BASED, dtype=np.int64) - 1
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

HAND_EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
    (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
)
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

# ---- DWPose COCO-WholeBody 133 -> the seed's parts (DESIGN §3). ----
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
