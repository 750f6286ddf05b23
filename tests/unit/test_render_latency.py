"""The REALTIME playout delay of NEURAL streams follows the latency measured lately, not long ago."""
from __future__ import annotations

from signstream.render.neural_backend import (FIRST_PLAYOUT_S, LATENCY_MAX_AGE_S, MAX_PLAYOUT_S,
                                              RenderLatency)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_delay_is_the_p90_of_recent_batches_capped_and_slow_ones_age_out():
    clock = Clock()
    latency = RenderLatency(clock)
    assert latency.playout_delay() == FIRST_PLAYOUT_S
    for _ in range(20):
        latency.add(1.5)
    assert latency.playout_delay() == 1.5
    for _ in range(5):
        latency.add(30.0)
    assert latency.playout_delay() == MAX_PLAYOUT_S
    clock.now += LATENCY_MAX_AGE_S / 2
    for _ in range(40):
        latency.add(0.1)
    assert latency.playout_delay() > 0.1            # the slow ones still count
    clock.now += LATENCY_MAX_AGE_S / 2 + 1
    assert abs(latency.playout_delay() - 0.1) < 1e-9   # only the fast ones are recent
    clock.now += LATENCY_MAX_AGE_S + 1
    assert latency.playout_delay() == FIRST_PLAYOUT_S
