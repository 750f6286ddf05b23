"""REALTIME pacing for a stream's frames."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """REALTIME pacing: frames leave 1/fps apart. A late frame leaves at once and the schedule
    restarts from it, so a stall never turns into a burst and the spacing never drifts."""

    def __init__(self, fps: float, clock: Callable[[], float] = time.monotonic):
        self.period = 1.0 / fps
        self._clock = clock
        self._due: float | None = None

    async def wait(self) -> float:
        """Sleep until this frame is due; returns its lateness in seconds (0 if on time)."""
        now = self._clock()
        if self._due is None or now > self._due:
            lateness = 0.0 if self._due is None else now - self._due
            self._due = now + self.period
            return lateness
        await asyncio.sleep(self._due - now)
        self._due += self.period
        return 0.0
