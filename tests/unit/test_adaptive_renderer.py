"""The REALTIME ladder of a NEURAL stream, driven by a model renderer whose cost is known (a sleep per
batch that grows with steps and pixels): it steps down in the fixed order (fewer steps, half the
resolution, skeleton) only while it cannot keep up, says so once per step, steps back up when it
has room, never reorders frames, and an ASAP stream never degrades."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from signstream.frame_writer import FrameWriter
from signstream.names import Renderer as RendererName
from signstream.render.adaptive import DEGRADED, RECOVERED, AdaptiveRenderer, Level, neural_ladder
from signstream.render.encoder import open_encoder
from signstream.render.renderer import Renderer
from signstream.kernels.layout import NUM_POINTS

W = H = 64


class TimedModel(Renderer):
    """A model renderer that takes `per_step_pixel_s` x steps x (its pixels / the canvas's) per frame
    of a batch, and paints each frame's index (from its first keypoint's x) into its picture."""

    name = RendererName.NEURAL
    asynchronous = True
    max_batch = 4

    def __init__(self, width, height, cost, log):
        super().__init__(width, height)
        self.cost, self.log = cost, log

    async def render(self, frames, channels="rgb", steps=None):
        self.log.append((self.width, steps))
        await asyncio.sleep(len(frames) * self.cost((steps or 1), self.width * self.height / (W * H)))
        return [np.full((self.height, self.width, 3), int(f[0, 0]) % 256, np.uint8) for f in frames]

    def close(self):
        self.log.append(("closed", self.width))


def _frames(n: int) -> np.ndarray:
    frames = np.zeros((n, NUM_POINTS, 3), np.float32)
    frames[:, 0, 0] = np.arange(n)
    return frames


def _play(renderer: AdaptiveRenderer, n: int, fps: float):
    """Frames through the stream's frame writer, taken at `fps` as REALTIME pacing takes them."""
    async def run():
        with ThreadPoolExecutor(2) as pool:
            writer = FrameWriter(renderer, open_encoder("raw_rgb", W, H, fps), pool)
            out = []
            async for data in writer.images(_frames(n)):
                out.append(np.frombuffer(data, np.uint8)[0])
                await asyncio.sleep(1 / fps)
            writer.close()
            return out

    return asyncio.run(run())


def test_the_ladder_order():
    assert neural_ladder("", 4, realtime=True) == (
        Level("neural", 4), Level("neural", 2), Level("neural", 1), Level("neural", 1, 0.5), Level("skeleton"))
    assert neural_ladder("pose2img", 0, realtime=True) == (Level("neural", 0), Level("neural", 0, 0.5),
                                                             Level("skeleton"))
    assert neural_ladder("", 4, realtime=False) == (Level("neural", 4),)


def test_falling_behind_steps_down_in_order_and_says_why_once_per_step():
    log = []
    # 25 fps: 40 ms a frame. 4 steps cost 48 ms a frame, 2 steps 24 ms: it settles on 2 steps.
    renderer = AdaptiveRenderer(W, H, neural_ladder("", 4, True), lambda w, h: TimedModel(w, h, lambda s, p: 0.012 * s * p, log), 25)
    out = _play(renderer, 48, 25)
    made = list(renderer.made)
    assert out == list(range(48))                                   # every frame, in order
    assert {m.steps for m in made[:8]} == {4} and made[-1].steps == 2
    notices = [m.notice for m in made if m.notice]
    assert len(notices) == 1 and notices[0][0] == DEGRADED
    assert "fell behind real time" in notices[0][1] and "now NEURAL, 2 sampler steps (was NEURAL, 4 sampler steps)" in notices[0][1]


def test_far_behind_goes_down_to_half_resolution_then_skeleton():
    log = []
    # Every level too slow: 1 step at half size still costs 4 x 0.25 = 1.0 x 45 ms > 40 ms.
    renderer = AdaptiveRenderer(W, H, neural_ladder("", 2, True),
                                lambda w, h: TimedModel(w, h, lambda s, p: 0.045 * s * (p * 4 if p < 1 else p), log), 25)
    out = _play(renderer, 64, 25)
    drawn_by_model = [(i, v) for i, (v, m) in enumerate(zip(out, renderer.made)) if m.renderer == "neural"]
    assert all(i == v for i, v in drawn_by_model) and len(out) == 64     # in order, scaled up to the canvas
    levels = [n for n in (m.notice for m in renderer.made) if n]
    assert [code for code, _ in levels] == [DEGRADED] * 3
    assert "at 0.5x the resolution" in levels[1][1] and "now SKELETON frames" in levels[2][1]
    assert renderer.made[-1].renderer == "skeleton"
    assert (32, 1) in log                                          # the half-size model drew some frames
    assert ("closed", 32) in log and ("closed", 64) in log         # the skeleton needs no model: both closed


def test_it_recovers_when_rendering_gets_fast_again():
    log = []
    speed = {"slow": True}
    renderer = AdaptiveRenderer(W, H, neural_ladder("", 2, True),
                                lambda w, h: TimedModel(w, h, lambda s, p: (0.03 if speed["slow"] else 0.002) * s * p, log), 25)

    async def run():
        with ThreadPoolExecutor(2) as pool:
            writer = FrameWriter(renderer, open_encoder("raw_rgb", W, H, 25), pool)
            frames = _frames(120)
            i = 0
            async for _ in writer.images(frames):
                i += 1
                if i == 40:
                    speed["slow"] = False           # the other streams ended
                await asyncio.sleep(1 / 25)
            writer.close()

    asyncio.run(run())
    codes = [m.notice[0] for m in renderer.made if m.notice]
    assert codes[:2] == [DEGRADED, RECOVERED], codes
    assert renderer.made[-1].steps == 2


@pytest.mark.parametrize("model", ["", "pose2img"])
def test_an_asap_stream_never_degrades(model):
    log = []
    renderer = AdaptiveRenderer(W, H, neural_ladder(model, 4, False), lambda w, h: TimedModel(w, h, lambda s, p: 0.02 * s, log), 100)
    out = _play(renderer, 24, 100)
    assert out == list(range(24)) and not [m for m in renderer.made if m.notice]
    assert {m.steps for m in renderer.made} == {4 if model == "" else 0}
