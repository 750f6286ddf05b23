"""Images sent to the gateway, over real gRPC: an ExtractKeypoints error names that RPC's own field
(`image`), a still WebP photo is extracted like a PNG, and an animated GIF sent as a Retarget frame
is a Notice saying how many frames it has, after which the stream goes on."""
from __future__ import annotations

import asyncio
import io

import cv2
import grpc
import numpy as np
import pytest
from PIL import Image

from signstream.clients.client import SignStreamClient
from signstream.config import Settings
from signstream.extract.base import LocalExtractor
from signstream.lexicon import open_lexicon
from signstream.style import ACCEPTED_FORMATS
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import GatewayThread
from tests.support.photos import grace_hopper

PHOTO = grace_hopper()


@pytest.fixture(scope="module")
def gateway(demo_lexicon_dir):
    """A gateway over the demo lexicon with the in-process extractor (no Triton)."""
    running = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), LocalExtractor()).start()
    yield running
    running.stop()


def _call(gateway, use):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            return await use(client)
    return asyncio.run(main())


def _extract_error(gateway, image: bytes) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        _call(gateway, lambda client: client.extract(image))
    return failure.value


@pytest.mark.parametrize("image", [b"", b"\x89PNG broken", cv2.imencode(".png", PHOTO)[1].tobytes()[:3000]],
                         ids=["empty", "garbage", "truncated PNG"])
def test_extract_keypoints_errors_name_its_image_field(gateway, image):
    error = _extract_error(gateway, image)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("image") and "style_image" not in error.details(), error.details()


def test_extract_keypoints_takes_a_still_webp_photo(gateway):
    webp = cv2.imencode(".webp", cv2.cvtColor(PHOTO, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, 95])[1]
    keypoints = _call(gateway, lambda client: client.extract(webp.tobytes()))
    body = np.array(keypoints.body).reshape(18, 2)
    assert np.isfinite(body[1]).all() and (body[1] > 0).all()           # her neck was found


def _animated_gif(frames: int) -> bytes:
    pictures = [Image.fromarray(np.roll(PHOTO, 40 * i, axis=1)) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:])
    return out.getvalue()


def test_an_animated_gif_retarget_frame_is_a_notice_saying_its_frames(gateway):
    config = pb.SessionConfig(encoding=pb.NONE)
    still = cv2.imencode(".jpg", cv2.cvtColor(PHOTO, cv2.COLOR_RGB2BGR))[1].tobytes()

    async def main(client):
        call = client.retarget(config)
        for frame in (_animated_gif(4), still):
            await call.send(frame)
        await call.done_sending()
        return [response async for response in call]

    responses = _call(gateway, main)
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
    assert [n.code for n in notices] == ["INVALID_IMAGE"]
    assert "has 4 frames (GIF)" in notices[0].message and ACCEPTED_FORMATS in notices[0].message, notices[0].message
    assert [r.frame.index for r in responses if r.WhichOneof("kind") == "frame"] == [0]
