"""The wholebody `model.py` adapters, driven by the `wholebody` ensemble's own wiring, with a
stand-in for `triton_python_backend_utils` (only the calls the adapters make). The real Triton runs
them in the integration tests; this catches tensor-name and shape mismatches without it.
"""
from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

from tests.support.onnx_models import write_dwpose_onnx, write_yolox_onnx

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
LETTERBOX_BOX = (100.0, 40.0, 540.0, 640.0)        # the astronaut at (80, 32, 432, 512), see test_wholebody_onnx
CENTER, SCALE = np.array([256.0, 272.0]), np.array([450.0, 600.0])


class Tensor:
    def __init__(self, name: str, array: np.ndarray):
        self._name, self._array = name, np.asarray(array)

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


class TritonError:
    def __init__(self, message: str):
        self._message = message

    def message(self) -> str:
        return self._message


class InferenceResponse:
    def __init__(self, output_tensors=(), error=None):
        self.tensors = {t.name(): t.as_numpy() for t in output_tensors}
        self.error = error


class Request:
    def __init__(self, **inputs: np.ndarray):
        self.inputs = {name: Tensor(name, array) for name, array in inputs.items()}


@pytest.fixture()
def pb_utils(monkeypatch):
    fake = types.ModuleType("triton_python_backend_utils")
    fake.Tensor, fake.TritonError, fake.InferenceResponse = Tensor, TritonError, InferenceResponse
    fake.TritonModelException = RuntimeError
    fake.get_input_tensor_by_name = lambda request, name: request.inputs.get(name)
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", fake)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)       # no __pycache__ in model_repository/
    saved = sys.modules.pop("signstream.extract.triton_adapter", None)   # re-import it against the fake
    yield fake
    sys.modules.pop("signstream.extract.triton_adapter", None)
    if saved is not None:
        sys.modules["signstream.extract.triton_adapter"] = saved


def load_model(name: str, model_repository: Path):
    """Import `model_repository/<name>/1/model.py` and initialize it the way Triton does."""
    spec = importlib.util.spec_from_file_location(f"wholebody_test_{name}", REPOSITORY / name / "1" / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.TritonPythonModel()
    if hasattr(model, "initialize"):
        config = text_format.Parse((REPOSITORY / name / "config.pbtxt").read_text(), mc.ModelConfig())
        model.initialize({
            "model_config": json_format.MessageToJson(config, preserving_proto_field_name=True),
            "model_repository": str(model_repository / name), "model_version": "1", "model_name": name,
        })
    return model


@pytest.fixture()
def models(pb_utils, tmp_path):
    """Every wholebody model, the ONNX ones on stand-ins in a copy of the repository layout."""
    rng = np.random.default_rng(11)
    peaks = rng.uniform((10, 10), (278, 374), size=(133, 2))
    (tmp_path / "yolox" / "1").mkdir(parents=True)
    (tmp_path / "dwpose" / "1").mkdir(parents=True)
    write_yolox_onnx(tmp_path / "yolox" / "1" / "yolox_l.onnx", box=LETTERBOX_BOX)
    write_dwpose_onnx(tmp_path / "dwpose" / "1" / "dw-ll_ucoco_384.onnx", peaks, batch=1)
    names = ("wholebody_pre", "yolox", "wholebody_crop", "dwpose", "wholebody_decode")
    return {name: load_model(name, tmp_path) for name in names}, peaks


def run_ensemble(models: dict, image_batch: np.ndarray) -> dict[str, np.ndarray]:
    """Run `wholebody/config.pbtxt`'s steps in order, one request per step."""
    ensemble = text_format.Parse((REPOSITORY / "wholebody" / "config.pbtxt").read_text(), mc.ModelConfig())
    tensors = {"IMAGE": image_batch}
    for step in ensemble.ensemble_scheduling.step:
        request = Request(**{key: tensors[value] for key, value in step.input_map.items()})
        (response,) = models[step.model_name].execute([request])
        assert response.error is None, f"{step.model_name}: {response.error.message()}"
        for key, value in step.output_map.items():
            tensors[value] = response.tensors[key]
    return tensors


def test_the_ensemble_steps_recover_the_keypoints(models):
    adapters, peaks = models
    rgb = skimage.data.astronaut()
    tensors = run_ensemble(adapters, np.stack([rgb, rgb]))
    assert tensors["KEYPOINTS"].shape == (2, 133, 2) and tensors["SCORES"].shape == (2, 133)
    expected = (peaks - (144, 192)) * SCALE / (288, 384) + CENTER       # crop pixels -> photo pixels
    for keypoints in tensors["KEYPOINTS"]:
        np.testing.assert_allclose(keypoints, expected, atol=1.0)
    np.testing.assert_allclose(tensors["SCORES"], 1.0)


def test_a_bad_request_fails_alone(models):
    adapters, _ = models
    rgb = skimage.data.astronaut()
    good = Request(IMAGE=rgb[None])
    gray = Request(IMAGE=rgb[None, :, :, :1])                       # one channel: not RGB
    responses = adapters["wholebody_pre"].execute([good, gray, good])
    assert [r.error is None for r in responses] == [True, False, True]
    assert "RGB" in responses[1].error.message()
    letterboxed = responses[0].tensors["images"]
    responses = adapters["yolox"].execute([
        Request(images=letterboxed), Request(images=letterboxed[:, :, :320]), Request(images=np.repeat(letterboxed, 2, 0))])
    assert [r.error is None for r in responses] == [True, False, True]
    assert responses[2].tensors["output"].shape == (2, 8400, 85)
    responses = adapters["wholebody_decode"].execute([Request(
        simcc_x=np.zeros((2, 133, 576), np.float32), simcc_y=np.zeros((1, 133, 768), np.float32),
        CENTER=np.zeros((2, 2), np.float32), SCALE=np.ones((2, 2), np.float32))])
    assert "batch size" in responses[0].error.message()


def test_missing_weights_fail_initialize_with_the_path(pb_utils, tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "yolox" / "1" / "yolox_l.onnx"))):
        load_model("yolox", tmp_path)

