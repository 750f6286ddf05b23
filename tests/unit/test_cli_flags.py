"""Numeric flags of `lexicon`, `stream`, `generate` and `ingest` refuse values out of range as argparse
does (usage, exit 2, the flag named), and `stream` refuses output flags its encoding cannot fill, before
it connects to anything."""
from __future__ import annotations

import pytest

from signstream.cli import main
from signstream.net import free_port

SERVER = ["--server", f"127.0.0.1:{free_port()}"]         # nothing listens: no check may depend on a server
CASES = {
    "lexicon limit": (["lexicon", "list", "lexicon", "--limit", "-5"], "--limit", "-5 is below 0"),
    "lexicon limit text": (["lexicon", "list", "lexicon", "--limit", "all"], "--limit", "'all' is not a whole number"),
    "stream width": (["stream", *SERVER, "¶hello", "--width", "-5"], "--width", "-5 is below 0"),
    "stream height": (["stream", *SERVER, "¶hello", "--height", "-1"], "--height", "-1 is below 0"),
    "stream fps": (["stream", *SERVER, "¶hello", "--fps", "-25"], "--fps", "-25 is below 0"),
    "stream fps nan": (["stream", *SERVER, "¶hello", "--fps", "nan"], "--fps", "'nan' is not a finite number"),
    "stream interpolation": (["stream", *SERVER, "¶hello", "--num_interpolation", "-1"], "--num_interpolation",
                             "-1 is below 0"),
    "generate interpolation": (["generate", "--sign_ids", "¶hello", "--num_interpolation", "-3"],
                               "--num_interpolation", "-3 is below 0"),
    "generate insert": (["generate", *SERVER, "--sign_ids", "¶hello", "--num_insert_interpolation", "-1"],
                        "--num_insert_interpolation", "-1 is below 0"),
    "ingest concurrency": (["ingest", "--videos", "v", "--table", "t.csv", "--concurrency", "0"], "--concurrency",
                           "0 is below 1"),
    "ingest commit": (["ingest", "--videos", "v", "--table", "t.csv", "--commit-every", "2.5"], "--commit-every",
                      "'2.5' is not a whole number"),
}


@pytest.mark.parametrize("argv, flag, problem", CASES.values(), ids=CASES.keys())
def test_a_numeric_flag_out_of_range_is_a_usage_error(argv, flag, problem, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {flag}: {problem}" in err and "or more" in err and "Traceback" not in err


@pytest.mark.parametrize("outputs", [["--mp4", "out.mp4"], ["--frames-dir", "frames"],
                                     ["--mp4", "out.mp4", "--frames-dir", "frames"]], ids=["mp4", "frames-dir", "both"])
def test_stream_refuses_picture_outputs_with_encoding_none(outputs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["stream", *SERVER, "¶hello", "--encoding", "NONE", *outputs]) == 2
    err = capsys.readouterr().err
    assert "--encoding NONE sends keypoints only" in err and "choose --encoding JPEG, PNG, RAW_RGB, H264" in err
    assert all(flag in err for flag in outputs[::2])
    assert "wrote" not in err and "gateway" not in err         # refused before connecting
    assert list(tmp_path.iterdir()) == []
