"""AQ-GT's windowing over a stream, in NumPy: which windows run, their seeds, the crossfade, the resampling.

Window i covers 34 model frames (15 fps) from frame 30 i, i.e. the audio samples [32000 i, 32000 i +
36266) (zero-padded past the end of the speech). A clip of D seconds takes 1 window if D < 34 / 15,
else ceil((D - 34/15) / 2) + 1 (AQ-GT's full-clip synthesis). Window i > 0 is seeded with the last 4
frames window i - 1 generated (before blending); window 0 with the mean pose (zeros: the model works
on offsets minus the mean). Assumption: AQ-GT seeds its first window from the recorded motion, which a
live stream does not have, so the speaker starts from the mean pose.

Crossfade (AQ-GT's): the previous window's last 4 frames are dropped and the new window's first 4
become prev[j] (4 - j) / 5 + new[j] (j + 1) / 5, j = 0..3. So after window i, model frames below
30 (i + 1) are final; the last window's 34 frames are all final. The motion is a sum of weights 1 of
window outputs, so blending positions is blending offsets: it runs on positions here.

Resampling: stream frame k shows time k / fps, the model frame position t = k * 15 / fps, linearly
interpolated between the two model frames around it (the last one held past the end).
"""
from __future__ import annotations

import math

import numpy as np

from signstream.gesture.aqgt_contract import (HOP_FRAMES, HOP_SAMPLES, MODEL_FPS, N_POSES, N_PRE_POSES,
                                              POSE_DIM, SAMPLE_RATE, WINDOW_SAMPLES)

UNIT_S = N_POSES / MODEL_FPS
STRIDE_S = HOP_FRAMES / MODEL_FPS


def window_count(duration_s: float) -> int:
    """How many windows a clip of `duration_s` seconds takes (at least 1)."""
    if duration_s < UNIT_S:
        return 1
    return math.ceil((duration_s - UNIT_S) / STRIDE_S) + 1


def window_start_frame(i: int) -> int:
    """The model frame (15 fps) window i starts at."""
    return i * HOP_FRAMES


def window_audio(audio: np.ndarray, i: int) -> np.ndarray:
    """Window i's audio (WINDOW_SAMPLES,) float32, zero-padded past the end of `audio`."""
    piece = np.asarray(audio[i * HOP_SAMPLES:i * HOP_SAMPLES + WINDOW_SAMPLES], np.float32)
    return np.pad(piece, (0, WINDOW_SAMPLES - len(piece)))


def window_ready(i: int, samples: int) -> bool:
    """Window i can run before the end of the speech: all its audio has arrived."""
    return samples >= i * HOP_SAMPLES + WINDOW_SAMPLES


def pre_seq(previous: np.ndarray | None) -> np.ndarray:
    """(34, 160): the seed frames (the last 4 of `previous` (34, 159), the mean pose if None) and the
    seed bit in the last channel."""
    seq = np.zeros((N_POSES, POSE_DIM + 1), np.float32)
    if previous is not None:
        seq[:N_PRE_POSES, :POSE_DIM] = previous[-N_PRE_POSES:]
    seq[:N_PRE_POSES, POSE_DIM] = 1.0
    return seq


def crossfade(done: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Append window `new` (34, ...) to the frames so far `done` (F, ...), F = 0 or F >= 4, AQ-GT's
    blend over the 4 overlapping frames; returns (F - 4 + 34, ...) (34 for the first window)."""
    if len(done) == 0:
        return new.copy()
    n = N_PRE_POSES
    j = np.arange(n, dtype=np.float64).reshape((n,) + (1,) * (new.ndim - 1))
    head = done[-n:] * (n - j) / (n + 1) + new[:n] * (j + 1) / (n + 1)
    return np.concatenate([done[:-n], head.astype(new.dtype), new[n:]])


def final_frames(windows: int, last: bool) -> int:
    """Model frames that later windows no longer change, once `windows` windows ran."""
    if windows == 0:
        return 0
    return window_start_frame(windows - 1) + (N_POSES if last else HOP_FRAMES)


def stream_frame_count(samples: int, fps: float) -> int:
    """round(duration * fps): the frames a stream of `samples` audio samples shows."""
    return int(round(samples / SAMPLE_RATE * fps))


def resample(model_frames: np.ndarray, start: int, stop: int, fps: float) -> np.ndarray:
    """Stream frames [start, stop) at `fps` from model frames (F, ...) at 15 fps, linearly interpolated;
    frames past the last model frame hold it."""
    t = np.arange(start, stop, dtype=np.float64) * MODEL_FPS / fps
    last = len(model_frames) - 1
    i0 = np.minimum(np.floor(t).astype(np.int64), last)
    i1 = np.minimum(i0 + 1, last)
    w = np.clip(t - i0, 0.0, 1.0).reshape((-1,) + (1,) * (model_frames.ndim - 1))
    return (model_frames[i0] * (1 - w) + model_frames[i1] * w).astype(np.float32)


def resampled_ready(final: int, fps: float) -> int:
    """How many stream frames are interpolated only from the first `final` model frames."""
    if final == 0:
        return 0
    # frame k needs model frames floor(k * 15 / fps) and the one after: k * 15 / fps <= final - 1
    return int(math.floor((final - 1) * fps / MODEL_FPS + 1e-9)) + 1
