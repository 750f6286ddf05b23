"""The names a session config chooses from, one table each. Domain code compares against these
members (StrEnum: a member equals its text, "jpeg" == Encoding.JPEG); the gRPC layer derives its
proto-number tables from them (a proto enum value's name is the member's name), the CLI its choices.
"""
from __future__ import annotations

from enum import StrEnum

__all__ = ["Encoding", "Pacing", "Renderer", "STILL_ENCODINGS"]


class Encoding(StrEnum):
    """What a frame's image is: a still image, one H.264 access unit, or nothing (keypoints only)."""

    JPEG = "jpeg"
    PNG = "png"
    RAW_RGB = "raw_rgb"
    H264 = "h264"
    NONE = "none"


class Pacing(StrEnum):
    ASAP = "asap"            # each frame as soon as it is made
    REALTIME = "realtime"    # frames 1/fps apart


class Renderer(StrEnum):
    SKELETON = "skeleton"    # the DWPose-style skeleton on black
    NEURAL = "neural"        # the diffusion renderer (needs its model in Triton)


STILL_ENCODINGS = frozenset({Encoding.JPEG, Encoding.PNG, Encoding.RAW_RGB})   # each frame on its own
