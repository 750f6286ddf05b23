"""Sentence assembly (incremental, as the gateway will stream it) and settings."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.config import settings_from_env
from signstream.errors import InvalidArgument
from signstream.kernels import layout as L
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import (SEED_METHOD, FrameKind, Sentence, SynthesisOptions, output_length, sign_kinds,
                                 synthesize)
from signstream.style import DEFAULT_STYLE


@pytest.fixture(scope="module")
def clips():
    return [(s.sign_id, s.frames) for s in demo_signs()[:3]]


def test_each_sign_releases_its_transition_then_its_frames(clips):
    sentence = Sentence(DEFAULT_STYLE, SynthesisOptions(num_interpolation=4, num_insert_interpolation=2, **SEED_METHOD))
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
    opts = SynthesisOptions(num_interpolation=3, **SEED_METHOD)
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
    """After warm_up, sentences built from the lexicon's read-only clips, by every method, compile
    nothing new in any kernel module, so a server that warmed up never stalls a request on numba."""
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import signstream.kernels as kernels_package
    from signstream.kernels.warmup import warm_up

    kernels = {f"{m.name}.{name}": fn for m in pkgutil.iter_modules(kernels_package.__path__)
               for name, fn in vars(importlib.import_module(f"signstream.kernels.{m.name}")).items()
               if isinstance(fn, CPUDispatcher)}
    assert {"transition_smooth.bound_step_maxima", "transition_smooth.smooth_transition_frames"} <= set(kernels)
    warm_up()
    before = {name: len(fn.signatures) for name, fn in kernels.items()}
    for normalization, transition, keypoint_filter in [("retarget", "smooth", "none"), ("signmail", "linear", "none"),
                                                       ("retarget", "smooth", "one_euro")]:
        sentence = Sentence(DEFAULT_STYLE, SynthesisOptions(3, 1, normalization, transition, keypoint_filter))
        for sign in demo_signs()[:3]:
            frames = sign.frames.copy()
            frames.setflags(write=False)
            sentence.add(sign.sign_id, frames)
        sentence.finish()
    after = {name: len(fn.signatures) for name, fn in kernels.items()}
    assert after == before, {k: (before[k], v) for k, v in after.items() if v != before[k]}


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
    opts = SynthesisOptions(num_interpolation=0, keypoint_filter="one_euro", transition="linear")
    got = Sentence(style, opts).add("hello", clip, 25.0).frames
    params = jitter.JitterParams(fps=25.0, lookahead=CLIP_FILTER_LOOKAHEAD, aspect=960 / 540)
    np.testing.assert_array_equal(got, NORMALIZERS[opts.normalization](style)(jitter.filter_clip(clip, params)))
    plain = Sentence(style, SynthesisOptions(num_interpolation=0, transition="linear")).add("hello", clip).frames
    assert _jitter(got) < 0.6 * _jitter(plain)
    with pytest.raises(InvalidArgument, match="keypoint_filter 'kalman'"):
        SynthesisOptions(keypoint_filter="kalman").validated()


def _table(*columns) -> tuple[np.ndarray, np.ndarray]:
    """A step table from one list of steps per BOUND_POINTS point (NaN: not present)."""
    steps = np.array(columns, dtype=np.float64).T
    return np.nan_to_num(steps), np.isfinite(steps)


def test_reference_steps_take_the_smallest_of_own_group_and_recent_but_a_floor_of_the_group():
    from signstream.pipeline import SMOOTH_FLOOR_SHARE, reference_steps

    ones = [1.0] * 20
    # right wrist signs fast (10), left slowly (4); elbows 6 and 2
    pair = _table([10.0] * 20, [4.0] * 20, [6.0] * 20, [2.0] * 20)
    ref = reference_steps(pair, pair)
    group_w = np.percentile([10.0] * 20 + [4.0] * 20, 95)
    group_e = np.percentile([6.0] * 20 + [2.0] * 20, 95)
    np.testing.assert_allclose(ref, [min(10, group_w), 4, min(6, group_e), 2])
    # the signs shown before were slower for the right wrist: it is held to that
    recent = _table([10.0] * 20 + [3.0] * 60, [4.0] * 80, [6.0] * 80, [2.0] * 80)
    assert reference_steps(pair, recent)[0] == pytest.approx(np.percentile([10.0] * 20 + [3.0] * 60, 95))
    # a hand resting through both signs (steps ~0) is floored at a share of its group's p95
    resting = _table([10.0] * 20, [0.01] * 20, ones, ones)
    assert reference_steps(resting, resting)[1] == pytest.approx(SMOOTH_FLOOR_SHARE * np.percentile(
        [10.0] * 20 + [0.01] * 20, 95))
    # nothing measured (a point never present): NaN, which the pipeline leaves unbounded
    gone = _table([np.nan] * 5, [4.0] * 5, [np.nan] * 5, [np.nan] * 5)
    ref = reference_steps(gone, gone)
    assert np.isnan(ref[2]) and np.isnan(ref[3]) and ref[1] == pytest.approx(4.0)


@pytest.mark.parametrize("normalization", ["signmail", "retarget"])
def test_smooth_transitions_bound_each_wrist_and_elbow_by_the_signing_they_join(demo_by_id, normalization):
    """In every junction, each wrist's and each elbow's steps stay within 1.5 x its reference over the
    two signs joined as shown: the smaller of its own and its pair's pooled p95, floored at a quarter
    of the pair's (pipeline.reference_steps; the signs shown earlier can only lower it)."""
    from signstream.kernels import transition_smooth as TS
    from signstream.pipeline import SMOOTH_FLOOR_SHARE, SMOOTH_STEP_FACTOR
    from signstream.results import SentenceFrames
    from signstream.style import default_style

    style = default_style(960, 540)
    aspect = style.width / style.height
    checked = 0
    for signs in SENTENCES:
        whole = SentenceFrames.from_chunks(synthesize([(s, demo_by_id[s]) for s in signs], style,
                                                      SynthesisOptions(8, 0, normalization, "smooth")))
        step, ok = TS.step_table(whole.frames, aspect)
        own = whole.kinds != FrameKind.TRANSITION
        inside = own[:-1] & own[1:] & (whole.sign_ids[:-1] == whole.sign_ids[1:])
        frames_of = [np.flatnonzero(own & (whole.sign_ids == s)) for s in signs]   # each sign's own frames
        for k in range(1, len(signs)):
            before, after = frames_of[k - 1], frames_of[k]
            rows = np.arange(before[0], after[-1])
            pair = inside[rows]
            junction = np.arange(before[-1], after[0])          # last own frame of k-1 .. first of k
            for p, group in ((0, (0, 1)), (1, (0, 1)), (2, (2, 3)), (3, (2, 3))):
                mine = step[rows][pair & ok[rows][:, p], p]
                pooled = step[rows][:, group][pair[:, None] & ok[rows][:, group]]
                if not (mine.size and pooled.size) or not np.percentile(pooled, 95) > 0:
                    continue
                g = np.percentile(pooled, 95)
                limit = SMOOTH_STEP_FACTOR * max(min(np.percentile(mine, 95), g), SMOOTH_FLOOR_SHARE * g)
                moved = step[junction, p][ok[junction, p]]
                assert moved.max(initial=0) <= limit * (1 + 1e-6), (signs, k, p)
                checked += 1
    assert checked >= 60


