"""Smooth transitions between adjacent signs (issue 7 item 2; the pipeline's transition `smooth`).

This is the module callers import; the work is split by responsibility into flat kernel modules,
each numba kernel with its NumPy reference beside it (tests hold them to 1e-5, the length probe to
the bit):

1. kernels/smooth_join.py: `choose_join(tail, head)` picks where the signs meet, trimming hold and
   rest frames at the junction (up to JOIN_WINDOW − 1 on each side).
2. kernels/smooth_path.py: `smooth_transition(a, b, n, before=, after=, gap=)` draws the n frames
   between frame a and frame b, carrying each sign's motion into the transition, turning bones
   along the forest of kernels/smooth_forest.py (built from kernels/skeleton.py) so their lengths hold.
3. kernels/smooth_steps.py: `transition_length(a, b, max_step, n_min, n_max)` finds the fewest
   frames that keep each wrist's and elbow's steps within its bound, measuring candidate lengths
   without drawing them (`largest_steps`).

Streaming: what a caller must hold back. S_i = sign i's normalized source frames (T_i), h_i = the
head cut chosen when S_i arrived (0 for the first sign), W = JOIN_WINDOW, t_i = tail_start(T_i, h_i):
- when S_i arrives, release S_i[h_i : t_i + 1] at once and withhold the rest, S_i[t_i + 1 :] (W − 1
  frames, fewer for a short sign): they may still be trimmed.
- when S_{i+1} arrives: (c_t, c_h) = choose_join(S_i[t_i:], S_{i+1}); release S_i[t_i + 1 : T_i − c_t],
  then smooth_transition(S_i[T_i − 1 − c_t], S_{i+1}[c_h], n) with before = the sign frame before the
  first and after = S_{i+1}[c_h + 1] (gap m + 1), then S_{i+1} from h_{i+1} = c_h as above.
- when the stream ends, or the next sign is late, release the withheld frames untrimmed (c_t = 0);
  a later sign joins the last frame released.
S_i[t_i] is never trimmed (cuts stay inside the window passed), so every sign keeps a frame and head
and tail cuts never overlap. Insert interpolation (kernels/interpolate.py) runs on the kept frames,
so with m inserts (W − 1)(m + 1) output frames wait for the next sign or the end of the stream (280 ms
of video at 25 fps, m = 0). Output length: Σ (K_i + (K_i − 1)·m) + Σ n_j, K_i = T_i − h_i − c_t,i the frames
sign i keeps, n_j each transition's length (n, or transition_length's answer).
"""
from __future__ import annotations

from .smooth_forest import BONE, DEPTH, MODE, OFFSET, ORDER, PARENT
from .smooth_join import JOIN_POINTS, JOIN_TIE, JOIN_WINDOW, choose_join, choose_join_reference, join_cuts, tail_start
from .smooth_path import (BONE_EPS, bound_step_maxima, smooth_transition, smooth_transition_frames,
                          smooth_transition_reference)
from .smooth_steps import (BOUND_GROUPS, BOUND_POINTS, WRISTS, largest_steps, largest_steps_reference, step_table,
                           transition_length)

__all__ = [
    "BONE", "BONE_EPS", "BOUND_GROUPS", "BOUND_POINTS", "DEPTH", "JOIN_POINTS", "JOIN_TIE", "JOIN_WINDOW", "MODE",
    "OFFSET", "ORDER", "PARENT", "WRISTS", "bound_step_maxima", "choose_join", "choose_join_reference", "join_cuts",
    "largest_steps", "largest_steps_reference", "smooth_transition", "smooth_transition_frames",
    "smooth_transition_reference", "step_table", "tail_start", "transition_length",
]
