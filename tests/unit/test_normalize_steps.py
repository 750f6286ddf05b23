"""Normalization `signmail` against values worked out by hand from its seven steps (kernels/normalize.py).

The clip is built so that r_w = r_y = r_face = 1 exactly when steps 1, 2 and 7 use the right
statistic (mean, max, max) on the right landmarks, the first neck already sits on the style neck,
and r_ear = 2. So every point must end exactly where the spelled-out groups below say: head x
doubled about the nose, each arm and hand doubled about its shoulder, everything else unchanged.
The groups are written out here from the method's description, not imported from the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest

from signstream.kernels import layout as L
from signstream.kernels.normalize import normalize_clip, normalize_signmail_reference

B, LH, RH, F = L.BODY.start, L.LEFT_HAND.start, L.RIGHT_HAND.start, L.FACE.start
PMP, FMP, LMP, RMP = L.POSE_MP.start, L.FACE_MP.start, L.LEFT_HAND_MP.start, L.RIGHT_HAND_MP.start

HEAD = [B + i for i in (0, 14, 15, 16, 17)] + [F + i for i in range(68)] + [PMP + i for i in range(11)] \
    + [FMP + i for i in range(478)]
LEFT = [B + i for i in (5, 6, 7)] + [PMP + i for i in (11, 13, 15)] + [LH + i for i in range(21)] \
    + [LMP + i for i in range(21)]
RIGHT = [B + i for i in (2, 3, 4)] + [PMP + i for i in (12, 14, 16)] + [RH + i for i in range(21)] \
    + [RMP + i for i in range(21)]
STYLE = np.array([0.30, 0.20, 0.50, 0.50, 0.20, 0.08])   # shoulder, d_y, x, y, ear_x, face_length


def hand_built_clip() -> np.ndarray:
    rng = np.random.default_rng(11)
    f = L.empty_frames(2)
    for t, (ear_y, ear_half, nose, jaw_low) in enumerate([(0.30, 0.05, (0.50, 0.35), 0.41),
                                                          (0.32, 0.04, (0.51, 0.36), 0.40)]):
        body = {0: nose, 1: (0.5, 0.5), 2: (0.35, 0.5), 3: (0.30, 0.65), 4: (0.32, 0.80), 5: (0.65, 0.5),
                6: (0.70, 0.65), 7: (0.68, 0.80), 8: (0.40, 0.90), 11: (0.60, 0.90),
                14: (nose[0] - 0.02, 0.33), 15: (nose[0] + 0.02, 0.33),
                16: (0.5 - ear_half, ear_y), 17: (0.5 + ear_half, ear_y)}
        for j, (x, y) in body.items():
            f[t, B + j] = (x, y, 1.0)
        # face: every point near the nose, but jaw 0/16 (top) and 4/12 (bottom) set the length:
        # 0.08 in frame 0, 0.07 in frame 1 -> max 0.08 = style; the chin (8) is far lower, so
        # measuring on the wrong landmarks changes the ratio.
        f[t, F:F + 68, :2] = np.array(nose) + rng.uniform(-0.03, 0.03, size=(68, 2))
        f[t, F:F + 68, 2] = 1.0
        f[t, [F, F + 16], 1] = 0.33
        f[t, [F + 4, F + 12], 1] = jaw_low
        f[t, F + 8, 1] = 0.47
        f[t, LH:LH + 21] = np.c_[0.68 + rng.uniform(-0.03, 0.03, 21), 0.84 + rng.uniform(-0.03, 0.03, 21), np.ones(21)]
        f[t, RH:RH + 21] = np.c_[0.32 + rng.uniform(-0.03, 0.03, 21), 0.84 + rng.uniform(-0.03, 0.03, 21), np.ones(21)]
        f[t, PMP:PMP + 33] = np.c_[rng.uniform(0.3, 0.7, 33), rng.uniform(0.3, 0.95, 33), rng.normal(0, 0.1, 33)]
        for mp, op in ((0, 0), (11, 5), (12, 2), (13, 6), (14, 3), (15, 7), (16, 4), (23, 11), (24, 8)):
            f[t, PMP + mp, :2] = f[t, B + op, :2]
        f[t, FMP:FMP + 478] = np.c_[np.array(nose) + rng.uniform(-0.04, 0.04, (478, 2)), rng.normal(0, 0.05, 478)]
        f[t, LMP:LMP + 21] = np.c_[f[t, LH:LH + 21, :2], rng.normal(0, 0.05, 21)]
        f[t, RMP:RMP + 21] = np.c_[f[t, RH:RH + 21, :2], rng.normal(0, 0.05, 21)]
    return f


def expected(clip: np.ndarray) -> np.ndarray:
    out = clip.astype(np.float64)
    for t in range(clip.shape[0]):
        nose_x = out[t, B + 0, 0]
        out[t, HEAD, 0] = nose_x + 2.0 * (out[t, HEAD, 0] - nose_x)
        for group, shoulder in ((LEFT, B + 5), (RIGHT, B + 2)):
            pivot = out[t, shoulder, :2].copy()
            out[t, group, :2] = pivot + 2.0 * (out[t, group, :2] - pivot)
    return out.astype(np.float32)


@pytest.mark.parametrize("normalize", [normalize_clip, normalize_signmail_reference], ids=["numba", "numpy"])
def test_every_point_lands_where_the_design_says(normalize):
    clip = hand_built_clip()
    np.testing.assert_allclose(normalize(clip, STYLE), expected(clip), atol=2e-6)


def test_hand_built_clip_is_what_the_test_claims():
    """Guard the construction: the statistics really are those that make the ratios 1, 1, 2, 1."""
    c = hand_built_clip()
    widths = np.hypot(*(c[:, B + 2, :2] - c[:, B + 5, :2]).T)
    assert widths.mean() == pytest.approx(STYLE[0])
    d_y = np.abs(c[:, B + 1, 1] - (c[:, B + 16, 1] + c[:, B + 17, 1]) / 2)
    assert d_y.max() == pytest.approx(STYLE[1]) and d_y.mean() != pytest.approx(STYLE[1])
    ears = np.abs(c[:, B + 16, 0] - c[:, B + 17, 0])
    assert 2 * ears.max() == pytest.approx(STYLE[4]) and 2 * ears.mean() != pytest.approx(STYLE[4])
    length = np.abs((c[:, F, 1] + c[:, F + 16, 1]) / 2 - (c[:, F + 4, 1] + c[:, F + 12, 1]) / 2)
    assert length.max() == pytest.approx(STYLE[5]) and length.mean() != pytest.approx(STYLE[5])
    np.testing.assert_allclose(c[0, B + 1, :2], STYLE[2:4])


@pytest.mark.parametrize("normalize", [normalize_clip, normalize_signmail_reference], ids=["numba", "numpy"])
def test_dropped_pivot_does_not_make_a_part_pop(normalize):
    """A frame that lost its nose or shoulder is still scaled: the head keeps its width and the hand
    its size, instead of jumping back to the source size for one frame."""
    clip = np.repeat(hand_built_clip()[:1], 3, axis=0)
    clip[1, B + 0] = (-1.0, -1.0, 0.0)            # nose dropped in the middle frame
    clip[1, B + 5] = (-1.0, -1.0, 0.0)            # and the left shoulder
    out = normalize(clip, STYLE)
    ears = np.abs(out[:, B + 16, 0] - out[:, B + 17, 0])
    np.testing.assert_allclose(ears, ears[0], atol=1e-6)
    hand_span = np.ptp(out[:, LH:LH + 21, 0], axis=1)
    np.testing.assert_allclose(hand_span, hand_span[0], atol=1e-6)
    np.testing.assert_array_equal(out[1, B + 0], clip[1, B + 0])   # the missing points stay missing
