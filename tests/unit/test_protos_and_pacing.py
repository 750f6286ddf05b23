"""The checked-in generated code is what protos/generate.py makes; REALTIME pacing never bursts."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from signstream.pacing import Pacer

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_current():
    done = subprocess.run([sys.executable, str(ROOT / "protos" / "generate.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now


def test_pacer_spaces_frames_and_restarts_after_a_stall(monkeypatch):
    clock = FakeClock()

    async def fake_sleep(seconds):
        clock.slept.append(round(seconds, 6))
        clock.now += seconds

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    pacer = Pacer(25.0, clock=clock)

    async def frames(n):
        return [await pacer.wait() for _ in range(n)]

    assert asyncio.run(frames(3)) == [0.0, 0.0, 0.0]
    assert clock.slept == [0.04, 0.04]                   # the first frame at once, then 40 ms apart
    clock.now += 1.0                                     # a slow lexicon: one second without frames
    lateness = asyncio.run(frames(3))
    assert lateness[0] > 0.9 and lateness[1:] == [0.0, 0.0]
    # After the stall the next frames are 40 ms apart again: no burst to catch up, no drift.
    assert clock.slept[2:] == [0.04, 0.04]
