"""Decode a source video's bytes (PyAV) into the RGB frames that some signs need, and nothing more.

Frames are numbered 0, 1, ... in decoding (presentation) order, as the seed's sign table counts them.
Frames outside every wanted span are decoded (inter-coded video needs them) but never converted to
RGB, and decoding stops after the last wanted frame, so a sign at the start of a long video is cheap.

Everything here blocks: async callers run it in a thread. Any damage raises CorruptVideo naming the
video's key; PyAV's own errors never leak out.
"""
from __future__ import annotations

import bisect
import io
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import av
import numpy as np

from signstream.errors import CorruptVideo
from signstream.lexicon.clip import MAX_FPS

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0     # when the container does not say (or says something implausible)


@dataclass(frozen=True)
class FrameSpans:
    """A union of inclusive frame ranges; `None` as an end means "to the end of the video"."""

    starts: tuple[int, ...]
    ends: tuple[int | None, ...]        # merged, sorted and disjoint; only the last may be None

    @classmethod
    def of(cls, ranges: Iterable[tuple[int, int | None]]) -> "FrameSpans":
        merged: list[list] = []
        for start, end in sorted(ranges, key=lambda r: r[0]):
            if start < 0 or (end is not None and end < start):
                raise ValueError(f"bad frame range {start}..{end}")
            if merged and (merged[-1][1] is None or start <= merged[-1][1] + 1):
                last = merged[-1]
                last[1] = None if end is None or last[1] is None else max(last[1], end)
            else:
                merged.append([start, end])
        return cls(tuple(s for s, _ in merged), tuple(e for _, e in merged))

    @property
    def last(self) -> int | None:
        """The last wanted frame; None if a span is open-ended (or there are no spans)."""
        return self.ends[-1] if self.ends else None

    def __contains__(self, index: int) -> bool:
        i = bisect.bisect_right(self.starts, index) - 1
        return i >= 0 and (self.ends[i] is None or index <= self.ends[i])

    def count(self, total: int | None = None) -> int | None:
        """How many frames are wanted; open spans count to `total` (None if it is not known)."""
        n = 0
        for start, end in zip(self.starts, self.ends):
            if end is None:
                if total is None:
                    return None
                end = total - 1
            n += max(0, end - start + 1)
        return n


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate
    value = float(rate) if rate else 0.0
    if not (math.isfinite(value) and 0.0 < value <= MAX_FPS):
        return DEFAULT_FPS
    return value


class VideoReader:
    """One video, opened from its bytes.

        reader = VideoReader(data, key)      # CorruptVideo if it is not a decodable video
        for index, rgb in reader.frames(FrameSpans.of([(0, 9), (30, None)])):
            ...                                # rgb (H, W, 3) uint8, index ascending
        reader.frames_decoded, reader.at_end   # how far decoding went
        reader.close()
    """

    def __init__(self, data: bytes, key: str):
        self.key = key
        if not data:
            raise CorruptVideo(f"video {key!r} is empty (0 bytes)")
        try:
            self._container = av.open(io.BytesIO(data), mode="r")
        except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
            raise CorruptVideo(f"video {key!r} cannot be opened as a video: {exc}") from exc
        try:
            streams = self._container.streams.video
            if not streams:
                raise CorruptVideo(f"video {key!r} has no video stream "
                                   f"(container {self._container.format.name!r})")
            stream = streams[0]
            # PyAV 16 segfaults when decoding a stream that has no codec parameters (e.g. an MP4
            # whose header is cut short): refuse it here instead.
            if stream.codec_context is None:
                raise CorruptVideo(f"video {key!r} has a video stream without codec parameters "
                                   "(truncated or damaged header)")
            stream.thread_type = "AUTO"          # frame + slice threads: decoding is not the bottleneck
        except BaseException:
            self._container.close()
            raise
        self._stream = stream
        self.fps = _fps(stream)
        self.width = stream.codec_context.width
        self.height = stream.codec_context.height
        self.frames_in_index = int(stream.frames or 0)   # what the container claims; 0 = unknown
        self.frames_decoded = 0
        self.at_end = False                  # decoding reached the end of the video

    def frames(self, wanted: FrameSpans) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (index, rgb) for every wanted frame that exists, in order; stops after the last
        wanted one. Afterwards `frames_decoded` says how many were decoded and `at_end` whether
        that is the whole video (then frames_decoded is its length)."""
        last = wanted.last
        if last is None and not wanted.starts:
            return
        try:
            for frame in self._container.decode(self._stream):
                index = self.frames_decoded
                self.frames_decoded += 1
                if index in wanted:
                    yield index, frame.to_ndarray(format="rgb24")
                if last is not None and index >= last:
                    return
        except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
            raise CorruptVideo(f"video {self.key!r} cannot be decoded after frame "
                               f"{self.frames_decoded}: {exc}") from exc
        self.at_end = True
        if self.frames_decoded == 0:
            raise CorruptVideo(f"video {self.key!r} holds no decodable frame"
                               + (f" (its index lists {self.frames_in_index}; truncated?)"
                                  if self.frames_in_index else ""))
        if self.frames_in_index > self.frames_decoded:
            # Not an error on its own: edit lists can legitimately hide indexed frames.
            log.warning("video %r: its index lists %d frames but only %d decode (truncated?)",
                        self.key, self.frames_in_index, self.frames_decoded)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def decode_frames(data: bytes, key: str, ranges: Iterable[tuple[int, int | None]]
                  ) -> tuple[dict[int, np.ndarray], float, int | None]:
    """All wanted frames at once: ({index: rgb}, fps, video length or None if decoding stopped early).

    Convenient for small videos and tests; ingest streams through VideoReader.frames instead."""
    with VideoReader(data, key) as reader:
        frames = dict(reader.frames(FrameSpans.of(ranges)))
        return frames, reader.fps, (reader.frames_decoded if reader.at_end else None)
