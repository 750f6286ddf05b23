"""The procedural demo lexicon: shapes, determinism, anatomy (bone lengths, sides), MediaPipe consistency."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.kernels import layout as L
from signstream.kernels.skeleton import MP_FACE_TO_IBUG68, MP_NECK_FROM, MP_POSE_TO_OPENPOSE
from signstream.lexicon.demo import DemoSign, demo_signs
from signstream.lexicon.sign_id import canonical_sign_id

ARM_BONES = ((2, 3), (3, 4), (5, 6), (6, 7))      # shoulder-elbow, elbow-wrist, both arms
FINGERTIPS = (4, 8, 12, 16, 20)


@pytest.fixture(scope="module", params=[0, 1, 2024])
def signs(request) -> list[DemoSign]:
    return demo_signs(request.param)


def test_lexicon_shape(signs):
    assert len(signs) >= 12
    ids = [s.sign_id for s in signs]
    assert len(set(ids)) == len(ids)
    for s in signs:
        assert s.sign_id == s.sign_id.lower() and canonical_sign_id(s.sign_id) == s.sign_id
        assert s.gloss and s.fps == 25.0
        assert s.frames.dtype == np.float32 and s.frames.ndim == 3
        assert s.frames.shape[1:] == (L.NUM_POINTS, 3)
        assert 25 <= s.frames.shape[0] <= 62
        assert np.all(np.isfinite(s.frames))
        assert L.check_frames(s.frames).shape == s.frames.shape


def test_deterministic_per_seed():
    first, again, other = demo_signs(3), demo_signs(3), demo_signs(4)
    for a, b in zip(first, again):
        assert a.sign_id == b.sign_id and np.array_equal(a.frames, b.frames)
    assert [s.sign_id for s in other] == [s.sign_id for s in first]
    assert [len(s.frames) for s in other] == [len(s.frames) for s in first]
    assert any(not np.array_equal(a.frames, b.frames) for a, b in zip(first, other))
    assert np.array_equal(demo_signs()[0].frames, demo_signs(0)[0].frames)


def test_valid_points_stay_inside_the_frame(signs):
    for s in signs:
        valid = L.validity(s.frames)
        xy = s.frames[..., :2][valid]
        assert xy.min() >= 0.02 and xy.max() <= 0.98, s.sign_id
        flagged = s.frames[:, : L.POSE_MP.start]
        assert np.all(flagged[..., 2] >= 0) and set(np.unique(flagged[..., 2])) <= {0.0, 1.0}
        missing = flagged[..., 2] == 0
        assert np.all(flagged[..., :2][missing] == -1.0), s.sign_id


def test_arm_bone_lengths_are_constant(signs):
    for s in signs:
        body = s.frames[:, L.BODY]
        for a, b in ARM_BONES:
            ok = (body[:, a, 2] > 0) & (body[:, b, 2] > 0)
            length = np.linalg.norm(body[ok, a, :2].astype(np.float64) - body[ok, b, :2], axis=-1)
            assert ok.sum() > 0 and length.std() / length.mean() < 1e-3, (s.sign_id, a, b)
            assert 0.12 < length.mean() < 0.2


def _wrist_travel(s: DemoSign) -> float:
    body = s.frames[:, L.BODY, :2]
    return max(float(np.ptp(body[:, w], axis=0).max()) for w in (L.R_WRIST, L.L_WRIST))


def test_hands_articulate_and_move(signs):
    spreads = []
    for s in signs:
        for part in (L.LEFT_HAND, L.RIGHT_HAND):
            hand = s.frames[:, part]
            ok = hand[:, 0, 2] > 0
            d = np.linalg.norm(hand[ok][:, FINGERTIPS, :2] - hand[ok][:, :1, :2], axis=-1)
            spreads.append(((d.max(0) - d.min(0)) / d.max(0)).max())
            flat = np.linalg.norm(hand[ok][:, 12, :2] - hand[ok][:, 0, :2], axis=-1).max()
            assert 0.06 < flat < 0.1, s.sign_id          # hand size ~0.09 wrist -> middle fingertip
    assert max(spreads) > 0.2
    assert sum(_wrist_travel(s) > 0.05 for s in signs) >= 0.75 * len(signs)
    # most signs bring a hand up to chest or face height (the neck is at y ~0.55)
    raised = [s for s in signs if s.frames[:, L.BODY, 1][:, [L.R_WRIST, L.L_WRIST]].min() < 0.62]
    assert len(raised) >= 0.75 * len(signs)


def test_two_handed_and_one_handed_signs(signs):
    def moves(s, w):
        return float(np.ptp(s.frames[:, L.BODY, :2][:, w], axis=0).max()) > 0.05

    both = [s.sign_id for s in signs if moves(s, L.R_WRIST) and moves(s, L.L_WRIST)]
    one = [s.sign_id for s in signs if moves(s, L.R_WRIST) and not moves(s, L.L_WRIST)]
    assert len(both) >= 3 and len(one) >= 3


def test_sides_face_the_camera(signs):
    for s in signs:
        b, f = s.frames[:, L.BODY, 0], s.frames[:, L.FACE, 0]
        assert np.all(b[:, L.R_SHOULDER] < b[:, L.L_SHOULDER])
        assert np.all(b[:, L.R_EAR] < b[:, L.L_EAR]) and np.all(b[:, L.R_EYE] < b[:, L.L_EYE])
        assert np.all(f[:, 0] < f[:, 16]) and np.all(f[:, 36] < f[:, 45])
        assert np.all(s.frames[:, L.BODY, 1][:, L.NOSE] < s.frames[:, L.BODY, 1][:, L.NECK])   # head on top
        body = s.frames[:, L.BODY, :2]
        for part, wrist in ((L.RIGHT_HAND, L.R_WRIST), (L.LEFT_HAND, L.L_WRIST)):
            hand = s.frames[:, part]
            ok = hand[:, 0, 2] > 0
            assert np.all(np.linalg.norm(hand[ok, 0, :2] - body[ok, wrist], axis=-1) < 0.02), s.sign_id


def test_knees_and_ankles_missing(signs):
    for s in signs:
        body = s.frames[:, L.BODY]
        assert np.all(body[:, L.KNEES_AND_ANKLES, 2] == 0)
        assert np.all(body[:, L.KNEES_AND_ANKLES, :2] == -1)
        others = np.setdiff1d(np.arange(18), L.KNEES_AND_ANKLES)
        assert np.all(body[:, others, 2] == 1)
        assert np.all(s.frames[:, L.FACE, 2] == 1)


def test_missing_hands_are_missing_in_both_parts(signs):
    with_gap = set()
    for s in signs:
        for flagged, mp in ((L.LEFT_HAND, L.LEFT_HAND_MP), (L.RIGHT_HAND, L.RIGHT_HAND_MP)):
            hand, hand_mp = s.frames[:, flagged], s.frames[:, mp]
            present = hand[:, :, 2] > 0
            assert np.all(present.all(1) == present.any(1))          # a hand is all there or all gone
            gone = ~present[:, 0]
            if gone.any():
                with_gap.add(s.sign_id)
            assert np.all(hand[gone, :, :2] == -1) and np.all(hand_mp[gone] == 0)
            assert np.array_equal(hand_mp[~gone, :, :2], hand[~gone, :, :2])   # the hands agree
            assert np.all(np.any(hand_mp[~gone] != 0, axis=(1, 2)))
    assert len(with_gap) >= 2


def test_face_mesh_maps_onto_face68(signs):
    for s in signs:
        mesh = s.frames[:, L.FACE_MP]
        assert np.array_equal(mesh[:, MP_FACE_TO_IBUG68, :2], s.frames[:, L.FACE, :2])
        others = np.setdiff1d(np.arange(478), MP_FACE_TO_IBUG68)
        face = s.frames[:, L.FACE, :2]
        lo, hi = face.min(1, keepdims=True) - 0.01, face.max(1, keepdims=True) + 0.01
        assert np.all((mesh[:, others, :2] >= lo) & (mesh[:, others, :2] <= hi))   # inside the face box
        assert len(np.unique(mesh[0, :, :2].round(5), axis=0)) == 478               # no stacked points


def test_pose_mp_maps_onto_body(signs):
    for s in signs:
        pose, body = s.frames[:, L.POSE_MP], s.frames[:, L.BODY]
        assert np.all(np.any(pose != 0, axis=(1, 2)))
        mapped = pose[:, np.maximum(MP_POSE_TO_OPENPOSE, 0), :2].copy()
        mapped[:, L.NECK] = pose[:, list(MP_NECK_FROM), :2].mean(1)
        valid = body[:, :, 2] > 0
        assert np.abs(mapped[valid] - body[..., :2][valid]).max() < 1e-6, s.sign_id
        hips_y = body[:, [L.R_HIP, L.L_HIP], 1].max(1)
        assert np.all(pose[:, 25:33, 1] > hips_y[:, None])                        # legs below the hips
        assert np.abs(pose[..., 2]).max() < 0.5                                   # z stays small
