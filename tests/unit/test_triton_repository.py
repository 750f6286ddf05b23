"""The runtime model repository: instance counts, thread budgets, GPU configs, missing weights."""
from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from signstream.errors import InvalidArgument
from signstream.triton.repository import build_runtime_repository, plan_models

ONNX_MODEL = """name: "{name}"
backend: "python"
max_batch_size: 8
input [ {{ name: "x" data_type: TYPE_FP32 dims: [ 3 ] }} ]
output [ {{ name: "y" data_type: TYPE_FP32 dims: [ 3 ] }} ]
instance_group [ {{ count: 1 kind: KIND_CPU }} ]
parameters {{ key: "weights" value {{ string_value: "{weights}" }} }}
parameters {{ key: "intra_op_threads" value {{ string_value: "1" }} }}
"""
GPU_MODEL = """name: "{name}"
platform: "tensorrt_plan"
default_model_filename: "{plan}"
max_batch_size: 8
instance_group [ {{ count: 1 kind: KIND_GPU }} ]
"""
ENSEMBLE = """name: "pair"
platform: "ensemble"
max_batch_size: 8
ensemble_scheduling {
  step [ { model_name: "det" model_version: -1 }, { model_name: "pose" model_version: -1 } ]
}
"""


def _model(repo: Path, name: str, config: str, files: dict[str, str] | None = None, gpu: str | None = None) -> None:
    version = repo / name / "1"
    version.mkdir(parents=True)
    (repo / name / "config.pbtxt").write_text(config)
    (version / "model.py").write_text("# adapter\n")
    for file_name, text in (files or {}).items():
        (version / file_name).write_text(text)
    if gpu is not None:
        (repo / name / "configs").mkdir()
        (repo / name / "configs" / "gpu.pbtxt").write_text(gpu)


def _config(path: Path) -> mc.ModelConfig:
    return text_format.Parse(path.read_text(), mc.ModelConfig())


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    _model(source, "holistic", 'name: "holistic"\nbackend: "python"\nmax_batch_size: 8\n')
    _model(source, "det", ONNX_MODEL.format(name="det", weights="det.onnx"), {"det.onnx": "weights"},
           gpu=GPU_MODEL.format(name="det", plan="det.plan"))
    _model(source, "pose", ONNX_MODEL.format(name="pose", weights="pose.onnx"), {"pose.onnx": "weights"})
    _model(source, "pair", ENSEMBLE)
    _model(source, "pair_step", 'name: "pair_step"\nbackend: "python"\n'
           'parameters { key: "part_of" value { string_value: "pair" } }\n')
    return source


def test_instances_and_threads_fill_the_cores(repo: Path, tmp_path: Path):
    report = build_runtime_repository(repo, tmp_path / "run", instances=2, cores=8)
    assert sorted(report.models) == ["det", "holistic", "pair", "pair_step", "pose"] and not report.skipped
    det = _config(tmp_path / "run" / "det" / "config.pbtxt")
    assert det.instance_group[0].count == 2
    pose = _config(tmp_path / "run" / "pose" / "config.pbtxt")
    # det and pose run side by side: 2 models x 2 instances x 2 threads = 8 cores
    assert det.parameters["intra_op_threads"].string_value == "2" == pose.parameters["intra_op_threads"].string_value
    holistic = _config(tmp_path / "run" / "holistic" / "config.pbtxt")
    assert [g.count for g in holistic.instance_group] == [2]              # a group is added where none was
    assert not _config(tmp_path / "run" / "pair" / "config.pbtxt").instance_group   # ensembles have none
    # Code and weights are the user's files, reached through the version symlink.
    assert (tmp_path / "run" / "det" / "1" / "det.onnx").read_text() == "weights"


def test_more_instances_than_cores_get_one_thread_each(repo: Path, tmp_path: Path):
    build_runtime_repository(repo, tmp_path / "run", instances=3, cores=2)
    assert _config(tmp_path / "run" / "pose" / "config.pbtxt").parameters["intra_op_threads"].string_value == "1"


