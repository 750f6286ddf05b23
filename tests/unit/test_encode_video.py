"""Still encoders (JPEG/PNG/raw) and the MP4 writer, on a real photo and on flat colours."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.data import astronaut

from signstream.errors import InvalidArgument
from signstream.render import (
    Mp4Writer,
    decode_image,
    encode_jpeg,
    encode_png,
    encode_raw,
    frame_rate_from_clips,
    get_encoder,
    probe_video,
    read_video_frames,
)

RED = (255, 0, 0)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real RGB photo, cropped non-square: (192, 256, 3) uint8."""
    img = astronaut()[100:292, 120:376]
    return np.ascontiguousarray(img)


def _flat(colour, h: int = 48, w: int = 64) -> np.ndarray:
    return np.broadcast_to(np.array(colour, dtype=np.uint8), (h, w, 3)).copy()


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# ---- stills -----------------------------------------------------------------------------------------
def test_png_roundtrip_is_exact(photo):
    data = encode_png(photo)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(decode_image(data), photo)
    assert np.array_equal(decode_image(encode_png(photo, compression=9)), photo)


def test_jpeg_roundtrip_is_close(photo):
    data = encode_jpeg(photo, quality=90)
    assert data[:2] == b"\xff\xd8"
    back = decode_image(data)
    assert back.shape == photo.shape
    assert _mae(back, photo) < 4.0
    assert len(encode_jpeg(photo, quality=30)) < len(data)


@pytest.mark.parametrize("encode", [encode_jpeg, encode_png])
def test_colour_order_preserved(encode):
    for colour in (RED, (0, 0, 255), (0, 255, 0)):
        back = decode_image(encode(_flat(colour)))
        assert np.abs(back.astype(int) - np.array(colour)).max() <= 3, (colour, back[0, 0])


def test_raw_is_c_order_rgb(photo):
    data = encode_raw(photo)
    assert len(data) == photo.size
    assert np.array_equal(np.frombuffer(data, np.uint8).reshape(photo.shape), photo)
    assert encode_raw(_flat(RED, 1, 2)) == bytes([255, 0, 0, 255, 0, 0])
    # A non-contiguous view is serialised in logical C order.
    view = photo[:, ::2]
    assert np.array_equal(np.frombuffer(encode_raw(view), np.uint8).reshape(view.shape), view)


def test_encoders_reject_bad_images():
    for bad in (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                np.zeros((0, 4, 3), np.uint8)):
        for encode in (encode_jpeg, encode_png, encode_raw):
            with pytest.raises(ValueError):
                encode(bad)
    with pytest.raises(ValueError):
        decode_image(b"not an image")
    with pytest.raises(ValueError):
        decode_image(b"")


def test_get_encoder(photo):
    assert get_encoder("png")(photo) == encode_png(photo)
    assert get_encoder("raw_rgb")(photo) == encode_raw(photo)
    jpeg = get_encoder("jpeg")
    assert jpeg.name == "jpeg" and jpeg.media_type == "image/jpeg"
    assert jpeg(photo) == encode_jpeg(photo)
    assert get_encoder("jpeg", quality=50)(photo) == encode_jpeg(photo, quality=50)
    with pytest.raises(InvalidArgument) as info:
        get_encoder("gif")
    assert info.value.field == "encoding"
    with pytest.raises(ValueError):
        get_encoder("jpeg", quality=500)


# ---- frame-rate rule --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fps,expected",
    [([25, 25], 25.0), ([25, 30], 27.5), ([25, 120], 25.0), ([120], 30.0), ([], 30.0), ([62, 62.5], 62.0)],
)
def test_frame_rate_from_clips(fps, expected):
    assert frame_rate_from_clips(fps) == pytest.approx(expected)


# ---- MP4 --------------------------------------------------------------------------------------------
def _moving_frames(photo: np.ndarray, n: int) -> list[np.ndarray]:
    return [np.roll(photo, 4 * i, axis=1) for i in range(n)]


