"""Smooth transitions (issue 7 item 2): kernel vs reference, the promises of the module docstring, and
the done-when figure on demo-lexicon sentences."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from signstream.kernels import layout as L
from signstream.kernels import transition_smooth as TS
from signstream.kernels.interpolate import transition
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import MAX_NUM_INTERPOLATION, SEED_METHOD, Sentence, SynthesisOptions
from signstream.style import DEFAULT_STYLE

WIDE = 16 / 9
STEP_FACTOR = 1.5              # done-when: transition wrist steps <= 1.5 x in-sign 95th percentile
DEFAULT_N = SynthesisOptions().num_interpolation
BONES = [(int(TS.PARENT[k]), k) for k in range(L.NUM_POINTS) if TS.MODE[k] == TS.BONE]


@pytest.fixture(scope="module")
def demo() -> dict[str, np.ndarray]:
    """Demo signs normalized with the default style by the seed's method (whole: linear transitions
    hold nothing back): sign_id -> (T, K, 3)."""
    seed = SynthesisOptions(num_interpolation=0, **SEED_METHOD)
    return {s.sign_id: Sentence(DEFAULT_STYLE, seed).add(s.sign_id, s.frames).frames for s in demo_signs()}


def random_frame(rng: np.random.Generator, missing_rate: float = 0.15) -> np.ndarray:
    """One packed frame with random points, missing flagged points and maybe missing MediaPipe parts."""
    frame = np.zeros((L.NUM_POINTS, 3), dtype=np.float32)
    frame[:, :2] = rng.uniform(0.05, 0.95, size=(L.NUM_POINTS, 2))
    flagged = L.POINT_GROUP < 0
    frame[flagged, 2] = 1.0
    frame[~flagged, 2] = rng.normal(0, 0.05, size=int((~flagged).sum()))
    frame[flagged & (rng.uniform(size=L.NUM_POINTS) < missing_rate)] = (-1.0, -1.0, 0.0)
    for name in L.MEDIAPIPE_PARTS:
        if rng.uniform() < 0.3:
            frame[L.PARTS[name]] = 0.0
    return frame


def pixel_lengths(frames: np.ndarray, aspect: float) -> np.ndarray:
    """(..., K, 3) -> (..., len(BONES)) bone lengths in pixel-proportional units."""
    d = (frames[..., [c for _, c in BONES], :2] - frames[..., [p for p, _ in BONES], :2]).astype(np.float64)
    return np.hypot(d[..., 0] * aspect, d[..., 1])


def wrist_step_list(frames: np.ndarray) -> np.ndarray:
    """Body-wrist steps between consecutive frames where the wrist is present in both."""
    w = [L.R_WRIST, L.L_WRIST]
    d = np.diff(frames[:, w, :2].astype(np.float64), axis=0)
    ok = (frames[1:, w, 2] > 0) & (frames[:-1, w, 2] > 0)
    return np.hypot(d[..., 0], d[..., 1])[ok]


def junction(A: np.ndarray, B: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """choose_join + smooth transition: (frame a, transition frames, frame b)."""
    ct, ch = TS.choose_join(A, B)
    a, b = A[-1 - ct], B[ch]
    return a, TS.smooth_transition(a, b, n), b


# --------------------------------------------------------------------------- parity

@pytest.mark.parametrize("seed, n, aspect", [(0, 1, 1.0), (1, 7, 1.0), (2, 8, WIDE), (3, 2, 0.75)])
def test_smooth_transition_parity(seed, n, aspect):
    rng = np.random.default_rng(seed)
    a, b = random_frame(rng), random_frame(rng)
    np.testing.assert_allclose(TS.smooth_transition(a, b, n, aspect), TS.smooth_transition_reference(a, b, n, aspect),
                               atol=1e-5)


def test_parity_on_demo_junctions(demo):
    ids = list(demo)
    for x, y in zip(ids, ids[1:] + ids[:1]):
        A, B = demo[x], demo[y]
        assert TS.choose_join(A, B, aspect=WIDE) == TS.choose_join_reference(A, B, aspect=WIDE)
        np.testing.assert_allclose(TS.smooth_transition(A[-1], B[0], DEFAULT_N, WIDE),
                                   TS.smooth_transition_reference(A[-1], B[0], DEFAULT_N, WIDE), atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_choose_join_parity_random(seed):
    rng = np.random.default_rng(seed)
    tail = np.stack([random_frame(rng, 0.3) for _ in range(5)])
    head = np.stack([random_frame(rng, 0.3) for _ in range(11)])
    assert TS.choose_join(tail, head) == TS.choose_join_reference(tail, head)


# --------------------------------------------------------------------------- promises

@pytest.mark.parametrize("aspect", [1.0, WIDE])
def test_bone_lengths_hold(demo, aspect):
    """Every bone present at both ends stays within its end lengths in every frame (pixel space);
    the linear kernel on the same junctions does shorten bones, so the junctions really bend."""
    linear_breaks = False
    for x, y in itertools.permutations(list(demo)[:6], 2):
        a, b = demo[x][-1], demo[y][0]
        ends = pixel_lengths(np.stack([a, b]), aspect)
        both = np.array([a[p, 2] > 0 and b[p, 2] > 0 and a[c, 2] > 0 and b[c, 2] > 0 for p, c in BONES])
        both &= ~np.isin([c for _, c in BONES], L.KNEES_AND_ANKLES)
        lo, hi = ends.min(axis=0)[both], ends.max(axis=0)[both]
        tol = 1e-5 * (1 + hi)
        got = pixel_lengths(TS.smooth_transition(a, b, DEFAULT_N, aspect), aspect)[:, both]
        assert np.all(got >= lo - tol) and np.all(got <= hi + tol), (x, y)
        lin = pixel_lengths(transition(a, b, DEFAULT_N), aspect)[:, both]
        linear_breaks |= bool(np.any(lin < lo - 1e-3 * hi))
    assert linear_breaks


def test_minimum_jerk_timing():
    """A pure translation moves every point along a straight line with s(τ) = 10τ³ − 15τ⁴ + 6τ⁵:
    the steps grow from the ends to the middle (zero velocity at both ends)."""
    rng = np.random.default_rng(5)
    a = random_frame(rng, 0.0)
    b = a.copy()
    b[:, :2] += (0.05, -0.03)
    n = 9
    out = TS.smooth_transition(a, b, n)
    tau = np.arange(1, n + 1) / (n + 1)
    s = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    shown = L.validity(out)[0] & ~np.isin(np.arange(L.NUM_POINTS), L.KNEES_AND_ANKLES)
    expect = a[None, shown, :2] + s[:, None, None] * (b[shown, :2] - a[shown, :2])
    np.testing.assert_allclose(out[:, shown, :2], expect, atol=1e-5)
    path = np.concatenate([a[None], out, b[None]])[:, L.NECK, :2]
    steps = np.hypot(*np.diff(path, axis=0).T)
    middle = steps[len(steps) // 2]
    assert steps[0] < middle / 4 and steps[-1] < middle / 4
    assert np.all(np.diff(steps[: len(steps) // 2]) > 0)


@pytest.mark.parametrize("case", ["all_missing", "coincident", "one_coincident_end", "zero_frames"])
def test_degenerate_inputs_are_finite(case):
    rng = np.random.default_rng(6)
    a, b = L.empty_frames(2)
    n = 0 if case == "zero_frames" else 5
    if case != "all_missing":
        a, b = random_frame(rng, 0.0), random_frame(rng, 0.0)
    if case in ("coincident", "one_coincident_end"):
        a[:, :2] = 0.5
    if case == "coincident":
        b[:, :2] = 0.5
    out = TS.smooth_transition(a, b, n)
    assert out.shape == (n, L.NUM_POINTS, 3) and np.all(np.isfinite(out))
    if case == "all_missing":
        np.testing.assert_array_equal(out, L.empty_frames(n))


def test_missing_points_are_never_drawn():
    """Shown only where present at an end, in that end's half; both-missing stays missing; knees and
    ankles never drawn; MediaPipe parts whole or all zero."""
    rng = np.random.default_rng(7)
    for _ in range(5):
        a, b = random_frame(rng, 0.3), random_frame(rng, 0.3)
        n = int(rng.integers(1, 10))
        out = TS.smooth_transition(a, b, n)
        assert np.all(np.isfinite(out))
        va, vb = L.validity(np.stack([a, b]))
        shown = L.validity(out)
        j = np.arange(1, n + 1)[:, None]
        allowed = (va & vb) | (va & (2 * j < n + 1)) | (vb & (2 * j > n + 1))
        allowed[:, L.KNEES_AND_ANKLES] = False
        np.testing.assert_array_equal(shown, allowed)
        np.testing.assert_array_equal(out[~shown], np.broadcast_to(L.empty_frames(n), out.shape)[~shown])


@pytest.mark.parametrize("leaves", [True, False])
def test_a_one_sided_hand_rides_on_its_wrist(demo, leaves):
    """A hand present at one end keeps its end pose relative to the moving body wrist while shown, and
    is shown only in the half next to that end: it never sweeps across the picture."""
    a, b = demo["hello"][-1].copy(), demo["learn"][0].copy()
    gone = b if leaves else a
    gone[L.LEFT_HAND] = (-1.0, -1.0, 0.0)
    gone[L.LEFT_HAND_MP] = 0.0
    end = a if leaves else b
    n = DEFAULT_N
    out = TS.smooth_transition(a, b, n)
    j = np.arange(1, n + 1)
    half = 2 * j < n + 1 if leaves else 2 * j > n + 1
    assert np.all(out[half, L.LEFT_HAND, 2] == 1.0) and np.all(out[~half, L.LEFT_HAND, 2] == 0.0)
    np.testing.assert_array_equal(L.validity(out)[:, L.LEFT_HAND_MP.start], half)   # the MediaPipe hand too
    wrist = out[half][:, [L.L_WRIST], :2]
    assert np.abs(wrist - end[L.L_WRIST, :2]).max() > 1e-3                       # the arm does move
    np.testing.assert_allclose(out[half][:, L.LEFT_HAND, :2] - wrist, np.broadcast_to(
        end[L.LEFT_HAND, :2] - end[L.L_WRIST, :2], (int(half.sum()), 21, 2)), atol=1e-5)


# --------------------------------------------------------------------------- choose_join

def shifted(base: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Frames (len(offsets), K, 3): base with every valid point translated by each offset (x, y)."""
    frames = np.repeat(base[None], len(offsets), axis=0)
    valid = L.validity(frames)
    frames[..., :2] += np.where(valid[..., None], offsets[:, None, :], 0.0).astype(np.float32)
    return frames


