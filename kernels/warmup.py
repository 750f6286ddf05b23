"""Compile (or load from the on-disk cache) every numba kernel before a server reports healthy."""
from __future__ import annotations

import time

import numpy as np

from . import jitter
from . import layout as L
from . import skeleton as sk
from . import transition_smooth as smooth
from .interpolate import insert_clip, transition
from .normalize import normalize_clip
from .raster import colors, draw_skeleton
from .retarget import link_lengths, retarget_clip


def warm_up() -> float:
    """Run each kernel once on a tiny clip with the production dtypes; returns seconds spent."""
    start = time.perf_counter()
    frames = L.empty_frames(3)
    frames[:, L.BODY] = (0.5, 0.5, 1.0)
    style = np.array([0.3, 0.2, 0.5, 0.5, 0.15, 0.08])
    # The lexicon hands out read-only clips, and numba compiles read-only arrays as a separate type.
    # Only normalization sees them: insert gets the normalizer's fresh output and transition stacks
    # its two frames into a new array, so those two kernels only ever see writable arrays.
    read_only = frames.copy()
    read_only.setflags(write=False)
    normalize_clip(read_only, style)
    lengths = link_lengths(np.full(18, 0.1), np.full(21, 0.02))
    for clip in (read_only, frames):
        retarget_clip(clip, lengths, np.array([0.15, 0.08]), np.array([0.5, 0.55]), 1.0)
    inserted = insert_clip(normalize_clip(frames, style), 1)
    transition(inserted[-1], inserted[0], 2)
    # Smooth transitions: the join, transition_length (which measures transitions without drawing
    # them) and the transition itself.
    smooth.choose_join(inserted, inserted)
    smooth.transition_length(inserted[-1], inserted[0], 1.0, 2, 4)
    smooth.smooth_transition(inserted[-1], inserted[0], 2, before=inserted[-2], after=inserted[1])
    # The keypoint filter: whole lexicon clips (read-only, with lookahead) and Retarget's frames one by one.
    jitter.filter_clip(read_only, jitter.JitterParams(lookahead=2))
    jitter.JitterFilter().push(frames[0])
    # The renderer: float32 frames onto a uint8 canvas.
    draw_skeleton(np.ascontiguousarray(frames[0, : L.FACE.stop]), np.zeros((16, 16, 3), dtype=np.uint8),
                  *colors(sk.BODY_LIMB_COLORS_DIMMED, sk.BODY_COLORS, sk.HAND_EDGE_COLORS, sk.HAND_JOINT_COLOR,
                          sk.FACE_DOT_COLOR))
    return time.perf_counter() - start
