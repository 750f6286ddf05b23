"""`signstream stream` against a real gateway over gRPC: `--mp4` with H.264 frames muxes them into a
playable MP4, a stream without frames writes and claims no file, and each way of failing to get a
stream has its own exit code (4: nothing listens at --server; 5: the gateway wants a token)."""
from __future__ import annotations

import re
import secrets

import pytest

from signstream.cli import main
from signstream.gateway.security import read_token_file
from signstream.net import free_port
from signstream.render import probe_video, read_video_frames
from tests.support.gateway import local_gateway

SIGNS = ["¶hello", "¶name"]
SIZE = ["--width", "96", "--height", "64"]


@pytest.fixture(scope="module")
def gateway(demo_lexicon_dir):
    running = local_gateway(demo_lexicon_dir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tokens") / "tokens"
    path.write_text(secrets.token_hex(20) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def auth_gateway(demo_lexicon_dir, token_file):
    """As `signstream serve --auth-token-file F` runs it."""
    running = local_gateway(demo_lexicon_dir, auth_tokens=read_token_file(token_file))
    yield running
    running.stop()


def _frame_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("frame ")]


def test_h264_frames_are_muxed_into_the_mp4(gateway, tmp_path, capsys):
    mp4 = tmp_path / "stream.mp4"
    assert main(["stream", "--server", gateway.target, *SIGNS, *SIZE, "--fps", "20", "--encoding", "H264",
                 "--mp4", str(mp4), "--frames-dir", str(tmp_path / "frames")]) == 0
    out = capsys.readouterr().out
    frames = len(_frame_lines(out))
    assert frames > 10 and out.rstrip().endswith(f"wrote {mp4}")
    info = probe_video(mp4)
    assert (info["codec"], info["width"], info["height"], info["frames"]) == ("h264", 96, 64, frames)
    assert info["fps"] == pytest.approx(20)
    decoded = list(read_video_frames(mp4))
    assert len(decoded) == frames and max(f.max() for f in decoded) > 100      # the skeleton is drawn
    assert (tmp_path / "frames" / "stream.h264").stat().st_size > 0


def test_a_stream_without_frames_writes_no_mp4_and_says_so(gateway, tmp_path, capsys):
    mp4 = tmp_path / "none.mp4"
    assert main(["stream", "--server", gateway.target, "¶no-such-sign", *SIZE, "--mp4", str(mp4)]) == 2
    captured = capsys.readouterr()
    assert "UNKNOWN_SIGN" in captured.err
    assert f"no frame arrived, so {mp4} was not written" in captured.out and "wrote" not in captured.out
    assert not mp4.exists()


def test_a_closed_port_exits_4_saying_the_gateway_is_unreachable(tmp_path, capsys):
    target = f"127.0.0.1:{free_port()}"                 # bound and released: nothing listens there
    mp4 = tmp_path / "x.mp4"
    assert main(["stream", "--server", target, *SIGNS, "--mp4", str(mp4)]) == 4
    err = capsys.readouterr().err
    assert f"cannot reach the gateway at {target}" in err and "--server names its host and port" in err
    assert not mp4.exists()


def test_a_missing_or_wrong_token_exits_5_saying_what_to_pass(auth_gateway, token_file, tmp_path, capsys):
    argv = ["stream", "--server", auth_gateway.target, *SIGNS, "--encoding", "NONE", "--quiet"]
    assert main(argv) == 5
    err = capsys.readouterr().err
    assert "UNAUTHENTICATED" in err and "pass --auth-token-file FILE" in err
    wrong = tmp_path / "wrong"
    wrong.write_text(secrets.token_hex(20) + "\n")
    wrong.chmod(0o600)
    assert main(argv + ["--auth-token-file", str(wrong)]) == 5
    assert "the bearer token is not valid" in capsys.readouterr().err
    assert main(argv + ["--auth-token-file", str(token_file)]) == 0
    assert re.search(r"^\d+ frames, 0 notices", capsys.readouterr().out, re.M)


def test_generate_through_an_unreachable_gateway_exits_4(tmp_path, capsys):
    target = f"127.0.0.1:{free_port()}"
    assert main(["generate", "--server", target, "--sign_ids", *SIGNS, "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 4
    assert f"cannot reach the gateway at {target}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