@pytest.mark.parametrize("best", [(3, 5), (0, 7), (7, 0), (7, 7)])
def test_choose_join_picks_the_closest_pair(demo, best):
    """Tail frame -1-ct sits at (ct − i)·dx, head frame ch at (ch − j)·dy: the closest pair is (i, j)."""
    base, d = demo["hello"][0], 0.01
    k = np.arange(TS.JOIN_WINDOW)
    tail = shifted(base, np.stack([(k - best[0]) * d, 0 * k], axis=1)[::-1])
    head = shifted(base, np.stack([0 * k, (k - best[1]) * d], axis=1))
    assert TS.choose_join(tail, head) == best


def test_choose_join_measures_in_pixels(demo):
    """Dropping one tail frame removes an x gap of 0.010 at the cost of a y gap of 0.012: worth it
    on a square canvas, not on a 16:9 one where 0.010 of the width is 0.018 of the height."""
    base = demo["hello"][0]
    tail = shifted(base, np.array([[0.0, 0.012], [0.010, 0.0]]))
    head = base[None]
    assert TS.choose_join(tail, head, aspect=1.0) == (0, 0)
    assert TS.choose_join(tail, head, aspect=WIDE) == (1, 0)


def test_choose_join_keeps_a_junction_that_is_already_closest(demo):
    base, d = demo["hello"][0], 0.01
    k = np.arange(TS.JOIN_WINDOW)
    tail = shifted(base, np.stack([k * d, 0 * k], axis=1)[::-1])
    head = shifted(base, np.stack([0 * k, k * d], axis=1))
    assert TS.choose_join(tail, head) == (0, 0)
    hold = np.repeat(base[None], 3, axis=0)                              # all pairs tie: trim nothing
    assert TS.choose_join(hold, hold) == (0, 0)
    assert TS.choose_join(L.empty_frames(4), L.empty_frames(4)) == (0, 0)   # nothing to compare


