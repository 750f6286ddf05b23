"""Normalization `retarget`: numba kernel vs NumPy reference (≤ 1e-5), the method's promises, the style
skeleton, and `retarget` through the Sentence, the synthesis session and the Retarget session.

Bones, MediaPipe twins and face landmarks are written out here from the OpenPose, MediaPipe and iBUG-68
conventions and the kernel's docstring, not imported from the code under test; expected values are
computed from the clips.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import cv2
import numpy as np
import pytest

from signstream.config import Settings
from signstream.gateway.convert import spec_from_config
from signstream.kernels import layout as L
from signstream.kernels.normalize import normalize_clip
from signstream.kernels.retarget import bone_length_cv, link_lengths, retarget_clip, retarget_reference
from signstream.kernels.skeleton import MP_FACE_TO_IBUG68
from signstream.lexicon import open_lexicon
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import NORMALIZERS, SEED_METHOD, Sentence, SynthesisOptions, synthesize
from signstream.outputs import FrameOut
from signstream.session import open_retarget, open_synthesis
from signstream.style import DEFAULT_SKELETON, DEFAULT_STYLE, default_style, skeleton_from_frame, style_from_image
from signstream.v1 import signstream_pb2 as pb

B, LH, RH, F = L.BODY.start, L.LEFT_HAND.start, L.RIGHT_HAND.start, L.FACE.start
PMP, FMP, LMP, RMP = L.POSE_MP.start, L.FACE_MP.start, L.LEFT_HAND_MP.start, L.RIGHT_HAND_MP.start
BODY_BONES = [(1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
              (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]
HAND_BONES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
              (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]
POSE_MP_TWIN = {0: 0, 2: 12, 3: 14, 4: 16, 5: 11, 6: 13, 7: 15, 8: 24, 9: 26, 10: 28, 11: 23, 12: 25, 13: 27,
                14: 5, 15: 2, 16: 8, 17: 7}                                  # OpenPose j <- MediaPipe pose i
RNG = np.random.default_rng(5)
BODY = RNG.uniform(0.05, 0.3, 18)
BODY[1] = 0.0
HAND = RNG.uniform(0.01, 0.04, 21)
HAND[0] = 0.0
FACE = np.array([0.17, 0.09])
NECK = np.array([0.47, 0.58])


def style_lengths() -> dict[tuple[int, int], float]:
    """(parent, child) packed indices -> style length, for every bone the kernel must honour."""
    out = {(B + a, B + b): BODY[b] for a, b in BODY_BONES}
    for start in (LH, RH, LMP, RMP):
        out.update({(start + a, start + b): HAND[b] for a, b in HAND_BONES})
    for a, b in BODY_BONES:
        if a != 1:
            out[(PMP + POSE_MP_TWIN[a], PMP + POSE_MP_TWIN[b])] = BODY[b]
    return out


def run(impl: str, clip: np.ndarray, aspect: float = 1.0) -> np.ndarray:
    fn = retarget_clip if impl == "numba" else retarget_reference
    return fn(clip, link_lengths(BODY, HAND), FACE, NECK, aspect)


def metric(frames: np.ndarray, aspect: float) -> np.ndarray:
    return frames[..., :2].astype(np.float64) * [aspect, 1.0]


def dropped(clip: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """The clip with flagged points dropped at random and MediaPipe parts missing in some frames."""
    out = clip.copy()
    flagged = L.POINT_GROUP < 0
    drop = (rng.uniform(size=out.shape[:2]) < rate) & flagged
    out[drop] = (-1.0, -1.0, 0.0)
    for name in L.MEDIAPIPE_PARTS:
        out[rng.uniform(size=len(out)) < rate, L.PARTS[name]] = 0.0
    return out


def random_clip(rng: np.random.Generator, T: int, rate: float) -> np.ndarray:
    """Points anywhere, random validity: every parent/child combination the walk can meet."""
    frames = np.zeros((T, L.NUM_POINTS, 3), dtype=np.float32)
    frames[..., :2] = rng.uniform(0.05, 0.95, size=(T, L.NUM_POINTS, 2))
    frames[..., 2] = np.where(L.POINT_GROUP < 0, 1.0, rng.normal(0, 0.05, size=(T, L.NUM_POINTS)))
    return dropped(frames, rng, rate)


def degenerate_clips() -> dict[str, np.ndarray]:
    demo = demo_signs()[1].frames[:12].copy()
    zero = demo.copy()
    zero[::2, B + 3, :2] = zero[::2, B + 2, :2]                        # elbow on the shoulder
    zero[:, LH + 5:LH + 9, :2] = zero[:, LH:LH + 1, :2]                  # a whole finger on the wrist
    zero[3, F:F + 68, :2] = zero[3, B + 0, :2]                           # a face collapsed on the nose
    blank = demo.copy()
    blank[4:7] = L.empty_frames(3)
    no_neck = demo.copy()
    no_neck[:, B + 1] = (-1.0, -1.0, 0.0)
    all_same = demo.copy()
    all_same[..., :2] = 0.5
    return {"zero-length bones": zero, "all-missing frames": blank, "no neck at all": no_neck,
            "empty clip": L.empty_frames(5), "every point on one spot": all_same, "one frame": demo[:1]}


CLIPS = {
    **{f"demo-{s.sign_id}": s.frames for s in demo_signs()[:4]},
    **{f"demo-dropped-{i}": dropped(demo_signs()[i].frames, np.random.default_rng(i), 0.3) for i in range(4)},
    **{f"random-{i}": random_clip(np.random.default_rng(10 + i), 15, 0.3) for i in range(3)},
    **degenerate_clips(),
}


@pytest.mark.parametrize("aspect", [1.0, 0.75, 16 / 9])
@pytest.mark.parametrize("name", sorted(CLIPS))
def test_kernel_matches_reference(name, aspect):
    clip = CLIPS[name]
    out = run("numba", clip, aspect)
    np.testing.assert_allclose(out, run("numpy", clip, aspect), atol=1e-5, rtol=0)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))


@pytest.mark.parametrize("impl", ["numba", "numpy"])
@pytest.mark.parametrize("name", sorted(CLIPS))
def test_missing_points_stay_missing_and_untouched(impl, name):
    clip = CLIPS[name]
    out = run(impl, clip, 0.75)
    valid = L.validity(clip)
    np.testing.assert_array_equal(out[~valid], clip[~valid])
    np.testing.assert_array_equal(out[..., 2], clip[..., 2])            # flags and MediaPipe z
    np.testing.assert_array_equal(L.validity(out), valid)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("aspect", [1.0, 16 / 9])
@pytest.mark.parametrize("impl", ["numba", "numpy"])
@pytest.mark.parametrize("name", ["demo-hello", "demo-dropped-1", "random-0", "zero-length bones"])
def test_every_bone_takes_the_style_length_along_the_source_direction(impl, name, aspect):
    clip = CLIPS[name]
    src, out = metric(clip, aspect), metric(run(impl, clip, aspect), aspect)
    valid = L.validity(clip)
    checked = 0
    for (p, c), length in style_lengths().items():
        both = valid[:, p] & valid[:, c]
        d_src, d_out = src[:, c] - src[:, p], out[:, c] - out[:, p]
        n_src = np.linalg.norm(d_src, axis=1)
        ok = both & (n_src > 1e-4)
        np.testing.assert_allclose(np.linalg.norm(d_out[ok], axis=1), length, atol=1e-5)
        np.testing.assert_allclose(d_out[ok] / length, d_src[ok] / n_src[ok, None], atol=1e-4)
        np.testing.assert_allclose(d_out[both & (n_src == 0)], 0.0, atol=1e-6)   # no direction: on the parent
        checked += ok.sum()
    assert checked > 0


@pytest.mark.parametrize("impl", ["numba", "numpy"])
def test_first_neck_lands_on_the_style_neck_and_the_neck_keeps_its_motion(impl):
    clip = demo_signs()[2].frames.copy()
    valid = L.validity(clip)
    drift = np.linspace(0, 0.05, len(clip))[:, None] * [1.0, -0.5]        # the signer drifts
    clip[..., :2] += np.where(valid[..., None], drift[:, None, :], 0.0).astype(np.float32)
    clip[0, B + 1] = (-1.0, -1.0, 0.0)                                 # the first frame has no neck
    valid = L.validity(clip)
    out = run(impl, clip)
    np.testing.assert_allclose(out[1, B + 1, :2], NECK, atol=1e-6)
    shown = {(B + a, B + b): valid[:, B + a] & valid[:, B + b] for a, b in BODY_BONES}
    shown = {bone: v for bone, v in shown.items() if v.any()}               # the demo has no legs
    mean_src = [np.linalg.norm(clip[v, c, :2] - clip[v, p, :2], axis=1).mean() for (p, c), v in shown.items()]
    s = sum(BODY[c - B] for _, c in shown) / sum(mean_src)
    np.testing.assert_allclose(out[1:, B + 1, :2] - NECK, s * (clip[1:, B + 1, :2] - clip[1, B + 1, :2]), atol=1e-5)


@pytest.mark.parametrize("impl", ["numba", "numpy"])
def test_points_under_a_missing_parent_keep_their_offset_scaled_by_the_path(impl):
    clip = demo_signs()[3].frames.copy()
    t = 5
    clip[t, B + 3] = (-1.0, -1.0, 0.0)                                 # R-elbow missing in one frame
    clip[t, B + 1] = (-1.0, -1.0, 0.0)                                 # and the neck
    out = run(impl, clip)
    keep = np.ones(len(clip), bool)
    keep[t] = False
    mean = {b: np.linalg.norm(clip[keep, B + b, :2] - clip[keep, B + a, :2], axis=1).mean()
            for a, b in ((1, 2), (2, 3), (3, 4))}
    r_arm = (BODY[3] + BODY[4]) / (mean[3] + mean[4])
    np.testing.assert_allclose(out[t, B + 4, :2] - out[t, B + 2, :2],
                               r_arm * (clip[t, B + 4, :2] - clip[t, B + 2, :2]), atol=1e-5)
    # the neck is borrowed from the nearest frame (the earlier on a tie): the shoulder hangs on it
    r_sh = BODY[2] / mean[2]
    borrowed_src, borrowed_out = clip[t - 1, B + 1, :2], out[t - 1, B + 1, :2]
    np.testing.assert_allclose(out[t, B + 2, :2], borrowed_out + r_sh * (clip[t, B + 2, :2] - borrowed_src), atol=1e-5)


@pytest.mark.parametrize("impl", ["numba", "numpy"])
def test_hands_stay_on_the_wrists_and_mediapipe_parts_follow_their_twins(impl):
    clip = demo_signs()[5].frames                  # HELP: both hands; the demo fills MediaPipe parts consistently
    out = run(impl, clip)
    valid = L.validity(clip)
    for hand, mp, wrist in ((LH, LMP, 7), (RH, RMP, 4)):
        on = valid[:, hand] & valid[:, B + wrist]
        assert on.any()
        np.testing.assert_allclose(out[on, hand, :2], out[on, B + wrist, :2], atol=1e-6)
        shown = valid[:, mp]
        np.testing.assert_allclose(out[shown, mp:mp + 21, :2], out[shown, hand:hand + 21, :2], atol=1e-5)
    for j, i in POSE_MP_TWIN.items():
        both = valid[:, B + j] & valid[:, PMP + i]
        np.testing.assert_allclose(out[both, PMP + i, :2], out[both, B + j, :2], atol=1e-5)
    np.testing.assert_allclose(out[:, FMP + MP_FACE_TO_IBUG68, :2], out[:, F:F + 68, :2], atol=1e-5)


@pytest.mark.parametrize("impl", ["numba", "numpy"])
def test_face_keeps_its_source_shape_sized_to_the_style_face(impl):
    clip = demo_signs()[4].frames                  # NO: the head turns, so the face narrows and widens
    aspect = 0.8
    src, out = metric(clip, aspect), metric(run(impl, clip, aspect), aspect)
    width = np.abs(src[:, F + 0, 0] - src[:, F + 16, 0]).max()
    length = np.abs((src[:, F + 0, 1] + src[:, F + 16, 1]) / 2 - (src[:, F + 4, 1] + src[:, F + 12, 1]) / 2).max()
    S = FACE / [width, length]
    nose_src, nose_out = src[:, B:B + 1], out[:, B:B + 1]
    np.testing.assert_allclose(out[:, F:F + 68], nose_out + S * (src[:, F:F + 68] - nose_src), atol=1e-5)


def test_bone_length_cv_is_std_over_mean_across_frames():
    clip = L.empty_frames(4)
    clip[:, [B + 2, B + 3], 2] = 1.0
    clip[:, B + 2, :2] = 0.5
    clip[:, B + 3, :2] = np.c_[0.5 + np.array([0.1, 0.2, 0.1, 0.2]) / 2, np.full(4, 0.5)]
    cv = bone_length_cv(clip, aspect=2.0)
    assert cv["r_upper_arm"] == pytest.approx(np.std([0.1, 0.2] * 2) / 0.15)
    assert np.isnan(cv["l_forearm"])


# --------------------------------------------------------------------------- the style skeleton

def test_default_skeleton_comes_from_the_default_style():
    d = DEFAULT_SKELETON
    assert d.body[2] == d.body[5] == pytest.approx(DEFAULT_STYLE.shoulder / 2)
    assert d.face_length == DEFAULT_STYLE.face_length
    bones = [d.body[b] for _, b in BODY_BONES] + [d.hand[b] for _, b in HAND_BONES]
    assert min(bones) > 0 and d.body[1] == 0 and d.hand[0] == 0
    for r, left in ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17)):
        assert d.body[r] == d.body[left]


def style_frame(width: int, height: int) -> np.ndarray:
    """A style frame with neck, shoulders, the right arm, a foreshortened left upper arm and the face;
    no left wrist, eyes, ears, hips or hands."""
    f = L.empty_frames(1)[0]
    a = width / height
    pts = {1: (0.5, 0.4), 2: (0.5 - 0.15 / a, 0.4), 5: (0.5 + 0.15 / a, 0.4), 3: (0.5 - 0.15 / a, 0.6),
           4: (0.5 - 0.15 / a, 0.75), 6: (0.5 + 0.15 / a, 0.5), 0: (0.5, 0.25)}
    for j, xy in pts.items():
        f[B + j] = (*xy, 1.0)
    f[F:F + 68] = (0.5, 0.2, 1.0)
    f[[F + 0, F + 16], :2] = [(0.5 - 0.06 / a, 0.2), (0.5 + 0.06 / a, 0.2)]
    f[[F + 4, F + 12], 1] = 0.28
    return f


def test_skeleton_is_measured_in_height_units_with_sides_and_defaults_filled():
    sk = skeleton_from_frame(style_frame(300, 200), 300, 200)
    np.testing.assert_allclose([sk.body[2], sk.body[5], sk.body[3], sk.body[4], sk.body[0]],
                               [0.15, 0.15, 0.2, 0.15, 0.15], atol=1e-6)
    assert sk.body[6] == sk.body[3] and sk.body[7] == sk.body[4]         # the longer side, for both
    assert sk.face_width == pytest.approx(0.12, abs=1e-6) and sk.face_length == pytest.approx(0.08, abs=1e-6)
    d = DEFAULT_SKELETON
    scale = (0.15 * 4 + 0.2 * 2 + 0.15) / (d.body[2] * 2 + d.body[3] * 2 + d.body[4] * 2 + d.body[0])
    np.testing.assert_allclose([sk.body[8], sk.body[13]], [d.body[8] * scale, d.body[13] * scale])
    np.testing.assert_allclose(sk.hand, np.array(d.hand) * scale)
    assert {"r_hip", "l_ankle", "r_eye", "hand_20"} <= set(sk.defaulted)
    assert not {"r_shoulder", "l_elbow", "l_wrist", "face_width"} & set(sk.defaulted)


def test_one_hand_in_the_style_image_gives_both():
    f = style_frame(200, 200)
    demo = demo_signs()[0].frames[0]
    f[RH:RH + 21] = demo[RH:RH + 21]
    assert demo[RH, 2] > 0
    sk = skeleton_from_frame(f, 200, 200)
    expected = [np.hypot(*(demo[RH + b, :2] - demo[RH + a, :2])) for a, b in HAND_BONES]
    np.testing.assert_allclose([sk.hand[b] for _, b in HAND_BONES], expected, rtol=1e-6)
    assert not any(n.startswith("hand") for n in sk.defaulted)


def test_style_from_image_carries_its_skeleton():
    frame = style_frame(300, 200)
    style = style_from_image(np.zeros((200, 300, 3), np.uint8), frame)
    assert style.skeleton == skeleton_from_frame(frame, 300, 200)
    assert default_style().skeleton == DEFAULT_SKELETON


# --------------------------------------------------------------------------- through the pipeline

def test_sentence_retargets_with_the_style_and_keeps_signmail_as_it_was():
    clips = [(s.sign_id, s.frames) for s in demo_signs()[:3]]
    style = style_from_image(np.zeros((200, 300, 3), np.uint8), style_frame(300, 200))
    sk = style.skeleton
    chunks = synthesize(clips, style, SynthesisOptions(num_interpolation=0, normalization="retarget",
                                                       transition="linear"))
    for chunk, (_, frames) in zip(chunks, clips):
        expected = retarget_clip(frames, link_lengths(np.array(sk.body), np.array(sk.hand)),
                                 np.array([sk.face_width, sk.face_length]),
                                 np.array([style.params.x, style.params.y]), 1.5)
        np.testing.assert_array_equal(chunk.frames, expected)
    signmail = synthesize(clips, style, SynthesisOptions(num_interpolation=0, **SEED_METHOD))
    for chunk, (_, frames) in zip(signmail, clips):
        np.testing.assert_array_equal(chunk.frames, normalize_clip(frames, style.params.as_array()))
    assert set(NORMALIZERS) >= {"signmail", "retarget"}


def test_bare_style_params_mean_the_default_skeleton_on_the_default_canvas():
    sign_id, frames = demo_signs()[0].sign_id, demo_signs()[0].frames
    options = SynthesisOptions(normalization="retarget")
    a = Sentence(DEFAULT_STYLE, options).add(sign_id, frames).frames
    np.testing.assert_array_equal(a, Sentence(default_style(), options).add(sign_id, frames).frames)


async def _stream(opened, items) -> np.ndarray:
    """Open a session (awaitable), send it items, return the keypoints of every frame it streams."""
    session = await opened
    out = []
    try:
        for outputs in [session.add(item) for item in items] + [session.finish()]:
            async for frame in outputs:              # finish: what smooth joins held back
                assert isinstance(frame, FrameOut)
                out.append(frame.keypoints)
    finally:
        session.close()
    return np.stack(out)


class _FakeExtractor:
    """Hands out fixed packed frames: the style frame first, then one clip frame per image."""

    version = "fake"

    def __init__(self, frames: list[np.ndarray]):
        self._frames = list(frames)

    async def extract(self, rgb: np.ndarray) -> np.ndarray:
        return self._frames.pop(0)


def _png(width: int, height: int) -> bytes:
    return cv2.imencode(".png", np.zeros((height, width, 3), np.uint8))[1].tobytes()


def test_synthesis_session_config_selects_retarget(demo_lexicon_dir):
    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    ids = ["hello", "name", "yes"]
    config = pb.SessionConfig(encoding=pb.NONE, width=96, height=64, normalization="retarget",
                              style_image=_png(300, 200), num_interpolation=3)
    with ThreadPoolExecutor(2) as pool:
        got = asyncio.run(_stream(open_synthesis(spec_from_config(config), lexicon,
                                                 _FakeExtractor([style_frame(300, 200)]), pool), ids))
    style = replace(style_from_image(np.zeros((200, 300, 3), np.uint8), style_frame(300, 200)), width=96, height=64)
    chunks = synthesize([(i, lexicon.get_clip(i).frames) for i in ids], style,
                        SynthesisOptions(3, 0, "retarget"))
    np.testing.assert_array_equal(got, np.concatenate([c.frames for c in chunks]))


def test_retarget_stream_uses_the_chosen_normalization():
    clip = demo_signs()[6].frames[:4]
    config = pb.SessionConfig(encoding=pb.NONE, normalization="retarget")
    with ThreadPoolExecutor(2) as pool:
        got = asyncio.run(_stream(open_retarget(spec_from_config(config), _FakeExtractor(list(clip)), pool),
                                  [_png(32, 32)] * len(clip)))
    retarget = NORMALIZERS["retarget"](default_style())
    for t in range(len(clip)):
        np.testing.assert_array_equal(got[t], retarget(np.stack([clip[0], clip[t]]))[1])


def test_retarget_stream_filters_extracted_keypoints_causally_when_asked():
    from signstream.kernels.jitter import JitterFilter, JitterParams

    clip = demo_signs()[6].frames[:12].copy()
    rng = np.random.default_rng(5)
    ok = clip[:, :18, 2] > 0
    clip[:, :18, :2] += np.where(ok[..., None], rng.normal(0, 0.004, clip[:, :18, :2].shape), 0).astype(np.float32)
    config = pb.SessionConfig(encoding=pb.NONE, keypoint_filter="one_euro", normalization="signmail")
    with ThreadPoolExecutor(2) as pool:
        got = asyncio.run(_stream(open_retarget(spec_from_config(config), _FakeExtractor(list(clip)), pool),
                                  [_png(32, 32)] * len(clip)))
    assert len(got) == len(clip)                                     # causal: a frame out per frame in
    one_euro = JitterFilter(JitterParams(fps=25.0, aspect=1.0))
    filtered = [one_euro.push(frame) for frame in clip]
    signmail = NORMALIZERS["signmail"](default_style())
    for t in range(len(clip)):
        np.testing.assert_array_equal(got[t], signmail(np.stack([filtered[0], filtered[t]]))[1])
