"""The forest smooth transitions move points along, and the inputs every smooth kernel checks.

All points of the packed layout form one forest (PARENT, MODE), derived from kernels/skeleton.py:
- BONE links (a bone's direction turns, its length blends): the OpenPose-18 body rooted at the neck,
  along its bones (DWPose's limbs), and each hand's 21 points along its bones.
- OFFSET links (the point follows its anchor's path while its offset blends): each hand's wrist on the
  body wrist (the hand rides on the arm instead of cutting its own straight path), iBUG-68 and the
  face mesh on the body's nose, MediaPipe pose points on the OpenPose point they ride on
  (`pose_mp_anchors`), MediaPipe hands on the flagged hand point of the same index.
ORDER lists every parent before its children; DEPTH counts the links above each point.
"""
from __future__ import annotations

import numpy as np

from . import layout as L
from .layout import validity
from .skeleton import BODY_PARENT, HAND_21, MP_POSE_EXTRA_PARENT, MP_POSE_TO_OPENPOSE

BONE, OFFSET = 0, 1        # link kinds in MODE


def pose_mp_anchors() -> dict[int, int]:
    """MediaPipe pose index -> the OpenPose body point it rides on: its twin, else its parent's twin
    (eye corners on the eyes, mouth on the nose, pose hand points on the wrists), moved up the body
    past knees and ankles, which transitions never draw (so legs and feet ride on the hips)."""
    twin = {int(mp): op for op, mp in enumerate(MP_POSE_TO_OPENPOSE) if mp >= 0}
    hidden = set(L.KNEES_AND_ANKLES.tolist())
    anchors = {}
    for mp in range(33):
        op = twin[mp] if mp in twin else twin[MP_POSE_EXTRA_PARENT[mp]]
        while op in hidden:
            op = BODY_PARENT[op]
        anchors[mp] = op
    return anchors


def _forest() -> tuple[np.ndarray, np.ndarray]:
    """PARENT (K,) int64 (-1 = root) and MODE (K,) int64 (BONE / OFFSET) for every packed point."""
    parent = np.full(L.NUM_POINTS, -1, dtype=np.int64)
    mode = np.full(L.NUM_POINTS, OFFSET, dtype=np.int64)
    for c, p in enumerate(BODY_PARENT):        # the bones run outwards from the neck
        if p >= 0:
            parent[L.BODY.start + c], mode[L.BODY.start + c] = L.BODY.start + p, BONE
    for hand, wrist, hand_mp in ((L.LEFT_HAND, L.L_WRIST, L.LEFT_HAND_MP), (L.RIGHT_HAND, L.R_WRIST, L.RIGHT_HAND_MP)):
        parent[hand.start] = wrist
        for p, c in HAND_21.bones:
            parent[hand.start + c], mode[hand.start + c] = hand.start + p, BONE
        parent[hand_mp] = np.arange(hand.start, hand.stop)
    parent[L.FACE] = L.NOSE
    parent[L.FACE_MP] = L.NOSE
    for mp, op in pose_mp_anchors().items():
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


def with_ancestors(points: np.ndarray) -> np.ndarray:
    """`points` and every ancestor of theirs in the forest, parents first (ORDER's order)."""
    keep = np.zeros(PARENT.shape[0], dtype=bool)
    for k in points:
        while k >= 0:
            keep[k] = True
            k = PARENT[k]
    return ORDER[keep[ORDER]]


def check_aspect(aspect: float) -> float:
    """aspect as a float, or ValueError: it divides x on the way back from pixel space."""
    aspect = float(aspect)
    if not (np.isfinite(aspect) and aspect > 0):
        raise ValueError(f"aspect (width / height) must be a positive number, got {aspect}")
    return aspect


def end_frames(a: np.ndarray, b: np.ndarray, before: np.ndarray | None, after: np.ndarray | None,
               gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(4, K, 3) float32 frames before, a, b, after (a for a missing `before`, b for `after`) and
    their validity; ValueError for a gap under one frame."""
    if gap < 1:
        raise ValueError(f"gap must be at least 1 frame, got {gap}")
    ends = np.ascontiguousarray(np.stack([a if before is None else before, a, b, b if after is None else after]),
                                dtype=np.float32)
    return ends, validity(ends)
