"""Decoding source videos for ingest: only the wanted frames, early stop, fps, and damage -> CorruptVideo."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from signstream.errors import CorruptVideo
from signstream.ingest.video import FrameSpans, VideoReader, decode_frames
from signstream.render.video import read_video_frames
from tests.support.ingest_media import SHOTS, shot_frames, write_video


@pytest.fixture(scope="module")
def astronaut(video_dir):
    path = video_dir / "videos" / "astronaut.mp4"
    return path, path.read_bytes(), list(read_video_frames(path))


def test_wanted_frames_only_and_pixel_identical(astronaut):
    _, data, every = astronaut
    frames, fps, length = decode_frames(data, "videos/astronaut.mp4", [(7, 9), (1, 2), (8, 8)])
    assert sorted(frames) == [1, 2, 7, 8, 9]
    for index, rgb in frames.items():
        assert rgb.dtype == np.uint8 and rgb.shape == (320, 320, 3)
        np.testing.assert_array_equal(rgb, every[index])
    assert fps == pytest.approx(25.0)
    assert length is None                          # stopped at frame 9: the length is not known


def test_decoding_stops_after_the_last_wanted_frame(astronaut):
    _, data, every = astronaut
    with VideoReader(data, "a") as reader:
        got = [i for i, _ in reader.frames(FrameSpans.of([(1, 3)]))]
        assert got == [1, 2, 3] and reader.frames_decoded == 4 and not reader.at_end
    with VideoReader(data, "a") as reader:
        got = [i for i, _ in reader.frames(FrameSpans.of([(10, None)]))]
        assert got == [10, 11] and reader.at_end and reader.frames_decoded == len(every) == 12
    with VideoReader(data, "a") as reader:       # a range past the end yields what exists
        got = [i for i, _ in reader.frames(FrameSpans.of([(9, 40)]))]
        assert got == [9, 10, 11] and reader.at_end


def test_fps_comes_from_the_container(tmp_path):
    frames = shot_frames(SHOTS["grace_hopper"])[:3]
    data = write_video(tmp_path / "g.mp4", frames, fps=30000 / 1001)
    decoded, fps, length = decode_frames(data, "g.mp4", [(0, None)])
    assert fps == pytest.approx(29.97, abs=1e-3) and length == 3 and len(decoded) == 3


@pytest.mark.parametrize("name, data", [
    ("empty", b""),
    ("random", np.random.default_rng(7).bytes(4096)),
    ("text", b"sign_id,video\n" * 50),
])
def test_not_a_video_is_corrupt_video_naming_the_key(name, data):
    with pytest.raises(CorruptVideo) as info:
        decode_frames(data, f"videos/{name}.mp4", [(0, 3)])
    assert f"videos/{name}.mp4" in info.value.message
    assert info.value.status == "DATA_LOSS" and info.value.code == "CORRUPT_VIDEO"


def test_truncated_mp4_raises_corrupt_video(astronaut):
    _, data, _ = astronaut
    with pytest.raises(CorruptVideo, match="cannot be decoded"):
        decode_frames(data[: len(data) * 6 // 10], "cut.mp4", [(0, None)])


SWEEP = textwrap.dedent("""
    import json, sys
    from signstream.errors import CorruptVideo
    from signstream.ingest.video import decode_frames
    data = open(sys.argv[1], "rb").read()
    cuts = list(range(0, 1500, 8)) + [len(data) * k // 40 for k in range(1, 40)]
    outcome = {}
    for cut in cuts:
        try:
            frames, _, _ = decode_frames(data[:cut], "cut.mp4", [(0, None)])
            outcome[cut] = len(frames)
        except CorruptVideo:
            outcome[cut] = "corrupt"
    print(json.dumps(outcome))
""")


def test_every_truncation_is_an_error_or_fewer_frames_never_a_crash(astronaut):
    """PyAV 16 segfaults when asked to decode a stream without codec parameters (an MP4 cut inside
    its header); the reader must refuse those. Run in a child process so a crash fails one test."""
    path, data, every = astronaut
    proc = subprocess.run([sys.executable, "-c", SWEEP, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"decoder crashed (exit {proc.returncode}): {proc.stderr[-2000:]}"
    outcome = json.loads(proc.stdout)
    assert all(v == "corrupt" or 0 < v < len(every) for v in outcome.values())
    assert outcome["0"] == "corrupt" and "corrupt" in outcome.values()
