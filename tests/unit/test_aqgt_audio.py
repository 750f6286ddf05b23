"""aqgt_pre in NumPy: min-max scaling, the 9 x 64 x 64 VQ-VAE chunks, the Wav2Vec2 normalization, the
amplitude flag and the onset envelope of one 34-frame window."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.gesture import aqgt_audio as A
from signstream.gesture.aqgt_contract import BEAT_STEPS, PRE_OUTPUTS, SAMPLE_RATE, WINDOW_SAMPLES


def _speechy(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(WINDOW_SAMPLES) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
            + 0.01 * rng.standard_normal(WINDOW_SAMPLES)).astype(np.float32)


def test_the_outputs_have_the_contracts_shapes_and_are_finite():
    out = A.preprocess_batch(np.stack([_speechy(0), _speechy(1)]))
    for name, (_, dims) in PRE_OUTPUTS.items():
        assert out[name].shape == (2, *dims) and out[name].dtype == np.float32, name
        assert np.all(np.isfinite(out[name]))


def test_min_max_maps_the_window_onto_minus_one_to_one_and_silence_stays_finite():
    scaled = A.min_max(_speechy())
    assert scaled.min() == pytest.approx(-1.0) and scaled.max() == pytest.approx(1.0)
    silent = A.preprocess_window(np.zeros(WINDOW_SAMPLES, np.float32))
    assert all(np.all(np.isfinite(v)) for v in silent.values())
    assert not silent["beats"].any()


def test_chunks_are_4000_sample_pieces_zero_padded_to_64_by_64():
    scaled = A.min_max(_speechy())
    chunks = A.audio_chunks(scaled)
    assert chunks.shape == (9, 1, 64, 64)
    flat = chunks.reshape(9, 4096)
    for k in range(9):
        np.testing.assert_array_equal(flat[k, :4000], scaled[4000 * k:4000 * (k + 1)])
        assert not flat[k, 4000:].any()


def test_wav2vec_values_are_the_scaled_window_at_zero_mean_and_unit_variance():
    window = _speechy()
    values = A.preprocess_window(window)["input_values"]
    assert abs(values.mean()) < 1e-4 and values.std() == pytest.approx(1.0, abs=1e-3)
    scaled = A.min_max(window)
    np.testing.assert_allclose(values, (scaled - scaled.mean()) / scaled.std(), atol=1e-4)


def test_the_amplitude_flag_marks_the_loud_steps():
    window = np.full(WINDOW_SAMPLES, 0.002, np.float32)
    window[18000:20000] = 0.5
    flag = A.amplitude_flag(window)
    step = WINDOW_SAMPLES // BEAT_STEPS
    loud = np.flatnonzero(flag)
    assert loud.size > 0 and 18000 <= loud.min() * step + step // 2 and loud.max() * step + step // 2 < 20000


def test_the_onset_envelope_peaks_at_an_onset():
    window = np.zeros(WINDOW_SAMPLES, np.float32)
    onset = 20000
    t = np.arange(WINDOW_SAMPLES - onset) / SAMPLE_RATE
    window[onset:] = 0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-8 * t)
    env = A.onset_envelope(window)
    assert env.shape == (BEAT_STEPS,) and env.min() >= 0
    hop = WINDOW_SAMPLES // BEAT_STEPS
    skip = (1 + WINDOW_SAMPLES // hop - BEAT_STEPS) // 2
    peak_sample = (int(np.argmax(env)) + skip) * hop
    assert abs(peak_sample - onset) < 2048       # within one analysis frame of the onset


def test_the_mel_filters_are_slaney_triangles_covering_the_spectrum():
    filters = A.mel_filters()
    assert filters.shape == (128, 1025) and filters.min() >= 0
    assert np.all(filters.max(axis=1) > 0)                 # every band has a bin
    peaks = np.argmax(filters, axis=1)
    assert np.all(np.diff(peaks) >= 0)                     # bands rise in frequency


def test_a_bad_window_is_refused():
    with pytest.raises(ValueError, match="36266"):
        A.preprocess_window(np.zeros(100, np.float32))
    bad = np.zeros(WINDOW_SAMPLES, np.float32)
    bad[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        A.preprocess_window(bad)


def test_the_onset_envelope_and_mel_filters_match_librosa_where_it_is_installed():
    librosa = pytest.importorskip("librosa")       # not a dependency; matched to 4e-7 with librosa 0.11
    window = _speechy(5)
    np.testing.assert_allclose(A.onset_strength(window, 35),
                               librosa.onset.onset_strength(y=window, sr=SAMPLE_RATE, hop_length=35), atol=1e-5)
    np.testing.assert_allclose(A.mel_filters(), librosa.filters.mel(sr=SAMPLE_RATE, n_fft=2048), atol=1e-7)
