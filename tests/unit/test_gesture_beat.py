"""The beat gesture source: onsets from speech, minimum-jerk strokes, frames released behind the audio."""
import asyncio

import numpy as np
import pytest

from signstream.gesture.speech_corpus import SAMPLE_RATE, make_utterance
from signstream.gesture import beat
from signstream.gesture.beat import BeatSource, on_time_lookahead
from signstream.gesture.onsets import DELAY_S, REFRACTORY_S, OnsetDetector
from signstream.gesture.trajectory import Trajectory, min_jerk
from signstream.kernels import layout as L

R_WRIST, L_WRIST = 4, 7


def run(source: BeatSource, audio: np.ndarray, chunks) -> tuple[np.ndarray, list[int]]:
    """Feed the audio in chunks of the given sizes (cycled); every frame and the count out per feed."""
    async def go():
        out, counts, at, i = [], [], 0, 0
        while at < len(audio):
            size = chunks[i % len(chunks)]
            frames = await source.feed(audio[at:at + size])
            at, i = at + size, i + 1
            out.append(frames)
            counts.append(len(frames))
        out.append(await source.finish())
        counts.append(len(out[-1]))
        await source.close()
        return np.concatenate(out), counts
    return asyncio.run(go())


def clicks(times, seconds: float) -> np.ndarray:
    """Silence with a short loud tone burst (a stressed syllable's onset) at each time."""
    audio = 1e-4 * np.random.default_rng(0).standard_normal(int(seconds * SAMPLE_RATE))
    t = np.arange(int(0.15 * SAMPLE_RATE)) / SAMPLE_RATE
    burst = 0.5 * np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.06)
    for at in times:
        start = int(at * SAMPLE_RATE)
        audio[start:start + len(burst)] += burst[: len(audio) - start]
    return audio.astype(np.float32)


def apex_times(frames: np.ndarray, fps: float) -> np.ndarray:
    """Times of the right wrist's lowest points between a rise and a fall (the beats' apexes)."""
    y = frames[:, L.BODY][:, R_WRIST, 1].astype(np.float64)
    peaks = [i for i in range(1, len(y) - 1) if y[i] >= y[i - 1] and y[i] > y[i + 1]
             and y[i] - y[max(0, i - 6):i].min() > 0.01]
    return np.array(peaks) / fps


# -- minimum-jerk segments -------------------------------------------------------------------------

def test_min_jerk_between_rests_is_the_closed_form_quintic():
    s = np.linspace(0, 1, 11)
    seg = min_jerk(2.0, 3.0, ([1.0], [0.0], [0.0]), ([3.0], [0.0], [0.0]))
    np.testing.assert_allclose(seg.at(2.0 + s)[:, 0], 1 + 2 * (10 * s**3 - 15 * s**4 + 6 * s**5), atol=1e-12)


def test_min_jerk_meets_both_states():
    start, end = ([0.2, 0.1], [1.0, -0.5], [3.0, 0.0]), ([0.7, 0.4], [-0.2, 0.0], [0.0, 2.0])
    seg = min_jerk(0.5, 1.25, start, end)
    for t, state in ((0.5, start), (1.25, end)):
        for k in range(3):
            np.testing.assert_allclose(seg.at(t, k), state[k], atol=1e-9)


def test_replanning_keeps_the_past_and_is_smooth_at_the_cut():
    path = Trajectory([0.0, 0.0])
    path.replan(0.0, [(1.0, [1.0, 1.0]), (2.0, [0.0, 2.0])])
    before = path.sample(np.linspace(0, 0.6, 7))
    cut = path.state(0.6)
    path.replan(0.6, [(1.4, [3.0, -1.0])])
    np.testing.assert_allclose(path.sample(np.linspace(0, 0.6, 7)), before, atol=1e-12)
    for k in range(3):
        np.testing.assert_allclose(path.state(0.6)[k], cut[k], atol=1e-9)
        np.testing.assert_allclose(path.state(0.6 - 1e-7)[k], cut[k], atol=1e-4)
    np.testing.assert_allclose(path.state(5.0)[0], [3.0, -1.0])


def test_a_segment_needs_time():
    with pytest.raises(ValueError, match="t1 > t0"):
        min_jerk(1.0, 1.0, ([0.0], [0.0], [0.0]), ([1.0], [0.0], [0.0]))


# -- onsets ----------------------------------------------------------------------------------------

def test_onsets_of_synthetic_speech_are_its_stressed_syllables():
    hits = found = stressed = 0
    for seed in range(3):
        utt = make_utterance(seed, 20.0)
        times = np.array([o.time_s for o in OnsetDetector().push(utt.audio)])
        found, stressed = found + len(times), stressed + len(utt.stress_s)
        hits += sum(np.any(np.abs(times - s) <= 0.08) for s in utt.stress_s)
    precision, recall = hits / found, hits / stressed
    assert precision > 0.8 and recall > 0.8, (precision, recall)


def test_onsets_do_not_depend_on_the_chunking_and_respect_the_refractory_period():
    audio = make_utterance(4, 10.0).audio
    whole = OnsetDetector().push(audio)
    detector, parts = OnsetDetector(), []
    for at in range(0, len(audio), 777):
        parts += detector.push(audio[at:at + 777])
    assert parts == whole and len(whole) > 5
    times = np.array([o.time_s for o in whole])
    assert np.all(np.diff(times) >= REFRACTORY_S)
    assert all(o.known_s == pytest.approx(o.time_s + DELAY_S) for o in whole)
    assert all(0.0 <= o.strength <= 1.0 for o in whole)


