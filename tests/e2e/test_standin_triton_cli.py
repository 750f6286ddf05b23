"""`signstream models stand-in DIR` then `signstream triton --model-repository DIR`, both as users run
them: every model of the repository serves (random weights: the outputs are noise), the wholebody
ensemble and the NEURAL renderer answer through it, and SIGTERM stops it with nothing left running."""
from __future__ import annotations

import re

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from signstream.clients.process import SignstreamProcess
from signstream.neural.triton_client import frame_request
from signstream.net import free_port
from tests.support.photos import PHOTOS
from tests.support.processes import started
from tests.support.renderer import render
from tests.support.standins import write_standins

READY_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def standins(tmp_path_factory):
    return write_standins(tmp_path_factory.mktemp("standin-cli") / "models")


@pytest.fixture(scope="module")
def triton_cli(standins, tmp_path_factory):
    grpc_port = free_port()
    process = SignstreamProcess(
        ["triton", "--model-repository", str(standins), "--grpc-port", str(grpc_port), "--http-port", str(free_port()),
         "--metrics-port", str(free_port()), "--triton-log-file", str(tmp_path_factory.mktemp("log") / "triton.log"),
         "--quiet"], "Triton ready")
    with started(process, READY_TIMEOUT_S) as cli:
        yield cli, f"127.0.0.1:{grpc_port}"


def test_every_model_of_the_stand_in_repository_serves(standins, triton_cli):
    cli, url = triton_cli
    # every model but the aqgt family, which loads only from the user's own AQ-GT export
    every = sorted(p.parent.name for p in standins.glob("*/config.pbtxt") if not p.parent.name.startswith("aqgt_"))
    listed = re.search(r"models: ([^;]+);", cli.ready_line()).group(1).split(", ")
    assert sorted(listed) == every and {"renderer", "pose2img", "wholebody", "yolox", "dwpose"} <= set(every)
    client = grpcclient.InferenceServerClient(url)
    assert all(client.is_model_ready(name) for name in every)
    left_out = [line for line in cli.output.splitlines() if "not loaded" in line]
    assert left_out and all("aqgt_" in line for line in left_out), left_out   # nothing else left out


def test_the_wholebody_ensemble_and_the_neural_renderer_answer(triton_cli):
    _, url = triton_cli
    client = grpcclient.InferenceServerClient(url)
    image = PHOTOS["camera"]()
    image = np.ascontiguousarray(np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image)[None]
    tensor = grpcclient.InferInput("IMAGE", list(image.shape), "UINT8")
    tensor.set_data_from_numpy(image)
    result = client.infer("wholebody", [tensor])                # YOLOX + DWPose stand-ins: noise keypoints
    assert result.as_numpy("KEYPOINTS").shape == (1, 133, 2) and result.as_numpy("SCORES").shape == (1, 133)
    rng = np.random.default_rng(1)
    pose, reference = ((rng.random((64, 64, 3)) * 255).astype(np.uint8) for _ in range(2))
    frames, errors = render(url, [frame_request(9, 0, pose, reference, seed=1)], end=[9])
    assert not errors and frames[0][0].shape == (64, 64, 3)


def test_sigterm_stops_it(triton_cli):
    cli, _ = triton_cli
    assert cli.stop(timeout=90) == 0, cli.output[-2000:]
    assert "Triton stopped" in cli.output
