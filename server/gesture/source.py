"""The contract every gesture source keeps (the procedural `beat` source, the `aqgt` model on Triton).

A Gesture stream hands its source the speech as it arrives and takes back the frames that are ready:

    source = open_source(...)                  # one per stream, never shared
    frames = await source.feed(chunk, words)   # chunk: float32 mono 16 kHz samples in [-1, 1]
    ...
    frames = await source.finish()             # the client half-closed: what the source still owes
    await source.close()                       # always, on every end (frees Triton state)

Frames are packed keypoint frames (T, K, 3) in the layout of signstream.kernels.layout, coordinates
in [0, 1] of a frame shaped like the stream's canvas, at the stream's `fps`; the stream retargets them
onto its style character like Retarget frames. Frame i shows the speaker at time i / fps from the
start of the audio, so over the whole stream the source returns exactly round(duration * fps) frames
(the last may be owed until finish). A source may hold frames back by at most `lookahead_s` of audio
(what the client declared), which is what lets a stroke's apex land on its beat.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000          # the only rate the rpc takes (PCM16 mono)
MAX_CHUNK_SAMPLES = 8_000     # 0.5 s: the most audio one request may carry


@dataclass(frozen=True)
class Word:
    """A word of the speech and its time from the start of the audio."""

    text: str
    start_ms: int
    end_ms: int


class GestureSource(Protocol):
    fps: float
    lookahead_s: float

    async def feed(self, audio: np.ndarray, words: Sequence[Word] = ()) -> np.ndarray:
        """Take the next audio (float32, mono, SAMPLE_RATE) and the words heard so far that are new;
        return the frames (T, K, 3) now ready, T >= 0."""
        ...

    async def finish(self) -> np.ndarray:
        """The audio has ended: every frame still owed."""
        ...

    async def close(self) -> None:
        """Free what the source holds (idempotent; called on every end of the stream)."""
        ...