def test_choose_join_stays_inside_its_window(demo):
    A, B = demo["learn"], demo["morning"]
    for window in (1, 3, TS.JOIN_WINDOW):
        ct, ch = TS.choose_join(A, B, window)
        assert 0 <= ct < window and 0 <= ch < window
    ct, ch = TS.choose_join(A[:2], B[:1])
    assert ct < 2 and ch == 0


# --------------------------------------------------------------------------- streaming and the demo figure

def batch_sentence(clips: list[np.ndarray], n: int) -> np.ndarray:
    """Whole sentence at once: joins chosen on the kept frames, transitions between them."""
    kept = [clips[0]]
    out = []
    for clip in clips[1:]:
        ct, ch = TS.choose_join(kept[-1][-TS.JOIN_WINDOW:], clip)
        prev = kept.pop()
        kept += [prev[: len(prev) - ct], clip[ch:]]
        out.append(TS.smooth_transition(prev[len(prev) - 1 - ct], clip[ch], n))
    parts = [kept[0]]
    for tr, k in zip(out, kept[1:]):
        parts += [tr, k]
    return np.concatenate(parts)


def stream_sentence(clips: list[np.ndarray], n: int) -> tuple[np.ndarray, int]:
    """The module docstring's recipe, releasing frames as early as it allows; returns the output and
    the most frames ever withheld."""
    out, withheld = [], 0
    prev, head_cut = None, 0
    for clip in clips:
        if prev is not None:
            start = TS.tail_start(len(prev), head_cut)
            ct, head_cut = TS.choose_join(prev[start:], clip)
            out += [prev[start + 1 : len(prev) - ct], TS.smooth_transition(prev[len(prev) - 1 - ct], clip[head_cut], n)]
        start = TS.tail_start(len(clip), head_cut)
        out.append(clip[head_cut : start + 1])
        withheld = max(withheld, len(clip) - start - 1)
        prev = clip
    out.append(prev[TS.tail_start(len(prev), head_cut) + 1 :])
    return np.concatenate(out), withheld


