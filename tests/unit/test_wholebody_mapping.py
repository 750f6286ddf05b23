"""COCO-WholeBody 133 (DWPose) -> packed frame: neck, OpenPose order, sides, thresholds.

The hand-made skeleton is a person facing the camera in a 400 x 600 image, so the subject's LEFT
side is on the IMAGE RIGHT (larger x).
"""
from __future__ import annotations

import numpy as np
import pytest

from signstream.extract.wholebody import merge_wholebody, wholebody_frame, wholebody_to_frame
from signstream.kernels import layout as L
from signstream.kernels.seedformat import to_seed_frame

W, H = 400, 600

# COCO-WholeBody body points, by name (odd = subject's left).
COCO_BODY = {
    0: (200, 100),                      # nose
    1: (215, 90), 2: (185, 90),         # left, right eye
    3: (230, 95), 4: (170, 95),         # left, right ear
    5: (260, 180), 6: (140, 180),       # left, right shoulder
    7: (280, 260), 8: (120, 260),       # elbows
    9: (290, 330), 10: (110, 330),      # wrists
    11: (240, 350), 12: (160, 350),     # hips
    13: (245, 450), 14: (155, 450),     # knees
    15: (250, 550), 16: (150, 550),     # ankles
}
# OpenPose-18 index -> the COCO point it must be (1, the neck, is checked on its own).
OPENPOSE_FROM_COCO = {0: 0, 2: 6, 3: 8, 4: 10, 5: 5, 6: 7, 7: 9, 8: 12, 9: 14, 10: 16, 11: 11, 12: 13,
                      13: 15, 14: 2, 15: 1, 16: 4, 17: 3}


def facing_person() -> tuple[np.ndarray, np.ndarray]:
    """keypoints (133, 2) pixels, scores (133,) all 0.9."""
    kp = np.zeros((133, 2), dtype=np.float32)
    for i, xy in COCO_BODY.items():
        kp[i] = xy
    kp[17:20] = (252, 560)              # left foot
    kp[20:23] = (148, 560)              # right foot
    face = np.zeros((68, 2), dtype=np.float32)
    face[0:17] = np.stack([np.linspace(170, 230, 17), np.full(17, 110)], axis=1)   # jaw, image left to right
    face[17:36] = (200, 95)
    face[36:42] = (185, 90)             # iBUG 36-41: the subject's right eye
    face[42:48] = (215, 90)             # iBUG 42-47: the subject's left eye
    face[48:68] = (200, 115)
    kp[23:91] = face
    fingers = np.arange(21, dtype=np.float32)
    kp[91:112] = np.stack([292 + fingers, 335 + fingers], axis=1)    # left hand, from the left wrist outwards
    kp[112:133] = np.stack([108 - fingers, 335 + fingers], axis=1)   # right hand
    return kp, np.full(133, 0.9, dtype=np.float32)


def test_sides_follow_the_subject():
    kp, scores = facing_person()
    parts = wholebody_to_frame(kp, scores, W, H)
    body, left, right, face = parts["body"], parts["left_hand"], parts["right_hand"], parts["face"]
    x = body[:, 0]
    assert x[L.R_SHOULDER] < x[L.NECK] < x[L.L_SHOULDER]
    assert x[L.R_EYE] < x[L.L_EYE] and x[L.R_EAR] < x[L.L_EAR] and x[L.R_WRIST] < x[L.L_WRIST]
    # The packed LEFT_HAND is the subject's left: it starts at the body's left wrist.
    assert np.hypot(*(left[0, :2] - body[L.L_WRIST, :2])) < 0.02
    assert np.hypot(*(right[0, :2] - body[L.R_WRIST, :2])) < 0.02
    assert left[:, 0].min() > 0.5 > right[:, 0].max()
    # iBUG-68 passes through: jaw from image left to right, 36-41 at the subject's right eye.
    assert face[0, 0] < face[16, 0]
    np.testing.assert_allclose(face[36:42, :2].mean(axis=0), body[L.R_EYE, :2], atol=1e-6)
    # And the seed dict gets them as hands[0] = left, hands[1] = right.
    seed = to_seed_frame(wholebody_frame(kp, scores, W, H))
    np.testing.assert_allclose(seed["hands"][0], left[:, :2], atol=1e-6)
    np.testing.assert_allclose(seed["hands"][1], right[:, :2], atol=1e-6)


