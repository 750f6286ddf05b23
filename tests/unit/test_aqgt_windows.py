"""AQ-GT's windowing: window count and hop positions for a duration, seeds from the previous window,
the 4-frame crossfade, resampling to the stream's fps and what is final when."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.gesture import aqgt_windows as W
from signstream.gesture.aqgt_contract import HOP_SAMPLES, N_POSES, POSE_DIM, WINDOW_SAMPLES


@pytest.mark.parametrize("seconds,count", [(0.5, 1), (2.2, 1), (34 / 15, 1), (2.3, 2), (4.26, 2),
                                           (4.3, 3), (5.0, 3), (10.0, 5)])
def test_window_count_is_aqgts(seconds, count):
    assert W.window_count(seconds) == count


def test_windows_start_every_30_frames_and_cover_the_clip():
    for seconds in (1.0, 3.0, 7.7, 12.0):
        n = W.window_count(seconds)
        starts = [W.window_start_frame(i) for i in range(n)]
        assert starts == [30 * i for i in range(n)]
        assert (starts[-1] + N_POSES) / 15 >= seconds          # the last window reaches the end
        assert n == 1 or (starts[-2] + N_POSES) / 15 < seconds  # and no window is spare


def test_window_audio_is_the_windows_samples_zero_padded():
    audio = np.arange(100_000, dtype=np.float32)
    w1 = W.window_audio(audio, 1)
    np.testing.assert_array_equal(w1, audio[HOP_SAMPLES:HOP_SAMPLES + WINDOW_SAMPLES])
    w2 = W.window_audio(audio, 2)
    assert w2.shape == (WINDOW_SAMPLES,) and w2[100_000 - 2 * HOP_SAMPLES - 1] == 99_999
    assert not w2[100_000 - 2 * HOP_SAMPLES:].any()
    assert W.window_ready(1, HOP_SAMPLES + WINDOW_SAMPLES) and not W.window_ready(1, HOP_SAMPLES + WINDOW_SAMPLES - 1)


def test_seeds_are_the_previous_windows_last_four_frames_with_the_seed_bit():
    previous = np.random.default_rng(0).standard_normal((N_POSES, POSE_DIM)).astype(np.float32)
    seq = W.pre_seq(previous)
    assert seq.shape == (N_POSES, POSE_DIM + 1)
    np.testing.assert_array_equal(seq[:4, :POSE_DIM], previous[-4:])
    assert np.all(seq[:4, POSE_DIM] == 1) and not seq[4:].any()
    first = W.pre_seq(None)
    assert not first[:, :POSE_DIM].any() and np.all(first[:4, POSE_DIM] == 1)   # the mean pose


def test_the_crossfade_drops_four_frames_and_blends_them_like_aqgt():
    a, b = np.zeros((N_POSES, 2)), np.ones((N_POSES, 2))
    out = W.crossfade(W.crossfade(np.zeros((0, 2)), a), b)
    assert len(out) == N_POSES + 30
    np.testing.assert_allclose(out[30:34, 0], [1 / 5, 2 / 5, 3 / 5, 4 / 5])
    assert not out[:30].any() and np.all(out[34:] == 1)
    n = W.window_count(9.0)
    frames = np.zeros((0, 1))
    for _ in range(n):
        frames = W.crossfade(frames, np.ones((N_POSES, 1)))
    assert len(frames) == N_POSES + 30 * (n - 1) and np.allclose(frames, 1)


def test_final_frames_hold_back_the_last_four_until_the_last_window():
    assert W.final_frames(0, False) == 0
    assert W.final_frames(1, False) == 30 and W.final_frames(1, True) == 34
    assert W.final_frames(3, False) == 90 and W.final_frames(3, True) == 94


def test_resampling_hits_model_frames_and_interpolates_between():
    model = np.arange(10, dtype=np.float32)[:, None]
    np.testing.assert_allclose(W.resample(model, 0, 4, 15.0)[:, 0], [0, 1, 2, 3])
    np.testing.assert_allclose(W.resample(model, 0, 5, 30.0)[:, 0], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(W.resample(model, 0, 40, 30.0)[-1, 0], 9)       # the last held
    assert W.stream_frame_count(16_000 * 3 + 100, 25.0) == 75


@pytest.mark.parametrize("fps", [10.0, 15.0, 24.0, 25.0, 30.0, 60.0])
def test_ready_frames_use_only_final_model_frames(fps):
    for final in (1, 30, 60, 94):
        ready = W.resampled_ready(final, fps)
        assert (ready - 1) * 15 / fps <= final - 1 + 1e-9 < ready * 15 / fps
