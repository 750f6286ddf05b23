"""`signstream renderer export` on tiny random diffusers models built here (a UNet, ControlNet and
TAESD with the contract's widths: 77 x 768 context, 320 channels at the first level, 4 latent
channels; random weights, so every picture is noise): the files are the contract, ONNX Runtime gives
what torch gives, the step is torch's UNet plus the contract's folded update, the bank is the UNet's
first-level self-attention input at t = 0, and the exported repository serves frames in the real
Triton. Bad folders are refused with what to do."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import tritonclient.grpc as grpcclient
from diffusers import AutoencoderTiny, ControlNetModel, UNet2DConditionModel

from signstream.cli import main
from signstream.neural import contract as c
from signstream.neural.cache import StreamCache
from signstream.models.export.loading import find_sources, load_models
from signstream.models.export.wrappers import Appearance, Decode, UNetStep
from signstream.models.export.writing import contract_problems, save
from signstream.neural.orchestrator import NeuralOrchestrator
from signstream.neural.triton_client import frame_request
from signstream.triton.launcher import TritonOptions, TritonServer
from signstream.triton.repository import read_config
from tests.support.renderer import Direct, render

TRACE_SIDE = 64                      # traced at 64 x 72; served at other sizes below
SIZES = [(64, 64), (48, 96), (72, 72)]   # 72: an odd latent side (9), upsampled to its skip's size
TOLERANCE = 1e-4
LATENT_RANGE = 100.0
LEVELS = dict(block_out_channels=(320, 32), layers_per_block=1, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
              cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32)


def tiny_pipeline(root: Path) -> Path:
    """A diffusers pipeline folder of tiny random models with the contract's widths."""
    torch.manual_seed(0)
    UNet2DConditionModel(sample_size=8, up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), time_embedding_dim=32,
                         **LEVELS).save_pretrained(root / "unet")
    controlnet = ControlNetModel(conditioning_embedding_out_channels=(8, 8, 8, 8), **LEVELS)
    with torch.no_grad():        # a new ControlNet's zero convolutions would make the pose count for nothing
        for weight in (p for p in controlnet.parameters() if p.ndim > 1 and not p.any()):
            weight.normal_(std=1.0)
    controlnet.save_pretrained(root / "controlnet")
    # Random frames that are not saturated, so that another pose shows in them: scaling_factor (1 for
    # the real TAESD) brings the random UNet's huge latents into the decoder's range (it clamps at ±3),
    # and the last bias centres its output on mid-grey (else nearly every pixel clamps to black).
    taesd = AutoencoderTiny(encoder_block_out_channels=(8,) * 4, decoder_block_out_channels=(8,) * 4,
                            num_encoder_blocks=(1,) * 4, num_decoder_blocks=(1,) * 4, scaling_factor=LATENT_RANGE)
    with torch.no_grad():
        taesd.decoder.layers[-1].bias.fill_(0.5)
    taesd.save_pretrained(root / "taesd")
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text(json.dumps(
        {"_class_name": "LCMScheduler", "prediction_type": "epsilon", "beta_schedule": "scaled_linear"}))
    return root


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Path:
    return tiny_pipeline(tmp_path_factory.mktemp("tiny") / "pipeline")


@pytest.fixture(scope="module")
def id_tokens(pipeline) -> Path:
    path = pipeline.parent / "id_tokens.npy"
    np.save(path, np.random.default_rng(3).standard_normal(c.ID_TOKENS_SHAPE).astype(np.float32))
    return path


