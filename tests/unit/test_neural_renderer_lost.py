"""A NEURAL renderer whose stream to Triton is gone fails every frame asked for, at once: the ones in
flight when it went, and every later one (a later render never waits for answers that cannot come)."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from signstream.errors import TritonUnavailable
from signstream.kernels.layout import NUM_POINTS
from signstream.net import free_port
from signstream.render.neural import NeuralRenderer

SIZE = 64


def test_every_render_after_the_stream_to_triton_broke_fails_at_once():
    async def main():
        renderer = NeuralRenderer(SIZE, SIZE, url=f"127.0.0.1:{free_port()}", seed=1,
                                  reference=np.zeros((SIZE, SIZE, 3), np.uint8))
        frames = np.zeros((2, NUM_POINTS, 3), np.float32)
        errors = []
        try:
            for _ in range(3):
                with pytest.raises(TritonUnavailable) as caught:
                    await asyncio.wait_for(renderer.render(frames), 20)
                errors.append(caught.value)
        finally:
            renderer.close()
            await asyncio.sleep(0.1)
        return errors

    errors = asyncio.run(main())
    assert len(errors) == 3
    assert all("lost the neural renderer at 127.0.0.1:" in e.message for e in errors), [e.message for e in errors]
