"""A Gesture stream's configuration: the session's (style, size, encoding, pacing, fps, renderer) and
the gesture source's (which source, the declared lookahead, the audio's rate)."""
from __future__ import annotations

from dataclasses import dataclass

from signstream.errors import InvalidArgument
from signstream.gesture.source import SAMPLE_RATE
from signstream.spec import DEFAULT_FPS, SessionSpec

SOURCES = ("beat", "aqgt")
DEFAULT_SOURCE = "beat"
MAX_LOOKAHEAD_MS = 5_000          # AQ-GT's windows need about 2.3 s; more only delays the avatar


@dataclass(frozen=True)
class GestureSpec:
    session: SessionSpec
    source: str = ""              # "" = DEFAULT_SOURCE
    lookahead_ms: int = 0         # 0 = the source's default
    sample_rate: int = 0          # 0 or SAMPLE_RATE

    def validated(self) -> "GestureSpec":
        """Self with the source named, or InvalidArgument naming the field, its value and what is allowed."""
        self.session.validated()
        source = self.source or DEFAULT_SOURCE
        if source not in SOURCES:
            raise InvalidArgument(f"source {self.source!r} is not a gesture source; use \"beat\" (from the audio's "
                                  "rhythm, the default) or \"aqgt\" (the AQ-GT model, when its ONNX is installed)",
                                  field="source")
        if self.sample_rate not in (0, SAMPLE_RATE):
            raise InvalidArgument(f"sample_rate must be {SAMPLE_RATE} (or 0), got {self.sample_rate}: resample the "
                                  f"audio to {SAMPLE_RATE} Hz mono PCM16 before sending it", field="sample_rate")
        if not 0 <= self.lookahead_ms <= MAX_LOOKAHEAD_MS:
            raise InvalidArgument(f"lookahead_ms must be 0 (the source's default) .. {MAX_LOOKAHEAD_MS}, got "
                                  f"{self.lookahead_ms}", field="lookahead_ms")
        return GestureSpec(self.session, source, self.lookahead_ms, SAMPLE_RATE)

    @property
    def fps(self) -> float:
        return self.session.fps or DEFAULT_FPS