def test_streaming_recipe_equals_batch(demo):
    """Releasing as documented gives the batch sentence, withholds at most W − 1 frames, and the output
    length is Σ kept + (N − 1)·n; a sign shorter than the window is never trimmed from both ends twice."""
    clips = [demo["hello"], demo["please"][:4], demo["morning"], demo["yes"][:1], demo["want"]]
    assert TS.choose_join(clips[0], clips[1])[1] > 0          # the short sign loses head frames too
    streamed, withheld = stream_sentence(clips, 4)
    np.testing.assert_array_equal(streamed, batch_sentence(clips, 4))
    assert withheld == TS.JOIN_WINDOW - 1
    assert len(streamed) <= sum(len(c) for c in clips) + 4 * (len(clips) - 1)
    assert len(streamed) >= len(clips) + 4 * (len(clips) - 1)


def test_demo_sentences_wrist_steps(demo):
    """Done-when: on every junction of the demo lexicon (all ordered pairs), with the joins chosen and
    the transition as long as transition_length asks (at least the default n), the largest wrist step
    from the last kept frame to the first is at most 1.5 x the in-sign 95th percentile; no NaN, and no
    missing point drawn."""
    limit = STEP_FACTOR * np.percentile(np.concatenate([wrist_step_list(f) for f in demo.values()]), 95)
    for x, y in itertools.permutations(demo, 2):
        ct, ch = TS.choose_join(demo[x], demo[y])
        a, b = demo[x][-1 - ct], demo[y][ch]
        n = TS.transition_length(a, b, limit, DEFAULT_N, MAX_NUM_INTERPOLATION)
        path = np.concatenate([a[None], TS.smooth_transition(a, b, n), b[None]])
        assert np.all(np.isfinite(path))
        assert wrist_step_list(path).max() <= limit, (x, y, n)
        va, vb = L.validity(path[[0, -1]])
        assert not np.any(L.validity(path[1:-1]) & ~(va | vb)), (x, y)


