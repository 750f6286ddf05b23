"""Jitter filter for extracted keypoints (issue 7 item 3): a One-Euro filter with optional lookahead.

One-Euro (Casiez, Roussel, Vogel, CHI 2012), per point and per frame at rate = fps:
    α(fc) = 1 / (1 + rate / (2π fc))
    d  ← α(d_cutoff) · (x − x̂) · rate + (1 − α(d_cutoff)) · d        (filtered velocity, per channel)
    fc = min_cutoff + beta · |d|                                       (|d| of x·aspect, y: height units/s)
    x̂  ← α(fc) · x + (1 − α(fc)) · x̂
A slow point is smoothed hard (cutoff near min_cutoff, jitter removed); a fast one opens the cutoff
(little lag). Flagged points filter x, y (the flag passes through); MediaPipe parts x, y, z. A missing
point (flag 0, or its MediaPipe part all zero) is output unchanged and resets its state: the next time
it appears it starts afresh from its raw value, so no stale value is ever drawn.

Defaults, for 25 fps keypoints in image-normalized units (tests measure each claim on demo signs):
- MIN_CUTOFF 1 Hz: at rest α = 0.2, a low-pass that removes most detector noise (it lives well above
  1 Hz) and cuts the frame-to-frame jitter of a still body or hand point several times.
- BETA 10 s per height unit: a signing wrist (1–2 heights/s) opens the cutoff to 11–21 Hz (α ≥ 0.7),
  so the filter trails a fast wrist by about a frame at the onset of a stroke and less after it;
  larger values pass more noise (the noise's own speed opens the cutoff), smaller ones lag more.
- D_CUTOFF 1 Hz: the usual One-Euro value; the speed estimate must not itself chatter.
- FACE_MIN_CUTOFF 8 Hz for iBUG-68 and the face mesh: expressions are small and fast, so their speed
  never opens the cutoff; the higher floor keeps a 2 Hz mouth motion within 10 % of its amplitude
  (15 % with lookahead 2) while still cutting face jitter; the body's 1 Hz floor would keep under half.

Lookahead L (bounded, default 0 = causal): a fixed-lag smoother. The causal estimates x̂ and gains α
of the last L + 1 frames are kept; frame t is output once frame t + L has arrived, as a backward pass
y[e] = x̂[e], y[i] = α_i x̂[i] + (1 − α_i) y[i+1] down to i = t, where e ≤ t + L is the last frame of an
unbroken run of the point. The backward pass leads where the forward one lags, so it cuts lag and
jitter further; it adds exactly L frames of latency (80 ms at 25 fps for L = 2). L = 0 is the
plain One-Euro filter.

Streaming: `JitterFilter.push(frame)` returns the filtered frame L frames back (None while the first
L frames fill the window); `flush()` returns the last L at the end of the stream. `filter_clip`
gives the same frames for a whole clip. Each numba kernel has a plain NumPy reference beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import layout as L
from .layout import validity

MIN_CUTOFF = 1.0
FACE_MIN_CUTOFF = 8.0
BETA = 10.0
D_CUTOFF = 1.0
FPS = 25.0
FACE_POINTS = np.concatenate([np.arange(L.FACE.start, L.FACE.stop), np.arange(L.FACE_MP.start, L.FACE_MP.stop)])


@dataclass(frozen=True)
class JitterParams:
    """One-Euro settings (module docstring); cutoffs in Hz, beta in seconds per height unit."""

    min_cutoff: float = MIN_CUTOFF
    face_min_cutoff: float = FACE_MIN_CUTOFF
    beta: float = BETA
    d_cutoff: float = D_CUTOFF
    fps: float = FPS
    lookahead: int = 0
    aspect: float = 1.0                     # W / H, so speed is measured in the same units on both axes

    def min_cutoffs(self) -> np.ndarray:
        """(K,) float64: the cutoff floor of every packed point (face points get the face one)."""
        for name in ("min_cutoff", "face_min_cutoff", "d_cutoff", "fps", "aspect"):
            if not getattr(self, name) > 0:
                raise ValueError(f"jitter {name} must be positive, got {getattr(self, name)}")
        if self.beta < 0 or self.lookahead < 0:
            raise ValueError("jitter beta and lookahead must not be negative")
        cutoffs = np.full(L.NUM_POINTS, self.min_cutoff, dtype=np.float64)
        cutoffs[FACE_POINTS] = self.face_min_cutoff
        return cutoffs


# --------------------------------------------------------------------------- numba kernels

@njit(cache=True, nogil=True)
def _alpha(cutoff, rate):
    """Smoothing factor of a first-order low-pass at `cutoff` Hz sampled at `rate` Hz."""
    return 1.0 / (1.0 + rate / (2.0 * np.pi * cutoff))


@njit(cache=True, nogil=True)
def one_euro_step(frame, valid, value, deriv, ready, min_cutoff, beta, d_cutoff, rate, aspect, point_group, out, gain):
    """One frame (K, 3) through the causal filter. State per point, updated in place: value (K, 3) and
    deriv (K, 3) float64, ready (K,) bool. Writes out (K, 3) float64 (x̂) and gain (K,) float64 (α)."""
    K = frame.shape[0]
    ad = _alpha(d_cutoff, rate)
    for k in range(K):
        nc = 2 if point_group[k] < 0 else 3
        if not valid[k] or not ready[k]:
            ready[k] = valid[k]
            for c in range(3):
                value[k, c] = frame[k, c]
                deriv[k, c] = 0.0
                out[k, c] = frame[k, c]
            gain[k] = 1.0
            continue
        for c in range(nc):
            deriv[k, c] = ad * (frame[k, c] - value[k, c]) * rate + (1.0 - ad) * deriv[k, c]
        speed = np.sqrt((deriv[k, 0] * aspect) ** 2 + deriv[k, 1] ** 2)
        a = _alpha(min_cutoff[k] + beta * speed, rate)
        for c in range(nc):
            value[k, c] = a * frame[k, c] + (1.0 - a) * value[k, c]
        if nc == 2:
            value[k, 2] = frame[k, 2]
        for c in range(3):
            out[k, c] = value[k, c]
        gain[k] = a


@njit(cache=True, nogil=True)
def fixed_lag_frame(forward, gain, valid, point_group, out):
    """Output for the first frame of a window of causal estimates forward (W, K, 3), gain (W, K),
    valid (W, K): the backward pass of the module docstring, into out (K, 3) float32. Flags pass."""
    W, K, _ = forward.shape
    for k in range(K):
        e = 0
        if valid[0, k]:
            while e + 1 < W and valid[e + 1, k]:
                e += 1
        nc = 2 if point_group[k] < 0 else 3
        for c in range(3):
            if c >= nc:                         # a flag is never smoothed
                out[k, c] = forward[0, k, c]
                continue
            y = forward[e, k, c]
            for i in range(e - 1, -1, -1):
                y = gain[i, k] * forward[i, k, c] + (1.0 - gain[i, k]) * y
            out[k, c] = y


@njit(cache=True, nogil=True)
def one_euro_clip(frames, valid, min_cutoff, beta, d_cutoff, rate, aspect, lookahead, point_group):
    """Whole clip (T, K, 3) -> filtered (T, K, 3) float32; the same frames as streaming it."""
    T, K, _ = frames.shape
    forward = np.empty((T, K, 3))
    gain = np.empty((T, K))
    value = np.zeros((K, 3))
    deriv = np.zeros((K, 3))
    ready = np.zeros(K, dtype=np.bool_)
    for t in range(T):
        one_euro_step(frames[t], valid[t], value, deriv, ready, min_cutoff, beta, d_cutoff, rate, aspect,
                      point_group, forward[t], gain[t])
    out = np.empty((T, K, 3), dtype=np.float32)
    for t in range(T):
        stop = min(T, t + lookahead + 1)
        fixed_lag_frame(forward[t:stop], gain[t:stop], valid[t:stop], point_group, out[t])
    return out


# --------------------------------------------------------------------------- API

def filter_clip(frames: np.ndarray, params: JitterParams = JitterParams()) -> np.ndarray:
    """Filter a whole clip (T, K, 3) float32 through the numba kernels."""
    frames = L.check_frames(frames)
    return one_euro_clip(frames, validity(frames), params.min_cutoffs(), float(params.beta), float(params.d_cutoff),
                         float(params.fps), float(params.aspect), int(params.lookahead), L.POINT_GROUP)


class JitterFilter:
    """Streaming state for one keypoint stream: push frames in order, flush at the end."""

    def __init__(self, params: JitterParams = JitterParams()):
        self.params = params
        self._cutoffs = params.min_cutoffs()
        K, W = L.NUM_POINTS, int(params.lookahead) + 1
        self._value, self._deriv = np.zeros((K, 3)), np.zeros((K, 3))
        self._ready = np.zeros(K, dtype=np.bool_)
        self._forward, self._gain = np.zeros((W, K, 3)), np.zeros((W, K))
        self._valid = np.zeros((W, K), dtype=np.bool_)
        self._held = 0                          # frames in the window not yet output

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """frame (K, 3) -> the filtered frame `lookahead` frames back (K, 3) float32, or None."""
        frame = L.check_frames(np.asarray(frame)[None])
        W = self._forward.shape[0]
        if self._held == W:                     # the window is full: drop its oldest frame
            for arr in (self._forward, self._gain, self._valid):
                arr[:-1] = arr[1:]
            self._held -= 1
        i = self._held
        p = self.params
        self._valid[i] = validity(frame)[0]
        one_euro_step(frame[0], self._valid[i], self._value, self._deriv, self._ready, self._cutoffs, float(p.beta),
                      float(p.d_cutoff), float(p.fps), float(p.aspect), L.POINT_GROUP, self._forward[i], self._gain[i])
        self._held += 1
        if self._held < W:
            return None
        return self._window_frame(0)

    def flush(self) -> np.ndarray:
        """The frames still held (≤ lookahead, (n, K, 3) float32) at the end of the stream; resets."""
        W = self._forward.shape[0]
        first = 1 if self._held == W else 0     # a full window has already output its first frame
        tail = [self._window_frame(i) for i in range(first, self._held)]
        self.__init__(self.params)
        return np.stack(tail) if tail else np.zeros((0, L.NUM_POINTS, 3), dtype=np.float32)

    def _window_frame(self, i: int) -> np.ndarray:
        """Fixed-lag output for window slot i, looking ahead to the newest frame held."""
        out = np.empty((L.NUM_POINTS, 3), dtype=np.float32)
        stop = self._held
        fixed_lag_frame(self._forward[i:stop], self._gain[i:stop], self._valid[i:stop], L.POINT_GROUP, out)
        return out


# --------------------------------------------------------------------------- NumPy reference

def filter_clip_reference(frames: np.ndarray, params: JitterParams = JitterParams()) -> np.ndarray:
    """The same filter vectorized over points, one frame at a time, then the backward passes."""
    valid = L.validity_reference(frames)
    cutoffs, rate = params.min_cutoffs(), params.fps
    channels = np.where((L.POINT_GROUP < 0)[:, None], [True, True, False], True)      # filtered channels
    alpha = lambda fc: 1.0 / (1.0 + rate / (2 * np.pi * fc))                         # noqa: E731
    x = frames.astype(np.float64)
    forward, gain = x.copy(), np.ones(valid.shape)
    value, deriv, ready = x[0].copy(), np.zeros_like(x[0]), np.zeros(valid.shape[1], dtype=bool)
    for t in range(x.shape[0]):
        go = valid[t] & ready
        d = alpha(params.d_cutoff) * (x[t] - value) * rate + (1 - alpha(params.d_cutoff)) * deriv
        d = np.where(channels, d, 0.0)
        a = alpha(cutoffs + params.beta * np.hypot(d[:, 0] * params.aspect, d[:, 1]))
        smoothed = np.where(channels, a[:, None] * x[t] + (1 - a[:, None]) * value, x[t])
        value = np.where(go[:, None], smoothed, x[t])
        deriv = np.where(go[:, None], d, 0.0)
        forward[t], gain[t] = value, np.where(go, a, 1.0)
        ready = valid[t]
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        stop = min(x.shape[0], t + params.lookahead + 1)
        run = np.cumprod(valid[t:stop], axis=0).sum(axis=0)                           # unbroken run length
        end = np.maximum(run - 1, 0)
        y = forward[t + end, np.arange(x.shape[1])]
        for i in range(stop - t - 2, -1, -1):
            inside = (i < end)[:, None]
            y = np.where(inside & channels, gain[t + i][:, None] * forward[t + i] + (1 - gain[t + i][:, None]) * y, y)
        out[t] = np.where(channels, y, forward[t])
    return out.astype(np.float32)
