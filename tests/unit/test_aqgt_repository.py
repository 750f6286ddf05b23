"""The aqgt_* family in the model repository: configs that are the contract, the stand-in ONNX with
AQ-GT's tensor names and shapes, left out (naming the file) until the user's export is there, and
never switched on by `signstream models stand-in`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from signstream.gesture.aqgt_contract import (GENERATOR_FILE, GENERATOR_INPUTS, GENERATOR_OUTPUTS, MEAN_FILE,
                                              MODELS, POST_INPUTS, POST_OUTPUTS, PRE_INPUTS, PRE_OUTPUTS)
from signstream.models.aqgt_standin import generator_model, write_aqgt_standin
from signstream.models.standin import copy_repository
from signstream.triton.repository import build_runtime_repository, read_config

REPO = Path(__file__).resolve().parents[2] / "model_repository"
TYPES = {"FP32": "TYPE_FP32"}


def _tensors(entries) -> dict:
    from tritonclient.grpc import model_config_pb2 as mc
    return {t.name: (mc.DataType.Name(t.data_type), tuple(t.dims)) for t in entries}


@pytest.mark.parametrize("model,inputs,outputs", [("aqgt_pre", PRE_INPUTS, PRE_OUTPUTS),
                                                  ("aqgt_generator", GENERATOR_INPUTS, GENERATOR_OUTPUTS),
                                                  ("aqgt_post", POST_INPUTS, POST_OUTPUTS)])
def test_the_configs_are_the_contract(model, inputs, outputs):
    for path in [REPO / model / "config.pbtxt", *sorted((REPO / model / "configs").glob("*.pbtxt"))]:
        config = read_config(path)
        assert config.name == model and config.max_batch_size == 8
        want = lambda spec: {n: (TYPES[d], tuple(dims)) for n, (d, dims) in spec.items()}  # noqa: E731
        assert _tensors(config.input) == want(inputs) and [t.name for t in config.input] == list(inputs)
        assert _tensors(config.output) == want(outputs)


def test_the_stand_in_onnx_has_the_generators_names_and_shapes():
    model = generator_model()
    dims = lambda v: tuple(d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim)  # noqa: E731
    assert [(i.name, dims(i)) for i in model.graph.input] == [(n, ("batch", *d)) for n, (_, d) in GENERATOR_INPUTS.items()]
    assert [(o.name, dims(o)) for o in model.graph.output] == [(n, ("batch", *d)) for n, (_, d) in GENERATOR_OUTPUTS.items()]
    config = read_config(REPO / "aqgt_generator" / "config.pbtxt")
    assert config.parameters["weights"].string_value == GENERATOR_FILE
    assert read_config(REPO / "aqgt_post" / "config.pbtxt").parameters["weights"].string_value == MEAN_FILE


@pytest.fixture()
def repo(tmp_path) -> Path:
    dest = tmp_path / "models"
    copy_repository(REPO, dest)
    return dest


@pytest.mark.parametrize("gpu", [False, True])
def test_the_family_is_left_out_naming_the_missing_file(repo, tmp_path, gpu):
    report = build_runtime_repository(repo, tmp_path / "runtime", gpu=gpu)
    assert not set(MODELS) & set(report.models)
    assert GENERATOR_FILE in report.skipped["aqgt_generator"] and MEAN_FILE in report.skipped["aqgt_post"]
    assert "aqgt_generator" in report.skipped["aqgt_pre"]


def test_half_an_export_still_leaves_the_family_out(repo, tmp_path):
    write_aqgt_standin(repo)
    (repo / "aqgt_post" / "1" / MEAN_FILE).unlink()
    report = build_runtime_repository(repo, tmp_path / "runtime")
    assert not set(MODELS) & set(report.models)


def test_the_family_loads_with_the_export(repo, tmp_path):
    written = write_aqgt_standin(repo)
    assert [p.name for p in written] == [GENERATOR_FILE, MEAN_FILE]
    onnx.checker.check_model(str(written[0]))
    assert np.load(written[1], allow_pickle=False).shape == (159,)
    report = build_runtime_repository(repo, tmp_path / "runtime")
    assert set(MODELS) <= set(report.models)
    assert "stand_in" in (repo / "aqgt_generator" / "config.pbtxt").read_text()


def test_models_stand_in_does_not_switch_the_family_on(tmp_path):
    from signstream.models.standin import write_standin_repository

    dest = tmp_path / "standins"
    write_standin_repository(REPO, dest)
    assert not (dest / "aqgt_generator" / "1" / GENERATOR_FILE).exists()
    report = build_runtime_repository(dest, tmp_path / "runtime")
    assert not set(MODELS) & set(report.models)


def test_the_shipped_repository_holds_no_aqgt_weights():
    shipped = {p.name for m in MODELS for p in (REPO / m).rglob("*") if p.is_file()}
    assert not shipped & {GENERATOR_FILE, MEAN_FILE}
    assert not any(n.endswith((".onnx", ".npy", ".pt", ".ckpt", ".p")) for n in shipped)   # code and configs only
