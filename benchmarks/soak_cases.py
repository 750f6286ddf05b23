"""The soak's streams: what each one does, and what it must get back.

`Mix(lexicon, size).job(rng)` draws one stream (a `loadgen.Job` whose tag is its `Case`):

- complete   a sentence of 1-5 signs from the lexicon, read to its end;
- bad_ids    the same with invalid IDs ("../x", "a/b", "\\x00", 10,000 characters, "", ...) or
             unknown-but-valid ones mixed in: each must get its Notice (INVALID_SIGN_ID /
             UNKNOWN_SIGN) and the stream must go on;
- cancelled  the client cancels the call before the first frame, mid-sentence or after half-close;
- abandoned  the client stops reading (mid-sentence, or after half-close) for 0.5-8 s, then drops the
             connection without cancelling; half of them ask for RAW_RGB frames, which fill gRPC's
             flow-control window, so the server's send and idle timeouts (when shorter) end some;
- bad_config a config out of limits (width=100000, fps=1000, ...), a garbage style image, or a style
             image with no person in it (through Triton): the call must end INVALID_ARGUMENT.

Encodings (JPEG, NONE, H.264, PNG), pacing, interpolation settings and keypoints vary per stream.
Everything is drawn from the rng, so a seed gives the same sequence of streams.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np

from signstream.lexicon import Lexicon, display_sign_id
from signstream.v1 import signstream_pb2 as pb

from .expect import Expected, expected_stream
from .loadgen import Interrupt, Job, LoadPlan

BEHAVIOURS = ("complete", "bad_ids", "cancelled", "abandoned", "bad_config")
WEIGHTS = (4, 2, 3, 1, 2)
VOCABULARY = 32                      # signs drawn from (the lexicon's first, sorted): warm-up loads them all
INVALID_IDS = ("../x", "a/b", "\x00", "x" * 10_000, "", "¶", "a b", "..", "¶¶hello")
REFUSED = "RESOURCE_EXHAUSTED"       # a server at its stream limit refuses a stream: an outcome, not a failure
ABANDON_STALL_S = (0.5, 8.0)
CANCEL_BEFORE_FIRST_S = 0.05         # the longest a client waits before cancelling a stream it never read
ENCODINGS = (pb.JPEG, pb.JPEG, pb.NONE, pb.H264, pb.PNG)


def _garbage(rng: random.Random) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 2000)))


def _blank_png(size: int) -> bytes:
    """A grey picture: it decodes, but no person is in it (refused after extraction through Triton)."""
    return cv2.imencode(".png", np.full((size, size, 3), 127, np.uint8))[1].tobytes()


# name -> SessionConfig changes that the gateway must refuse with INVALID_ARGUMENT
BAD_CONFIGS = {
    "width=100000": {"width": 100_000},
    "height=5000": {"height": 5000},
    "fps=1000": {"fps": 1000.0},
    "num_interpolation=1000": {"num_interpolation": 1000},
    "num_insert_interpolation=9": {"num_insert_interpolation": 9},
    "normalization=nope": {"normalization": "nope"},
    "garbage style image": {"style_image": _garbage},
    "style image with no person": {"style_image": lambda rng: _blank_png(64)},
}


@dataclass(frozen=True)
class Case:
    """One soak stream: its behaviour, a label (the moment of a cancel, the bad config's name),
    the outcome it must have, and the end statuses it may have."""

    behaviour: str
    label: str
    expected: Expected | None        # frames and notices of a completed stream (None: refused config)
    statuses: frozenset[str]


ALLOWED = {
    "complete": {"OK"},
    "bad_ids": {"OK"},
    "cancelled": {"CANCELLED", "OK"},                       # OK: it ended before its cancel point
    "abandoned": {"ABANDONED", "DEADLINE_EXCEEDED"},        # the server may time out a client that stopped reading
    "bad_config": {"INVALID_ARGUMENT"},
}


class Mix:
    """Draws soak streams from a lexicon: `job(rng)`."""

    def __init__(self, lexicon: Lexicon, size: int, behaviours: tuple[str, ...] = BEHAVIOURS,
                 weights: tuple[int, ...] = WEIGHTS):
        self.lexicon = lexicon
        self.size = size
        self.signs = [display_sign_id(s) for s in lexicon.list_signs("", VOCABULARY)]
        if not self.signs:
            raise ValueError(f"the lexicon at {lexicon.location} has no signs to soak with")
        self.behaviours, self.weights = behaviours, weights

    def config(self, rng: random.Random, signs: int) -> pb.SessionConfig:
        realtime = signs <= 2 and rng.random() < 0.15
        return pb.SessionConfig(
            encoding=rng.choice(ENCODINGS), width=self.size, height=self.size,
            pacing=pb.REALTIME if realtime else pb.ASAP, num_interpolation=rng.choice((0, 2, 8, 12)),
            num_insert_interpolation=rng.choice((0, 0, 1, 2)), include_keypoints=rng.random() < 0.2)

    def sentence(self, rng: random.Random, low: int = 1, high: int = 5) -> list[str]:
        return [rng.choice(self.signs) for _ in range(rng.randint(low, high))]

    def bad_ids(self, rng: random.Random) -> list[str]:
        signs = self.sentence(rng, 0, 4)
        for _ in range(rng.randint(1, 2)):
            bad = rng.choice(INVALID_IDS) if rng.random() < 0.6 else f"¶soak-unknown-{rng.randrange(10**6)}"
            signs.insert(rng.randint(0, len(signs)), bad)
        return signs

    def job(self, rng: random.Random) -> Job:
        behaviour = rng.choices(self.behaviours, self.weights)[0]
        signs = self.bad_ids(rng) if behaviour == "bad_ids" else self.sentence(rng)
        config = self.config(rng, len(signs))
        label, interrupt = behaviour, None
        if behaviour == "bad_config":
            label, changes = rng.choice(sorted(BAD_CONFIGS.items()))
            for name, change in changes.items():
                setattr(config, name, change(rng) if callable(change) else change)
            expected = None
        else:
            expected = expected_stream(self.lexicon, config, signs)
        if behaviour == "cancelled":
            label, interrupt = self.cancel_point(rng, expected.frames)
        elif behaviour == "abandoned":
            label, interrupt = self.abandon_point(rng, expected.frames)
            if rng.random() < 0.5:
                config.encoding = pb.RAW_RGB
        case = Case(behaviour, label, expected, frozenset(ALLOWED[behaviour] | {REFUSED}))
        return Job(LoadPlan(1, tuple(signs), config), interrupt, case)

    @staticmethod
    def abandon_point(rng: random.Random, frames: int) -> tuple[str, Interrupt]:
        """Where an abandoned stream stops reading, and for how long before it drops the connection."""
        stall = rng.uniform(*ABANDON_STALL_S)
        if rng.random() < 0.5:
            return "stop reading mid-sentence", Interrupt(rng.randrange(frames), action="abandon", stall_s=stall)
        return "stop reading after half-close", Interrupt(0, after_half_close=True, action="abandon", stall_s=stall)

    @staticmethod
    def cancel_point(rng: random.Random, frames: int) -> tuple[str, Interrupt]:
        """Where a cancelled stream stops: before its first frame, mid-sentence, or after half-close."""
        moment = rng.choice(("before first frame", "mid-sentence", "after half-close"))
        if moment == "before first frame":
            return moment, Interrupt(0, stall_s=rng.uniform(0, CANCEL_BEFORE_FIRST_S))
        if moment == "mid-sentence":
            return moment, Interrupt(rng.randrange(1, max(frames, 2)))
        return moment, Interrupt(rng.randrange(0, 10), after_half_close=True)