def test_silence_and_steady_noise_have_no_onsets():
    rng = np.random.default_rng(1)
    assert OnsetDetector().push(np.zeros(5 * SAMPLE_RATE, np.float32)) == []
    assert OnsetDetector().push((1e-3 * rng.standard_normal(5 * SAMPLE_RATE)).astype(np.float32)) == []


# -- the source ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fps,lookahead,chunks", [(25.0, 0.5, [8000]), (15.0, 0.0, [333, 8000, 1]),
                                                  (30.0, 1.2, [4000, 7999]), (24.0, 0.3, [160])])
def test_exactly_one_frame_per_frame_time_released_behind_the_audio(fps, lookahead, chunks):
    audio = make_utterance(2, 6.3).audio
    source = BeatSource(fps, lookahead)
    frames, counts = run(source, audio, chunks)
    assert frames.shape == (round(len(audio) / SAMPLE_RATE * fps), L.NUM_POINTS, 3)
    assert np.isfinite(frames).all()
    sizes = [chunks[i % len(chunks)] for i in range(len(counts) - 1)]
    heard = np.minimum(np.cumsum(sizes + [0]), len(audio)) / SAMPLE_RATE
    released = np.cumsum(counts)
    # frame i (at i/fps) is out once lookahead_s of audio after it is in, and never before its time
    out = released[:-1] > 0
    assert np.all((released[:-1][out] - 1) / fps <= heard[:-1][out] - lookahead + 1e-9)
    due = np.minimum(np.floor((heard - lookahead) * fps + 1e-9) + 1, np.round(heard * fps))
    assert np.all(released[:-1] >= due[:-1])              # and no later (the last feed's rest: finish)


def test_the_same_audio_gives_the_same_frames_however_it_is_chunked():
    audio = make_utterance(5, 8.0).audio
    a, _ = run(BeatSource(25.0), audio, [8000])
    b, _ = run(BeatSource(25.0), audio, [1234, 50, 7000])
    np.testing.assert_array_equal(a, b)


def test_with_lookahead_the_apex_lands_on_the_onset():
    beats = [1.0, 1.8, 2.9, 3.6, 4.7, 5.5]
    audio = clicks(beats, 7.0)
    fps = 50.0
    frames, _ = run(BeatSource(fps, on_time_lookahead() + 0.05), audio, [8000])
    apexes = apex_times(frames, fps)
    assert len(apexes) == len(beats)
    np.testing.assert_allclose(apexes, beats, atol=0.04)
    # without lookahead the stroke can only start once the beat is heard: every apex is late
    late, _ = run(BeatSource(fps, 0.0), audio, [8000])
    lag = apex_times(late, fps) - np.array(beats)
    assert np.all(lag > DELAY_S + beat.PREP_MIN_S + beat.DOWN_S - 0.03), lag


@pytest.mark.parametrize("make", [
    lambda: make_utterance(6, 12.0).audio,
    lambda: clicks(np.arange(0.3, 9.0, 0.31), 10.0),                            # beats as fast as allowed
    lambda: np.clip(np.random.default_rng(2).standard_normal(8 * SAMPLE_RATE), -1, 1).astype(np.float32),
    lambda: np.zeros(4 * SAMPLE_RATE, np.float32),
    lambda: np.sign(np.sin(2 * np.pi * 3.0 * np.arange(8 * SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32),
])
def test_wrists_stay_in_the_gesture_space_and_every_point_in_the_frame(make):
    frames, _ = run(BeatSource(25.0), make(), [8000])
    (x0, y0), (x1, y1) = beat.GESTURE_SPACE
    for wrist in (R_WRIST, L_WRIST):
        xy = frames[:, L.BODY][:, wrist, :2]
        assert np.all((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1))
    for part in ("body", "right_hand", "left_hand", "face"):
        points = frames[:, L.PARTS[part]]
        valid = points[..., 2] > 0
        assert valid.any() and np.all((points[valid][:, :2] >= 0) & (points[valid][:, :2] <= 1))


def test_the_hand_rests_when_the_speech_pauses_and_the_body_breathes():
    audio = clicks([0.8, 1.5], 6.0)
    frames, _ = run(BeatSource(25.0), audio, [8000])
    wrist = frames[:, L.BODY][:, R_WRIST, :2]
    assert wrist[25 * 2, 1] < beat.REST[1] - 0.03                    # raised while beating
    np.testing.assert_allclose(wrist[-10:], np.broadcast_to(beat.REST, (10, 2)), atol=0.015)   # breathing
    neck_y = frames[:, L.BODY][:, 1, 1]
    assert neck_y.max() - neck_y.min() > 0.005                        # breathing moves the shoulders


def test_strokes_are_smooth():
    frames, _ = run(BeatSource(50.0), make_utterance(7, 10.0).audio, [8000])
    wrist = frames[:, L.BODY][:, R_WRIST, :2].astype(np.float64)
    step = np.linalg.norm(np.diff(wrist, axis=0), axis=1)
    # no jump: nothing faster than the down-stroke's own peak (1.875 x its largest height / DOWN_S)
    stroke = 1.875 * sum(beat.AMPLITUDE) / beat.DOWN_S
    assert step.max() * 50 < stroke + 0.1, step.max() * 50
    bones = np.linalg.norm(frames[:, L.BODY][:, 3, :2] - frames[:, L.BODY][:, 2, :2], axis=1)
    assert bones.std() / bones.mean() < 0.02  # the upper arm keeps its length


def test_the_default_lookahead_puts_every_apex_on_its_onset():
    assert on_time_lookahead() <= beat.DEFAULT_LOOKAHEAD_S < on_time_lookahead() + 0.1
