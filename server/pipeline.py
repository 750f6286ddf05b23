"""Sentence assembly: sign clips in, normalized and interpolated keypoint frames out, incrementally.

`Sentence.add(sign_id, frames)` returns at once everything that sign makes visible: the transition
from the previous sign (produced when this one arrives: it needs both ends) followed by the sign's own
normalized frames with their inserted frames. The in-process CLI and the streaming gateway both
drive this one object, so their outputs are identical by construction, as long as each sign reaches
the gateway before the frames smooth transitions hold back for it are due (`finish` releases them
early when it does not; session.SynthesisSession.held).
"""
from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from signstream.errors import InvalidArgument
from signstream.kernels import layout as L
from signstream.kernels import jitter
from signstream.kernels import transition_smooth as smooth
from signstream.kernels.interpolate import insert_clip, transition
from signstream.kernels.normalize import normalize_clip
from signstream.kernels.retarget import link_lengths, retarget_clip
from signstream.style import Style, StyleParams, as_style

# Documented limits (README "Limits"): beyond them a request is refused, not clamped.
MAX_NUM_INTERPOLATION = 120
MAX_NUM_INSERT_INTERPOLATION = 8

Normalizer = Callable[[np.ndarray], np.ndarray]         # one sign clip (T, K, 3) -> normalized (T, K, 3)


def signmail_normalizer(style: Style) -> Normalizer:
    """`signmail` to the style's proportions: the seed's per-bone rescaling of each clip, anchored at its first frame."""
    params = style.params.as_array()
    return lambda clip: normalize_clip(clip, params)


def retarget_normalizer(style: Style) -> Normalizer:
    """`retarget` (kernels/retarget.py) onto the style's skeleton and neck, on its canvas."""
    sk = style.skeleton
    lengths = link_lengths(np.array(sk.body), np.array(sk.hand))
    face, neck = np.array([sk.face_width, sk.face_length]), np.array([style.params.x, style.params.y])
    aspect = style.width / style.height
    return lambda clip: retarget_clip(clip, lengths, face, neck, aspect)


# Normalization methods by name: each binds a style once and gives the per-clip normalizer.
NORMALIZERS: dict[str, Callable[[Style], Normalizer]] = {
    "signmail": signmail_normalizer,
    "retarget": retarget_normalizer,
}


class FrameKind(enum.IntEnum):
    """Why a frame exists (same numbers as the gRPC FrameKind)."""

    SIGN = 0
    TRANSITION = 1
    INSERTED = 2
    GESTURE = 3     # co-speech gesture frames (rpc Gesture)


KEYPOINT_FILTERS = ("none", "one_euro")  # one_euro: kernels/jitter.py on the clip before normalization
CLIP_FILTER_LOOKAHEAD = 2               # a whole clip is known, so its filter may look 2 frames ahead
TRANSITIONS = ("linear", "smooth")      # linear: the seed's n-step lerp; smooth: kernels/transition_smooth.py
SMOOTH_STEP_FACTOR = 1.5               # smooth: no wrist or elbow step above 1.5 x its in-sign p95 step
SMOOTH_FLOOR_SHARE = 0.25              # smooth: a point's reference is at least a quarter of its group's
RECENT_SIGNS = 8                       # smooth: the signing so far = the 8 signs shown last, and the new one


