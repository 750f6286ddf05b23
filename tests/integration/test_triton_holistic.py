"""The real Triton (nvidia-pytriton wheel) serving `holistic`: same landmarks as in-process MediaPipe,
batching, per-request errors, metrics, and the async extraction client."""
from __future__ import annotations

import asyncio
import concurrent.futures
import urllib.request

import cv2
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from signstream.extract.base import LocalExtractor
from signstream.extract.holistic import HolisticExtractor
from signstream.extract.remote import TritonExtractor
from signstream.errors import TritonUnavailable
from signstream.kernels import layout as L
from tests.support.photos import PHOTOS

OUTPUTS = ("POSE", "FACE", "LEFT_HAND", "RIGHT_HAND")


def _infer(url: str, batch: np.ndarray, model: str = "holistic") -> dict[str, np.ndarray]:
    client = grpcclient.InferenceServerClient(url)
    tensor = grpcclient.InferInput("IMAGE", list(batch.shape), "UINT8")
    tensor.set_data_from_numpy(batch)
    result = client.infer(model, [tensor])
    return {name: result.as_numpy(name) for name in OUTPUTS}


@pytest.fixture(scope="module")
def in_process():
    with HolisticExtractor(static_image_mode=True) as extractor:
        yield extractor


@pytest.mark.parametrize("photo", sorted(PHOTOS))
def test_holistic_through_triton_matches_in_process_mediapipe(triton, in_process, photo):
    rgb = PHOTOS[photo]()
    remote = _infer(triton.grpc_url, rgb[None])
    local = in_process(rgb)
    for name, expected in zip(OUTPUTS, (local.pose, local.face, local.left_hand, local.right_hand)):
        assert remote[name].shape == (1, *expected.shape) and remote[name].dtype == np.float32
        np.testing.assert_allclose(remote[name][0], expected, atol=1e-3, err_msg=f"{photo} {name}")
    assert np.any(remote["POSE"]) and np.any(remote["FACE"])       # the person was found


def test_a_batch_of_images_gives_one_result_per_image(triton):
    astronaut = PHOTOS["astronaut"]()
    empty = np.full_like(astronaut, 200)                       # a grey wall: no person, all zeros
    out = _infer(triton.grpc_url, np.stack([astronaut, empty, astronaut]))
    assert out["POSE"].shape == (3, 33, 4) and out["FACE"].shape == (3, 478, 3)
    assert np.any(out["POSE"][0]) and not np.any(out["POSE"][1]) and not np.any(out["FACE"][1])
    np.testing.assert_allclose(out["POSE"][2], out["POSE"][0], atol=1e-5)


def test_concurrent_requests_are_batched_dynamically(triton):
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    before = client.get_inference_statistics("holistic").model_stats[0]
    small = cv2.resize(PHOTOS["grace_hopper"](), (160, 192))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _infer(triton.grpc_url, small[None]), range(16)))
    after = client.get_inference_statistics("holistic").model_stats[0]
    inferences = after.inference_count - before.inference_count
    executions = after.execution_count - before.execution_count
    assert inferences == 16
    assert executions < inferences, "queued requests should share execute() calls"
    for result in results[1:]:
        np.testing.assert_allclose(result["POSE"], results[0]["POSE"], atol=1e-5)


def test_a_bad_request_fails_alone(triton):
    with pytest.raises(InferenceServerException, match="IMAGE"):
        _infer(triton.grpc_url, np.zeros((1, 8, 8, 4), np.uint8))      # 4 channels: refused by Triton
    with pytest.raises(InferenceServerException, match="empty|0x"):
        _infer(triton.grpc_url, np.zeros((1, 0, 8, 3), np.uint8))      # empty image: refused by the model
    assert np.any(_infer(triton.grpc_url, PHOTOS["astronaut"]()[None])["POSE"])


def test_metrics_count_the_requests(triton):
    _infer(triton.grpc_url, PHOTOS["camera"]()[None])
    with urllib.request.urlopen(triton.metrics_url, timeout=10) as response:
        text = response.read().decode()
    line = next(l for l in text.splitlines() if l.startswith('nv_inference_request_success{model="holistic"'))
    assert float(line.rsplit(" ", 1)[1]) >= 1


