"""`signstream generate --renderer neural`, in-process through the real Triton on the stand-in
repository and through a gateway (`--server`), as a user runs it (the CLI's entry point). The
stand-ins' frames are noise: these tests prove the path (size, frame count, seed and replay, the
noise warning, keypoints like SKELETON's, the flag checks), never pictures."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.cli import main
from signstream.extract.remote import TritonExtractor
from signstream.lexicon import open_lexicon
from signstream.config import Settings
from signstream.net import free_port
from signstream.render import probe_video, read_video_frames
from signstream.results import NPZ_NAME, VIDEO_NAME, load_results_npz
from signstream.triton.launcher import TritonOptions, TritonServer
from tests.support.gateway import GatewayThread
from tests.support.photos import PHOTOS
from tests.support.standins import write_standins

SIZE = 64
SIGNS = ["¶hello", "¶name"]


@pytest.fixture(scope="module")
def triton(tmp_path_factory):
    standins = write_standins(tmp_path_factory.mktemp("generate_neural") / "standins")
    with TritonServer(TritonOptions(standins, grpc_port=0, http_port=0, metrics_port=0)) as server:
        yield server


@pytest.fixture(scope="module")
def style_png(tmp_path_factory):
    import cv2

    path = tmp_path_factory.mktemp("style") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(PHOTOS["astronaut"](), cv2.COLOR_RGB2BGR))
    return path


def _generate(demo_lexicon_dir, style_png, out, *flags):
    return main(["generate", "--lexicon", str(demo_lexicon_dir), "--out", str(out), "--no-progress",
                 "--transition", "linear", "--num_interpolation", "2", "--style_image_path", str(style_png),
                 "--sign_ids", *SIGNS, "--renderer", "neural", "--width", str(SIZE), "--height", str(SIZE), *flags])


def _frames(path) -> np.ndarray:
    return np.stack(list(read_video_frames(path))).astype(np.int16)


def test_in_process_writes_the_neural_video_with_its_seed_and_says_it_is_noise(triton, demo_lexicon_dir, style_png,
                                                                               tmp_path, capsys):
    first, again, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert _generate(demo_lexicon_dir, style_png, first, "--triton-url", triton.grpc_url, "--seed", "7") == 0
    printed = capsys.readouterr()
    assert "seed 7, 1 sampler step" in printed.out and "NOISE" in printed.out and "NOISE" in printed.err
    video = probe_video(first / VIDEO_NAME)
    keypoints = load_results_npz(first / NPZ_NAME)["keypoints"]
    assert (video["codec"], video["width"], video["height"]) == ("h264", SIZE, SIZE)
    assert video["frames"] == len(keypoints) > 8
    assert _generate(demo_lexicon_dir, style_png, again, "--triton-url", triton.grpc_url, "--seed", "7") == 0
    assert np.array_equal(_frames(first / VIDEO_NAME), _frames(again / VIDEO_NAME))     # the seed replays it
    assert _generate(demo_lexicon_dir, style_png, other, "--triton-url", triton.grpc_url, "--seed", "8",
                     "--neural-steps", "2") == 0
    assert "seed 8, 2 sampler steps" in capsys.readouterr().out
    assert np.abs(_frames(first / VIDEO_NAME) - _frames(other / VIDEO_NAME)).mean() > 5
    skeleton = tmp_path / "skeleton"
    assert main(["generate", "--lexicon", str(demo_lexicon_dir), "--out", str(skeleton), "--no-progress",
                 "--transition", "linear", "--num_interpolation", "2", "--style_image_path", str(style_png),
                 "--triton-url", triton.grpc_url, "--width", str(SIZE), "--height", str(SIZE), "--sign_ids", *SIGNS]) == 0
    assert np.array_equal(load_results_npz(skeleton / NPZ_NAME)["keypoints"], keypoints)   # same poses, drawn otherwise
    assert np.abs(_frames(skeleton / VIDEO_NAME) - _frames(first / VIDEO_NAME)).mean() > 5


def test_through_a_gateway_the_same_seed_gives_the_same_video(triton, demo_lexicon_dir, style_png, tmp_path, capsys):
    gateway = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))),
                            TritonExtractor(triton.grpc_url)).start()
    try:
        remote, local = tmp_path / "remote", tmp_path / "local"
        assert _generate(demo_lexicon_dir, style_png, remote, "--server", gateway.target, "--seed", "11") == 0
        printed = capsys.readouterr().out
        assert f"from {gateway.target}" in printed and "seed 11" in printed and "NOISE" in printed
        assert _generate(demo_lexicon_dir, style_png, remote / "pose2img", "--server", gateway.target,
                         "--neural-model", "pose2img") == 0
        assert "one pass a frame (pose2img" in capsys.readouterr().out
    finally:
        gateway.stop()
    assert _generate(demo_lexicon_dir, style_png, local, "--triton-url", triton.grpc_url, "--seed", "11") == 0
    np.testing.assert_array_equal(load_results_npz(remote / NPZ_NAME)["keypoints"],
                                  load_results_npz(local / NPZ_NAME)["keypoints"])
    a, b = _frames(remote / VIDEO_NAME), _frames(local / VIDEO_NAME)
    assert a.shape == b.shape == (len(a), SIZE, SIZE, 3)
    # the gateway's H.264 encoder and the file encoder see the same pictures (each lossy on its own)
    assert np.abs(a - b).mean() < 3, np.abs(a - b).mean()


@pytest.mark.parametrize(("flags", "says"), [
    ([], "--triton-url: renderer NEURAL renders on Triton"),
    (["--triton-url", "TRITON", "--neural-steps", "3"], "--neural-steps: neural_steps must be"),
    (["--triton-url", "TRITON", "--neural-model", "pose2img", "--neural-steps", "2"], "--neural-steps:"),
    (["--triton-url", "TRITON", "--width", "100"], "--width: width must be a multiple of 8"),
    (["--triton-url", "TRITON", "--seed", "-1"], "--seed: seed must be 0 (random)"),
    (["--server", "SERVER", "--neural-steps", "3"], "--neural-steps:"),
])
def test_bad_neural_flags_are_refused_naming_the_flag_and_write_nothing(triton, demo_lexicon_dir, style_png, tmp_path,
                                                                       capsys, flags, says):
    flags = [{"TRITON": triton.grpc_url, "SERVER": f"127.0.0.1:{free_port()}"}.get(f, f) for f in flags]
    assert _generate(demo_lexicon_dir, style_png, tmp_path / "out", *flags) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_neural_without_a_style_photo_or_with_skeleton_only_flags(demo_lexicon_dir, tmp_path, capsys):
    base = ["generate", "--lexicon", str(demo_lexicon_dir), "--out", str(tmp_path / "out"), "--sign_ids", "¶hello"]
    assert main([*base, "--renderer", "neural", "--triton-url", "127.0.0.1:1"]) == 2
    assert "--style_image_path: renderer NEURAL draws the person of the style image" in capsys.readouterr().err
    assert main([*base, "--neural-model", "pose2img"]) == 2
    assert "--neural-model: neural_model is for renderer NEURAL only" in capsys.readouterr().err


def test_a_triton_that_does_not_answer_is_named(demo_lexicon_dir, style_png, tmp_path, capsys):
    url = f"127.0.0.1:{free_port()}"
    assert _generate(demo_lexicon_dir, style_png, tmp_path / "out", "--triton-url", url) == 3
    assert f"cannot reach Triton at {url}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
