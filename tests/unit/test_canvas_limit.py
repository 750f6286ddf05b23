"""One rule for the canvas whatever sets it: explicit width/height up to 4096 (beyond: refused), or
the style image's size scaled down to at most 4096 a side; and no stream starts whose frames could
be larger than one message may be."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from signstream.errors import InvalidArgument, LimitExceeded
from signstream.render.encode import worst_frame_bytes
from signstream.session import open_synthesis
from signstream.spec import MAX_SIDE, SessionSpec, check_frame_size, on_canvas
from signstream.style import default_style, fit_canvas
from tests.support.photos import grace_hopper


@pytest.mark.parametrize("size, given, want", [
    ((8000, 5000), (0, 0), (4096, 2560)),        # the photo sets the canvas: scaled down, aspect kept
    ((5000, 8000), (0, 0), (2560, 4096)),
    ((1200, 900), (0, 0), (1200, 900)),          # small enough: as it is
    ((8000, 5000), (512, 0), (512, 4096)),       # the height still comes from the photo: only the sides
    ((8000, 5000), (0, 300), (4096, 300)),       # taken from it are scaled
    ((8000, 5000), (640, 480), (640, 480)),      # both given: the photo's size does not count
])
def test_fit_canvas(size, given, want):
    style = fit_canvas(default_style(*size), *given)
    assert (style.width, style.height) == want
    assert max(style.width, style.height) <= MAX_SIDE


def test_explicit_sides_over_the_limit_are_refused():
    with pytest.raises(InvalidArgument, match="width must be 1..4096"):
        SessionSpec(width=MAX_SIDE + 1).validated()


def test_on_canvas_applies_the_rule_to_a_stream():
    style = on_canvas(SessionSpec(), default_style(8000, 5000))
    assert (style.width, style.height) == (4096, 2560)


@pytest.mark.parametrize("encoding", ["raw_rgb", "png", "jpeg", "h264"])
def test_a_frame_that_could_pass_the_message_limit_is_refused_before_rendering(encoding):
    spec = SessionSpec(encoding=encoding)
    with pytest.raises(LimitExceeded, match="over the server's 16.0 MiB message limit"):
        check_frame_size(spec, 4096, 4096, 16 * 2**20)
    check_frame_size(spec, 4096, 4096, 64 * 2**20)            # the gateway's default send limit
    check_frame_size(spec, 4096, 4096, None)
    check_frame_size(SessionSpec(encoding="none"), 4096, 4096, 16 * 2**20)   # keypoints only: small
    assert worst_frame_bytes("raw_rgb", 4096, 4096, False) >= 4096 * 4096 * 3


def test_a_huge_style_photo_streams_frames_of_at_most_4096(demo_lexicon_dir):
    """An 8000x5000 photo (legal as a style image) used to give 8000x5000 frames; now 4096x2560,
    and a RAW_RGB frame is exactly that many pixels, within the 64 MiB send limit."""
    from signstream.config import Settings
    from signstream.extract.base import LocalExtractor
    from signstream.lexicon import open_lexicon

    person = grace_hopper()
    person = cv2.resize(person, (person.shape[1] * 5000 // person.shape[0], 5000), interpolation=cv2.INTER_LINEAR)
    photo = np.zeros((5000, 8000, 3), dtype=np.uint8)
    photo[:, 1800:1800 + person.shape[1]] = person
    data = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()
    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))

    async def main():
        async with LocalExtractor() as extractor:
            with ThreadPoolExecutor(2) as pool:
                spec = SessionSpec(style_image=data, encoding="raw_rgb")
                session = await open_synthesis(spec, lexicon, extractor, pool, max_frame_bytes=64 * 2**20)
                try:
                    frames = []
                    async for out in session.add("¶hello"):
                        frames.append(out)
                        if len(frames) == 3:
                            break
                    return frames
                finally:
                    session.close()

    frames = asyncio.run(main())
    assert [(f.width, f.height) for f in frames] == [(4096, 2560)] * 3
    assert all(len(f.image) == 4096 * 2560 * 3 for f in frames)