def test_body_is_in_openpose_order_normalized_by_width_and_height():
    kp, scores = facing_person()
    body = wholebody_to_frame(kp, scores, W, H)["body"]
    assert body.shape == (18, 3) and body.dtype == np.float32
    for openpose, coco in OPENPOSE_FROM_COCO.items():
        np.testing.assert_allclose(body[openpose], [kp[coco, 0] / W, kp[coco, 1] / H, 1.0], atol=1e-6,
                                   err_msg=f"OpenPose {openpose} should be COCO {coco}")
    np.testing.assert_allclose(body[L.NECK], [200 / W, 180 / H, 1.0], atol=1e-6)


def test_parts_have_their_sizes_and_come_from_the_right_points():
    kp, scores = facing_person()
    parts = wholebody_to_frame(kp, scores, W, H)
    assert {name: p.shape for name, p in parts.items()} == {
        "body": (18, 3), "face": (68, 3), "left_hand": (21, 3), "right_hand": (21, 3)}
    np.testing.assert_allclose(parts["face"][:, :2], kp[23:91] / (W, H), atol=1e-6)
    np.testing.assert_allclose(parts["left_hand"][:, :2], kp[91:112] / (W, H), atol=1e-6)
    np.testing.assert_allclose(parts["right_hand"][:, :2], kp[112:133] / (W, H), atol=1e-6)


@pytest.mark.parametrize("left_score, right_score, neck_valid", [(0.9, 0.9, True), (0.31, 0.31, True),
                                                                 (0.2, 0.9, False), (0.9, 0.29, False)])
def test_neck_needs_both_shoulders_above_0_3(left_score, right_score, neck_valid):
    kp, scores = facing_person()
    scores[5], scores[6] = left_score, right_score
    body = wholebody_to_frame(kp, scores, W, H)["body"]
    expected = [200 / W, 180 / H, 1.0] if neck_valid else [-1, -1, 0]
    np.testing.assert_allclose(body[L.NECK], expected, atol=1e-6)
    assert (body[L.L_SHOULDER, 2] == 1.0) == (left_score > 0.3)
    assert (body[L.R_SHOULDER, 2] == 1.0) == (right_score > 0.3)


def test_points_below_0_3_are_missing():
    kp, scores = facing_person()
    scores[9] = 0.29            # left wrist -> OpenPose 7
    scores[10] = 0.31           # right wrist -> OpenPose 4
    scores[91 + 8] = 0.1        # left hand, index fingertip
    scores[23 + 30] = 0.0       # face, nose tip
    parts = wholebody_to_frame(kp, scores, W, H)
    np.testing.assert_array_equal(parts["body"][L.L_WRIST], [-1, -1, 0])
    assert parts["body"][L.R_WRIST, 2] == 1.0
    np.testing.assert_array_equal(parts["left_hand"][8], [-1, -1, 0])
    np.testing.assert_array_equal(parts["face"][30], [-1, -1, 0])
    assert np.all(np.delete(parts["left_hand"][:, 2], 8) == 1.0)


def test_exactly_0_3_follows_the_seed_rules():
    # The seed drops coordinates below 0.3 but counts a body point only above 0.3.
    kp, scores = facing_person()
    scores[0] = 0.3             # nose
    scores[91] = 0.3            # left hand root
    parts = wholebody_to_frame(kp, scores, W, H)
    np.testing.assert_allclose(parts["body"][L.NOSE], [200 / W, 100 / H, 0.0], atol=1e-6)
    np.testing.assert_allclose(parts["left_hand"][0], [292 / W, 335 / H, 1.0], atol=1e-6)


def test_merge_replaces_the_flagged_parts_and_keeps_mediapipe():
    rng = np.random.default_rng(3)
    frame = rng.uniform(0, 1, size=(L.NUM_POINTS, 3)).astype(np.float32)   # e.g. made from Holistic
    before = frame.copy()
    kp, scores = facing_person()
    merged = merge_wholebody(frame, kp, scores, W, H)
    np.testing.assert_array_equal(frame, before)                          # input untouched
    parts = wholebody_to_frame(kp, scores, W, H)
    for name in L.FLAGGED_PARTS:
        np.testing.assert_array_equal(merged[L.PARTS[name]], parts[name])
    for name in L.MEDIAPIPE_PARTS:
        np.testing.assert_array_equal(merged[L.PARTS[name]], before[L.PARTS[name]])
    with pytest.raises(ValueError, match="packed frame"):
        merge_wholebody(frame[:100], kp, scores, W, H)


def test_wholebody_frame_has_no_mediapipe_parts():
    kp, scores = facing_person()
    frame = wholebody_frame(kp, scores, W, H)
    assert frame.shape == (L.NUM_POINTS, 3)
    assert all(not np.any(frame[L.PARTS[name]]) for name in L.MEDIAPIPE_PARTS)
