"""Sentence assembly (incremental, as the gateway will stream it) and settings."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.config import settings_from_env
from signstream.errors import InvalidArgument
from signstream.kernels import layout as L
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import FrameKind, Sentence, SynthesisOptions, output_length, sign_kinds, synthesize
from signstream.style import DEFAULT_STYLE


@pytest.fixture(scope="module")
def clips():
    return [(s.sign_id, s.frames) for s in demo_signs()[:3]]


def test_each_sign_releases_its_transition_then_its_frames(clips):
    sentence = Sentence(DEFAULT_STYLE, SynthesisOptions(num_interpolation=4, num_insert_interpolation=2))
    first = sentence.add(*clips[0])
    T0 = clips[0][1].shape[0]
    assert len(first) == T0 + (T0 - 1) * 2                       # no transition before the first sign
    assert set(first.kinds) == {FrameKind.SIGN, FrameKind.INSERTED}
    second = sentence.add(*clips[1])
    assert list(second.kinds[:4]) == [FrameKind.TRANSITION] * 4
    assert second.sign_id == clips[1][0]                           # transitions carry the incoming sign
    # the transition starts from where the previous sign ended
    lead = second.frames[0, L.NOSE, :2]
    end, start = first.frames[-1, L.NOSE, :2], second.frames[4, L.NOSE, :2]
    np.testing.assert_allclose(lead, end + (start - end) / 5, atol=1e-6)


def test_batch_equals_incremental(clips):
    opts = SynthesisOptions(num_interpolation=3)
    batch = synthesize(clips, DEFAULT_STYLE, opts)
    sentence = Sentence(DEFAULT_STYLE, opts)
    for chunk, (sign_id, frames) in zip(batch, clips):
        np.testing.assert_array_equal(chunk.frames, sentence.add(sign_id, frames).frames)
    total = sum(len(c) for c in batch)
    assert total == output_length([f.shape[0] for _, f in clips], 3, 0)


@pytest.mark.parametrize(
    "options, field",
    [
        (SynthesisOptions(num_interpolation=-1), "num_interpolation"),
        (SynthesisOptions(num_interpolation=121), "num_interpolation"),
        (SynthesisOptions(num_insert_interpolation=9), "num_insert_interpolation"),
        (SynthesisOptions(normalization="nope"), "normalization"),
    ],
)
def test_options_out_of_limits_name_the_field(options, field):
    with pytest.raises(InvalidArgument) as info:
        Sentence(DEFAULT_STYLE, options)
    assert info.value.field == field and field in info.value.message


def test_sign_kinds_layout():
    assert list(sign_kinds(3, 2)) == [0, 2, 2, 0, 2, 2, 0]
    assert list(sign_kinds(1, 5)) == [0]


def test_settings_env_then_flags():
    env = {"SIGNSTREAM_LEXICON": "s3://b/p", "SIGNSTREAM_CACHE_MIB": "64", "SIGNSTREAM_S3_ENDPOINT_URL": "http://127.0.0.1:9"}
    s = settings_from_env(env)
    assert (s.lexicon, s.cache_mib, s.s3.endpoint_url) == ("s3://b/p", 64, "http://127.0.0.1:9")
    s = settings_from_env(env, lexicon="dir", s3_region="eu-west-1", s3_endpoint_url=None)
    assert (s.lexicon, s.s3.region, s.s3.endpoint_url) == ("dir", "eu-west-1", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="SIGNSTREAM_CACHE_MIB"):
        settings_from_env({"SIGNSTREAM_CACHE_MIB": "lots"})


def test_warm_up_covers_what_a_real_sentence_compiles():
    """After warm_up, a sentence built from the lexicon's read-only clips compiles nothing new, so a
    server that warmed up never stalls its first request on numba."""
    from signstream.kernels import interpolate, normalize
    from signstream.kernels.warmup import warm_up

    kernels = (normalize.normalize_signmail, normalize.point_validity,
               interpolate.insert_interpolation, interpolate.transition_frames)
    warm_up()
    before = [len(k.signatures) for k in kernels]
    sentence = Sentence(DEFAULT_STYLE, SynthesisOptions(num_interpolation=3, num_insert_interpolation=1))
    for sign in demo_signs()[:2]:
        frames = sign.frames.copy()
        frames.setflags(write=False)
        sentence.add(sign.sign_id, frames)
    assert [len(k.signatures) for k in kernels] == before


SENTENCE6 = ["hello", "thank-you", "please", "yes", "no", "help"]


@pytest.fixture(scope="module")
def demo_by_id():
    return {s.sign_id: s.frames for s in demo_signs()}


@pytest.mark.parametrize("m", [0, 1])
def test_smooth_transitions_stream_what_the_batch_gives_with_each_frame_under_its_sign(demo_by_id, m):
    from signstream.kernels import transition_smooth as TS
    from signstream.results import SentenceFrames

    opts = SynthesisOptions(num_interpolation=6, num_insert_interpolation=m, transition="smooth")
    clips = [(s, demo_by_id[s]) for s in SENTENCE6]
    sentence = Sentence(DEFAULT_STYLE, opts)
    streamed = [sentence.add(*clip) for clip in clips]
    for chunk in streamed[1:]:                         # at most JOIN_WINDOW - 1 frames of a sign wait
        assert chunk.tail <= (TS.JOIN_WINDOW - 1) * (m + 1)
    streamed.append(sentence.finish())
    assert sentence.finish() is None                   # nothing is released twice
    batch = synthesize(clips, DEFAULT_STYLE, opts)
    np.testing.assert_array_equal(np.concatenate([c.frames for c in streamed]), np.concatenate([c.frames for c in batch]))
    whole = SentenceFrames.from_chunks(batch)
    # every sign's frames in one run, in sentence order; transitions labelled with the sign they lead into
    runs = [whole.sign_ids[0]] + [b for a, b in zip(whole.sign_ids, whole.sign_ids[1:]) if a != b]
    assert runs == SENTENCE6
    transition = whole.kinds == FrameKind.TRANSITION
    assert transition.sum() >= 6 * (len(SENTENCE6) - 1) and np.all(np.isfinite(whole.frames))
    # joins trim frames: fewer sign frames than the clips hold, never a sign without one
    sign = whole.kinds == FrameKind.SIGN
    assert sign.sum() < sum(len(f) for _, f in clips)
    assert all(np.any(sign & (whole.sign_ids == s)) for s in SENTENCE6)


SENTENCES = [SENTENCE6, ["morning", "good", "friend", "sign", "no", "thank-you"],
             ["help", "want", "hello", "where", "name", "no"], ["where", "no", "thank-you", "please", "name", "yes"]]


@pytest.mark.parametrize("normalization", ["signmail", "retarget"])
@pytest.mark.parametrize("m", [0, 1])
def test_smooth_transitions_keep_wrist_steps_within_the_signing_they_join(demo_by_id, normalization, m):
    """Done-when (issue 7): in every junction, no wrist step above 1.5 x the p95 of both wrists' in-sign
    steps in the two signs joined, as shown (server/quality.py, worst_wrist_adjacent); no NaN, nothing
    missing drawn. The same sentences with linear transitions miss it."""
    from signstream.quality import assess
    from signstream.results import SentenceFrames
    from signstream.style import default_style

    style = default_style(960, 540)
    worst = {}
    for transition in ("smooth", "linear"):
        ratios = []
        for signs in SENTENCES:
            whole = SentenceFrames.from_chunks(synthesize([(s, demo_by_id[s]) for s in signs], style,
                                                          SynthesisOptions(8, m, normalization, transition)))
            q = assess(whole.frames, whole.kinds, whole.sign_ids, style.width, style.height, 25.0)
            assert q.checks["non_finite_values"] == 0 and q.checks["missing_drawn_frames"] == 0
            ratios.append(q.worst_wrist_adjacent["ratio"])
        worst[transition] = max(ratios)
    assert worst["smooth"] <= 1.5 < worst["linear"], worst


def test_an_unknown_transition_is_refused():
    with pytest.raises(InvalidArgument, match="transition 'cubic'") as error:
        SynthesisOptions(transition="cubic").validated()
    assert error.value.field == "transition"


def _jitter(frames: np.ndarray) -> float:
    """Mean frame-to-frame step of the body's valid points."""
    body = frames[:, L.BODY, :2].astype(np.float64)
    ok = (frames[1:, L.BODY, 2] > 0) & (frames[:-1, L.BODY, 2] > 0)
    return float(np.linalg.norm(np.diff(body, axis=0), axis=-1)[ok].mean())


