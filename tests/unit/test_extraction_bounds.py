"""Extraction with bounded cost: clients' images reach the models at most MODEL_MAX_SIDE px (a large
JPEG decoded at a reduced scale), keypoints unchanged as fractions of the image, and the server's
extraction slots bound how many images are decoded and extracted at once, with a refusal naming them."""
from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest

from signstream.errors import Overloaded, StyleImageError
from signstream.extract.base import LocalExtractor
from signstream.extract.bounded import MODEL_MAX_SIDE, BoundedExtractor, extract_encoded, fit_for_models
from signstream.kernels import layout
from signstream.limits import ExtractionSlots, StreamLimits
from signstream.style import decode_for_models, decode_style_image
from tests.support.photos import grace_hopper


def _large(width: int, height: int, ext: str = ".jpg") -> bytes:
    """grace_hopper in the middle of a width x height grey canvas, encoded as `ext`."""
    person = grace_hopper()
    scale = height / person.shape[0]
    person = cv2.resize(person, (round(person.shape[1] * scale), height), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((height, width, 3), 120, np.uint8)
    left = (width - person.shape[1]) // 2
    canvas[:, left:left + person.shape[1]] = person
    return cv2.imencode(ext, cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_a_large_image_reaches_the_models_at_most_max_side_with_its_own_size_kept(ext):
    data = _large(7200, 5000, ext)
    rgb, size = decode_for_models(data, MODEL_MAX_SIDE, "image", "image")
    assert size == (7200, 5000)
    assert max(rgb.shape[:2]) == MODEL_MAX_SIDE and rgb.shape[2] == 3 and rgb.dtype == np.uint8
    assert abs(rgb.shape[1] / rgb.shape[0] - 7200 / 5000) < 0.002               # aspect kept
    full = cv2.resize(decode_style_image(data, "image", "image"), (rgb.shape[1], rgb.shape[0]),
                      interpolation=cv2.INTER_AREA)
    assert np.abs(full.astype(int) - rgb.astype(int)).mean() < 3                  # the same picture


def test_a_small_image_is_decoded_as_it_is_and_bad_images_are_refused_as_before():
    small = cv2.imencode(".png", grace_hopper())[1].tobytes()
    rgb, size = decode_for_models(small, MODEL_MAX_SIDE)
    assert np.array_equal(rgb, decode_style_image(small)) and size == (rgb.shape[1], rgb.shape[0])
    with pytest.raises(StyleImageError, match="Retarget frame is truncated"):
        decode_for_models(small[:-20], MODEL_MAX_SIDE, "Retarget frame", "image")
    assert fit_for_models(rgb) is rgb
    assert fit_for_models(np.zeros((4000, 3000, 3), np.uint8)).shape == (MODEL_MAX_SIDE, 1440, 3)


def test_keypoints_from_a_36_mpx_photo_are_those_of_the_photo_seen_at_the_models_size():
    data = _large(7200, 5000)

    async def run():
        async with LocalExtractor() as extractor:
            bounded, size = await extract_encoded(extractor, data, "image", "image")
            # The same photo sent at the models' size, as a client could have: the same pose.
            small = cv2.imencode(".jpg", cv2.cvtColor(fit_for_models(decode_style_image(data)), cv2.COLOR_RGB2BGR),
                                 [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
            reference, _ = await extract_encoded(extractor, small, "image", "image")
            return bounded, size, reference

    bounded, size, reference = asyncio.run(run())
    assert size == (7200, 5000)
    body = layout.BODY
    seen = (bounded[body, 2] > 0) & (reference[body, 2] > 0)
    assert seen.sum() >= 5                                                         # a person was found
    assert np.abs(bounded[body][seen, :2] - reference[body][seen, :2]).max() < 0.01


class CountingExtractor:
    """A real extractor (MediaPipe in this process) that records how many calls run at once."""

    def __init__(self):
        self.inner = LocalExtractor()
        self.version = self.inner.version
        self.running = self.peak = 0

    async def start(self):
        await self.inner.start()
        return self

    async def extract(self, rgb):
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            return await self.inner.extract(rgb)
        finally:
            self.running -= 1

    async def ready(self):
        return True

    async def close(self):
        await self.inner.close()


def test_the_slots_bound_extractions_at_once_and_refuse_after_waiting_naming_them():
    photo = cv2.imencode(".jpg", cv2.cvtColor(grace_hopper(), cv2.COLOR_RGB2BGR))[1].tobytes()

    async def run():
        counting = CountingExtractor()
        slots = ExtractionSlots(StreamLimits(max_extractions=1, retry_after_s=0.5), wait_s=60)
        async with BoundedExtractor(counting, slots) as bounded:
            frames = await asyncio.gather(*[extract_encoded(bounded, photo, "image", "image") for _ in range(4)])
            assert counting.peak == 1 and slots.busy == 0
            impatient = ExtractionSlots(StreamLimits(max_extractions=1, retry_after_s=0.5), slots.counts, wait_s=0.1)
            async with slots.slot():                                   # the one slot is taken
                with pytest.raises(Overloaded) as refused:
                    await extract_encoded(BoundedExtractor(counting, impatient), photo, "image", "image")
            return frames, refused.value

    frames, refused = asyncio.run(run())
    assert all(np.array_equal(f[0], frames[0][0]) for f in frames)
    assert refused.status == "RESOURCE_EXHAUSTED" and refused.retry_after_s == 0.5
    assert "1 extraction slot(s) stayed busy for 0.1 s; retry in 0.5 s" in refused.message


def test_slots_default_to_one_per_two_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert ExtractionSlots(StreamLimits()).limit == 4
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert ExtractionSlots(StreamLimits()).limit == 1
    assert ExtractionSlots(StreamLimits(max_extractions=3)).limit == 3
