"""`signstream build-engines`: which plans from which ONNX files, batch profiles, and a clear error
without TensorRT. Building a real plan needs a GPU (marked `gpu`)."""
from __future__ import annotations

from pathlib import Path

import pytest

from signstream.cli import main
from signstream.errors import GpuUnavailable, InvalidArgument
from signstream.triton.engines import build_engine, plan_engines

CPU = """name: "det"
backend: "python"
max_batch_size: 8
input [ { name: "images" data_type: TYPE_FP32 dims: [ 3, 64, 64 ] } ]
output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
parameters { key: "weights" value { string_value: "det.onnx" } }
"""
GPU = """name: "det"
platform: "tensorrt_plan"
default_model_filename: "det.plan"
max_batch_size: 8
input [ { name: "images" data_type: TYPE_FP32 dims: [ 3, 64, 64 ] } ]
output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "det" / "1").mkdir(parents=True)
    (tmp_path / "det" / "configs").mkdir()
    (tmp_path / "det" / "config.pbtxt").write_text(CPU)
    (tmp_path / "det" / "configs" / "gpu.pbtxt").write_text(GPU)
    (tmp_path / "holistic" / "1").mkdir(parents=True)
    (tmp_path / "holistic" / "config.pbtxt").write_text('name: "holistic"\nbackend: "python"\n')
    return tmp_path


def test_jobs_pair_each_onnx_with_its_plan_and_span_the_batch(repo: Path):
    (repo / "det" / "1" / "det.onnx").write_bytes(b"onnx")
    [job] = plan_engines(repo)
    assert (job.model, job.onnx.name, job.plan.name) == ("det", "det.onnx", "det.plan")
    assert job.plan.parent == job.onnx.parent
    assert job.profile("images") == ((1, 3, 64, 64), (4, 3, 64, 64), (8, 3, 64, 64))


def test_missing_onnx_weights_are_named(repo: Path):
    with pytest.raises(InvalidArgument, match=r"det\.onnx is missing"):
        plan_engines(repo)


def test_without_tensorrt_the_command_says_what_to_install(repo: Path, capsys):
    pytest.importorskip("onnx")
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    (repo / "det" / "1" / "det.onnx").write_bytes(b"onnx")
    with pytest.raises(GpuUnavailable, match=r"\[gpu\]"):
        build_engine(plan_engines(repo)[0])
    assert main(["build-engines", "--model-repository", str(repo)]) == 3
    assert "TensorRT is not installed" in capsys.readouterr().err
    assert not (repo / "det" / "1" / "det.plan").exists()


@pytest.mark.gpu
def test_a_plan_is_built_from_a_generated_onnx(repo: Path):
    from tests.support.onnx_models import write_identity_onnx

    write_identity_onnx(repo / "det" / "1" / "det.onnx", "images", (3, 64, 64))
    plan = build_engine(plan_engines(repo)[0], timing_cache=repo / "cache")
    assert plan.stat().st_size > 0 and (repo / "cache").stat().st_size > 0


def test_neural_models_get_spatial_profiles_from_the_contract(tmp_path: Path):
    from signstream.models.standin import write_standin_repository

    shipped = Path(__file__).resolve().parents[2] / "model_repository"
    repo = tmp_path / "standins"
    write_standin_repository(shipped, repo)
    jobs = {job.model: job for job in plan_engines(repo)}
    assert {"neural_appearance", "neural_unet_step", "neural_decode", "pose2img", "yolox", "dwpose"} <= set(jobs)
    step = jobs["neural_unet_step"]
    assert step.plan.name == "neural_unet_step.plan" and step.onnx.name == "neural_unet_step.onnx"
    assert step.profile("sample") == ((1, 4, 32, 32), (4, 4, 64, 64), (8, 4, 96, 96))
    assert step.profile("ref_bank") == ((1, 1024, 320), (4, 4096, 320), (8, 9216, 320))
    assert step.profile("pose") == ((1, 3, 256, 256), (4, 3, 512, 512), (8, 3, 768, 768))
    assert step.profile("sched") == ((1, 6), (4, 6), (8, 6))
    assert jobs["neural_decode"].profile("latent")[2] == (8, 4, 96, 96)
    assert jobs["pose2img"].profile("POSE")[0] == (1, 256, 256, 3)


def test_a_model_without_its_onnx_is_skipped_when_others_can_be_built(repo: Path):
    (repo / "det" / "1" / "det.onnx").write_bytes(b"onnx")
    (repo / "neural" / "1").mkdir(parents=True)
    (repo / "neural" / "configs").mkdir()
    (repo / "neural" / "config.pbtxt").write_text(CPU.replace('"det"', '"neural"').replace("det.onnx", "neural.onnx"))
    (repo / "neural" / "configs" / "gpu.pbtxt").write_text(GPU.replace('"det"', '"neural"'))
    assert [job.model for job in plan_engines(repo)] == ["det"]


@pytest.mark.gpu
def test_the_neural_stand_ins_build_fp16_plans_with_spatial_profiles(tmp_path: Path):
    from signstream.models.standin import write_standin_repository

    repo = tmp_path / "standins"
    write_standin_repository(Path(__file__).resolve().parents[2] / "model_repository", repo)
    for job in plan_engines(repo, (64, 128, 256)):
        if job.model.startswith("neural_") or job.model == "pose2img":
            assert build_engine(job, fp16=True).is_file()