def test_the_one_euro_keypoint_filter_smooths_each_clip_before_normalization(demo_by_id):
    from signstream.kernels import jitter
    from signstream.pipeline import CLIP_FILTER_LOOKAHEAD, NORMALIZERS
    from signstream.style import default_style

    rng = np.random.default_rng(3)
    clip = demo_by_id["hello"].copy()
    valid = clip[:, L.BODY, 2] > 0
    clip[:, L.BODY, :2] += np.where(valid[..., None], rng.normal(0, 0.004, clip[:, L.BODY, :2].shape), 0)
    style = default_style(960, 540)
    opts = SynthesisOptions(num_interpolation=0, keypoint_filter="one_euro")
    got = Sentence(style, opts).add("hello", clip, 25.0).frames
    params = jitter.JitterParams(fps=25.0, lookahead=CLIP_FILTER_LOOKAHEAD, aspect=960 / 540)
    np.testing.assert_array_equal(got, NORMALIZERS["signmail"](style)(jitter.filter_clip(clip, params)))
    plain = Sentence(style, SynthesisOptions(num_interpolation=0)).add("hello", clip).frames
    assert _jitter(got) < 0.6 * _jitter(plain)
    with pytest.raises(InvalidArgument, match="keypoint_filter 'kalman'"):
        SynthesisOptions(keypoint_filter="kalman").validated()
