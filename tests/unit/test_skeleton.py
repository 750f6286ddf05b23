"""The one skeleton description (kernels/skeleton.py) and the kernel tables derived from it.

Expected tables are written out here (OpenPose-18, the 21-point hand, DWPose's limbSeq as it counts
from 1), not imported from the code under test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from signstream.kernels import layout as L
from signstream.kernels import retarget as R
from signstream.kernels import skeleton as sk
from signstream.kernels import transition_smooth as TS
from signstream.kernels.smooth_forest import pose_mp_anchors, with_ancestors

DWPOSE_LIMB_SEQ = ((2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13),
                   (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18))          # 1-based, the 17 drawn
BODY_PARENT = (1, -1, 1, 2, 3, 1, 5, 6, 1, 8, 9, 1, 11, 12, 0, 0, 14, 15)
HAND_PARENT = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)


def test_topology_tables():
    np.testing.assert_array_equal(sk.BODY_LIMBS, np.array(DWPOSE_LIMB_SEQ) - 1)
    assert sk.BODY_LIMBS.dtype == np.int64
    assert sk.BODY_PARENT == BODY_PARENT and sk.HAND_PARENT == HAND_PARENT
    assert sk.OPENPOSE_18.root == L.NECK and sk.HAND_21.root == 0
    assert sk.BODY_NAMES[L.R_WRIST] == "r_wrist" and sk.BODY_NAMES[L.L_EAR] == "l_ear"
    assert len(sk.HAND_EDGES) == 20 and len(set(sk.HAND_21.points)) == 21


def test_a_skeleton_that_is_not_one_tree_is_refused():
    with pytest.raises(AssertionError):
        sk.Skeleton("two roots", ("a", "b", "c"), ((0, 1),))
    with pytest.raises(AssertionError):
        sk.Skeleton("two parents", ("a", "b", "c"), ((0, 1), (0, 2), (1, 2)))


def test_retarget_and_smooth_follow_the_same_body_and_hand_bones():
    bones = {(int(R.PARENT[k]), k) for k in range(L.NUM_POINTS) if R.KIND[k] == R.BONE and k < L.RIGHT_HAND.stop}
    turning = {(int(TS.PARENT[k]), k) for k in range(L.NUM_POINTS) if TS.MODE[k] == TS.BONE}
    expected = {(p, c) for c, p in enumerate(BODY_PARENT) if p >= 0}
    for start in (L.LEFT_HAND.start, L.RIGHT_HAND.start):
        expected |= {(start + p, start + c) for c, p in enumerate(HAND_PARENT) if p >= 0}
    assert turning == expected
    assert bones == expected | {(L.L_WRIST, L.LEFT_HAND.start), (L.R_WRIST, L.RIGHT_HAND.start)}   # length-0 links


def test_mediapipe_pose_points_ride_on_the_drawn_body():
    left = {1: L.L_EYE, 3: L.L_EYE, 2: L.L_EYE, 4: L.R_EYE, 5: L.R_EYE, 6: L.R_EYE, 0: L.NOSE, 9: L.NOSE,
            10: L.NOSE, 7: L.L_EAR, 8: L.R_EAR, 11: L.L_SHOULDER, 12: L.R_SHOULDER, 13: L.L_ELBOW, 14: L.R_ELBOW}
    left |= {mp: L.L_WRIST for mp in (15, 17, 19, 21)} | {mp: L.R_WRIST for mp in (16, 18, 20, 22)}
    left |= {mp: L.L_HIP for mp in (23, 25, 27, 29, 31)} | {mp: L.R_HIP for mp in (24, 26, 28, 30, 32)}
    assert pose_mp_anchors() == left
    np.testing.assert_array_equal(TS.PARENT[L.POSE_MP], [left[mp] for mp in range(33)])


def test_forest_order_puts_parents_first():
    rank = np.empty(L.NUM_POINTS, dtype=np.int64)
    rank[TS.ORDER] = np.arange(L.NUM_POINTS)
    rooted = TS.PARENT >= 0
    assert np.all(rank[TS.PARENT[rooted]] < rank[rooted])
    np.testing.assert_array_equal(with_ancestors(np.array([L.R_WRIST])), [L.NECK, L.R_SHOULDER, L.R_ELBOW, L.R_WRIST])


def test_length_cv_is_std_over_mean_over_frames_showing_both_ends():
    xy = np.zeros((4, 3, 2))
    xy[:, 1, 0] = [1.0, 2.0, 1.0, 5.0]
    valid = np.ones((4, 3), dtype=bool)
    valid[3, 1] = False
    cv = sk.length_cv(xy, valid, {"ab": (0, 1), "ac": (0, 2), "gone": (1, 2)})
    assert cv["ab"] == pytest.approx(np.std([1.0, 2.0, 1.0]) / np.mean([1.0, 2.0, 1.0]))
    assert math.isnan(cv["ac"])                                 # zero length throughout
    valid[:, 2] = False
    assert math.isnan(sk.length_cv(xy, valid, {"gone": (1, 2)})["gone"])


def test_retarget_bone_length_cv_is_length_cv_in_canvas_height_units():
    rng = np.random.default_rng(3)
    clip = L.empty_frames(6)
    clip[:, L.BODY] = np.c_[rng.uniform(0.2, 0.8, (6 * 18, 2)), np.ones(6 * 18)].reshape(6, 18, 3)
    clip[2, L.R_ELBOW] = (-1.0, -1.0, 0.0)
    xy = clip[..., :2].astype(np.float64) * [1.5, 1.0]
    assert R.bone_length_cv(clip, 1.5) == sk.length_cv(xy, L.validity_reference(clip), sk.ARM_BONES)
