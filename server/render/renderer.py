"""Renderers: packed keypoint frames (K, 3) -> pictures (height, width, 3) uint8 of one canvas.

Every stream and the batch output (`out_video.mp4`) draw through a `Renderer`; `open_renderer(name,
width, height)` gives the one a config names. Two kinds plug in:

* a drawing renderer (`asynchronous = False`) implements `draw(frame, out, channels)`: thread-safe,
  one frame, called in the CPU pool, so several frames of a stream are drawn at once (the skeleton
  renderer; its kernel releases the GIL);
* a model renderer (`asynchronous = True`) implements `async render(frames, channels)`: up to
  `max_batch` frames per call, awaited on the event loop (a model server does the work), and may take
  longer than the frames' playing time; the frame writer keeps a batch in flight while the one before
  it is encoded and sent.

`channels` is "rgb" or "bgr" (cv2's order, which the JPEG and PNG encoders take without a swap).
"""
from __future__ import annotations

from abc import ABC
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from signstream.names import Renderer as RendererName
from signstream.render.skeleton import render_frame

__all__ = ["RENDERERS", "FrameObserver", "Renderer", "SkeletonRenderer", "ignore_frame", "open_renderer"]


class FrameObserver:
    """What a model renderer reports of its frames (the gateway's metrics implement it): `frames_sent`
    when n frames' requests went to the model server, with the seconds since the batch was asked for
    (drawing their poses, waiting for a turn); `frames_back` when their pictures came back (or
    failed), with the seconds the model server took; `degraded_frames` for frames a REALTIME stream drew
below the level it asked for (signstream.render.adaptive). Called on the event loop."""

    def frames_sent(self, n: int, queued_s: float) -> None:
        pass

    def frames_back(self, n: int, render_s: float) -> None:
        pass

    def degraded_frames(self, n: int) -> None:
        pass


ignore_frame = FrameObserver()


class Renderer(ABC):
    """Pictures of one canvas, width x height, from packed keypoint frames."""

    name: ClassVar[str]
    asynchronous: ClassVar[bool] = False
    max_batch: ClassVar[int] = 1          # frames one `render` call takes (model renderers)
    noise: ClassVar[bool] = False         # its pictures are noise (stand-in weights): every place showing them says so

    def __init__(self, width: int, height: int):
        self.width, self.height = int(width), int(height)

    def draw(self, frame: np.ndarray, out: np.ndarray | None = None, channels: str = "rgb") -> np.ndarray:
        """One frame's picture, drawn into `out` when given (same size, uint8; its content replaced)."""
        raise NotImplementedError(f"the {self.name} renderer is asynchronous: await render() instead")

    async def render(self, frames: np.ndarray, channels: str = "rgb") -> Sequence[np.ndarray]:
        """The pictures of up to `max_batch` frames (N, K, 3), in order. A drawing renderer draws them
        one by one here; the frame writer calls `draw` in the CPU pool instead."""
        return [self.draw(frame, channels=channels) for frame in frames]

    def close(self) -> None:
        """Release what the renderer holds (a model connection); idempotent."""


class SkeletonRenderer(Renderer):
    """DWPose's `draw_pose` look on black: body, hands and face as flagged in the packed layout."""

    name = RendererName.SKELETON

    def draw(self, frame: np.ndarray, out: np.ndarray | None = None, channels: str = "rgb") -> np.ndarray:
        return render_frame(frame, self.width, self.height, out=out, channels=channels)


RENDERERS: dict[str, type[Renderer]] = {RendererName.SKELETON: SkeletonRenderer}


def open_renderer(name: str, width: int, height: int) -> Renderer:
    """The renderer called `name` on a width x height canvas; KeyError for a name not in RENDERERS
    (a config is validated against RENDERERS before it gets here)."""
    return RENDERERS[name](width, height)
