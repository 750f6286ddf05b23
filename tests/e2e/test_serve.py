"""`signstream serve` as users run it (it starts its own Triton), with `signstream stream` and
`signstream generate --server`, whose results match in-process generation frame for frame; /metrics;
SIGTERM drains and stops Triton last, leaving nothing running."""
from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import cv2
import numpy as np
import pytest

from signstream.clients.process import SignstreamProcess
from signstream.net import free_port
from signstream.render import read_video_frames
from signstream.results import NPZ_NAME, VIDEO_NAME, load_results_npz
from tests.support.photos import PHOTOS
from tests.support.processes import started

SIGNS = ["¶hello", "¶name", "¶thank-you"]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "signstream", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def served(demo_lexicon_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("serve")
    port, metrics_port = free_port(), free_port()
    process = SignstreamProcess(
        ["serve", "--port", str(port), "--metrics-port", str(metrics_port), "--lexicon", str(demo_lexicon_dir),
         "--wholebody", "off", "--grace", "5", "--processes", "1",
         "--triton-log-file", str(work / "triton.log")],
        "SignStream serving")
    with started(process) as server:
        yield {"server": server, "target": f"127.0.0.1:{port}", "metrics_port": metrics_port}


def test_stream_prints_per_frame_timing_and_writes_an_mp4(served, tmp_path):
    mp4 = tmp_path / "stream.mp4"
    done = _cli("stream", "--server", served["target"], *SIGNS, "--width", "128", "--height", "96",
                "--mp4", str(mp4), "--frames-dir", str(tmp_path / "frames"))
    assert done.returncode == 0, done.stderr
    frame_lines = [l for l in done.stdout.splitlines() if l.startswith("frame ")]
    assert frame_lines and re.search(r"time to first frame [\d.]+ ms", done.stdout)
    assert len(list((tmp_path / "frames").glob("*.jpg"))) == len(frame_lines)
    assert sum(1 for _ in read_video_frames(mp4)) == len(frame_lines)


def test_generate_through_the_server_matches_in_process_frame_for_frame(served, demo_lexicon_dir, tmp_path):
    style = tmp_path / "style.png"
    cv2.imwrite(str(style), cv2.cvtColor(PHOTOS["grace_hopper"](), cv2.COLOR_RGB2BGR))
    common = ["--sign_ids", *SIGNS, "--num_interpolation", "6", "--num_insert_interpolation", "1",
              "--style_image_path", str(style), "--no-progress"]
    remote = _cli("generate", "--server", served["target"], "--out", str(tmp_path / "remote"), *common)
    local = _cli("generate", "--lexicon", str(demo_lexicon_dir), "--out", str(tmp_path / "local"), *common)
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    a, b = load_results_npz(tmp_path / "remote" / NPZ_NAME), load_results_npz(tmp_path / "local" / NPZ_NAME)
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    videos = [list(read_video_frames(tmp_path / side / VIDEO_NAME)) for side in ("remote", "local")]
    assert len(videos[0]) == len(videos[1]) == len(a["keypoints"])
    assert all(np.array_equal(x, y) for x, y in zip(*videos))
    pickles = [(tmp_path / side / "normalized_keypoints.pickle").read_bytes() for side in ("remote", "local")]
    assert pickles[0] == pickles[1]


@pytest.mark.parametrize("counts", [["--num_interpolation", "0"], ["--num_interpolation", "1"], [],
                                    ["--num_interpolation", "0", "--num_insert_interpolation", "0"]],
                         ids=["n=0", "n=1", "unset", "n=0,m=0"])
def test_interpolation_counts_mean_the_same_in_process_and_through_the_server(served, demo_lexicon_dir, tmp_path,
                                                                           counts):
    """0 means no transition frames on every path (proto3 used to read an explicit 0 as unset, so the
    server made 8); not giving the flag means the default, 8, on every path too."""
    common = ["--sign_ids", "¶hello", "¶name", "--transition", "linear", "--no-progress", *counts]
    remote = _cli("generate", "--server", served["target"], "--out", str(tmp_path / "remote"), *common)
    local = _cli("generate", "--lexicon", str(demo_lexicon_dir), "--out", str(tmp_path / "local"), *common)
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    a, b = load_results_npz(tmp_path / "remote" / NPZ_NAME), load_results_npz(tmp_path / "local" / NPZ_NAME)
    n = int(counts[1]) if counts else 8
    assert int((a["kinds"] == 1).sum()) == int((b["kinds"] == 1).sum()) == n      # 1 = TRANSITION
    np.testing.assert_array_equal(a["keypoints"], b["keypoints"])


def test_generate_through_the_server_refuses_unknown_ids_and_writes_nothing(served, tmp_path):
    done = _cli("generate", "--server", served["target"], "--out", str(tmp_path / "out"),
                "--sign_ids", "¶hello", "¶nope", "--no-progress")
    assert done.returncode == 2 and "nope" in done.stderr
    assert not (tmp_path / "out" / VIDEO_NAME).exists()


def test_metrics_show_streams_and_frames(served):
    _cli("stream", "--server", served["target"], "¶friend", "--encoding", "NONE", "--quiet")
    with urllib.request.urlopen(f"http://127.0.0.1:{served['metrics_port']}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert re.search(r'signstream_frames_sent_total\{encoding="none",rpc="Synthesize"\} [1-9]', text)
    assert "signstream_time_to_first_frame_seconds_count" in text


def test_sigterm_drains_and_stops_triton_last(served):
    server = served["server"]
    assert server.stop(timeout=120) == 0, server.output
    out = server.output
    assert out.index("draining") < out.index("gateway stopped") < out.index("Triton stopped")
