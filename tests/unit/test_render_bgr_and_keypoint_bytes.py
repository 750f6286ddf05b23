"""The streaming fast paths are the slow paths' exact equals: drawing in BGR is the RGB picture with its
channels reversed, a reused canvas draws what a fresh one does, the encoders' BGR entry gives the same
bytes as their RGB one, the session's frame writer gives what render + encode give, and the
hand-serialized Keypoints message is byte for byte what protobuf builds from the per-field lists."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from signstream import keypoint_proto
from signstream.gateway import convert
from signstream.kernels import layout as L
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import FrameKind
from signstream.render.encode import decode_image, encode_jpeg, get_encoder
from signstream.render.skeleton import render_frame
from signstream.frame_writer import CANVASES, FrameWriter
from signstream.render.encoder import StillEncoder
from signstream.render.renderer import SkeletonRenderer
from signstream.v1 import signstream_pb2 as pb

W, H = 320, 256        # non-square (a W/H swap changes the picture) and big enough that hand edges show
                       # between the hand joints


@pytest.fixture(scope="module")
def demo_frames() -> np.ndarray:
    """Every 4th frame of every demo sign (raw lexicon frames: hands and face points go missing)."""
    return np.concatenate([s.frames[::4] for s in demo_signs()]).astype(np.float32)


# ---- render_frame(channels="bgr") ---------------------------------------------------------------------
def test_bgr_is_the_rgb_picture_with_channels_reversed(demo_frames):
    differs = 0
    for frame in demo_frames:
        rgb = render_frame(frame, W, H)
        bgr = render_frame(frame, W, H, channels="bgr")
        assert bgr.shape == (H, W, 3) and bgr.dtype == np.uint8
        assert np.array_equal(bgr, rgb[..., ::-1])
        differs += not np.array_equal(bgr, rgb)
    assert differs == len(demo_frames)          # the colours are not grey: the check is not vacuous


@pytest.mark.parametrize("channels", ["rgb", "bgr"])
def test_a_reused_canvas_draws_what_a_fresh_one_does(demo_frames, channels):
    out = np.full((H, W, 3), 77, dtype=np.uint8)             # dirty to begin with
    for previous, frame in zip(demo_frames[::5], demo_frames[2::5]):
        fresh = render_frame(frame, W, H, channels=channels)
        assert render_frame(previous, W, H, out=out, channels=channels) is out
        assert render_frame(frame, W, H, out=out, channels=channels) is out
        assert np.array_equal(out, fresh)                    # nothing of `previous` is left
        assert np.array_equal(render_frame(frame, W, H, out=out, channels=channels), fresh)   # same twice


@pytest.mark.parametrize("channels", ["RGB", "rgba", "", None])
def test_an_unknown_channel_order_is_refused(demo_frames, channels):
    with pytest.raises(ValueError, match="channels"):
        render_frame(demo_frames[0], W, H, channels=channels)


# ---- Encoder.encode_bgr ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, options", [("jpeg", {}), ("jpeg", {"quality": 40}), ("png", {}),
                                           ("png", {"compression": 6})])
def test_encode_bgr_gives_the_same_bytes_as_encoding_rgb(demo_frames, name, options):
    encoder = get_encoder(name, **options)
    assert encoder.takes_bgr
    for frame in demo_frames[::7]:
        rgb = render_frame(frame, W, H)
        bgr = render_frame(frame, W, H, channels="bgr")
        data = encoder.encode_bgr(bgr)
        assert data == encoder(rgb)
        if name == "png":
            assert np.array_equal(decode_image(data), rgb)       # lossless: the colours are right
    assert get_encoder(name, **options).encode_bgr(bgr) != encoder(bgr)     # BGR through the RGB entry differs


def test_encode_jpeg_bgr_flag():
    rgb = np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8)
    assert encode_jpeg(np.ascontiguousarray(rgb[..., ::-1]), bgr=True) == encode_jpeg(rgb)


def test_raw_rgb_has_no_bgr_entry():
    encoder = get_encoder("raw_rgb")
    assert not encoder.takes_bgr
    with pytest.raises(ValueError, match="RGB only"):
        encoder.encode_bgr(np.zeros((2, 2, 3), dtype=np.uint8))


# ---- the frame writer (BGR into a per-thread canvas) ----------------------------------------------------
def _written(writer: FrameWriter, frames: np.ndarray) -> list[bytes]:
    async def collect():
        return [image async for image in writer.images(frames)]
    return asyncio.run(collect())


@pytest.mark.parametrize("encoding", ["jpeg", "png", "raw_rgb"])
def test_the_frame_writer_gives_what_render_then_encode_give(demo_frames, encoding):
    encoder = get_encoder(encoding)
    with ThreadPoolExecutor(2) as pool:
        writers = [FrameWriter(SkeletonRenderer(w, h), StillEncoder(encoding), pool)
                   for w, h in ((W, H), (H, W), (W, 64))]         # three sizes share the threads' canvases
        outputs = []
        for writer in writers:
            images = _written(writer, demo_frames[::3])
            assert writer.index == len(images) == len(demo_frames[::3])
            for frame, image in zip(demo_frames[::3], images):
                assert isinstance(image, bytes)
                assert image == encoder(render_frame(frame, writer.renderer.width, writer.renderer.height))
            outputs += images
    assert len(set(outputs)) > len(outputs) // 2               # different frames, different images


def test_frame_writers_on_several_threads_do_not_share_a_canvas(demo_frames):
    """The gateway's CPU threads draw at once; each must draw into a canvas of its own. (A shared one
    would show up here as frames with another frame's strokes, most runs; a correct writer never fails.)"""
    expected = [get_encoder("png")(render_frame(f, W, H)) for f in demo_frames]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            writer = FrameWriter(SkeletonRenderer(W, H), StillEncoder("png"), pool, lookahead=8)
            assert _written(writer, demo_frames) == expected