@pytest.fixture(scope="module")
def exported(pipeline, id_tokens) -> tuple[Path, str]:
    """The CLI as users run it, into a new folder: (the repository, its output)."""
    out = pipeline.parent / "repository"
    done = subprocess.run([sys.executable, "-m", "signstream", "renderer", "export", "--pipeline", str(pipeline),
                           "--out", str(out), "--frame-side", str(TRACE_SIDE), "--pose2img-max-side", "256",
                           "--id-tokens", str(id_tokens)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return out, done.stdout


@pytest.fixture(scope="module")
def sessions(exported) -> dict[str, ort.InferenceSession]:
    repo, _ = exported
    return {name: ort.InferenceSession(str(repo / name / "1" / m.weights)) for name, m in c.NEURAL_MODELS.items()}


@pytest.fixture(scope="module")
def torch_models(pipeline, id_tokens):
    models = load_models(find_sources(pipeline=pipeline))
    return {"appearance": Appearance(models.unet, models.taesd, torch.from_numpy(np.load(id_tokens))).eval(),
            "step": UNetStep(models.unet, models.controlnet).eval(), "decode": Decode(models.taesd).eval(),
            "models": models}


def _frames(rng, height, width, batch=3):
    return rng.random((batch, 3, height, width), dtype=np.float32)


def _torch(module, *arrays):
    with torch.no_grad():
        out = module(*(torch.from_numpy(a) for a in arrays))
    return tuple(o.numpy() for o in out) if isinstance(out, tuple) else out.numpy()


def test_the_cli_writes_every_model_where_its_config_names_it_and_says_what_it_did(exported):
    repo, stdout = exported
    for name, contract in c.NEURAL_MODELS.items():
        weights = read_config(repo / name / "config.pbtxt").parameters["weights"].string_value
        path = repo / name / "1" / weights
        assert weights == contract.weights and f"wrote {path}" in stdout
        model = onnx.load(str(path))
        assert contract_problems(model, contract) == [], name
        assert "exported by signstream renderer export" in model.doc_string
    assert "signstream triton --model-repository" in stdout
    assert "neural_unet_step: tracing ControlNet + UNet" in stdout


def test_the_onnx_files_take_and_give_the_contracts_tensors(sessions):
    for name, contract in c.NEURAL_MODELS.items():
        session = sessions[name]
        assert tuple(i.name for i in session.get_inputs()) == contract.input_names
        assert tuple(o.name for o in session.get_outputs()) == contract.output_names
        for t, arg in zip((*contract.inputs, *contract.outputs), (*session.get_inputs(), *session.get_outputs())):
            assert len(arg.shape) == len(t.dims) + 1
            assert [d for d in arg.shape[1:] if isinstance(d, int)] == [d for d in t.dims if d > 0]


@pytest.mark.parametrize("height,width", SIZES)
def test_appearance_and_decode_give_what_torch_gives_at_any_frame_size(sessions, torch_models, height, width):
    rng = np.random.default_rng(height + width)
    reference = _frames(rng, height, width)
    tokens, bank = sessions[c.APPEARANCE.name].run(None, {"reference": reference})
    want_tokens, want_bank = _torch(torch_models["appearance"], reference)
    assert tokens.shape == (3, *c.ID_TOKENS_SHAPE) and bank.shape == (3, height * width // 64, c.REF_CHANNELS)
    assert np.abs(tokens - want_tokens).max() <= TOLERANCE and np.abs(bank - want_bank).max() <= TOLERANCE
    latent = rng.standard_normal((3, 4, height // 8, width // 8)).astype(np.float32)
    image = sessions[c.DECODE.name].run(None, {"latent": latent})[0]
    want = _torch(torch_models["decode"], latent)
    assert image.shape == (3, height, width, 3) and image.dtype == np.uint8
    assert np.abs(image.astype(int) - want.astype(int)).max() <= 1         # a rounding at .5 may differ


@pytest.mark.parametrize("height,width", SIZES)
def test_the_step_is_torchs_controlnet_and_unet_then_the_folded_update(sessions, torch_models, height, width):
    rng = np.random.default_rng(7)
    tokens, bank = sessions[c.APPEARANCE.name].run(None, {"reference": _frames(rng, height, width)})
    sample = rng.standard_normal((3, 4, height // 8, width // 8)).astype(np.float32)
    pose = _frames(rng, height, width)
    timestep = np.concatenate([c.schedule(4)[0][:2], c.schedule(1)[0]])       # other steps in one batch
    sched = np.concatenate([c.schedule(4)[1][:2], c.schedule(1)[1]])
    got = sessions[c.UNET_STEP.name].run(None, {"sample": sample, "timestep": timestep, "sched": sched,
                                                "id_tokens": tokens, "pose": pose, "ref_bank": bank})[0]
    eps = _torch(torch_models["step"], sample, timestep, tokens, pose, bank)
    want = c.folded_update(sample, eps, sched)
    assert got.shape == sample.shape
    assert np.abs(got - want).max() <= TOLERANCE * max(1.0, np.abs(want).max())


def test_the_bank_is_the_unets_first_self_attention_input_at_t0_and_the_step_attends_to_it_and_the_pose(sessions, torch_models):
    models = torch_models["models"]
    reference = _frames(np.random.default_rng(11), 64, 64, batch=1)
    tokens, bank = sessions[c.APPEARANCE.name].run(None, {"reference": reference})
    seen = {}
    attn1 = models.unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1
    def keep(module, args):
        seen.setdefault("bank", args[0].detach().numpy())

    hook = attn1.register_forward_pre_hook(keep)
    try:
        with torch.no_grad():                    # a plain diffusers UNet on TAESD's latent (scaled, as pipelines do), t = 0
            latent = models.taesd.encode(torch.from_numpy(reference) * 2 - 1).latents * models.taesd.config.scaling_factor
            models.unet(latent, torch.zeros(1), encoder_hidden_states=torch.from_numpy(tokens))
    finally:
        hook.remove()
    assert np.abs(bank - seen["bank"]).max() <= TOLERANCE
    rng = np.random.default_rng(12)
    inputs = {"sample": rng.standard_normal((1, 4, 8, 8)).astype(np.float32), "timestep": c.schedule(1)[0],
              "sched": c.schedule(1)[1], "id_tokens": tokens, "pose": _frames(rng, 64, 64, 1), "ref_bank": bank}
    step = sessions[c.UNET_STEP.name]
    first = step.run(None, inputs)[0]
    # Keys and values carry no position: the bank's token order does not matter (float noise), its
    # content does (one attention layer of random weights: a small change, far above that noise).
    reordered = np.abs(first - step.run(None, {**inputs, "ref_bank": bank[:, ::-1].copy()})[0]).max()
    _, other_bank = sessions[c.APPEARANCE.name].run(None, {"reference": _frames(rng, 64, 64, batch=1)})
    other = np.abs(first - step.run(None, {**inputs, "ref_bank": other_bank})[0]).max()
    assert reordered <= TOLERANCE and other > max(50 * reordered, 1e-4), (reordered, other)
    moved = np.abs(first - step.run(None, {**inputs, "pose": _frames(rng, 64, 64, 1)})[0]).max()
    assert moved > max(50 * reordered, 1e-4), moved                       # and the pose, through ControlNet


def test_pose2img_is_appearance_one_step_and_decode_in_one_graph(sessions):
    rng = np.random.default_rng(13)
    pose, reference = ((rng.random((2, 48, 80, 3)) * 255).astype(np.uint8) for _ in range(2))
    got = sessions[c.POSE2IMG.name].run(None, {"POSE": pose, "REFERENCE": reference})[0]

    def chw(image):
        return (image.transpose(0, 3, 1, 2) / np.float32(255)).astype(np.float32)

    tokens, bank = sessions[c.APPEARANCE.name].run(None, {"reference": chw(reference)})
    timestep, sched = c.schedule(1)
    noise = np.repeat(c.stream_noise(0, 256, 256)[None, :, :6, :10], 2, axis=0)
    latent = sessions[c.UNET_STEP.name].run(None, {"sample": noise, "timestep": np.repeat(timestep, 2, 0),
                                                   "sched": np.repeat(sched, 2, 0), "id_tokens": tokens,
                                                   "pose": chw(pose), "ref_bank": bank})[0]
    want = sessions[c.DECODE.name].run(None, {"latent": latent})[0]
    assert got.shape == (2, 48, 80, 3) and np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_a_model_over_the_size_limit_keeps_its_weights_beside_it(exported, tmp_path, sessions):
    repo, _ = exported
    model = onnx.load(str(repo / c.DECODE.name / "1" / c.DECODE.weights))
    path = tmp_path / "1" / c.DECODE.weights
    files = save(model, path, external_above=0)
    assert files == [path, path.with_name(path.name + ".data")] and all(f.is_file() for f in files)
    assert path.stat().st_size < files[1].stat().st_size
    latent = np.random.default_rng(14).standard_normal((1, 4, 8, 8)).astype(np.float32)
    assert np.array_equal(ort.InferenceSession(str(path)).run(None, {"latent": latent})[0],
                          sessions[c.DECODE.name].run(None, {"latent": latent})[0])
    small = onnx.load(str(repo / c.DECODE.name / "1" / c.DECODE.weights))
    assert save(small, path) == [path] and not files[1].exists()          # inline again: no stale data file


@pytest.fixture(scope="module")
def triton(exported):
    repo, _ = exported
    with TritonServer(TritonOptions(repo, grpc_port=0, http_port=0, metrics_port=0)) as server:
        yield server


def test_triton_serves_the_exported_repository_and_the_renderer_gives_its_frames(triton, sessions):
    assert {"renderer", *c.NEURAL_MODELS} <= set(triton.ready_models())
    assert {"yolox", "dwpose"} & set(triton.report.skipped)         # no weights for those here: left out, said so
    rng = np.random.default_rng(15)
    pose, reference = ((rng.random((64, 64, 3)) * 255).astype(np.uint8) for _ in range(2))
    pose2 = np.ascontiguousarray(pose[::-1])
    frames, errors = render(triton.grpc_url, [frame_request(1, 0, pose, reference, seed=4, steps=2),
                                              frame_request(1, 1, pose2, steps=2),
                                              frame_request(2, 0, pose, reference, seed=5, steps=2)], end=[1, 2])
    assert not errors, errors
    assert sorted(frames) == [0, 1] and len(frames[0]) == 2
    assert all(f.shape == (64, 64, 3) and f.dtype == np.uint8 and f.std() > 1 for f in frames[0] + frames[1])

    async def local():                            # the same orchestrator on the same files, in-process
        renderer = NeuralOrchestrator(Direct(sessions), StreamCache())
        return [await renderer.frame(1, pose, reference, seed=4, steps=2), await renderer.frame(1, pose2, steps=2),
                await renderer.frame(2, pose, reference, seed=5, steps=2)]

    want = asyncio.run(local())
    # Frames of one index come back in no fixed order: match each wanted frame to one served.
    assert np.abs(frames[1][0].astype(int) - want[1].astype(int)).max() <= 1
    for expected in (want[0], want[2]):
        assert any(np.abs(f.astype(int) - expected.astype(int)).max() <= 1 for f in frames[0])
    # Another seed, another frame. (The pose and the reference change these random models' latents
    # by about 1e-3 of their size, below one grey level: the step tests above show that conditioning.)
    assert not np.array_equal(*frames[0])
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    inputs = []
    for name, image in (("POSE", pose), ("REFERENCE", reference)):
        tensor = grpcclient.InferInput(name, [1, 64, 64, 3], "UINT8")
        tensor.set_data_from_numpy(image[None])
        inputs.append(tensor)
    assert client.infer("pose2img", inputs).as_numpy("IMAGE").shape == (1, 64, 64, 3)


def _export(capsys, *args: str) -> tuple[int, str]:
    code = main(["renderer", "export", *args])
    return code, capsys.readouterr().err


def _config_only(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_missing_folders_and_other_model_classes_are_refused_saying_what_to_give(pipeline, tmp_path, capsys):
    parts = {"--unet": pipeline / "unet", "--controlnet": pipeline / "controlnet", "--taesd": pipeline / "taesd"}

    def flags(**override):
        chosen = {**parts, **{f"--{k}": v for k, v in override.items()}}
        return [str(x) for kv in chosen.items() for x in kv] + ["--out", str(tmp_path / "out")]

    code, err = _export(capsys, *flags(unet=tmp_path / "nowhere"))
    assert code == 2 and "nowhere is not a folder" in err
    code, err = _export(capsys, *flags(unet=pipeline / "taesd"))
    assert code == 2 and "holds AutoencoderTiny" in err and "--unet takes a UNet2DConditionModel" in err
    vae = _config_only(tmp_path / "vae", {"_class_name": "AutoencoderKL", "latent_channels": 4})
    code, err = _export(capsys, *flags(taesd=vae))
    assert code == 2 and "the full SD VAE" in err
    code, err = _export(capsys, "--unet", str(parts["--unet"]), "--out", str(tmp_path / "out"))
    assert code == 2 and "no controlnet, taesd folder" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = _export(capsys, *flags(unet=empty))
    assert code == 2 and "has no config.json" in err
    assert not (tmp_path / "out").exists()                # nothing written for a refused export


def test_wrong_channel_counts_and_predictions_are_refused_before_anything_loads(pipeline, tmp_path, capsys):
    unet = json.loads((pipeline / "unet" / "config.json").read_text())
    turbo = _config_only(tmp_path / "turbo", {**unet, "cross_attention_dim": 1024})
    code, err = _export(capsys, "--unet", str(turbo), "--controlnet", str(pipeline / "controlnet"),
                        "--taesd", str(pipeline / "taesd"), "--out", str(tmp_path / "out"))
    assert code == 2 and "cross-attention is 1024 wide" in err and "sd-turbo" in err
    inpaint = _config_only(tmp_path / "inpaint", {**unet, "in_channels": 9})
    code, err = _export(capsys, "--unet", str(inpaint), "--controlnet", str(pipeline / "controlnet"),
                        "--taesd", str(pipeline / "taesd"), "--out", str(tmp_path / "out"))
    assert code == 2 and "9 input" in err
    controlnet = json.loads((pipeline / "controlnet" / "config.json").read_text())
    other = _config_only(tmp_path / "cn", {**controlnet, "block_out_channels": [320, 64]})
    code, err = _export(capsys, "--pipeline", str(pipeline), "--controlnet", str(other), "--out", str(tmp_path / "out"))
    assert code == 2 and "would not fit the UNet's skips" in err
    v_pred = tmp_path / "v"
    for part in ("unet", "controlnet", "taesd"):
        (v_pred / part).mkdir(parents=True)
        (v_pred / part / "config.json").write_text((pipeline / part / "config.json").read_text())
    _config_only(v_pred / "scheduler", {"prediction_type": "v_prediction"})
    (v_pred / "scheduler" / "config.json").rename(v_pred / "scheduler" / "scheduler_config.json")
    code, err = _export(capsys, "--pipeline", str(v_pred), "--out", str(tmp_path / "out"))
    assert code == 2 and "'v_prediction'" in err and "epsilon" in err
    assert not (tmp_path / "out").exists()


def test_bad_id_tokens_frame_sides_and_outputs_are_refused(pipeline, tmp_path, capsys):
    np.save(tmp_path / "short.npy", np.zeros((10, 768), np.float32))
    code, err = _export(capsys, "--pipeline", str(pipeline), "--out", str(tmp_path / "o1"),
                        "--id-tokens", str(tmp_path / "short.npy"), "--frame-side", "64", "--no-pose2img")
    assert code == 2 and "(10, 768)" in err and "(77, 768)" in err
    code, err = _export(capsys, "--pipeline", str(pipeline), "--out", str(tmp_path / "o2"), "--frame-side", "60")
    assert code == 2 and "--frame-side must be a positive multiple of 8" in err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    code, err = _export(capsys, "--pipeline", str(pipeline), "--out", str(busy), "--frame-side", "64")
    assert code == 2 and "neither a model repository nor empty" in err


def test_without_the_extra_the_cli_says_how_to_install_it_and_the_server_never_needs_torch(pipeline, tmp_path):
    script = """
import sys
sys.modules["torch"] = None          # as if the `export` extra were not installed
sys.modules["diffusers"] = None
import signstream.cli, signstream.neural.orchestrator, signstream.models.standin, signstream.triton.launcher
from signstream.cli import main
sys.exit(main(sys.argv[1:]))
"""
    done = subprocess.run([sys.executable, "-c", script, "renderer", "export", "--pipeline", str(pipeline),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "needs torch and diffusers" in done.stderr and "'.[export]'" in done.stderr
