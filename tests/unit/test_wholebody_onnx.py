"""The wholebody chain on ONNX Runtime with generated stand-ins for yolox_l / dw-ll_ucoco_384
(same tensor names and shapes), the batching session wrapper, and the model repository's configs.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import skimage.data
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

from signstream.extract.onnx_model import OnnxBatchModel
from signstream.extract.wholebody import (
    crop_batch,
    crop_for_dwpose,
    decode_batch,
    decode_simcc,
    decode_yolox,
    estimate_wholebody,
    letterbox,
    locate_person,
    preprocess_batch,
    select_person,
)
from tests.support.onnx_models import write_dwpose_onnx, write_yolox_onnx

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
WHOLEBODY_MODELS = ("yolox", "dwpose", "wholebody_pre", "wholebody_crop", "wholebody_decode", "wholebody")

# The astronaut (512 x 512) is letterboxed with ratio 1.25. The stand-in detector finds her at
# LETTERBOX_BOX, i.e. (80, 32, 432, 512) in the photo: centre (256, 272), size (352, 480) * 1.25 =
# (440, 600), widened to 288:384 -> a 450 x 600 crop.
LETTERBOX_BOX = (100.0, 40.0, 540.0, 640.0)
CENTER, SCALE = np.array([256.0, 272.0]), np.array([450.0, 600.0])


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def to_crop(points: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Image pixels -> 288 x 384 crop pixels (rtmlib's affine, written out)."""
    return (points - center) * (288.0, 384.0) / scale + (144.0, 192.0)


@pytest.fixture(scope="module")
def truth() -> tuple[np.ndarray, np.ndarray]:
    """133 keypoints (photo pixels) inside the crop, their scores; keypoints 7 and 100 missing."""
    rng = np.random.default_rng(7)
    points = rng.uniform((60, 10), (450, 560), size=(133, 2))
    scores = rng.uniform(0.2, 1.0, size=133).astype(np.float32)
    scores[[7, 100]] = 0.0
    return points, scores


@pytest.fixture(scope="module")
def weights(tmp_path_factory, truth) -> dict[str, Path]:
    points, scores = truth
    peaks = to_crop(points, CENTER, SCALE)
    assert np.all((peaks >= 0) & (peaks < (288, 384)))
    peaks[[7, 100]] = -1.0                                  # no peak at all
    folder = tmp_path_factory.mktemp("weights")
    return {
        "yolox": write_yolox_onnx(folder / "yolox_l.onnx", box=LETTERBOX_BOX, score=0.9),
        "yolox_nobody": write_yolox_onnx(folder / "yolox_nobody.onnx", box=LETTERBOX_BOX, score=0.2),
        "dwpose": write_dwpose_onnx(folder / "dw-ll_ucoco_384.onnx", peaks, scores),
        "dwpose_fixed": write_dwpose_onnx(folder / "dwpose_fixed.onnx", peaks, scores, batch=1),
    }


# ---- the stand-ins themselves ----

@pytest.mark.parametrize("batch", [1, 3])
def test_yolox_stand_in_has_the_real_interface_and_one_person(weights, batch):
    yolox = session(weights["yolox"])
    assert [(i.name, i.shape) for i in yolox.get_inputs()] == [("images", ["batch", 3, 640, 640])]
    assert [(o.name, o.shape) for o in yolox.get_outputs()] == [("output", ["batch", 8400, 85])]
    images = np.random.default_rng(0).uniform(0, 255, (batch, 3, 640, 640)).astype(np.float32)
    (output,) = yolox.run(None, {"images": images})
    assert output.shape == (batch, 8400, 85)
    for item in output:
        boxes, scores = decode_yolox(item, 1.25)
        np.testing.assert_allclose(boxes, [np.array(LETTERBOX_BOX) / 1.25], atol=1e-3)
        np.testing.assert_allclose(scores, [0.9], rtol=1e-6)


@pytest.mark.parametrize("batch", [1, 3])
def test_dwpose_stand_in_has_the_real_interface_and_its_peaks(weights, truth, batch):
    dwpose = session(weights["dwpose"])
    assert [(i.name, i.shape) for i in dwpose.get_inputs()] == [("input", ["batch", 3, 384, 288])]
    assert [(o.name, o.shape) for o in dwpose.get_outputs()] == [
        ("simcc_x", ["batch", 133, 576]), ("simcc_y", ["batch", 133, 768])]
    simcc_x, simcc_y = dwpose.run(None, {"input": np.zeros((batch, 3, 384, 288), np.float32)})
    assert simcc_x.shape == (batch, 133, 576) and simcc_y.shape == (batch, 133, 768)
    peaks = to_crop(truth[0], CENTER, SCALE)
    found = np.stack([simcc_x[-1].argmax(axis=1), simcc_y[-1].argmax(axis=1)], axis=1) / 2
    keep = truth[1] > 0
    np.testing.assert_allclose(found[keep], peaks[keep], atol=0.25 + 1e-6)


