"""The `wholebody` ensemble (pre -> yolox -> crop -> dwpose -> decode) in the real Triton, on small
generated ONNX models with YOLOX's and DWPose's tensor names and shapes and known outputs."""
from __future__ import annotations

import asyncio
import concurrent.futures
import os

import cv2
import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from signstream.extract.onnx_model import OnnxBatchModel
from signstream.extract.remote import TritonExtractor
from signstream.extract.wholebody import estimate_wholebody, wholebody_to_frame
from signstream.kernels import layout as L
from signstream.triton.repository import weights_digest
from tests.support.onnx_models import DWPOSE_FILE, YOLOX_FILE
from tests.support.photos import PHOTOS


def _wholebody(url: str, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    client = grpcclient.InferenceServerClient(url)
    tensor = grpcclient.InferInput("IMAGE", list(batch.shape), "UINT8")
    tensor.set_data_from_numpy(batch)
    result = client.infer("wholebody", [tensor])
    return result.as_numpy("KEYPOINTS"), result.as_numpy("SCORES")


@pytest.fixture(scope="module")
def in_process(triton_repository):
    """The same ONNX files run in this process through the same pre/post-processing functions."""
    detector = OnnxBatchModel(triton_repository / "yolox" / "1" / YOLOX_FILE)
    pose = OnnxBatchModel(triton_repository / "dwpose" / "1" / DWPOSE_FILE)
    return lambda rgb: estimate_wholebody(rgb, detector, pose)


def test_all_models_load_with_weights_and_threads_fit_the_cores(triton):
    assert {"holistic", "yolox", "dwpose", "wholebody", "wholebody_pre", "wholebody_crop",
            "wholebody_decode"} <= set(triton.ready_models())
    config = grpcclient.InferenceServerClient(triton.grpc_url).get_model_config("yolox").config
    assert config.instance_group[0].count == 1
    # yolox and dwpose (one instance each) share the cores
    assert int(config.parameters["intra_op_threads"].string_value) == max(1, os.cpu_count() // 2)


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_the_ensemble_gives_the_in_process_chain(triton, in_process, photo):
    rgb = PHOTOS[photo]()
    keypoints, scores = _wholebody(triton.grpc_url, rgb[None])
    assert keypoints.shape == (1, 133, 2) and scores.shape == (1, 133)
    expected_keypoints, expected_scores = in_process(rgb)
    np.testing.assert_allclose(keypoints[0], expected_keypoints, atol=1e-3)
    np.testing.assert_allclose(scores[0], expected_scores, atol=1e-6)
    # The stand-in's known outputs: a person box inside the image, every point but one found.
    found = scores[0] > 0
    assert found.sum() == 132 and not found[120] and np.all(keypoints[0, 120] == -1)
    h, w = rgb.shape[:2]
    assert np.all((keypoints[0, found] >= 0) & (keypoints[0, found] <= (w, h)))


def test_a_batch_and_concurrent_requests_each_get_their_own_answer(triton, in_process):
    small = cv2.resize(PHOTOS["camera"](), (200, 300))
    keypoints, _ = _wholebody(triton.grpc_url, np.stack([small, small[::-1].copy()]))
    assert keypoints.shape == (2, 133, 2)
    np.testing.assert_allclose(keypoints[0], in_process(small)[0], atol=1e-3)
    images = [PHOTOS["astronaut"](), small, PHOTOS["grace_hopper"]()] * 4
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda image: _wholebody(triton.grpc_url, image[None])[0][0], images))
    for image, result in zip(images, results):
        np.testing.assert_allclose(result, in_process(image)[0], atol=1e-3)


def test_the_extraction_client_takes_body_hands_face_from_wholebody(triton):
    rgb = PHOTOS["astronaut"]()

    async def extract():
        async with TritonExtractor(triton.grpc_url) as extractor:
            frame = await extractor.extract(rgb)
            holistic = await extractor.holistic(rgb)
            keypoints, scores = await extractor.wholebody(rgb)
            return frame, extractor.version, holistic, keypoints, scores

    frame, version, holistic, keypoints, scores = asyncio.run(extract())
    # The version names the weights: other yolox/dwpose files give another version (ingest rebuilds).
    assert f"/yolox:{weights_digest([triton.requested.model_repository / 'yolox' / '1' / YOLOX_FILE])}" in version
    assert f"/dwpose:{weights_digest([triton.requested.model_repository / 'dwpose' / '1' / DWPOSE_FILE])}" in version
    parts = wholebody_to_frame(keypoints, scores, 512, 512)
    np.testing.assert_allclose(frame[L.BODY], parts["body"], atol=1e-6)
    np.testing.assert_allclose(frame[L.LEFT_HAND], parts["left_hand"], atol=1e-6)
    np.testing.assert_allclose(frame[L.FACE], parts["face"], atol=1e-6)
    np.testing.assert_allclose(frame[L.POSE_MP], holistic.pose[:, :3], atol=1e-6)   # MediaPipe parts kept
    np.testing.assert_allclose(frame[L.FACE_MP], holistic.face, atol=1e-6)
