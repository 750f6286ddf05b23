"""Which image formats a style image or a frame may be in (style.IMAGE_FORMATS, README "Bad input"):
still JPEG, PNG, WebP, BMP and TIFF pictures of a real photo decode; an animation or a multi-page
file is refused saying how many frames it has; any other format is refused by name. Every refusal
lists the accepted formats as the one table gives them."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from signstream.errors import StyleImageError
from signstream.style import ACCEPTED_FORMATS, IMAGE_FORMATS, decode_style_image
from tests.support.photos import grace_hopper

PHOTO = grace_hopper()


def _saved(fmt: str, frames: int = 1, **options) -> bytes:
    """The photo in `fmt`; with frames > 1 an animation (or pages) of the photo rolled sideways."""
    pictures = [Image.fromarray(np.roll(PHOTO, 40 * i, axis=1)) for i in range(frames)]
    out = io.BytesIO()
    extra = {"save_all": True, "append_images": pictures[1:]} if frames > 1 else {}
    pictures[0].save(out, format=fmt, **extra, **options)
    return out.getvalue()


def _refusal(data: bytes) -> str:
    with pytest.raises(StyleImageError) as info:
        decode_style_image(data)
    return info.value.message


def test_the_accepted_formats_come_from_the_one_table():
    assert ACCEPTED_FORMATS == "JPEG, PNG, WebP, BMP or TIFF"
    assert all(name in ACCEPTED_FORMATS for name in IMAGE_FORMATS.values())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF"])
def test_a_still_photo_in_each_accepted_format_decodes(fmt):
    rgb = decode_style_image(_saved(fmt, **({"lossless": True} if fmt == "WEBP" else {})))
    assert rgb.shape == PHOTO.shape and rgb.dtype == np.uint8
    if fmt != "JPEG":                                          # lossless: the very pixels
        assert np.array_equal(rgb, PHOTO)


def test_a_camera_jpeg_with_a_second_picture_decodes_as_its_first():
    """MPO: the JPEG cameras write with a preview or depth map after the picture; not two frames."""
    rgb = decode_style_image(_saved("MPO", frames=2))
    assert rgb.shape == PHOTO.shape


@pytest.mark.parametrize("fmt, shown", [("GIF", "GIF"), ("WEBP", "WebP"), ("PNG", "PNG"), ("TIFF", "TIFF")])
def test_an_animation_or_multi_page_file_is_refused_saying_its_frames(fmt, shown):
    message = _refusal(_saved(fmt, frames=3))
    assert f"has 3 frames ({shown})" in message and "only still images" in message, message
    assert message.endswith(ACCEPTED_FORMATS) and "truncated" not in message and "corrupt" not in message


@pytest.mark.parametrize("fmt", ["GIF", "PPM", "ICO"])
def test_another_format_is_refused_by_name(fmt):
    message = _refusal(_saved(fmt))
    assert f"is a {fmt} image, which is not accepted" in message and message.endswith(ACCEPTED_FORMATS), message


@pytest.mark.parametrize("data", [b"", b"not an image at all", _saved("BMP")[:5000], _saved("JPEG")[:5000]],
                         ids=["empty", "text", "truncated BMP", "truncated JPEG"])
def test_refusals_name_the_accepted_formats_or_say_to_send_the_whole_file(data):
    message = _refusal(data)
    assert "JPEG or PNG" not in message
    if "not a readable" in message or "is empty" in message:
        assert ACCEPTED_FORMATS in message, message
    else:
        assert "truncated" in message and "send the whole file" in message, message