def largest_step(a: np.ndarray, b: np.ndarray, n: int) -> float:
    return wrist_step_list(np.concatenate([a[None], TS.smooth_transition(a, b, n), b[None]])).max()


def test_transition_length_is_the_fewest(demo):
    """On every demo junction and a range of limits: n frames keep the limit and n − 1 do not."""
    for x, y in itertools.permutations(demo, 2):
        a, b = demo[x][-1], demo[y][0]
        for limit in (0.01, 0.02, 0.03, 0.05):
            n = TS.transition_length(a, b, limit, 0, MAX_NUM_INTERPOLATION, points=TS.WRISTS)
            assert largest_step(a, b, n) <= limit, (x, y, limit)
            assert n == 0 or largest_step(a, b, n - 1) > limit, (x, y, limit)


def test_transition_length_bounds(demo):
    a, b = demo["learn"][-1], demo["morning"][0]
    n = TS.transition_length(a, b, 0.02, 0, MAX_NUM_INTERPOLATION)
    assert TS.transition_length(a, b, 0.02, n + 3, MAX_NUM_INTERPOLATION) == n + 3   # n_min is a floor
    assert TS.transition_length(a, b, 0.02, 0, n - 2) == n - 2                       # n_max is a ceiling
    assert TS.transition_length(a, a, 0.02, 2, MAX_NUM_INTERPOLATION) == 2           # no motion: the floor


def test_invalid_aspect_is_refused():
    a = L.empty_frames(1)[0]
    with pytest.raises(ValueError, match="aspect"):
        TS.smooth_transition(a, a, 3, aspect=0.0)


def forearm(degrees: float) -> np.ndarray:
    """A forearm vector of length 0.1 pointing at `degrees` (image axes)."""
    return 0.1 * np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees))])


@pytest.mark.parametrize("start", [120.0, -120.0])
@pytest.mark.parametrize("turn", [170.0, -170.0])
def test_bones_turn_the_shorter_way(start, turn):
    """A forearm turning by ±170° is ±85° round halfway, also when it crosses the ±180° seam."""
    a = L.empty_frames(1)[0]
    a[[L.NECK, L.R_SHOULDER, L.R_ELBOW]] = [(0.3, 0.5, 1), (0.4, 0.5, 1), (0.5, 0.5, 1)]
    a[L.R_WRIST] = (*(a[L.R_ELBOW, :2] + forearm(start)), 1)
    b = a.copy()
    b[L.R_WRIST, :2] = a[L.R_ELBOW, :2] + forearm(start + turn)
    middle = TS.smooth_transition(a, b, 3)[1]
    d = middle[L.R_WRIST, :2] - middle[L.R_ELBOW, :2]
    halfway = (np.degrees(np.arctan2(d[1], d[0])) - start + 180) % 360 - 180
    assert halfway == pytest.approx(turn / 2, abs=1e-3)


def test_tail_start():
    assert TS.tail_start(40, 0) == 40 - TS.JOIN_WINDOW
    assert TS.tail_start(40, 35) == 35                  # never before the frames kept at the head
    assert TS.tail_start(4, 1) == 1                     # a short sign: its whole kept part is the tail


# --------------------------------------------------------------------------- continuing the signs' motion

