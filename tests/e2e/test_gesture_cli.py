"""`signstream gesture --server H:P speech.wav --mp4 OUT.mp4` against a real gateway over gRPC: a WAV of
any rate and channel count becomes one GESTURE frame per frame time, saved as a playable MP4; a file
that is not audio is refused before connecting."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from signstream.gesture.speech_corpus import make_utterance
from signstream.cli import main
from signstream.render import probe_video
from tests.support.gateway import local_gateway

SECONDS = 3.0


@pytest.fixture(scope="module")
def gateway(demo_lexicon_dir):
    running = local_gateway(demo_lexicon_dir)
    yield running
    running.stop()


def write_wav(path, rate: int, channels: int) -> None:
    audio = make_utterance(8, SECONDS).audio
    resampled = np.interp(np.arange(int(SECONDS * rate)) / rate, np.arange(len(audio)) / 16_000, audio)
    samples = np.repeat((resampled * 32767).astype("<i2")[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


@pytest.mark.parametrize("rate,channels", [(16_000, 1), (44_100, 2)])
def test_a_wav_becomes_an_mp4_of_gesture_frames(gateway, tmp_path, capsys, rate, channels):
    wav, mp4 = tmp_path / "speech.wav", tmp_path / "out.mp4"
    write_wav(wav, rate, channels)
    assert main(["gesture", "--server", gateway.target, str(wav), "--mp4", str(mp4), "--width", "96",
                 "--height", "96", "--fps", "20"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("frame ")]
    assert len(lines) == SECONDS * 20 and all(" GESTURE " in line for line in lines)
    assert f"{rate} Hz x{channels}" in captured.err and f"wrote {mp4}" in captured.out
    info = probe_video(mp4)
    assert info["frames"] == SECONDS * 20 and (info["width"], info["height"]) == (96, 96)


def test_not_audio_is_refused_before_connecting(tmp_path, capsys):
    bogus = tmp_path / "speech.wav"
    bogus.write_bytes(b"not a wav at all")
    assert main(["gesture", "--server", "127.0.0.1:1", str(bogus)]) != 0
    assert "cannot read audio" in capsys.readouterr().err
