"""Which extracted frames each sign of one video still waits for, and its clip once they are all in.

Extraction finishes out of order and signs of one video may share frames (each frame is extracted
once). Frames are kept only while some unfinished sign covers them. Pure bookkeeping, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from signstream.ingest.state import SignSource
from signstream.ingest.table import TableRow


@dataclass(eq=False)
class PendingSign:
    row: TableRow
    source: SignSource
    # Frames still to come; None for an open end, whose length is known only at the end of the video.
    remaining: int | None = field(init=False)

    def __post_init__(self):
        end = self.row.end_frame
        self.remaining = None if end is None else end - self.row.start_frame + 1

    def covers(self, index: int) -> bool:
        end = self.row.end_frame
        return self.row.start_frame <= index and (end is None or index <= end)


class VideoFrames:
    def __init__(self, signs: list[PendingSign]):
        self.pending: list[PendingSign] = list(signs)
        self._frames: dict[int, np.ndarray] = {}

    def add(self, index: int, frame: np.ndarray) -> list[tuple[PendingSign, np.ndarray]]:
        """Record frame `index`; return the signs it completes with their frames (T, K, 3) in order.
        Every completed clip is cut before any frame is released: signs that end on the same frame
        may share frames."""
        self._frames[index] = frame
        done = []
        for sign in self.pending:
            if sign.remaining is not None and sign.covers(index):
                sign.remaining -= 1
                if sign.remaining == 0:
                    done.append(sign)
        self.pending = [s for s in self.pending if s not in done]
        complete = [(sign, self._clip(sign.row.start_frame, sign.row.end_frame)) for sign in done]
        self._release()
        return complete

    def _clip(self, start: int, end: int) -> np.ndarray:
        return np.stack([self._frames[i] for i in range(start, end + 1)])

    def _release(self) -> None:
        """Drop the frames no pending sign covers."""
        for i in [i for i in self._frames if not any(sign.covers(i) for sign in self.pending)]:
            del self._frames[i]

    def finish(self, length: int | None) -> tuple[list[tuple[PendingSign, np.ndarray]], list[PendingSign]]:
        """After the last wanted frame: (open-ended signs now complete with their frames, signs whose
        range goes past the end). `length` is the video's frame count when decoding reached its end."""
        complete: list[tuple[PendingSign, np.ndarray]] = []
        past_end: list[PendingSign] = []
        for sign in list(self.pending):
            if sign.row.end_frame is None and length is not None and sign.row.start_frame < length:
                self.pending.remove(sign)
                complete.append((sign, self._clip(sign.row.start_frame, length - 1)))
        for sign in self.pending:
            past_end.append(sign)
        self.pending = []
        self._frames.clear()
        return complete, past_end
