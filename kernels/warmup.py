"""Compile (or load from the on-disk cache) every numba kernel before a server reports healthy."""
from __future__ import annotations

import time

import numpy as np

from . import layout as L
from .interpolate import insert_clip, transition
from .normalize import normalize_clip


def warm_up() -> float:
    """Run each kernel once on a tiny clip with the production dtypes; returns seconds spent."""
    start = time.perf_counter()
    frames = L.empty_frames(3)
    frames[:, L.BODY] = (0.5, 0.5, 1.0)
    style = np.array([0.3, 0.2, 0.5, 0.5, 0.15, 0.08])
    # The lexicon hands out read-only clips, and numba compiles read-only arrays as a separate type:
    # warm both variants so the first real request never compiles.
    read_only = frames.copy()
    read_only.setflags(write=False)
    for clip in (frames, read_only):
        normalized = normalize_clip(clip, style)
        inserted = insert_clip(clip, 1)
        insert_clip(normalized, 1)
        transition(inserted[-1], clip[0], 2)
        transition(clip[-1], inserted[0], 2)
    return time.perf_counter() - start
