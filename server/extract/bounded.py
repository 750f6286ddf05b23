"""Extraction with bounded cost: every image a client sends is scaled down to what the models use and
decoded and extracted under one of the server's extraction slots.

    extractor = BoundedExtractor(TritonExtractor(url), ExtractionSlots(limits, counts))
    frame, (width, height) = await extract_encoded(extractor, data, "Retarget frame", "image")

Keypoints are fractions of the image, so a 40 Mpx photo scaled to MODEL_MAX_SIDE gives the same
pose for a tenth of the decode and a fiftieth of Triton's memory, and the slots keep clients' images
from taking every core from the streams being rendered (README "Limits").
"""
from __future__ import annotations

import asyncio

import cv2
import numpy as np

from signstream.extract.base import FrameExtractor
from signstream.limits import ExtractionSlots
from signstream.style import decode_for_models

# The largest side an image keeps on its way to the models: YOLOX sees 640², DWPose a 288 x 384 crop
# of the person, MediaPipe's pose 256² and its hand and face crops come from the image itself, so
# 1920 px keeps a hand in a full-body photo as sharp as the models can use.
MODEL_MAX_SIDE = 1920


def fit_for_models(rgb: np.ndarray, max_side: int = MODEL_MAX_SIDE) -> np.ndarray:
    """`rgb` with no side over `max_side` (area average, aspect kept); `rgb` itself when it fits."""
    scale = max_side / max(rgb.shape[:2])
    if scale >= 1.0:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


class BoundedExtractor:
    """A FrameExtractor whose calls each hold an extraction slot and see at most MODEL_MAX_SIDE px."""

    def __init__(self, inner: FrameExtractor, slots: ExtractionSlots, max_side: int = MODEL_MAX_SIDE):
        self.inner, self.slots, self.max_side = inner, slots, max_side

    @property
    def version(self) -> str:
        return self.inner.version

    async def start(self) -> "BoundedExtractor":
        await self.inner.start()
        return self

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def close(self) -> None:
        await self.inner.close()

    async def extract(self, rgb: np.ndarray) -> np.ndarray:
        async with self.slots.slot():
            return await self.inner.extract(await asyncio.to_thread(fit_for_models, rgb, self.max_side))

    async def extract_encoded(self, data: bytes, name: str, field: str) -> tuple[np.ndarray, tuple[int, int]]:
        """Decode (scaled down) and extract under one slot: (packed frame, the image's own size)."""
        async with self.slots.slot():
            rgb, size = await asyncio.to_thread(decode_for_models, data, self.max_side, name, field)
            return await self.inner.extract(rgb), size

    async def __aenter__(self) -> "BoundedExtractor":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()


async def extract_encoded(extractor: FrameExtractor, data: bytes, name: str = "style image",
                          field: str = "style_image") -> tuple[np.ndarray, tuple[int, int]]:
    """An encoded image's packed frame and its own (width, height): under a slot when `extractor` is
    bounded, and always seen by the models at most MODEL_MAX_SIDE px. StyleImageError (INVALID_ARGUMENT)
    for an image that cannot be used, naming `field`."""
    if isinstance(extractor, BoundedExtractor):
        return await extractor.extract_encoded(data, name, field)
    rgb, size = await asyncio.to_thread(decode_for_models, data, MODEL_MAX_SIDE, name, field)
    return await extractor.extract(rgb), size
