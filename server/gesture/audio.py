"""The Gesture stream's audio on the wire: PCM16 little-endian mono at 16 kHz, at most 0.5 s a chunk."""
from __future__ import annotations

import numpy as np

from signstream.errors import InvalidAudio
from signstream.gesture.source import MAX_CHUNK_SAMPLES, SAMPLE_RATE

MAX_CHUNK_BYTES = 2 * MAX_CHUNK_SAMPLES


def decode_pcm16(data: bytes, position: int | None = None) -> np.ndarray:
    """PCM16 LE bytes -> float32 samples in [-1, 1); InvalidAudio for an odd length or a chunk over 0.5 s
    (`position`: the chunk's place among the audio chunks sent, for the message)."""
    where = f"audio chunk {position}" if position is not None else "audio chunk"
    if len(data) % 2:
        raise InvalidAudio(f"{where} has {len(data)} bytes, an odd number: audio is PCM16 (2 bytes a sample), "
                           f"little-endian, mono, {SAMPLE_RATE} Hz", field="audio")
    if len(data) > MAX_CHUNK_BYTES:
        raise InvalidAudio(f"{where} has {len(data):,} bytes, over the {MAX_CHUNK_BYTES:,} of 0.5 s of PCM16 "
                           f"mono {SAMPLE_RATE} Hz: send the audio in chunks of at most 0.5 s", field="audio")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