# ---- the chain in this process ----

def test_chain_recovers_the_keypoints_in_photo_pixels(weights, truth):
    rgb = skimage.data.astronaut()
    yolox, dwpose = session(weights["yolox"]), session(weights["dwpose"])
    images, ratio = letterbox(rgb)
    assert ratio == 1.25
    (output,) = yolox.run(None, {"images": images[None]})
    box = select_person(*decode_yolox(output[0], ratio))
    np.testing.assert_allclose(box, [80, 32, 432, 512], atol=1e-3)
    center, scale = locate_person(output[0], ratio, 512, 512)
    np.testing.assert_allclose(center, CENTER, atol=1e-3)
    np.testing.assert_allclose(scale, SCALE, atol=1e-3)
    simcc_x, simcc_y = dwpose.run(None, {"input": crop_for_dwpose(rgb, center, scale)[None]})
    keypoints, scores = decode_simcc(simcc_x[0], simcc_y[0], center, scale)
    points, expected_scores = truth
    found = expected_scores > 0
    # Half-pixel bins in a 450/288 = 1.56x crop: within 0.4 px.
    np.testing.assert_allclose(keypoints[found], points[found], atol=1.0)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-6)
    np.testing.assert_array_equal(keypoints[~found], -1.0)


def test_estimate_wholebody_runs_the_same_chain_on_batch_models(weights, truth):
    rgb = skimage.data.astronaut()
    detector = OnnxBatchModel(weights["yolox"], inputs=("images",), outputs=("output",))
    pose = OnnxBatchModel(weights["dwpose_fixed"], inputs=("input",), outputs=("simcc_x", "simcc_y"))
    keypoints, scores = estimate_wholebody(rgb, detector, pose)
    found = truth[1] > 0
    np.testing.assert_allclose(keypoints[found], truth[0][found], atol=1.0)


def test_nobody_found_means_the_whole_photo_is_cropped(weights):
    rgb = skimage.data.astronaut()
    (output,) = session(weights["yolox_nobody"]).run(None, {"images": letterbox(rgb)[0][None]})
    center, scale = locate_person(output[0], 1.25, 512, 512)
    # [0, 0, 512, 512] * 1.25 = 640 x 640, heightened to 288:384.
    np.testing.assert_allclose(center, [256, 256])
    np.testing.assert_allclose(scale, [640, 640 / 0.75], rtol=1e-6)


# ---- the ensemble's python steps ----

def test_batch_steps_match_the_single_image_functions(weights):
    rgb = skimage.data.astronaut()
    other = np.ascontiguousarray(rgb[::-1, ::-1])
    pre = preprocess_batch(np.stack([rgb, other]))
    assert pre["images"].shape == (2, 3, 640, 640) and pre["RATIO"].shape == (2, 1)
    np.testing.assert_array_equal(pre["images"][1], letterbox(other)[0])
    (output,) = session(weights["yolox"]).run(None, {"images": pre["images"]})
    crops = crop_batch(np.stack([rgb, other]), output, pre["RATIO"])
    assert crops["input"].shape == (2, 3, 384, 288)
    np.testing.assert_allclose(crops["CENTER"], [CENTER, CENTER], atol=1e-3)
    np.testing.assert_allclose(crops["SCALE"], [SCALE, SCALE], atol=1e-3)
    np.testing.assert_array_equal(crops["input"][1], crop_for_dwpose(other, CENTER, SCALE))
    simcc_x, simcc_y = session(weights["dwpose"]).run(None, {"input": crops["input"]})
    decoded = decode_batch(simcc_x, simcc_y, crops["CENTER"], crops["SCALE"])
    assert decoded["KEYPOINTS"].shape == (2, 133, 2) and decoded["SCORES"].shape == (2, 133)
    with pytest.raises(ValueError, match="batch size"):
        decode_batch(simcc_x, simcc_y[:1], crops["CENTER"], crops["SCALE"])


# ---- OnnxBatchModel ----