def moving(rng: np.random.Generator, step: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A random frame and the frame one `step` before it: every point moving by `step` a frame."""
    a = random_frame(rng, 0.0)
    p = a.copy()
    p[L.validity(a[None])[0], :2] -= np.float32(step)
    return p, a


@pytest.mark.parametrize("seed, n, aspect, gap", [(0, 1, 1.0, 1), (1, 7, WIDE, 1), (2, 8, 1.0, 2), (3, 3, 0.75, 3)])
def test_parity_with_end_motion(seed, n, aspect, gap):
    rng = np.random.default_rng(seed)
    a, b = random_frame(rng, 0.3), random_frame(rng, 0.3)
    before, after = random_frame(rng, 0.3), random_frame(rng, 0.3)
    before[:, :2] = a[:, :2] + rng.normal(0, 0.03, a[:, :2].shape).astype(np.float32)
    after[:, :2] = b[:, :2] + rng.normal(0, 0.03, b[:, :2].shape).astype(np.float32)
    np.testing.assert_allclose(TS.smooth_transition(a, b, n, aspect, before=before, after=after, gap=gap),
                               TS.smooth_transition_reference(a, b, n, aspect, before=before, after=after, gap=gap),
                               atol=1e-5)


def test_parity_with_end_motion_on_demo_junctions(demo):
    ids = list(demo)
    for x, y in zip(ids, ids[1:] + ids[:1]):
        A, B = demo[x], demo[y]
        ends = {"before": A[-2], "after": B[1], "gap": 1}
        np.testing.assert_allclose(TS.smooth_transition(A[-1], B[0], DEFAULT_N, WIDE, **ends),
                                   TS.smooth_transition_reference(A[-1], B[0], DEFAULT_N, WIDE, **ends), atol=1e-5)


def _neck_steps(a, b, n, **ends) -> np.ndarray:
    path = np.concatenate([a[None], TS.smooth_transition(a, b, n, **ends), b[None]])[:, L.NECK, :2]
    return np.hypot(*np.diff(path.astype(np.float64), axis=0).T)


def test_a_translation_continues_the_motion_on_each_side():
    """A pure translation whose signs move toward each other at the transition's mean speed is
    crossed at that uniform speed (no stop at either end); motion away from the target, or no
    neighbour frame, starts from rest (minimum jerk); faster motion is taken at the mean speed."""
    rng = np.random.default_rng(8)
    n, way = 9, np.array([0.05, -0.03])
    mean = way / (n + 1)
    p, a = moving(rng, tuple(mean))
    b = a.copy()
    b[L.validity(a[None])[0], :2] += way.astype(np.float32)
    q = b.copy()
    q[L.validity(b[None])[0], :2] += mean.astype(np.float32)
    uniform = _neck_steps(a, b, n, before=p, after=q)
    np.testing.assert_allclose(uniform, np.hypot(*mean), rtol=1e-4)
    rest = _neck_steps(a, b, n)
    away_p = a.copy()
    away_p[L.validity(a[None])[0], :2] += np.float32(mean)           # the sign was moving away from b
    np.testing.assert_allclose(_neck_steps(a, b, n, before=away_p), rest, atol=1e-6)
    fast_p = a.copy()
    fast_p[L.validity(a[None])[0], :2] -= np.float32(5 * mean)       # five times the mean speed: clamped
    np.testing.assert_allclose(_neck_steps(a, b, n, before=fast_p, after=q), uniform, atol=1e-6)
    assert rest[0] < uniform[0] / 4                                  # from rest, the first step is small


def test_continued_motion_never_overshoots(demo):
    """The end motion only re-times the way: along it every point's progress is monotone and stays
    between the ends (no point swings past b and back), and bones keep between their end lengths."""
    checked = 0
    for x, y in itertools.permutations(list(demo)[:6], 2):
        A, B = demo[x], demo[y]
        a, b = A[-1], B[0]
        out = TS.smooth_transition(a, b, DEFAULT_N, before=A[-2], after=B[1])
        neck = np.concatenate([a[None], out, b[None]])[:, L.NECK, :2].astype(np.float64)
        way = neck[-1] - neck[0]
        if np.hypot(*way) < 1e-4:
            continue
        progress = (neck - neck[0]) @ way / (way @ way)
        assert np.all(np.diff(progress) >= -1e-6) and progress.min() >= -1e-6 and progress.max() <= 1 + 1e-6, (x, y)
        path = np.concatenate([a[None], out, b[None]])
        for parent, child in ((L.R_SHOULDER, L.R_ELBOW), (L.R_ELBOW, L.R_WRIST), (L.L_ELBOW, L.L_WRIST)):
            if not (a[[parent, child], 2].all() and b[[parent, child], 2].all()):
                continue
            d = path[:, child, :2].astype(np.float64) - path[:, parent, :2]
            angle = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))        # the bone turns one way, never back
            turn = np.diff(angle)
            assert np.all(turn >= -1e-5) or np.all(turn <= 1e-5), (x, y, parent, child)
        checked += 1
        ends = pixel_lengths(np.stack([a, b]), 1.0)
        both = np.array([a[p, 2] > 0 and b[p, 2] > 0 and a[c, 2] > 0 and b[c, 2] > 0 for p, c in BONES])
        both &= ~np.isin([c for _, c in BONES], L.KNEES_AND_ANKLES)
        got = pixel_lengths(out, 1.0)[:, both]
        lo, hi = ends.min(axis=0)[both], ends.max(axis=0)[both]
        assert np.all(got >= lo - 1e-5 * (1 + hi)) and np.all(got <= hi + 1e-5 * (1 + hi)), (x, y)
    assert checked >= 10


def test_transition_length_bounds_each_point_by_its_own_limit(demo):
    """max_step per BOUND_POINTS point: the answer keeps each under its own limit, an infinite limit
    leaves a point free, and a tight limit on the elbows alone lengthens the transition."""
    a, b = demo["where"][-1], demo["no"][0]
    wrists_only = np.array([0.02, 0.02, np.inf, np.inf])
    n = TS.transition_length(a, b, wrists_only, 0, MAX_NUM_INTERPOLATION)
    assert np.all(TS.largest_steps(a, b, n)[:2] <= 0.02)
    assert n == TS.transition_length(a, b, 0.02, 0, MAX_NUM_INTERPOLATION, points=TS.WRISTS)
    elbows = TS.largest_steps(a, b, n)[2:]
    tight = np.array([0.02, 0.02, *(elbows.max() / 2,) * 2])
    longer = TS.transition_length(a, b, tight, 0, MAX_NUM_INTERPOLATION)
    assert longer > n and np.all(TS.largest_steps(a, b, longer) <= tight)
    assert np.any(TS.largest_steps(a, b, longer - 1) > tight)
    with pytest.raises(ValueError, match="max_step"):
        TS.transition_length(a, b, np.array([0.02, 0.0, 1, 1]), 0, 10)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_length_probe_measures_exactly_what_the_frames_would_show(seed):
    """bound_step_maxima (largest_steps) against step_table on smooth_transition's frames, to the bit:
    random frames with missing points, end motion or none, several aspects and gaps."""
    rng = np.random.default_rng(seed)
    for case in range(40):
        a, b = random_frame(rng, 0.3), random_frame(rng, 0.3)
        before, after = a.copy(), b.copy()
        before[:, :2] += rng.normal(0, 0.02, a[:, :2].shape).astype(np.float32)
        after[:, :2] += rng.normal(0, 0.02, b[:, :2].shape).astype(np.float32)
        ends = {"before": before if case % 3 else None, "after": after if case % 4 else None, "gap": 1 + case % 3}
        n, aspect = int(rng.integers(0, 12)), (1.0, WIDE, 0.75)[case % 3]
        for points in (TS.BOUND_POINTS, TS.WRISTS, np.array([L.NECK, L.R_ELBOW])):
            np.testing.assert_array_equal(TS.largest_steps(a, b, n, aspect, points, **ends),
                                          TS.largest_steps_reference(a, b, n, aspect, points, **ends))
