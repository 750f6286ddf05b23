"""Shared pytest fixtures. Keep each fixture small and documented; append new ones below."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from signstream.triton.launcher import TritonOptions, TritonServer
from tests.support.s3_faults import MotoServer

SHIPPED_MODEL_REPOSITORY = Path(__file__).resolve().parents[1] / "model_repository"

# Fake credentials for the moto server; the real ones of whoever runs the tests must never be used.
_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_SESSION_TOKEN": None,
    "AWS_SECURITY_TOKEN": None,
    "AWS_PROFILE": None,
}


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory) -> str:
    """A real `moto_server` (S3 over HTTP) on 127.0.0.1; yields its endpoint URL.

    Sets fake AWS credentials in os.environ for the session and restores the previous values after.
    """
    saved = {name: os.environ.get(name) for name in _FAKE_AWS_ENV}
    for name, value in _FAKE_AWS_ENV.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    moto = MotoServer(tmp_path_factory.mktemp("moto") / "moto_server.log")
    try:
        try:
            moto.start()
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield moto.endpoint
    finally:
        moto.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def triton_repository(tmp_path_factory) -> Path:
    """The shipped model repository, copied, with small generated YOLOX and DWPose ONNX weights
    (same tensor names and shapes as the real ones; known outputs, see tests/support/onnx_models.py)."""
    from tests.support import onnx_models

    dest = tmp_path_factory.mktemp("triton") / "model_repository"
    shutil.copytree(SHIPPED_MODEL_REPOSITORY, dest, ignore=shutil.ignore_patterns("*.onnx", "*.plan", "__pycache__"))
    onnx_models.write_test_weights(dest)
    return dest


@pytest.fixture(scope="session")
def triton(triton_repository) -> TritonServer:
    """The real tritonserver from the nvidia-pytriton wheel on free loopback ports, stopped at the end."""
    with TritonServer(TritonOptions(triton_repository, grpc_port=0, http_port=0, metrics_port=0)) as server:
        yield server


def _has_gpu() -> bool:
    """TensorRT and pycuda importable and an NVIDIA device visible."""
    try:
        import pycuda.driver as cuda
        import tensorrt  # noqa: F401

        cuda.init()
        return cuda.Device.count() > 0
    except Exception:  # noqa: BLE001 - any failure here means "no usable GPU"
        return False


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` skip on machines without an NVIDIA GPU, TensorRT and pycuda."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if gpu_items and not _has_gpu():
        skip = pytest.mark.skip(reason="needs an NVIDIA GPU with TensorRT and pycuda ([gpu] extra)")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_lexicon_dir(tmp_path_factory) -> Path:
    """The demo lexicon (14 procedurally animated word signs and 26 letter signs fs-a..fs-z, at 25 fps),
    written once."""
    from signstream.lexicon.demo import write_demo_lexicon

    root = tmp_path_factory.mktemp("demo_lexicon")
    write_demo_lexicon(str(root))
    return root


@pytest.fixture(scope="session")
def gateway(triton, demo_lexicon_dir):
    """The gateway over real gRPC on a free loopback port: the demo lexicon, extraction through the
    session's Triton (Holistic only, so results match in-process extraction)."""
    from signstream.config import Settings
    from signstream.extract.remote import TritonExtractor
    from signstream.lexicon import open_lexicon
    from tests.support.gateway import GatewayThread

    running = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))),
                            TritonExtractor(triton.grpc_url, wholebody=False)).start()
    yield running
    running.stop()
