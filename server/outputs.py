"""What a stream yields: frames and notices, in domain types (a transport converts them)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signstream.pipeline import FrameKind


@dataclass(frozen=True)
class FrameOut:
    index: int
    sign_id: str                     # display form (with ¶); "" for Retarget frames
    kind: FrameKind
    image: bytes                     # empty for encoding "none"
    encoding: str
    width: int
    height: int
    keypoints: np.ndarray | None     # packed (K, 3) when asked for
    fps: float = 0.0                 # the stream's frame rate
    seed: int = 0                    # NEURAL streams: the seed that drew it (replays the stream)
    renderer: str = "skeleton"       # what drew it: "neural", or "skeleton" (a degraded NEURAL frame too)
    neural_steps: int = 0            # NEURAL diffusion: the sampler steps it was drawn with


@dataclass(frozen=True)
class NoticeOut:
    code: str                        # UNKNOWN_SIGN, INVALID_SIGN_ID, CORRUPT_CLIP, INVALID_IMAGE, ...
    sign_id: str
    message: str


Output = FrameOut | NoticeOut
