"""H264StreamEncoder: per-frame Annex-B bytes that concatenate into a decodable, low-latency stream."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest
from skimage.data import astronaut

from signstream.render.h264_stream import H264StreamEncoder

NAL_IDR, NAL_SPS, NAL_PPS = 5, 7, 8


def _moving_photo(num: int, height: int, width: int) -> list[np.ndarray]:
    """Crops of a real photo sliding right and down by a few pixels per frame."""
    img = astronaut()
    return [np.ascontiguousarray(img[40 + 2 * i : 40 + 2 * i + height, 30 + 3 * i : 30 + 3 * i + width])
            for i in range(num)]


def _decode(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data), format="h264") as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _nal_types(data: bytes) -> list[int]:
    """Types of the NAL units in an Annex-B byte string (each follows a 00 00 01 start code)."""
    types, pos = [], data.find(b"\x00\x00\x01")
    while pos >= 0 and pos + 3 < len(data):
        types.append(data[pos + 3] & 0x1F)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return types


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize("width, height", [(256, 192), (255, 171)])
def test_stream_roundtrip(width, height):
    frames = _moving_photo(30, height, width)
    chunks = []
    with H264StreamEncoder(width, height, fps=25) as enc:
        assert (enc.coded_width, enc.coded_height) == (width + width % 2, height + height % 2)
        for rgb in frames:
            chunk = enc.encode(rgb)
            assert isinstance(chunk, bytes) and len(chunk) > 0
            assert enc.frames_delayed == 0          # one frame in, one packet out
            chunks.append(chunk)
        assert enc.flush() == b""
    assert all(_nal_types(c) for c in chunks)       # every chunk is Annex-B (starts with start codes)
    decoded = _decode(b"".join(chunks))
    assert len(decoded) == 30
    for back, rgb in zip(decoded, frames):
        assert back.shape == (enc.coded_height, enc.coded_width, 3)
        assert _mae(back[:height, :width], rgb) < 8.0
    if width % 2:
        assert decoded[5][:, -1].mean() < 40       # the padding column is black
    if height % 2:
        assert decoded[5][-1, :].mean() < 40


def test_first_frame_is_a_self_contained_keyframe():
    rgb = _moving_photo(1, 192, 256)[0]
    with H264StreamEncoder(256, 192, fps=30) as enc:
        first = enc.encode(rgb)
    types = _nal_types(first)
    assert NAL_SPS in types and NAL_PPS in types and NAL_IDR in types
    decoded = _decode(first)
    assert len(decoded) == 1 and _mae(decoded[0], rgb) < 8.0


def test_each_frame_is_decodable_right_after_its_encode():
    """No lookahead: the bytes returned so far always decode to every frame given so far."""
    frames = _moving_photo(20, 96, 128)
    stream = b""
    with H264StreamEncoder(128, 96, fps=25) as enc:
        for k, rgb in enumerate(frames):
            stream += enc.encode(rgb)
            decoded = _decode(stream)
            assert len(decoded) == k + 1
            assert _mae(decoded[-1], rgb) < 8.0


def test_keyframe_every_two_seconds_with_headers():
    frames = _moving_photo(25, 96, 128)
    with H264StreamEncoder(128, 96, fps=5) as enc:
        assert enc.gop_size == 10
        chunks = [enc.encode(rgb) for rgb in frames]
    keyframes = [i for i, c in enumerate(chunks) if NAL_IDR in _nal_types(c)]
    assert keyframes == [0, 10, 20]
    for i in keyframes:
        assert {NAL_SPS, NAL_PPS} <= set(_nal_types(chunks[i]))
    # A client joining at the second keyframe can decode from there on.
    decoded = _decode(b"".join(chunks[10:]))
    assert len(decoded) == 15 and _mae(decoded[0], frames[10]) < 8.0
    assert H264StreamEncoder(64, 48, fps=29.97).gop_size == 60


def test_rejects_bad_frames_and_use_after_end():
    enc = H264StreamEncoder(64, 48, fps=25)
    for bad in (np.zeros((48, 64), np.uint8), np.zeros((48, 64, 3), np.float32),
                np.zeros((64, 48, 3), np.uint8), np.zeros((48, 64, 4), np.uint8)):
        with pytest.raises(ValueError):
            enc.encode(bad)
    assert enc.frames_encoded == 0
    assert enc.encode(np.zeros((48, 64, 3), np.uint8))
    assert enc.flush() == b"" and enc.flush() == b""
    with pytest.raises(ValueError, match="flush"):
        enc.encode(np.zeros((48, 64, 3), np.uint8))
    enc.close()
    enc.close()
    with pytest.raises(ValueError, match="closed"):
        enc.encode(np.zeros((48, 64, 3), np.uint8))


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"height": -2}, {"fps": 0}, {"fps": float("nan")},
                                    {"keyframe_seconds": 0}])
def test_argument_checks(kwargs):
    args = {"width": 64, "height": 48, "fps": 25.0} | kwargs
    with pytest.raises(ValueError):
        H264StreamEncoder(**args)