def test_scratch_canvases_per_thread_are_bounded():
    first = CANVASES.get(64, 48)
    assert CANVASES.get(64, 48) is first                               # reused
    for side in range(100, 100 + 3 * CANVASES.keep):
        CANVASES.get(side, side)
    assert len(CANVASES.sizes()) == CANVASES.keep
    assert (64, 48) not in CANVASES.sizes()


# ---- keypoints_to_bytes -----------------------------------------------------------------------------------
def reference_keypoints(frame: np.ndarray) -> pb.Keypoints:
    """The straightforward build: per field, flagged parts as x, y with missing points at (-1, -1)."""
    f = np.asarray(frame, dtype=np.float32)
    values = {}
    for field, (index, flagged) in keypoint_proto._KEYPOINT_FIELDS.items():
        points = f[index]
        if flagged:
            xy = points[:, :2].copy()
            xy[points[:, 2] <= 0] = -1.0
            values[field] = xy.ravel().tolist()
        else:
            values[field] = points.ravel().tolist()
    return pb.Keypoints(**values)


def random_frames(count: int, seed: int = 0) -> np.ndarray:
    """Random coordinates; channel 2 of the flagged points is 1, 0, a negative or a small positive number."""
    rng = np.random.default_rng(seed)
    frames = rng.uniform(-0.5, 1.5, (count, L.NUM_POINTS, 3)).astype(np.float32)
    flags = rng.choice(np.array([1.0, 0.0, -1.0, 0.25], dtype=np.float32), size=(count, L.POSE_MP.start))
    frames[:, : L.POSE_MP.start, 2] = flags
    return frames


def test_keypoints_bytes_equal_the_reference_message():
    frames = random_frames(200)
    frames[0, :, :] = -0.0                                            # signs of zero survive
    frames[1, L.POSE_MP.start:, :] = np.float32(3.4e38)               # as do large values
    frames[2, : L.POSE_MP.start, 2] = 0.0                             # everything missing
    for frame in frames:
        data = convert.keypoints_to_bytes(frame)
        reference = reference_keypoints(frame)
        assert data == reference.SerializeToString()
        assert pb.Keypoints.FromString(data) == reference
        assert convert.keypoints_to_proto(frame) == reference
    parsed = pb.Keypoints.FromString(convert.keypoints_to_bytes(frames[2]))
    assert set(parsed.body) == {-1.0} and set(parsed.hands) == {-1.0} and set(parsed.face) == {-1.0}


def test_keypoints_bytes_field_sizes_and_missing_points():
    frame = random_frames(1, seed=5)[0]
    kp = pb.Keypoints.FromString(convert.keypoints_to_bytes(frame))
    for field, size in convert.KEYPOINT_FIELD_SIZES.items():
        assert len(getattr(kp, field)) == size, field
    body = np.array(kp.body, dtype=np.float32).reshape(-1, 2)
    missing = frame[L.BODY, 2] <= 0
    assert missing.any() and (~missing).any()
    assert np.all(body[missing] == -1.0)
    assert np.array_equal(body[~missing], frame[L.BODY][~missing, :2])


def test_keypoints_bytes_refuses_a_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        convert.keypoints_to_bytes(np.zeros((L.NUM_POINTS - 1, 3), dtype=np.float32))


def test_frame_to_proto_keypoints_round_trip():
    frames = random_frames(50, seed=1)
    flags = frames[:, : L.POSE_MP.start, 2]
    frames[:, : L.POSE_MP.start, 2] = (flags > 0).astype(np.float32)   # ours: 1 valid, 0 missing
    for i, frame in enumerate(frames):
        response = convert.frame_to_proto(i, "hello", FrameKind.SIGN, b"img", "jpeg", W, H, keypoints=frame, fps=25.0)
        out = response.frame
        assert (out.index, out.sign_id, out.image, out.width, out.height) == (i, "hello", b"img", W, H)
        assert out.HasField("keypoints") and out.keypoints == reference_keypoints(frame)
        expected = frame.copy()
        expected[: L.POSE_MP.start][frame[: L.POSE_MP.start, 2] == 0, :2] = -1.0
        back = convert.keypoints_from_proto(out.keypoints)
        assert np.array_equal(back.view(np.uint32), expected.view(np.uint32))
    plain = convert.frame_to_proto(0, "hello", FrameKind.SIGN, b"", "none", W, H).frame
    assert not plain.HasField("keypoints")