def test_triton_extractor_gives_the_in_process_frame(triton):
    async def both(rgb):
        async with LocalExtractor() as local, TritonExtractor(triton.grpc_url, wholebody=False) as remote:
            return await local.extract(rgb), await remote.extract(rgb), local.version, remote.version

    rgb = PHOTOS["grace_hopper"]()
    local, remote, local_version, remote_version = asyncio.run(both(rgb))
    assert remote.shape == (L.NUM_POINTS, 3) and remote.dtype == np.float32
    np.testing.assert_allclose(remote, local, atol=1e-3)
    assert remote[L.BODY][L.NECK, 2] == 1.0
    assert remote_version == local_version     # same keypoints, same version: ingest rebuilds nothing


def test_triton_extractor_says_when_triton_is_not_there():
    async def attempt():
        async with TritonExtractor("127.0.0.1:9", timeout=2):
            pass

    with pytest.raises(TritonUnavailable, match="127.0.0.1:9"):
        asyncio.run(attempt())


def test_style_images_are_extracted_through_triton_when_asked(triton, tmp_path):
    from signstream.generate import load_style
    from signstream.style import style_from_image

    rgb = PHOTOS["astronaut"]()
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    remote = load_style(str(path), allow_default=True, triton_url=triton.grpc_url)

    async def through_triton():
        async with TritonExtractor(triton.grpc_url) as extractor:
            return await extractor.extract(rgb)

    expected = style_from_image(rgb, asyncio.run(through_triton()), allow_default=True)
    assert (remote.width, remote.height) == (512, 512)
    np.testing.assert_allclose(remote.params.as_array(), expected.params.as_array(), atol=1e-6)
    # This Triton has the stand-in wholebody weights, so the body differs from in-process MediaPipe's.
    local = load_style(str(path), allow_default=True)
    assert not np.allclose(remote.params.as_array(), local.params.as_array(), atol=1e-3)


def test_bad_requests_batched_with_good_ones_fail_alone(triton):
    good = cv2.resize(PHOTOS["astronaut"](), (192, 192))[None]
    empty = np.zeros((1, 0, 192, 3), np.uint8)          # passes Triton's shape check, refused by the model

    def call(batch):
        try:
            return _infer(triton.grpc_url, batch)["POSE"]
        except InferenceServerException as exc:
            return exc

    batches = [good, empty, good, good, empty, good, good, good]
    with concurrent.futures.ThreadPoolExecutor(len(batches)) as pool:
        results = list(pool.map(call, batches))
    for batch, result in zip(batches, results):
        if batch is empty:
            assert isinstance(result, InferenceServerException) and "empty" in result.message()
        else:
            assert isinstance(result, np.ndarray) and np.any(result)


def test_extraction_over_replicas_skips_one_that_is_not_there(triton):
    """`host:port` lists and `dns:///` names against the real Triton: a dead replica in the list (port 9)
    is marked down at start and its turns go to the live one; a dns:/// name (round robin over what
    `localhost` resolves to) gives the same keypoints as the plain address."""
    rgb = PHOTOS["grace_hopper"]()
    port = triton.grpc_url.rsplit(":", 1)[1]

    async def main():
        async with TritonExtractor(triton.grpc_url, wholebody=False) as plain:
            expected = await plain.extract(rgb)
        async with TritonExtractor(f"127.0.0.1:9,{triton.grpc_url}", wholebody=False, timeout=5) as listed:
            frames = [await listed.extract(rgb) for _ in range(4)]        # two of them were the dead one's turn
            ready = await listed.ready()
        async with TritonExtractor(f"dns:///localhost:{port}", wholebody=False) as named:
            frames.append(await named.extract(rgb))
        return expected, frames, ready

    expected, frames, ready = asyncio.run(main())
    assert ready
    for frame in frames:
        np.testing.assert_array_equal(frame, expected)


def test_a_list_with_no_live_replica_names_every_one():
    async def attempt():
        async with TritonExtractor("127.0.0.1:9,127.0.0.1:7", timeout=2):
            pass

    with pytest.raises(TritonUnavailable, match=r"127\.0\.0\.1:9.*127\.0\.0\.1:7"):
        asyncio.run(attempt())
