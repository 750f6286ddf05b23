"""aqgt_pre in NumPy: one raw audio window (36266 samples, 16 kHz) -> the generator's audio inputs.

    beats         (2, 1020)         row 0: amplitude flag, row 1: onset envelope, both of the RAW window
    audio_chunks  (9, 1, 64, 64)    the window min-max scaled to [-1, 1], cut in 9 pieces of 4000
                                    samples, each zero-padded to 4096 and laid out 64 x 64 (VQ-VAE input)
    input_values  (36266,)          the min-max scaled window, then zero mean / unit variance
                                    (the Wav2Vec2 processor's normalization)

That is AQ-GT's own order: the beat features see the raw audio, the min-max scaling happens in place
before the Wav2Vec2 processor sees it. The onset envelope is librosa's `onset_strength` recomputed in
NumPy (log-power mel spectrogram, 128 Slaney mel bands, n_fft 2048, centred frames zero-padded, positive
first difference averaged over bands), with the hop AQ-GT picks (window // 1020 samples); the middle
1020 frames are kept. Assumption: zero padding at the edges (librosa >= 0.10), not reflection; with
that it matches librosa 0.11 to 1e-6 (the test runs the comparison where librosa is installed).
"""
from __future__ import annotations

import numpy as np

from signstream.gesture.aqgt_contract import (BEAT_STEPS, CHUNK_SAMPLES, CHUNK_SIDE, N_CHUNKS, SAMPLE_RATE,
                                              WINDOW_SAMPLES)

N_FFT, N_MELS, TOP_DB, AMIN = 2048, 128, 80.0, 1e-10
LOUD = 1e-3                    # samples above this count towards the amplitude threshold


def min_max(window: np.ndarray) -> np.ndarray:
    """(N,) -> (N,) scaled so min -> -1 and max -> 1 (a silent window stays finite)."""
    x = window.astype(np.float32) - window.min()
    return x / (max(1e-7, float(x.max())) / 2) - 1


def audio_chunks(scaled: np.ndarray) -> np.ndarray:
    """(WINDOW_SAMPLES,) min-max scaled -> (9, 1, 64, 64): 4000-sample pieces, zero-padded to 4096."""
    pieces = scaled[:N_CHUNKS * CHUNK_SAMPLES].reshape(N_CHUNKS, CHUNK_SAMPLES)
    out = np.zeros((N_CHUNKS, CHUNK_SIDE * CHUNK_SIDE), np.float32)
    out[:, :CHUNK_SAMPLES] = pieces
    return out.reshape(N_CHUNKS, 1, CHUNK_SIDE, CHUNK_SIDE)


def wav2vec_values(scaled: np.ndarray) -> np.ndarray:
    """(N,) -> (N,) zero mean, unit variance (the processor's normalization, 1e-7 in the variance)."""
    x = scaled.astype(np.float64)
    return ((x - x.mean()) / np.sqrt(x.var() + 1e-7)).astype(np.float32)


def amplitude_flag(window: np.ndarray, steps: int = BEAT_STEPS) -> np.ndarray:
    """(N,) -> (steps,) 1.0 where |sample| at the step's centre exceeds the mean of the loud samples."""
    loud = window > LOUD
    threshold = window[loud].sum() / loud.sum() if loud.any() else np.inf
    step = len(window) // steps
    at = np.minimum(np.arange(steps) * step + step // 2, len(window) - 1)
    return (np.abs(window[at]) > threshold).astype(np.float32)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log_part, mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def mel_filters(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular Slaney-normalized filters from 0 Hz to sr / 2."""
    fft_hz = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (mel_hz[2:n_mels + 2] - mel_hz[:n_mels]))[:, None]


_MEL = mel_filters()
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT))      # periodic Hann


def log_mel(y: np.ndarray, hop: int) -> np.ndarray:
    """(N,) -> (128, 1 + N // hop) power mel spectrogram in dB (ref 1, top 80 dB), centred frames."""
    padded = np.pad(y.astype(np.float64), N_FFT // 2)
    n_frames = 1 + len(y) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::hop][:n_frames]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=1)) ** 2
    db = 10.0 * np.log10(np.maximum(AMIN, _MEL @ power.T))
    return np.maximum(db, db.max() - TOP_DB)


def onset_strength(y: np.ndarray, hop: int) -> np.ndarray:
    """(N,) -> (1 + N // hop,) spectral flux onset envelope, aligned to the frames (librosa's padding)."""
    spec = log_mel(y, hop)
    flux = np.maximum(0.0, spec[:, 1:] - spec[:, :-1]).mean(axis=0)
    pad = 1 + N_FFT // (2 * hop)
    return np.concatenate([np.zeros(pad), flux])[:spec.shape[1]]


def onset_envelope(window: np.ndarray, steps: int = BEAT_STEPS) -> np.ndarray:
    """(N,) -> (steps,) the middle `steps` frames of the onset envelope at hop N // steps."""
    env = onset_strength(window, len(window) // steps)
    skip = (len(env) - steps) // 2
    return env[skip:skip + steps].astype(np.float32)


def preprocess_window(window: np.ndarray) -> dict[str, np.ndarray]:
    """One raw window (WINDOW_SAMPLES,) float32 -> aqgt_pre's outputs (without the batch)."""
    window = np.asarray(window, np.float32)
    if window.shape != (WINDOW_SAMPLES,):
        raise ValueError(f"AUDIO must hold {WINDOW_SAMPLES} samples, got shape {window.shape}")
    if not np.all(np.isfinite(window)):
        raise ValueError("AUDIO holds NaN or infinite samples")
    scaled = min_max(window)
    return {"input_values": wav2vec_values(scaled), "audio_chunks": audio_chunks(scaled),
            "beats": np.stack([amplitude_flag(window), onset_envelope(window)])}


def preprocess_batch(audio: np.ndarray) -> dict[str, np.ndarray]:
    """(B, WINDOW_SAMPLES) -> aqgt_pre's outputs, batch first."""
    items = [preprocess_window(w) for w in np.asarray(audio)]
    return {name: np.stack([item[name] for item in items]) for name in items[0]}
