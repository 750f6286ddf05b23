"""The rendering seam: every renderer and encoder is driven by the one FrameWriter (streams) and
write_all (batch output), whatever kind it is: a drawing renderer or a model renderer that is awaited
a batch at a time, a still encoder, an ordered H.264 stream, the MP4 file, or none at all."""
from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
import pytest

from signstream.frame_writer import FrameWriter, write_all
from signstream.lexicon.demo import demo_signs
from signstream.outputs import FrameOut
from signstream.render.encode import decode_image, get_encoder
from signstream.render.encoder import H264Encoder, Mp4FileEncoder, StillEncoder, open_encoder
from signstream.render.renderer import RENDERERS, Renderer, SkeletonRenderer, open_renderer
from signstream.render.skeleton import render_frame
from signstream.render.video import probe_video, read_video_frames
from signstream.session import open_synthesis
from signstream.spec import SessionSpec

W, H = 96, 64


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return demo_signs()[0].frames[:11].astype(np.float32)


class BatchRenderer(Renderer):
    """A model renderer as the seam sees one: awaited, up to max_batch frames a call, slower than the
    frames' playing time. It paints each picture with its frame's first x coordinate, so order shows."""

    name = "batch-test"
    asynchronous = True
    max_batch = 3

    def __init__(self, width: int, height: int):
        super().__init__(width, height)
        self.calls: list[int] = []            # batch sizes, in call order
        self.started = 0                      # calls begun
        self.finished = 0
        self.delay_s = 0.01

    async def render(self, frames, channels="rgb"):
        self.started += 1
        self.calls.append(len(frames))
        await asyncio.sleep(self.delay_s * self.started)    # later batches slower than encoding one frame
        self.finished += 1
        return [np.full((self.height, self.width, 3), int(f[0, 0] * 200) % 256, np.uint8) for f in frames]


def _collect(writer: FrameWriter, frames: np.ndarray, stop_after: int | None = None) -> list[bytes]:
    async def run():
        out = []
        async for image in writer.images(frames):
            out.append(image)
            if stop_after is not None and len(out) == stop_after:
                break
        return out
    return asyncio.run(run())


def test_a_model_renderer_is_awaited_a_batch_at_a_time_in_order(frames):
    renderer = BatchRenderer(W, H)
    with ThreadPoolExecutor(2) as pool:
        images = _collect(FrameWriter(renderer, StillEncoder("raw_rgb"), pool), frames)
    assert renderer.calls == [3, 3, 3, 2]                     # 11 frames in batches of max_batch
    got = [np.frombuffer(i, np.uint8)[0] for i in images]
    assert got == [int(f[0, 0] * 200) % 256 for f in frames]  # one picture per frame, in order


def test_the_next_batch_is_in_flight_while_one_is_sent_and_cancelled_when_the_consumer_stops(frames):
    renderer = BatchRenderer(W, H)
    renderer.delay_s = 0.2
    with ThreadPoolExecutor(2) as pool:
        images = _collect(FrameWriter(renderer, StillEncoder("png"), pool), frames, stop_after=1)
    assert len(images) == 1
    assert renderer.started == 2                              # the second batch began before the first was sent
    assert renderer.finished == 1                             # and was cancelled when the consumer stopped


def test_a_drawing_renderer_with_an_ordered_encoder_gives_one_h264_access_unit_per_frame(frames):
    with ThreadPoolExecutor(2) as pool:
        units = _collect(FrameWriter(SkeletonRenderer(W, H), H264Encoder(W, H, 25.0), pool), frames)
    assert len(units) == len(frames) and all(units)
    with av.open(io.BytesIO(b"".join(units)), format="h264") as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == len(frames)
    first = decoded[0][:H, :W]
    assert np.abs(first.astype(int) - render_frame(frames[0], W, H).astype(int)).mean() < 8


def test_without_an_encoder_nothing_is_drawn(frames):
    class Refuses(SkeletonRenderer):
        def draw(self, *args, **kwargs):
            raise AssertionError("drawn for encoding NONE")

    assert open_encoder("none", W, H, 25.0) is None
    writer = FrameWriter(Refuses(W, H), None, executor=None)
    assert _collect(writer, frames) == [b""] * len(frames) and writer.index == len(frames)


def test_batch_output_goes_through_the_same_renderer_and_encoder(frames, tmp_path):
    path = tmp_path / "out.mp4"
    write_all(SkeletonRenderer(W, H), Mp4FileEncoder(path, W, H, 25.0), frames)
    assert probe_video(path)["frames"] == len(frames)
    first = next(iter(read_video_frames(path)))
    assert np.abs(first.astype(int) - render_frame(frames[0], W, H).astype(int)).mean() < 8


def test_batch_output_through_a_model_renderer_from_inside_a_running_loop(frames, tmp_path):
    path = tmp_path / "out.mp4"
    renderer = BatchRenderer(W, H)

    async def inside_a_loop():           # as the remote client writes results from its own loop
        write_all(renderer, Mp4FileEncoder(path, W, H, 25.0), frames)

    asyncio.run(inside_a_loop())
    assert probe_video(path)["frames"] == len(frames) and renderer.calls == [3, 3, 3, 2]


def test_a_failure_mid_batch_output_leaves_no_file(frames, tmp_path):
    class Fails(SkeletonRenderer):
        def draw(self, frame, out=None, channels="rgb"):
            if frame is frames_seen[-1]:
                raise RuntimeError("renderer failed")
            return super().draw(frame, out, channels)

    frames_seen = list(frames)
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="renderer failed"):
        write_all(Fails(W, H), Mp4FileEncoder(path, W, H, 25.0), frames_seen)
    assert not path.exists()


def test_a_session_draws_through_the_renderer_its_config_names(demo_lexicon_dir, monkeypatch):
    from signstream.config import Settings
    from signstream.lexicon import open_lexicon

    demo_lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    monkeypatch.setitem(RENDERERS, BatchRenderer.name, BatchRenderer)
    spec = SessionSpec(renderer=BatchRenderer.name, encoding="png", width=W, height=H)

    async def run():
        with ThreadPoolExecutor(2) as pool:
            session = await open_synthesis(spec, demo_lexicon, None, pool)
            try:
                return [out async for out in session.add("¶hello")] + [out async for out in session.finish()]
            finally:
                session.close()

    outs = [o for o in asyncio.run(run()) if isinstance(o, FrameOut)]
    assert [o.index for o in outs] == list(range(len(outs))) and outs
    pictures = [decode_image(o.image) for o in outs]
    assert all(p.shape == (H, W, 3) and len(np.unique(p)) == 1 for p in pictures)   # the batch renderer's flat fills


def test_an_unknown_renderer_name_is_refused_with_the_ones_this_server_has():
    from signstream.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="renderer 'cartoon' is not available; use one of skeleton, neural"):
        SessionSpec(renderer="cartoon").validated()
    assert isinstance(open_renderer("skeleton", W, H), SkeletonRenderer)


def test_the_still_encoder_takes_the_order_its_codec_takes(frames):
    rgb = render_frame(frames[0], W, H)
    for name in ("jpeg", "png", "raw_rgb"):
        encoder = StillEncoder(name)
        picture = rgb[..., ::-1].copy() if encoder.channels == "bgr" else rgb
        assert encoder.encode(picture) == get_encoder(name)(rgb)
