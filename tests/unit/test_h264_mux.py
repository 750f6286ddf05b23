"""mux_h264_to_mp4: the Annex-B stream of an H264 gRPC stream copied into an MP4, frame for frame, at
the stream's rate; nothing written for an empty stream or bytes that are not H.264."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest
from skimage.data import astronaut

from signstream.render import H264StreamEncoder, probe_video, read_video_frames
from signstream.render.h264_mux import mux_h264_to_mp4


def _stream(frames: int, height: int = 64, width: int = 81, fps: float = 25.0) -> bytes:
    """What the gateway's frames of an H264 stream carry, concatenated (odd width: padded by the encoder)."""
    photo = astronaut()
    with H264StreamEncoder(width, height, fps=fps) as encoder:
        data = b"".join(encoder.encode(np.ascontiguousarray(photo[2 * i:2 * i + height, 3 * i:3 * i + width]))
                        for i in range(frames))
        return data + encoder.flush()


def test_every_frame_is_copied_as_it_is_at_the_streams_rate(tmp_path):
    data = _stream(30, fps=12.5)
    path = tmp_path / "out.mp4"
    assert mux_h264_to_mp4(data, path, fps=12.5) == 30
    info = probe_video(path)
    assert (info["codec"], info["pix_fmt"], info["width"], info["height"]) == ("h264", "yuv420p", 82, 64)
    assert info["frames"] == 30 and info["fps"] == pytest.approx(12.5)
    with av.open(io.BytesIO(data), format="h264") as raw:
        expected = [f.to_ndarray(format="rgb24") for f in raw.decode(video=0)]
    got = list(read_video_frames(path))
    assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected))   # no re-encode


@pytest.mark.parametrize("data", [b"", b"this is not an H.264 stream" * 10], ids=["empty", "garbage"])
def test_no_file_without_frames(tmp_path, data):
    path = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="was not written"):
        mux_h264_to_mp4(data, path, fps=25.0)
    assert not path.exists()