def test_p95_columns_is_np_percentile_to_the_bit():
    from signstream.pipeline import p95_columns

    rng = np.random.default_rng(11)
    for case in range(400):
        rows, cols = int(rng.integers(0, 50)), int(rng.integers(1, 6))
        steps = rng.exponential(1.0, (rows, cols))
        if case % 3 == 0:
            steps = np.round(steps, 1)                       # ties
        masks = rng.uniform(size=(4, rows, cols)) < rng.uniform(0.0, 1.0)
        expect = np.array([[np.percentile(steps[m[:, c], c], 95) if m[:, c].any() else np.nan for c in range(cols)]
                           for m in masks])
        np.testing.assert_array_equal(p95_columns(steps, masks), expect)
        np.testing.assert_array_equal(p95_columns(steps, masks[0]), expect[0])


def test_reference_steps_for_many_ends_at_once_are_each_ends_own():
    """Masks for E possible ends give the E references one call per end gives (the pipeline takes
    their smallest)."""
    from signstream.pipeline import reference_steps

    rng = np.random.default_rng(12)
    for _ in range(50):
        rows, recent_rows = int(rng.integers(1, 40)), int(rng.integers(1, 90))
        pair_steps, recent_steps = rng.exponential(1.0, (rows, 4)), rng.exponential(1.0, (recent_rows, 4))
        pair_ok = rng.uniform(size=(5, rows, 4)) < 0.8
        recent_ok = rng.uniform(size=(5, recent_rows, 4)) < 0.8
        batched = reference_steps((pair_steps, pair_ok), (recent_steps, recent_ok))
        for e in range(5):
            np.testing.assert_array_equal(batched[e], reference_steps((pair_steps, pair_ok[e]),
                                                                      (recent_steps, recent_ok[e])))
