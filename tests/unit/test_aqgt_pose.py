"""AQ-GT's 53 joints: positions rebuilt from offsets plus the mean, and mapped onto our layout through
`retarget` (constant bone lengths, every part filled, coordinates in [0, 1])."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.gesture.aqgt_contract import N_JOINTS, PARENT, POSE_DIM
from signstream.gesture.aqgt_pose import GestureBody, rebuild_positions
from signstream.kernels import layout as L
from signstream.kernels.retarget import bone_length_cv
from signstream.kernels.skeleton import BODY_PARENT, HAND_PARENT
from signstream.models.aqgt_standin import rest_offsets


def test_positions_are_the_offsets_plus_the_mean_summed_down_the_tree():
    rng = np.random.default_rng(0)
    dir_vec = rng.standard_normal((2, 34, POSE_DIM)).astype(np.float32) * 0.01
    mean = rest_offsets()
    pos = rebuild_positions(dir_vec, mean)
    assert pos.shape == (2, 34, N_JOINTS, 3)
    offsets = (dir_vec + mean).reshape(2, 34, N_JOINTS, 3)
    np.testing.assert_allclose(pos[..., 0, :], offsets[..., 0, :], atol=1e-6)
    for j in range(1, N_JOINTS):
        np.testing.assert_allclose(pos[..., j, :] - pos[..., PARENT[j], :], offsets[..., j, :], atol=1e-5)


def test_the_tree_is_aqgts_upper_body_and_two_hands():
    assert PARENT[:11].tolist() == [-1, 0, 1, 2, 3, 2, 5, 6, 2, 8, 9]
    assert [PARENT[11 + i] for i in (0, 1, 5, 9)] == [7] * 4 and PARENT[11 + 13] == PARENT[11 + 17] == 11
    assert [PARENT[32 + i] for i in (0, 1, 5, 9)] == [10] * 4 and PARENT[32 + 13] == 32


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(3)
    dir_vec = np.tanh(rng.standard_normal((60, POSE_DIM))) * 0.03
    return GestureBody().frames(rebuild_positions(dir_vec, rest_offsets()))


def _lengths(frames: np.ndarray, part: slice, parent) -> np.ndarray:
    xy = frames[:, part, :2].astype(np.float64)
    return np.stack([np.linalg.norm(xy[:, c] - xy[:, p], axis=-1) for c, p in enumerate(parent) if p >= 0], 1)


def test_bone_lengths_are_constant_over_frames(frames):
    assert all(cv < 1e-4 for cv in bone_length_cv(frames).values())
    body = _lengths(frames, L.BODY, [p if c not in L.KNEES_AND_ANKLES and p not in L.KNEES_AND_ANKLES else -1
                                     for c, p in enumerate(BODY_PARENT)])
    for part in (L.LEFT_HAND, L.RIGHT_HAND):
        hand = _lengths(frames, part, HAND_PARENT)
        assert np.ptp(hand, axis=0).max() < 1e-4
    assert np.ptp(body, axis=0).max() < 1e-4


def test_every_part_is_filled_and_inside_the_frame(frames):
    assert frames.shape == (60, L.NUM_POINTS, 3) and np.all(np.isfinite(frames))
    valid = L.validity(frames)
    for part in ("body", "left_hand", "right_hand", "face", "pose_mp", "face_mp", "left_hand_mp", "right_hand_mp"):
        s = L.PARTS[part]
        assert valid[:, s].any(axis=1).all(), part
    xy = frames[..., :2][valid]
    assert xy.min() >= 0 and xy.max() <= 1
    assert not valid[:, L.KNEES_AND_ANKLES].any()           # cut at the hips, like the demo signer


def test_the_arms_move_with_the_model(frames):
    wrists = frames[:, [L.L_WRIST, L.R_WRIST], :2]
    assert np.ptp(wrists, axis=0).max() > 0.01
    # left is the subject's left: on the image right
    assert np.all(frames[:, L.L_SHOULDER, 0] > frames[:, L.R_SHOULDER, 0])
