"""A seeded synthetic-speech corpus with known stress times, for the gesture evaluation and tests.

No recordings ship and none can be downloaded, so the speech is made: phrases of syllables at a
speaking rate of about 4 per second, each a voiced vowel (a harmonic series on a gliding pitch with
formant-like spectral shaping) after an optional noise consonant, separated by pauses between
phrases. About one syllable in three is stressed: louder (+9 dB), higher (+25 % pitch) and longer,
as pitch accents are. The stress time is the stressed vowel's onset: what a beat gesture's apex should
land on. It is speech-like, not speech: say so wherever its figures are shown.

    utterance = make_utterance(seed=3, seconds=20.0)
    utterance.audio          # float32 mono, SAMPLE_RATE, in [-1, 1]
    utterance.stress_s       # stressed-vowel onsets, seconds, ascending
    utterance.syllable_s     # every vowel onset (stressed or not)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signstream.gesture.source import SAMPLE_RATE

STRESS_GAIN_DB = 9.0


@dataclass(frozen=True)
class Utterance:
    audio: np.ndarray
    stress_s: np.ndarray
    syllable_s: np.ndarray
    seed: int

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def _vowel(rng: np.random.Generator, seconds: float, f0: float, gain: float) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    glide = f0 * (1.0 + rng.uniform(-0.08, 0.05) * t / max(seconds, 1e-3))
    phase = 2 * np.pi * np.cumsum(glide) / SAMPLE_RATE
    formants = rng.uniform([500, 1100], [850, 1900])
    wave = np.zeros(n)
    for k in range(1, 30):
        fk = k * f0
        if fk > 5000:
            break
        shape = sum(np.exp(-((fk - f) / 180.0) ** 2) for f in formants) + 0.05
        wave += shape / k**0.5 * np.sin(k * phase)
    attack, release = int(0.012 * SAMPLE_RATE), int(0.05 * SAMPLE_RATE)
    env = np.ones(n)
    env[:attack] = np.linspace(0.0, 1.0, attack)
    env[-release:] *= np.linspace(1.0, 0.0, release)
    return gain * env * wave / (np.abs(wave).max() + 1e-9)


def _consonant(rng: np.random.Generator, seconds: float, gain: float) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    noise = rng.standard_normal(n)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum *= (freqs > rng.uniform(2000, 4000))           # a fricative: high-passed noise
    burst = np.fft.irfft(spectrum, n)
    return gain * np.hanning(n) * burst / (np.abs(burst).max() + 1e-9)


def make_utterance(seed: int, seconds: float = 20.0, stress_every: float = 3.0,
                   noise_db: float = -50.0) -> Utterance:
    """Phrases of syllables for `seconds` (the last phrase cut short), reproducible from `seed`."""
    rng = np.random.default_rng([seed, 22])
    total = int(seconds * SAMPLE_RATE)
    audio = np.zeros(total)
    stress, syllables = [], []
    t = rng.uniform(0.3, 0.6)
    base_f0 = rng.uniform(100, 210)
    while t < seconds - 0.4:
        for _ in range(int(rng.integers(4, 12))):                      # one phrase
            stressed = rng.uniform() < 1.0 / stress_every
            gain = 0.25 * 10 ** ((STRESS_GAIN_DB if stressed else 0.0) / 20) * rng.uniform(0.8, 1.2)
            if rng.uniform() < 0.6:                                    # a consonant before the vowel
                c = _consonant(rng, rng.uniform(0.04, 0.08), 0.15 * gain)
                start = int(t * SAMPLE_RATE)
                audio[start:start + len(c)] += c[: max(0, total - start)]
                t += len(c) / SAMPLE_RATE
            length = rng.uniform(0.12, 0.2) * (1.35 if stressed else 1.0)
            v = _vowel(rng, length, base_f0 * (1.25 if stressed else 1.0) * rng.uniform(0.95, 1.05), gain)
            start = int(t * SAMPLE_RATE)
            if start + len(v) > total:
                break
            audio[start:start + len(v)] += v
            syllables.append(t)
            if stressed:
                stress.append(t)
            t += length + rng.uniform(0.03, 0.09)
        t += rng.uniform(0.35, 0.8)                                    # a pause between phrases
    audio += 10 ** (noise_db / 20) * rng.standard_normal(total)
    audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
    return Utterance(audio, np.array(stress), np.array(syllables), seed)


def pcm16(audio: np.ndarray) -> bytes:
    """float32 [-1, 1] -> PCM16 little-endian bytes (what the Gesture rpc takes)."""
    return (np.clip(audio, -1.0, 1.0) * 32767).round().astype("<i2").tobytes()
