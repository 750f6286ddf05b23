"""Minimum-jerk motion of a point: piecewise quintic segments, continuous in position, velocity and
acceleration where one segment is planned from the state of another.

A minimum-jerk move over [t0, t1] between two states (position, velocity, acceleration) is the quintic
polynomial meeting both (Flash & Hogan 1985); between states at rest it is the familiar
p0 + (p1 - p0)(10s³ - 15s⁴ + 6s⁵). `Trajectory` holds the plan: `state(t)`, `replan(t, moves)` keeps
the plan before t and continues from its state at t, `sample(times)` evaluates it (after the last
segment the point holds still).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    t0: float
    t1: float
    coef: np.ndarray          # (6, D): p(t0 + s·T) = Σ coef[k] s^k, s in [0, 1]

    def at(self, t: np.ndarray, derivative: int = 0) -> np.ndarray:
        duration = self.t1 - self.t0
        s = np.clip((np.asarray(t, dtype=np.float64) - self.t0) / duration, 0.0, 1.0)
        k = np.arange(6)
        c = self.coef
        for _ in range(derivative):
            c = (c[1:] * k[1:len(c), None]) / duration
        powers = s[..., None] ** np.arange(len(c))
        return powers @ c


def min_jerk(t0: float, t1: float, start: tuple, end: tuple) -> Segment:
    """The minimum-jerk segment from state `start` = (p, v, a) at t0 to `end` at t1 (arrays of D)."""
    duration = t1 - t0
    if duration <= 0:
        raise ValueError(f"a segment needs t1 > t0 (got {t0} .. {t1})")
    p0, v0, a0 = (np.asarray(x, dtype=np.float64) * duration**i for i, x in enumerate(start))
    p1, v1, a1 = (np.asarray(x, dtype=np.float64) * duration**i for i, x in enumerate(end))
    a0, a1 = a0 / 2, a1 / 2
    # s^3..s^5 coefficients from the end conditions (the standard quintic boundary solve)
    d = p1 - (p0 + v0 + a0)
    dv = v1 - (v0 + 2 * a0)
    da = 2 * a1 - 2 * a0
    c3 = 10 * d - 4 * dv + da / 2
    c4 = -15 * d + 7 * dv - da
    c5 = 6 * d - 3 * dv + da / 2
    return Segment(t0, t1, np.stack([p0, v0, a0, c3, c4, c5]))


class Trajectory:
    def __init__(self, position):
        self._hold = np.asarray(position, dtype=np.float64)
        self.segments: list[Segment] = []

    @property
    def end_time(self) -> float:
        return self.segments[-1].t1 if self.segments else -np.inf

    @property
    def end_position(self) -> np.ndarray:
        return self.segments[-1].at(self.segments[-1].t1) if self.segments else self._hold

    def state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position, velocity, acceleration) at time t."""
        for segment in reversed(self.segments):
            if segment.t0 <= t:
                if t < segment.t1:
                    return tuple(segment.at(t, k) for k in range(3))
                break
        zero = np.zeros_like(self._hold)
        before = [s for s in self.segments if s.t1 <= t]
        return (before[-1].at(before[-1].t1) if before else self._hold), zero, zero.copy()

    def replan(self, t: float, waypoints) -> None:
        """Keep the plan before `t`, then move from its state at `t` through `waypoints`
        [(time, position), ...] (ascending times after t), arriving at each at rest."""
        state = self.state(t)
        kept = []
        for segment in self.segments:
            if segment.t1 <= t:
                kept.append(segment)
            elif segment.t0 < t:         # cut at t: the rest is replaced from the state there
                kept.append(Segment(segment.t0, t, _cut(segment, t)))
        self.segments = kept
        if not self.segments:
            self._hold = state[0]
        zero = np.zeros_like(state[0])
        start, t0 = state, t
        for time, position in waypoints:
            self.segments.append(min_jerk(t0, time, start, (position, zero, zero)))
            start, t0 = (np.asarray(position, dtype=np.float64), zero, zero), time

    def sample(self, times: np.ndarray) -> np.ndarray:
        """Positions (len(times), D)."""
        return np.stack([self.state(float(t))[0] for t in np.asarray(times, dtype=np.float64)]) if len(times) \
            else np.zeros((0, len(self._hold)))


def _cut(segment: Segment, t: float) -> np.ndarray:
    """The coefficients of `segment` restricted to [t0, t] (the same curve, rescaled)."""
    r = (t - segment.t0) / (segment.t1 - segment.t0)
    return segment.coef * (r ** np.arange(6))[:, None]