def test_missing_weights_leave_out_the_model_and_its_ensembles(repo: Path, tmp_path: Path):
    (repo / "pose" / "1" / "pose.onnx").unlink()
    report = build_runtime_repository(repo, tmp_path / "run", cores=8)
    # The cores are shared among the ONNX models that do load: det alone gets all 8.
    assert _config(tmp_path / "run" / "det" / "config.pbtxt").parameters["intra_op_threads"].string_value == "8"
    assert sorted(report.models) == ["det", "holistic"]
    assert "pose.onnx" in report.skipped["pose"] and "put" in report.skipped["pose"]
    assert "pose" in report.skipped["pair"]
    assert "only pair uses it" in report.skipped["pair_step"]      # nothing else would call it
    assert not (tmp_path / "run" / "pose").exists() and not (tmp_path / "run" / "pair").exists()


def test_gpu_hosts_use_the_tensorrt_config_and_need_its_plan(repo: Path, tmp_path: Path):
    report = build_runtime_repository(repo, tmp_path / "run", gpu=True)
    assert "det.plan" in report.skipped["det"]                # no plan built yet
    (repo / "det" / "1" / "det.plan").write_text("engine")
    report = build_runtime_repository(repo, tmp_path / "run", gpu=True)
    assert "det" in report.models
    assert _config(tmp_path / "run" / "det" / "config.pbtxt").platform == "tensorrt_plan"
    assert _config(tmp_path / "run" / "pose" / "config.pbtxt").backend == "python"   # no GPU variant: CPU config


def test_bad_repositories_say_what_is_wrong(tmp_path: Path):
    with pytest.raises(InvalidArgument, match="not a folder"):
        plan_models(tmp_path / "nowhere", gpu=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="holds no model"):
        plan_models(tmp_path / "empty", gpu=False)
    _model(tmp_path / "bad", "m", "name: 'm' this is not protobuf text")
    with pytest.raises(InvalidArgument, match="config"):
        plan_models(tmp_path / "bad", gpu=False)
    with pytest.raises(InvalidArgument, match="instances"):
        build_runtime_repository(tmp_path / "bad", tmp_path / "run", instances=0)


def test_the_shipped_repository_serves_holistic_without_weights(tmp_path: Path):
    shipped = Path(__file__).resolve().parents[2] / "model_repository"
    report = build_runtime_repository(shipped, tmp_path / "run")
    if (shipped / "yolox" / "1" / "yolox_l.onnx").is_file():
        pytest.skip("real weights are installed in this checkout")
    assert report.models == ["holistic"]
    assert "yolox_l.onnx" in report.skipped["yolox"] and "dw-ll_ucoco_384.onnx" in report.skipped["dwpose"]
    assert set(report.skipped) == {"yolox", "dwpose", "wholebody", "wholebody_pre", "wholebody_crop",
                                   "wholebody_decode", "neural_appearance", "neural_unet_step", "neural_decode",
                                   "pose2img", "renderer", "aqgt_pre", "aqgt_generator", "aqgt_post"}
    assert "signstream renderer export" in report.skipped["neural_unet_step"]
    # The BLS renderer is left out with the models it calls, naming them.
    assert report.skipped["renderer"] == "needs neural_appearance, neural_decode, neural_unet_step, not loaded"


def test_a_large_models_data_file_counts_in_its_weights_digest(repo: Path, tmp_path: Path):
    def digest() -> str:
        build_runtime_repository(repo, tmp_path / "run")
        return _config(tmp_path / "run" / "pose" / "config.pbtxt").parameters["weights_sha256"].string_value

    alone = digest()
    data = repo / "pose" / "1" / "pose.onnx.data"        # renderer export writes a large model's weights here
    data.write_text("tensors")
    with_data = digest()
    data.write_text("other tensors")
    assert len({alone, with_data, digest()}) == 3