def test_mp4_writer_h264_roundtrip(tmp_path, photo):
    path = tmp_path / "clip.mp4"
    frames = _moving_frames(photo, 12)
    with Mp4Writer(path, 256, 192, fps=25.0) as writer:
        for f in frames:
            writer.write(f)
    assert writer.frames_written == 12
    info = probe_video(path)
    assert info == {"codec": "h264", "pix_fmt": "yuv420p", "width": 256, "height": 192, "fps": 25.0,
                    "frames": 12}
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "faststart: the index must precede the media data"
    back = list(read_video_frames(path))
    assert len(back) == 12
    for a, b in zip(back, frames):
        assert a.shape == b.shape
        assert _mae(a, b) < 6.0


def test_mp4_red_stays_red(tmp_path):
    path = tmp_path / "red.mp4"
    with Mp4Writer(path, 64, 48, fps=30) as writer:
        for _ in range(3):
            writer.write(_flat(RED))
    for frame in read_video_frames(path):
        r, g, b = frame[8:-8, 8:-8].reshape(-1, 3).mean(axis=0)
        assert r > 230 and g < 25 and b < 25, (r, g, b)


@pytest.mark.parametrize("fps,num,den", [(27.5, 55, 2), (30000 / 1001, 30000, 1001), (29.97, 2997, 100)])
def test_mp4_fractional_frame_rate(tmp_path, fps, num, den):
    path = tmp_path / "rate.mp4"
    with Mp4Writer(path, 64, 48, fps=fps) as writer:
        for _ in range(5):
            writer.write(_flat((10, 20, 30)))
    assert (writer.frame_rate.numerator, writer.frame_rate.denominator) == (num, den)
    assert probe_video(path)["fps"] == pytest.approx(num / den)


def test_mp4_odd_size_is_padded(tmp_path):
    path = tmp_path / "odd.mp4"
    frame = _flat((200, 200, 200), 77, 101)
    with Mp4Writer(path, 101, 77, fps=24) as writer:
        assert (writer.coded_width, writer.coded_height) == (102, 78)
        writer.write(frame)
        writer.write(frame)
    info = probe_video(path)
    assert (info["width"], info["height"]) == (102, 78)
    back = next(read_video_frames(path))
    assert back.shape == (78, 102, 3)
    assert _mae(back[:76, :100], frame[:76, :100]) < 4.0
    assert back[:, -1].mean() < 40 and back[-1, :].mean() < 40      # the padding is black


def test_mp4_exception_removes_partial_file(tmp_path, photo):
    path = tmp_path / "partial.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with Mp4Writer(path, 256, 192, fps=25) as writer:
            for f in _moving_frames(photo, 30):
                writer.write(f)
            assert path.exists() and path.stat().st_size > 0     # something was really written
            raise RuntimeError("boom")
    assert not path.exists()


def test_mp4_write_rejects_bad_frames(tmp_path):
    path = tmp_path / "bad.mp4"
    with Mp4Writer(path, 64, 48, fps=25) as writer:
        for bad in (np.zeros((48, 64), np.uint8), np.zeros((48, 64, 3), np.float32),
                    np.zeros((64, 48, 3), np.uint8), np.zeros((48, 64, 4), np.uint8)):
            with pytest.raises(ValueError):
                writer.write(bad)
        writer.write(np.zeros((48, 64, 3), np.uint8))
    assert probe_video(path)["frames"] == 1
    with pytest.raises(ValueError):
        writer.write(np.zeros((48, 64, 3), np.uint8))     # closed


def test_mp4_writer_argument_checks(tmp_path):
    for kwargs in ({"fps": 0}, {"fps": float("nan")}, {"fps": -5}):
        with pytest.raises(ValueError):
            Mp4Writer(tmp_path / "x.mp4", 64, 48, **kwargs)
    with pytest.raises(ValueError):
        Mp4Writer(tmp_path / "x.mp4", 0, 48, fps=25)
    writer = Mp4Writer(tmp_path / "empty.mp4", 64, 48, fps=25)
    with pytest.raises(ValueError, match="no frames"):
        writer.close()
    assert not (tmp_path / "empty.mp4").exists()
