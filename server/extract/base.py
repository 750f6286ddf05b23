"""What every keypoint extractor offers: an RGB image in, one packed frame out, asynchronously.

Two implementations: `LocalExtractor` (MediaPipe Holistic in this process, in a worker thread) and
`signstream.extract.remote.TritonExtractor` (Triton's `holistic` and, when its weights are there,
`wholebody`). Style images, `ingest` and `Retarget` take either.
"""
from __future__ import annotations

import asyncio
from typing import Protocol

import numpy as np

from signstream.extract.holistic import HOLISTIC_VERSION, HolisticExtractor


class FrameExtractor(Protocol):
    """Async image -> packed frame. `version` names the models and their settings: two extractors
    with the same version give the same keypoints for the same image."""

    version: str

    async def start(self) -> "FrameExtractor":
        """Get ready (e.g. check Triton's models); returns self. `async with` calls it."""
        ...

    async def extract(self, rgb: np.ndarray) -> np.ndarray:
        """rgb (H, W, 3) uint8 -> packed frame (K, 3) float32 (kernels/layout.py)."""
        ...

    async def ready(self) -> bool:
        """Whether extraction can be served right now (gateway health polls it; never raises)."""
        ...

    async def close(self) -> None: ...


class LocalExtractor:
    """MediaPipe Holistic in this process (static image mode), one image at a time in a thread so
    the event loop stays free. MediaPipe serializes calls on one graph anyway."""

    version = HOLISTIC_VERSION

    def __init__(self) -> None:
        self._holistic = HolisticExtractor(static_image_mode=True)

    async def start(self) -> "LocalExtractor":
        return self

    async def extract(self, rgb: np.ndarray) -> np.ndarray:
        arrays = await asyncio.to_thread(self._holistic, rgb)
        return arrays.to_frame()

    async def ready(self) -> bool:
        return True

    async def close(self) -> None:
        self._holistic.close()

    async def __aenter__(self) -> "LocalExtractor":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()


def open_extractor(triton_url: str | None, wholebody: bool | None = None) -> FrameExtractor:
    """Triton's extraction when a URL is given, else MediaPipe in this process (not yet started:
    use it with `async with`)."""
    if not triton_url:
        return LocalExtractor()
    from signstream.extract.remote import TritonExtractor  # tritonclient loads only when used

    return TritonExtractor(triton_url, wholebody=wholebody)


async def extract_once(rgb: np.ndarray, extractor: FrameExtractor) -> tuple[np.ndarray, str]:
    """Start `extractor`, extract one image, close it: (packed frame, extractor version)."""
    async with extractor:
        return await extractor.extract(rgb), extractor.version