@pytest.mark.parametrize("name", ["dwpose", "dwpose_fixed"])      # dynamic batch / fixed at 1
def test_batch_model_runs_requests_together_and_isolates_a_bad_one(weights, name):
    model = OnnxBatchModel(weights[name], intra_op_threads=2)
    assert model.one_at_a_time == (name == "dwpose_fixed")
    one, two = np.zeros((1, 3, 384, 288), np.float32), np.ones((2, 3, 384, 288), np.float32)
    bad = np.zeros((1, 3, 100, 100), np.float32)
    outcomes = model.run_batches([{"input": one}, {"input": bad}, {"input": two}, {}])
    assert outcomes[0]["simcc_x"].shape == (1, 133, 576)
    assert outcomes[2]["simcc_y"].shape == (2, 133, 768)
    assert isinstance(outcomes[1], ValueError) and "(?, 3, 384, 288)" in str(outcomes[1])
    assert isinstance(outcomes[3], ValueError) and "missing" in str(outcomes[3])
    single = model.run({"input": two})
    np.testing.assert_array_equal(outcomes[2]["simcc_x"], single["simcc_x"])


def test_missing_weights_say_where_the_file_goes_and_where_to_get_it(tmp_path):
    path = tmp_path / "dwpose" / "1" / "dw-ll_ucoco_384.onnx"
    with pytest.raises(FileNotFoundError) as info:
        OnnxBatchModel(path)
    assert str(path) in str(info.value) and "DWPose" in str(info.value)


def test_a_file_with_other_tensor_names_is_refused(weights):
    with pytest.raises(ValueError, match="expected"):
        OnnxBatchModel(weights["dwpose"], inputs=("images",))


def test_triton_args_name_the_weights_and_threads(weights, tmp_path):
    version = tmp_path / "dwpose" / "1"
    version.mkdir(parents=True)
    (version / "dw-ll_ucoco_384.onnx").write_bytes(weights["dwpose"].read_bytes())
    config = text_format.Parse((REPOSITORY / "dwpose" / "config.pbtxt").read_text(), mc.ModelConfig())
    config.parameters["intra_op_threads"].string_value = "3"         # as `signstream triton` tunes it
    args = {"model_config": json_format.MessageToJson(config, preserving_proto_field_name=True),
            "model_repository": str(tmp_path / "dwpose"), "model_version": "1"}
    model = OnnxBatchModel.from_triton_args(args, inputs=("input",), outputs=("simcc_x", "simcc_y"))
    assert model.path == version / "dw-ll_ucoco_384.onnx"
    options = model.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (3, 1)


# ---- the model repository ----

def read_config(name: str, file: str = "config.pbtxt") -> mc.ModelConfig:
    return text_format.Parse((REPOSITORY / name / file).read_text(), mc.ModelConfig())


def test_configs_parse_and_batch_up_to_8():
    for name in WHOLEBODY_MODELS:
        config = read_config(name)
        assert config.name == name and config.max_batch_size == 8
    for name, plan in (("yolox", "yolox_l.plan"), ("dwpose", "dw-ll_ucoco_384.plan")):
        gpu, cpu = read_config(name, "configs/gpu.pbtxt"), read_config(name)
        assert gpu.platform == "tensorrt_plan" and gpu.default_model_filename == plan
        assert gpu.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
        assert [(t.name, list(t.dims)) for t in gpu.input] == [(t.name, list(t.dims)) for t in cpu.input]
        assert [(t.name, list(t.dims)) for t in gpu.output] == [(t.name, list(t.dims)) for t in cpu.output]
        assert cpu.parameters["weights"].string_value == plan.replace(".plan", ".onnx")
    assert (REPOSITORY / "wholebody" / "1").is_dir()


def test_ensemble_wires_every_tensor_with_matching_type_and_shape():
    ensemble = read_config("wholebody")
    available = {t.name: (t.data_type, list(t.dims)) for t in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        config = read_config(step.model_name)
        inputs = {t.name: (t.data_type, list(t.dims)) for t in config.input}
        outputs = {t.name: (t.data_type, list(t.dims)) for t in config.output}
        assert set(step.input_map) == set(inputs), step.model_name
        for key, tensor in step.input_map.items():
            assert available[tensor] == inputs[key], f"{step.model_name}.{key} <- {tensor}"
        for key, tensor in step.output_map.items():
            available[tensor] = outputs[key]
    for t in ensemble.output:
        assert available[t.name] == (t.data_type, list(t.dims))


def test_model_files_import_only_triton_numpy_and_signstream():
    for name in WHOLEBODY_MODELS[:-1]:
        tree = ast.parse((REPOSITORY / name / "1" / "model.py").read_text())
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert {m.split(".")[0] for m in modules} <= {"triton_python_backend_utils", "numpy", "signstream"}, name
