"""An audio file -> what the Gesture rpc takes: PCM16 little-endian mono at 16 kHz.

PyAV (FFmpeg) reads it, so WAV of any sample format, FLAC, MP3, Ogg … all work, at any rate and
channel count: FFmpeg's resampler mixes down to mono and converts to 16 kHz.
"""
from __future__ import annotations

from pathlib import Path

import av

from signstream.errors import InvalidArgument
from signstream.gesture.source import SAMPLE_RATE


def read_pcm16(path: str | Path) -> tuple[bytes, dict]:
    """(PCM16 LE mono 16 kHz bytes, what the file was: rate, channels, codec)."""
    try:
        container = av.open(str(path))
    except (OSError, av.FFmpegError) as exc:
        raise InvalidArgument(f"cannot read audio from {path}: {exc}; give a WAV (or FLAC/MP3/Ogg) file",
                              field="audio") from exc
    with container:
        if not container.streams.audio:
            raise InvalidArgument(f"{path} has no audio stream; give a WAV (or FLAC/MP3/Ogg) file", field="audio")
        stream = container.streams.audio[0]
        found = {"rate": stream.rate, "channels": stream.channels, "codec": stream.codec_context.name}
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks = []
        for frame in container.decode(stream):
            chunks += [out.to_ndarray().tobytes() for out in resampler.resample(frame)]
        chunks += [out.to_ndarray().tobytes() for out in resampler.resample(None)]
    pcm = b"".join(chunks)
    if not pcm:
        raise InvalidArgument(f"{path} holds no audio samples", field="audio")
    return pcm, found
