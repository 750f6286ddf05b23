"""The `beat` gesture source: beat gestures from the rhythm of the speech, no model.

Every onset of the speech (signstream.gesture.onsets: causal spectral flux, adaptive threshold,
refractory period) gets one beat of the dominant (right) hand: from where the hand is, a minimum-jerk
rise to a preparation point above the hover position, a quick minimum-jerk down-stroke whose apex
(the lowest point, the hand at rest for an instant) lands on the onset, and a retraction to hover.
The stroke is sized by the onset's strength, the hand stays relaxed (slightly opening at the apex),
and the head gives a small nod with the stroke. Without onsets for IDLE_S the hand sinks back to
rest. The body breathes all the while; the mouth opens with the loudness of the speech.

The declared lookahead is what lets the apex land on the onset: frames are released `lookahead_s`
behind the audio, so a stroke can start before the beat it marks is heard. Released frames are never
changed; an onset found too late to be reached in time gets its apex as soon as the hand can get
there (at least PREP_MIN_S + DOWN_S after the next unreleased frame): lateness, never a jump.
The wrists stay in the gesture space (GESTURE_SPACE: the box in front of the torso between the
shoulders and the hips) whatever the audio.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np

from signstream.gesture.onsets import DELAY_S, Onset, OnsetDetector
from signstream.gesture.source import SAMPLE_RATE, Word
from signstream.gesture.trajectory import Trajectory
from signstream.lexicon.demo_body import HANDSHAPES, L_REST, R_REST, key_params, pose_frames

DEFAULT_LOOKAHEAD_S = 0.55       # every apex on its onset (on_time_lookahead() is 0.49 s)
HOVER = np.array([0.42, 0.69])   # the right wrist while speaking (image left of the midline, chest height)
REST = np.array(R_REST[:2])      # hands down by the hips
GESTURE_SPACE = ((0.30, 0.58), (0.62, 0.86))   # (x0, y0), (x1, y1) every wrist stays in
PREP_S, PREP_MIN_S = 0.25, 0.10  # the rise to the preparation point (nominal, shortest)
MAX_SPEED = 1.2                  # frame heights per second, the rise's peak (1.875 x its mean for minimum jerk)
DOWN_S = 0.12                    # preparation point -> apex
RETRACT_S = 0.35                 # apex -> hover
IDLE_S = 1.5                     # no beat for this long after an apex: back to rest
TO_REST_S = 0.8
MIN_BEAT_GAP_S = 0.3             # apexes closer than this: the later onset gets no stroke
AMPLITUDE = (0.035, 0.065)       # the down-stroke's height at strength 0, and what strength 1 adds
SPREAD_X = 0.025                 # strokes wander this far across (seeded), so beats are not identical
RELAXED = np.array(HANDSHAPES["rest"], dtype=np.float64)
OPENED = np.array((0.1, 0.1, 0.15, 0.2, 0.25))  # the hand at the apex: relaxed, a little open
SWAY_HZ, BREATH_HZ = 0.45, 0.25
MOUTH_RMS = 0.15                 # the loudness that opens the mouth fully


def on_time_lookahead() -> float:
    """The smallest lookahead with which every apex can land on its onset (the longest rise is the
    first, from rest to the highest preparation point)."""
    top = HOVER - [SPREAD_X, 0.6 * sum(AMPLITUDE)]
    return DELAY_S + max(PREP_MIN_S, 1.875 * float(np.linalg.norm(top - REST)) / MAX_SPEED) + DOWN_S


class BeatSource:
    """One stream's beat gestures (the GestureSource contract of signstream.gesture.source)."""

    def __init__(self, fps: float, lookahead_s: float = DEFAULT_LOOKAHEAD_S, seed: int = 0,
                 executor: Executor | None = None):
        """`executor`: where the analysis and the drawing of the frames run (a CPU pool; None: inline)."""
        self.fps = float(fps)
        self._executor = executor
        self.lookahead_s = float(lookahead_s)
        self._onsets = OnsetDetector()
        self._rng = np.random.default_rng([seed, 22])
        self._wrist = Trajectory(REST)
        self._nod = Trajectory([0.0])      # head pitch
        self._opening = Trajectory([0.0])  # 0 relaxed .. 1 opened
        self._heard = 0                    # samples received
        self._released = 0                 # frames released
        self._last_apex = -np.inf
        self._rest_planned = True          # the plan ends at rest (nothing to do when idle)
        self.apexes: list[float] = []      # planned apex times (what the evaluation compares)

    @property
    def _next_t(self) -> float:
        return self._released / self.fps

    async def feed(self, audio: np.ndarray, words: Sequence[Word] = ()) -> np.ndarray:
        """The frames the audio so far releases. The words are not used: beats come from the sound."""
        return await self._run(self._feed, np.asarray(audio, dtype=np.float32).reshape(-1))

    async def finish(self) -> np.ndarray:
        return await self._run(self._release, int(round(self._heard / SAMPLE_RATE * self.fps)))

    async def _run(self, work, *args) -> np.ndarray:
        if self._executor is None:
            return work(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    def _ready(self, heard_s: float) -> int:
        """How many frames may be out once `heard_s` of audio is in: those lookahead_s behind it."""
        return min(int(np.floor((heard_s - self.lookahead_s) * self.fps + 1e-9)) + 1, int(round(heard_s * self.fps)))

    def _feed(self, audio: np.ndarray) -> np.ndarray:
        # Frames are released as if audio came sample by sample: before each onset is planned, the
        # frames due by the time it was decided go out, so the motion does not depend on the chunking.
        out = []
        for onset in self._onsets.push(audio):
            out.append(self._release(self._ready(onset.known_s)))
            self._beat(onset)
        self._heard += len(audio)
        out.append(self._release(self._ready(self._heard / SAMPLE_RATE)))
        return np.concatenate(out)

    async def close(self) -> None:
        return None

    def _beat(self, onset: Onset) -> None:
        start = max(self._next_t, self._last_apex)          # never re-plan released frames or a coming apex
        height = AMPLITUDE[0] + AMPLITUDE[1] * onset.strength
        x = HOVER[0] + SPREAD_X * self._rng.uniform(-1.0, 1.0)
        apex_point = np.array([x, HOVER[1] + 0.4 * height])
        top = np.array([x, HOVER[1] - 0.6 * height])
        # the rise takes at least PREP_MIN_S, and longer from far (the hand never moves faster than MAX_SPEED)
        rise = max(PREP_MIN_S, 1.875 * float(np.linalg.norm(top - self._wrist.state(start)[0])) / MAX_SPEED)
        apex = max(onset.time_s, start + rise + DOWN_S)
        if apex - self._last_apex < MIN_BEAT_GAP_S:
            return
        begin = max(start, apex - DOWN_S - max(PREP_S, rise))
        self._wrist.replan(begin, [(apex - DOWN_S, top), (apex, apex_point), (apex + RETRACT_S, HOVER)])
        self._nod.replan(begin, [(apex - DOWN_S, [-0.02]), (apex, [0.04 * (0.5 + onset.strength)]),
                                 (apex + RETRACT_S, [0.0])])
        self._opening.replan(begin, [(apex, [1.0]), (apex + RETRACT_S, [0.3])])
        self._last_apex = apex
        self._rest_planned = False
        self.apexes.append(apex)

    def _idle(self, until: float) -> None:
        """Plan the way back to rest when no beat came for IDLE_S (only frames not yet released)."""
        leave = self._last_apex + IDLE_S
        if not self._rest_planned and leave < until:
            leave = max(leave, self._wrist.end_time)    # after the frames out: frames before `until` were earlier than it
            self._wrist.replan(leave, [(leave + TO_REST_S, REST)])
            self._opening.replan(leave, [(leave + TO_REST_S, [0.0])])
            self._rest_planned = True

    def _release(self, ready: int) -> np.ndarray:
        count = ready - self._released
        if count <= 0:
            return pose_frames(np.zeros((0, _PARAMS)), np.zeros(0), SWAY_HZ, 0.0)
        times = (self._released + np.arange(count)) / self.fps
        self._idle(float(times[-1]))
        wrist = self._wrist.sample(times)
        wrist[:, 0] = np.clip(wrist[:, 0], GESTURE_SPACE[0][0], GESTURE_SPACE[1][0])
        wrist[:, 1] = np.clip(wrist[:, 1], GESTURE_SPACE[0][1], GESTURE_SPACE[1][1])
        opening = np.clip(self._opening.sample(times)[:, 0], 0.0, 1.0)
        nod = self._nod.sample(times)[:, 0]
        raised = np.clip((REST[1] - wrist[:, 1]) / (REST[1] - HOVER[1]), 0.0, 1.0)
        keys = []
        for i, t in enumerate(times):
            curls = RELAXED + (OPENED - RELAXED) * opening[i]
            direction = R_REST[3] + (-10.0 - R_REST[3]) * raised[i]    # fingers forward when raised
            right = (wrist[i, 0], wrist[i, 1], tuple(curls), direction, R_REST[4])
            head = {"pitch": nod[i], "shrug": 0.5 + 0.5 * np.sin(2 * np.pi * BREATH_HZ * t),
                    "mouth": min(1.0, self._onsets.level_at(float(t)) / MOUTH_RMS) * 0.6}
            keys.append((0.0, right, L_REST, head))
        self._released = ready
        return pose_frames(key_params(keys), times, SWAY_HZ, 0.0)


_PARAMS = key_params([(0.0, None, None, {})]).shape[1]
