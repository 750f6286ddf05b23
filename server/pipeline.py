"""Sentence assembly: sign clips in, normalized and interpolated keypoint frames out, incrementally.

`Sentence.add(sign_id, frames)` returns at once everything that sign makes visible: the transition
from the previous sign (produced when this one arrives, DESIGN §5) followed by the sign's own
normalized frames with their inserted frames. The in-process CLI and the streaming gateway both
drive this one object, so their outputs are identical by construction.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from signstream.errors import InvalidArgument
from signstream.kernels import layout as L
from signstream.kernels.interpolate import insert_clip, transition
from signstream.kernels.normalize import normalize_clip
from signstream.kernels.retarget import link_lengths, retarget_clip
from signstream.style import Style, StyleParams, as_style

# Documented limits (README "Limits"): beyond them a request is refused, not clamped.
MAX_NUM_INTERPOLATION = 120
MAX_NUM_INSERT_INTERPOLATION = 8

Normalizer = Callable[[np.ndarray], np.ndarray]         # one sign clip (T, K, 3) -> normalized (T, K, 3)


def signmail_normalizer(style: Style) -> Normalizer:
    """`signmail` (DESIGN §4.1) to the style's proportions."""
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


@dataclass(frozen=True)
class SynthesisOptions:
    num_interpolation: int = 8
    num_insert_interpolation: int = 0
    normalization: str = "signmail"

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
        if self.normalization not in NORMALIZERS:
            raise InvalidArgument(
                f"normalization {self.normalization!r} is not known; choose one of {sorted(NORMALIZERS)}",
                field="normalization",
            )
        return self


@dataclass(frozen=True)
class Chunk:
    """Frames one sign releases: the transition into it, then its own frames.
    frames (N, K, 3) float32; kinds (N,) uint8 FrameKind. Transition frames carry the sign_id of the
    sign they lead into."""

    sign_id: str
    frames: np.ndarray
    kinds: np.ndarray

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def sign_kinds(num_source_frames: int, m: int) -> np.ndarray:
    """FrameKind per frame of a clip of T frames after inserting m frames between neighbours."""
    total = num_source_frames + (num_source_frames - 1) * m
    kinds = np.full(total, FrameKind.INSERTED, dtype=np.uint8)
    kinds[:: m + 1] = FrameKind.SIGN
    return kinds


def output_length(clip_lengths: Iterable[int], n: int, m: int) -> int:
    """Σ(T_i + (T_i − 1)·m) + (N − 1)·n (DESIGN §4.3)."""
    lengths = list(clip_lengths)
    return sum(t + (t - 1) * m for t in lengths) + max(len(lengths) - 1, 0) * n


class Sentence:
    """Incremental synthesis of one sentence for one style."""

    def __init__(self, style: Style | StyleParams, options: SynthesisOptions):
        self.options = options.validated()
        self._normalize = NORMALIZERS[options.normalization](as_style(style))
        self._last: np.ndarray | None = None

    def add(self, sign_id: str, frames: np.ndarray) -> Chunk:
        """frames (T, K, 3) of one sign clip -> the Chunk it releases."""
        clip = L.check_frames(frames)
        m = self.options.num_insert_interpolation
        n = self.options.num_interpolation
        body = insert_clip(self._normalize(clip), m)
        kinds = sign_kinds(clip.shape[0], m)
        if self._last is not None and n > 0:
            lead = transition(self._last, body[0], n)
            body = np.concatenate([lead, body])
            kinds = np.concatenate([np.full(n, FrameKind.TRANSITION, dtype=np.uint8), kinds])
        self._last = body[-1].copy()
        return Chunk(sign_id, body, kinds)


def synthesize(clips: Iterable[tuple[str, np.ndarray]], style: Style | StyleParams,
               options: SynthesisOptions) -> list[Chunk]:
    """Whole sentence at once (the batch path): the chunks in order."""
    sentence = Sentence(style, options)
    return [sentence.add(sign_id, frames) for sign_id, frames in clips]
