"""Causal audio onsets (beats of speech) for the beat gesture source.

Spectral flux: the audio is cut into 32 ms Hann frames every 10 ms; a frame's flux is the mean rise of
its log-compressed magnitude spectrum over the previous frame's (half-wave rectified: only energy
that appears counts). An onset is a flux peak that stands out of the recent past (the adaptive
threshold: mean + K·std of the last second of flux, and above a floor), whose vowel is louder than the
median of the recent syllables' (stressed syllables are louder) or nearly as loud as the loudest, at least REFRACTORY_S after the previous onset.
Everything is decided from the past only: a peak at frame k is known once frame k+1 is analysed, so
an onset is reported DELAY_S after it happens at the latest; `analysed_s` says up to where the audio
has been looked at.

    detector = OnsetDetector()
    for time_s, strength in detector.push(samples):     # float32, SAMPLE_RATE
        ...
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from signstream.gesture.source import SAMPLE_RATE

WINDOW = 512                  # 32 ms
HOP = 160                     # 10 ms
COMPRESSION = 100.0           # log(1 + C·|X|): loud and quiet syllables rise alike
HISTORY_S = 1.0               # the adaptive threshold's past
K = 1.5                       # threshold = mean + K·std of the past flux
FLUX_FLOOR = 0.05             # a peak under this is noise whatever its past
SYLLABLES = 16                # the recent syllables (about 4 s) a stressed one is compared with
LOUDNESS_RATIO = 1.6          # a stressed vowel's RMS over the median of the recent syllables'
PEAK_RATIO = 0.9              # ... or over the loudest recent one's (a run of equally strong beats)
SILENCE_RMS = 3e-3            # frames below this are not speech (about -50 dBFS)
REFRACTORY_S = 0.25           # at most one onset per 250 ms (no beat faster than a syllable)
LOUDNESS_LOOKAHEAD = 6        # frames after the peak whose loudness counts (the vowel's body, 60 ms)
WARMUP_FRAMES = 25            # the first 250 ms teach the threshold the noise floor: no onset there
LEVELS = 500                  # frames whose loudness level_at can still give (5 s)
DELAY_S = HOP * (LOUDNESS_LOOKAHEAD + 1) / SAMPLE_RATE   # detection lag behind the onset


@dataclass(frozen=True)
class Onset:
    time_s: float             # when the onset happened, from the start of the audio
    strength: float           # 0..1: how far the peak stands out (scales the stroke)
    known_s: float            # how much audio had to be heard to decide it (time_s + DELAY_S)


class OnsetDetector:
    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames = 0                          # analysed frames so far
        self._previous: np.ndarray | None = None  # the last frame's log spectrum
        self._window = np.hanning(WINDOW).astype(np.float32)
        history = int(round(HISTORY_S * SAMPLE_RATE / HOP))
        self._flux = deque(maxlen=history)        # the past flux (the threshold's)
        self._recent: deque[tuple[float, float, float]] = deque()   # (flux, threshold, rms) of the last frames
        self._syllables = deque(maxlen=SYLLABLES)  # the loudness of the recent onsets (stressed or not)
        self._last_onset = -np.inf
        self._levels = deque(maxlen=LEVELS)      # the RMS of the last frames (level_at)

    @property
    def analysed_s(self) -> float:
        """The audio time up to which onsets are final: every onset before it has been reported."""
        return max(0.0, (self._frames * HOP + WINDOW) / SAMPLE_RATE - DELAY_S)

    def level_at(self, time_s: float) -> float:
        """The RMS of the analysis frame centred nearest `time_s` (0 before the audio, the last
        frame's after what was analysed, the oldest kept for times long past)."""
        if not self._levels:
            return 0.0
        index = int(round((time_s * SAMPLE_RATE - WINDOW / 2) / HOP))
        first = self._frames - len(self._levels)
        return float(self._levels[min(max(index - first, 0), len(self._levels) - 1)]) if index >= 0 else 0.0

    def push(self, samples: np.ndarray) -> list[Onset]:
        """Analyse the next samples; the onsets they complete, in time order."""
        audio = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        count = max(0, (len(audio) - WINDOW) // HOP + 1)
        found = []
        for i in range(count):
            frame = audio[i * HOP: i * HOP + WINDOW]
            onset = self._frame(frame)
            if onset is not None:
                found.append(onset)
        self._pending = audio[count * HOP:]
        return found

    def _frame(self, frame: np.ndarray) -> Onset | None:
        spectrum = np.log1p(COMPRESSION * np.abs(np.fft.rfft(self._window * frame)))
        rms = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2)))
        flux = 0.0 if self._previous is None else float(np.maximum(spectrum - self._previous, 0.0).mean())
        self._previous = spectrum
        past = np.asarray(self._flux) if self._flux else np.zeros(1)
        threshold = max(FLUX_FLOOR, float(past.mean() + K * past.std()))
        self._flux.append(flux)
        self._recent.append((flux, threshold, rms))
        self._levels.append(rms)
        self._frames += 1
        if len(self._recent) < LOUDNESS_LOOKAHEAD + 3:
            return None
        if len(self._recent) > LOUDNESS_LOOKAHEAD + 3:
            self._recent.popleft()
        # the candidate: the frame LOUDNESS_LOOKAHEAD + 1 back, a peak over its neighbours
        before, (peak, thr, _), after = self._recent[0], self._recent[1], self._recent[2]
        if not (peak > before[0] and peak >= after[0] and peak > thr) or self._frames < WARMUP_FRAMES:
            return None
        body = max(r[2] for r in list(self._recent)[1:])
        if body < SILENCE_RMS:
            return None
        syllables = np.asarray(self._syllables) if self._syllables else np.zeros(1)
        self._syllables.append(body)
        if body < min(LOUDNESS_RATIO * float(np.median(syllables)), PEAK_RATIO * float(syllables.max())):
            return None
        index = self._frames - LOUDNESS_LOOKAHEAD - 2      # the peak's frame
        time_s = (index * HOP + WINDOW) / SAMPLE_RATE    # the rise is seen as it enters the window
        if time_s - self._last_onset < REFRACTORY_S:
            return None
        self._last_onset = time_s
        known = ((self._frames - 1) * HOP + WINDOW) / SAMPLE_RATE
        return Onset(time_s, float(np.clip((peak - thr) / (2 * thr), 0.0, 1.0)), known)