def p95_columns(steps: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The 95th percentile of each column of `steps` (R, C) over the rows where `ok`, NaN for a column
    with none; `ok` is (R, C), or (E, R, C) for E masks of the same steps at once, giving (E, C). One
    sort, then np.percentile's 'linear' rule (tests hold it to np.percentile, to the bit)."""
    masks = ok if ok.ndim == 3 else ok[None]
    n = masks.sum(axis=1)                                          # (E, C)
    if steps.shape[0] == 0:
        out = np.full(n.shape, np.nan)
        return out if ok.ndim == 3 else out[0]
    v = np.where(masks, steps[None], np.inf)
    v.sort(axis=1)                                                 # each column's kept steps first
    last = np.maximum(n - 1, 0)
    at = 0.95 * last
    lo = np.floor(at).astype(np.int64)
    hi, t = np.minimum(lo + 1, last), at - lo
    a = np.take_along_axis(v, lo[:, None, :], axis=1)[:, 0]
    b = np.take_along_axis(v, hi[:, None, :], axis=1)[:, 0]
    with np.errstate(invalid="ignore"):                            # empty columns: inf - inf, masked below
        d = b - a
        value = np.where(t >= 0.5, b - d * (1 - t), a + d * t)     # numpy's _lerp
    out = np.where(n > 0, value, np.nan)
    return out if ok.ndim == 3 else out[0]


def _with_groups(steps: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The step table's P columns, then one column per BOUND_GROUPS group that pools its points'
    steps (rows stacked; the shorter columns padded with rows that are not ok). `ok` may carry a
    leading axis of masks, as p95_columns takes it."""
    rows, lead = steps.shape[0], ok.shape[:-2]
    pooled = [(steps[:, list(g)].T.reshape(-1), np.swapaxes(ok[..., list(g)], -1, -2).reshape(*lead, -1))
              for g in smooth.BOUND_GROUPS]
    height = max([rows] + [p.shape[0] for p, _ in pooled])

    def pad(x: np.ndarray, fill, row_axis: int) -> np.ndarray:
        shape = list(x.shape)
        shape[row_axis] = height - x.shape[row_axis]
        return np.concatenate([x, np.full(shape, fill, dtype=x.dtype)], axis=row_axis)

    table = np.concatenate([pad(steps, 0.0, 0)] + [pad(p[:, None], 0.0, 0) for p, _ in pooled], axis=1)
    flags = np.concatenate([pad(ok, False, -2)] + [pad(f[..., None], False, -2) for _, f in pooled], axis=-1)
    return table, flags


def reference_steps(pair: tuple[np.ndarray, np.ndarray], recent: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The in-sign step each smooth.BOUND_POINTS point (wrists, elbows) is held to in a transition, (P,).

    pair = (steps, ok), the step_table rows of the two signs joined as shown; recent = the same over the
    last signs shown (the two joined included). A point's reference is the smallest of four p95s: its
    own and its group's pooled (both wrists, or both elbows) in the two signs, and its own and its
    group's over the recent signs, so a transition moves a hand no faster than that hand signs, nor
    faster than the signing around it and before it; but at least SMOOTH_FLOOR_SHARE x the group's
    p95 in the two signs, so a hand resting through both still gets to move in reasonable time. NaN
    where nothing was measured. With (E, R, P) masks in both `ok`s, E references at once, (E, P)."""
    points = pair[0].shape[1]
    which = np.empty(points, dtype=np.int64)                       # each point's group column
    for g, rows in enumerate(smooth.BOUND_GROUPS):
        which[list(rows)] = points + g
    here, there = p95_columns(*_with_groups(*pair)), p95_columns(*_with_groups(*recent))
    own, group, mine, ours = here[..., :points], here[..., which], there[..., :points], there[..., which]
    with np.errstate(invalid="ignore"):
        return np.fmax(np.fmin(np.fmin(own, group), np.fmin(mine, ours)), SMOOTH_FLOOR_SHARE * group)


SEED_METHOD = {"normalization": "signmail", "transition": "linear"}   # the seed's: SynthesisOptions(**SEED_METHOD)


@dataclass(frozen=True)
class SynthesisOptions:
    num_interpolation: int = 8         # smooth: the least number of transition frames (more when far)
    num_insert_interpolation: int = 0
    normalization: str = "retarget"   # issue 7: these two won on the quality report;
    transition: str = "smooth"        # "signmail" + "linear" is the seed's method
    keypoint_filter: str = "none"

    @classmethod
    def resolved(cls, num_interpolation: int | None = None, num_insert_interpolation: int | None = None,
                 normalization: str = "", transition: str = "", keypoint_filter: str = "") -> "SynthesisOptions":
        """Options from a request's fields, every transport alike: None (a count not given) or ""
        (a name not given) takes the default; an explicit 0 stays 0 (no transition frames)."""
        d = cls()
        return cls(d.num_interpolation if num_interpolation is None else num_interpolation,
                   d.num_insert_interpolation if num_insert_interpolation is None else num_insert_interpolation,
                   normalization or d.normalization, transition or d.transition,
                   keypoint_filter or d.keypoint_filter)

    def validated(self) -> "SynthesisOptions":
        """Return self, or raise InvalidArgument naming the field and its limit."""
        if not 0 <= self.num_interpolation <= MAX_NUM_INTERPOLATION:
            raise InvalidArgument(
                f"num_interpolation must be 0..{MAX_NUM_INTERPOLATION}, got {self.num_interpolation}",
                field="num_interpolation",
            )
        if not 0 <= self.num_insert_interpolation <= MAX_NUM_INSERT_INTERPOLATION:
            raise InvalidArgument(
                f"num_insert_interpolation must be 0..{MAX_NUM_INSERT_INTERPOLATION}, got {self.num_insert_interpolation}",
                field="num_insert_interpolation",
            )
        if self.keypoint_filter not in KEYPOINT_FILTERS:
            raise InvalidArgument(f"keypoint_filter {self.keypoint_filter!r} is not known; choose one of "
                                  f"{list(KEYPOINT_FILTERS)}", field="keypoint_filter")
        if self.transition not in TRANSITIONS:
            raise InvalidArgument(f"transition {self.transition!r} is not known; choose one of {list(TRANSITIONS)}",
                                  field="transition")
        if self.normalization not in NORMALIZERS:
            raise InvalidArgument(
                f"normalization {self.normalization!r} is not known; choose one of {sorted(NORMALIZERS)}",
                field="normalization",
            )
        return self


@dataclass(frozen=True)
class Join:
    """How one sign joins the sign before it, where the default will not do (fingerspelled letters).
    frames: transition frames into it instead of num_interpolation (smooth: exactly these, not
    lengthened for far junctions); trim: whether a smooth join may trim the two signs' ends where
    they meet (False keeps both whole, so a letter or a held last letter is shown in full);
    hold: how many more times the sign's last frame is shown (a word's last letter is held)."""

    frames: int | None = None
    trim: bool = True
    hold: int = 0

    def transition(self, n: int) -> int:
        return n if self.frames is None else self.frames


def held_clip(frames: np.ndarray, join: "Join | None") -> np.ndarray:
    """The clip with its last frame repeated join.hold more times."""
    if join is None or join.hold <= 0:
        return frames
    return np.concatenate([frames, np.repeat(frames[-1:], join.hold, axis=0)])


@dataclass(frozen=True)
class Chunk:
    """Frames one sign releases: the transition into it, then its own frames.
    frames (N, K, 3) float32; kinds (N,) uint8 FrameKind. Transition frames carry the sign_id of the
    sign they lead into. With smooth transitions the first `tail` frames are the end of the previous
    sign, `tail_of`, withheld until this sign showed where the two should meet."""

    sign_id: str
    frames: np.ndarray
    kinds: np.ndarray
    tail: int = 0
    tail_of: str = ""

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def frame_sign_ids(self) -> np.ndarray:
        """(N,) the sign each frame belongs to."""
        ids = np.full(len(self), self.sign_id, dtype=object)
        ids[: self.tail] = self.tail_of
        return ids.astype(str)


def sign_kinds(num_source_frames: int, m: int) -> np.ndarray:
    """FrameKind per frame of a clip of T frames after inserting m frames between neighbours."""
    total = num_source_frames + (num_source_frames - 1) * m
    kinds = np.full(total, FrameKind.INSERTED, dtype=np.uint8)
    kinds[:: m + 1] = FrameKind.SIGN
    return kinds


def output_length(clip_lengths: Iterable[int], n: int, m: int, joins: Iterable["Join | None"] | None = None) -> int:
    """Frames of a linear-transition sentence: Σ(T_i + (T_i − 1)·m) + (N − 1)·n for N clips of T_i frames,
    m inserted frames between a clip's frames and n transition frames between clips. With `joins` (one
    per clip, None for the default), clip i has T_i + hold_i frames and n_i transition frames lead
    into it (fingerspelled letters): Σ(T_i + hold_i + (T_i + hold_i − 1)·m) + Σ_{i>0} n_i."""
    lengths = list(clip_lengths)
    joins = list(joins) if joins is not None else [None] * len(lengths)
    held = [t + (j.hold if j is not None else 0) for t, j in zip(lengths, joins)]
    leads = sum((j.transition(n) if j is not None else n) for j in joins[1:])
    return sum(t + (t - 1) * m for t in held) + leads


class Sentence:
    """Incremental synthesis of one sentence for one style.

    `add` returns what a sign makes visible at once; `finish` (at the end of the stream) what is still
    withheld: with linear transitions nothing, with smooth ones the last sign's final frames (up to
    JOIN_WINDOW − 1), kept back in case the next sign's join trims them (kernels/transition_smooth.py)."""

    def __init__(self, style: Style | StyleParams, options: SynthesisOptions):
        self.options = options.validated()
        style = as_style(style)
        self._normalize = NORMALIZERS[options.normalization](style)
        self._aspect = style.width / style.height
        self._last: np.ndarray | None = None          # linear: the last frame released
        self._held: np.ndarray | None = None          # smooth: the last sign from its last released frame on
        self._held_id = ""
        self._before_held: np.ndarray | None = None   # smooth: the sign frame before the held ones, if shown
        self._shown: tuple[np.ndarray, np.ndarray] | None = None   # smooth: step_table of the last sign
                                                                   # from its first shown frame on
        self._history: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=RECENT_SIGNS)  # smooth: step
                                                                   # tables of the signs shown in full

    def add(self, sign_id: str, frames: np.ndarray, fps: float = jitter.FPS, join: Join | None = None) -> Chunk:
        """frames (T, K, 3) of one sign clip (at `fps`) -> the Chunk it releases; `join` says how it joins
        the sign before it where the options' way will not do (fingerspelled letters)."""
        clip = held_clip(L.check_frames(frames), join)
        if self.options.keypoint_filter == "one_euro":
            clip = jitter.filter_clip(clip, jitter.JitterParams(fps=fps, lookahead=CLIP_FILTER_LOOKAHEAD,
                                                                aspect=self._aspect))
        normalized = self._normalize(clip)
        if self.options.transition == "smooth":
            return self._add_smooth(sign_id, normalized, join)
        m = self.options.num_insert_interpolation
        n = self.options.num_interpolation if join is None else join.transition(self.options.num_interpolation)
        body = insert_clip(normalized, m)
        kinds = sign_kinds(clip.shape[0], m)
        if self._last is not None and n > 0:
            lead = transition(self._last, body[0], n)
            body = np.concatenate([lead, body])
            kinds = np.concatenate([np.full(n, FrameKind.TRANSITION, dtype=np.uint8), kinds])
        self._last = body[-1].copy()
        return Chunk(sign_id, body, kinds)

    def _release(self, frames: np.ndarray, skip_first: bool) -> tuple[np.ndarray, np.ndarray]:
        """Sign frames with their inserted frames and kinds; `skip_first` when frames[0] is already out."""
        m = self.options.num_insert_interpolation
        out, kinds = insert_clip(frames, m), sign_kinds(frames.shape[0], m)
        return (out[1:], kinds[1:]) if skip_first else (out, kinds)

    def _transition_length(self, a: np.ndarray, b: np.ndarray, after: tuple[np.ndarray, np.ndarray],
                           sure: int, ends: dict) -> int:
        """num_interpolation, or more when the junction is far: no wrist or elbow step above
        SMOOTH_STEP_FACTOR x its reference_steps. The previous sign is the last of `_history`; `after`
        is the step_table of the incoming sign from its first shown frame, of which the first `sure`
        frames are shown for certain and a later join may trim any of the rest, so each point takes
        its smallest reference over those possible ends: the bound holds whatever the next join trims.
        Inserted frames divide a sign's steps by m + 1."""
        n = self.options.num_interpolation
        step, ok = after
        before = self._history[-1]
        earlier = (np.concatenate([h[0] for h in self._history]), np.concatenate([h[1] for h in self._history]))
        # every possible end at once: the incoming sign's steps up to end - 1 count, for end in
        # sure .. T; one mask per end over the same rows
        ends_at = np.arange(sure, step.shape[0] + 2)
        counts = np.arange(step.shape[0])[None, :] < (ends_at - 1)[:, None]                # (E, T - 1)
        now = ok[None] & counts[..., None]                                                  # (E, T - 1, P)

        def masks(first: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            steps = np.concatenate([first[0], step])
            flags = np.concatenate([np.broadcast_to(first[1], (len(ends_at),) + first[1].shape), now], axis=1)
            return steps, flags

        references = reference_steps(masks(before), masks(earlier))                       # (E, P)
        limit = np.fmin.reduce(references, axis=0, initial=np.inf)
        max_step = SMOOTH_STEP_FACTOR * limit / (self.options.num_insert_interpolation + 1)
        max_step[~(max_step > 0)] = np.inf            # nothing measured, or no motion: no bound
        if np.all(np.isinf(max_step)):
            return n
        return smooth.transition_length(a, b, max_step, n, MAX_NUM_INTERPOLATION, self._aspect, **ends)

    def _add_smooth(self, sign_id: str, s: np.ndarray, join: Join | None = None) -> Chunk:
        parts, kinds, tail, tail_of, head = [], [], 0, "", 0
        if self._held is not None:
            trim = join is None or join.trim
            cut_tail, head = smooth.choose_join(self._held, s, aspect=self._aspect) if trim else (0, 0)
            kept = self._held[: self._held.shape[0] - cut_tail]      # kept[0] is already out
            if kept.shape[0] > 1:
                frames, frame_kinds = self._release(kept, skip_first=True)
                parts.append(frames)
                kinds.append(frame_kinds)
                tail, tail_of = len(frames), self._held_id
        start = smooth.tail_start(s.shape[0], head)
        shown = smooth.step_table(s[head:], self._aspect)
        if self._held is not None:
            step, ok = self._shown                   # the previous sign is final: its steps up to the kept end
            last = step.shape[0] - cut_tail
            self._history.append((step[:last], ok[:last]))
            fixed = None if join is None else join.frames
            if (self.options.num_interpolation if fixed is None else fixed) > 0:
                a, b = kept[-1], s[head]
                # the motion each side continues from and into: the sign frames beside a and b
                ends = {"before": kept[-2] if kept.shape[0] > 1 else self._before_held,
                        "after": s[head + 1] if s.shape[0] > head + 1 else None,
                        "gap": self.options.num_insert_interpolation + 1}
                n = fixed if fixed is not None else self._transition_length(a, b, shown, start + 1 - head, ends)
                parts.append(smooth.smooth_transition(a, b, n, self._aspect, **ends))
                kinds.append(np.full(n, FrameKind.TRANSITION, dtype=np.uint8))
        frames, frame_kinds = self._release(s[head : start + 1], skip_first=False)
        parts.append(frames)
        kinds.append(frame_kinds)
        self._held, self._held_id, self._shown = s[start:], sign_id, shown
        self._before_held = s[start - 1] if start > head else None
        return Chunk(sign_id, np.concatenate(parts), np.concatenate(kinds), tail, tail_of)

    @property
    def withheld(self) -> int:
        """Source frames of the last sign held back for the next join (0 with linear transitions)."""
        return 0 if self._held is None else self._held.shape[0] - 1

    def finish(self) -> Chunk | None:
        """What is still withheld (None when nothing is): at the end of the stream, or when the next
        sign is late. A later sign then joins the last frame released, trimming nothing from it."""
        held = self._held
        if held is None or held.shape[0] <= 1:
            return None
        frames, kinds = self._release(held, skip_first=True)
        self._held, self._before_held = held[-1:], held[-2]   # a later sign still joins the last frame
        return Chunk(self._held_id, frames, kinds)


def sentence_length(clips: Iterable[tuple], style: Style | StyleParams, options: SynthesisOptions) -> int:
    """Frames a sentence of (sign_id, frames[, fps[, join]]) makes: output_length for linear transitions
    (with each clip's Join: letter joins and holds); with smooth ones it depends on
    the motion (the joins trim, far junctions take longer), so the sentence is synthesized. A stream
    makes as many when each sign arrives before the previous one's held frames are due."""
    clips = list(clips)
    if options.transition == "linear":
        return output_length([c[1].shape[0] for c in clips], options.num_interpolation,
                             options.num_insert_interpolation, [c[3] if len(c) > 3 else None for c in clips])
    return sum(len(c) for c in synthesize(clips, style, options))


def synthesize(clips: Iterable[tuple], style: Style | StyleParams,
               options: SynthesisOptions) -> list[Chunk]:
    """Whole sentence at once (the batch path): the chunks in order."""
    sentence = Sentence(style, options)
    chunks = [sentence.add(*clip) for clip in clips]          # (sign_id, frames[, fps[, join]])
    last = sentence.finish()
    return chunks + ([last] if last is not None else [])
