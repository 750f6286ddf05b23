"""The user's local diffusers folders for `signstream renderer export`: found, checked against the
NEURAL contract before anything heavy runs, then loaded (float32, CPU, eval).

    sources = find_sources(pipeline=Path("sd15-openpose"))        # or unet=..., controlnet=..., taesd=...
    models = load_models(sources)                                 # .unet, .controlnet, .taesd

What the contract takes: an SD1.5-family UNet (4 latent channels in and out, 77 x 768 text context,
320 channels at the first level, self-attention there), predicting the noise (epsilon); a
ControlNet with the same blocks and a 3-channel condition (the pose image); TAESD (AutoencoderTiny)
with 4 latent channels at 1/8 of the frame. Every refusal is an UnusableWeights naming the folder,
what it holds and what to give instead. torch and diffusers come from the `export` extra; without
them the command says how to install it (MissingExtra).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from signstream.errors import MissingExtra, UnusableWeights
from signstream.neural import contract as c

EXTRA_HINT = ("install the `export` extra: pip install -c constraints.txt -e '.[export]' "
              "(add --find-links /opt/wheels where the CPU torch wheel lies there)")
CLASSES = {"unet": "UNet2DConditionModel", "controlnet": "ControlNetModel", "taesd": "AutoencoderTiny"}
WHAT_INSTEAD = {
    "AutoencoderKL": "the full SD VAE; give TAESD instead (AutoencoderTiny, e.g. madebyollin/taesd)",
    "UNet2DConditionModel": "a UNet",
    "ControlNetModel": "a ControlNet",
    "AutoencoderTiny": "TAESD",
}


@dataclass(frozen=True)
class Sources:
    unet: Path
    controlnet: Path
    taesd: Path
    scheduler: Path | None = None         # scheduler_config.json, when a pipeline folder has one


@dataclass
class Models:
    unet: object                          # diffusers UNet2DConditionModel
    controlnet: object                    # diffusers ControlNetModel
    taesd: object                         # diffusers AutoencoderTiny


def require_extra():
    """torch and diffusers, or MissingExtra saying how to install them. The Hugging Face hub is put
    offline first: the exporter reads local folders only and never downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import diffusers
        import torch
    except ImportError as exc:
        raise MissingExtra(f"`signstream renderer export` needs torch and diffusers ({exc.name} is missing): "
                           f"{EXTRA_HINT}") from exc
    return torch, diffusers


def _pipeline_part(pipeline: Path, role: str) -> Path:
    """A pipeline folder's subfolder for `role`: unet/, controlnet/, taesd/ (or vae/ when it is TAESD)."""
    if role == "taesd" and not (pipeline / "taesd").is_dir() and (pipeline / "vae").is_dir():
        return pipeline / "vae"
    return pipeline / role


def find_sources(pipeline: Path | None = None, unet: Path | None = None, controlnet: Path | None = None,
                 taesd: Path | None = None) -> Sources:
    """The three model folders: each flag, else the pipeline folder's subfolder. Missing ones are
    refused here, before anything loads."""
    chosen = {"unet": unet, "controlnet": controlnet, "taesd": taesd}
    if pipeline is not None:
        if not Path(pipeline).is_dir():
            raise UnusableWeights(f"--pipeline {pipeline} is not a folder: give a diffusers pipeline folder "
                                  "(unet/, controlnet/, taesd/ or a TAESD vae/)", field="pipeline")
        chosen = {role: path or _pipeline_part(Path(pipeline), role) for role, path in chosen.items()}
    unnamed = [role for role, path in chosen.items() if path is None]
    if unnamed:
        raise UnusableWeights(f"no {', '.join(unnamed)} folder: pass --{' --'.join(unnamed)} DIR, or --pipeline DIR "
                              "with those subfolders", field=unnamed[0])
    for role, path in chosen.items():
        read_config(Path(path), role)
    scheduler = None
    if pipeline is not None and (Path(pipeline) / "scheduler" / "scheduler_config.json").is_file():
        scheduler = Path(pipeline) / "scheduler" / "scheduler_config.json"
    elif (Path(chosen["unet"]).parent / "scheduler" / "scheduler_config.json").is_file():
        scheduler = Path(chosen["unet"]).parent / "scheduler" / "scheduler_config.json"
    return Sources(Path(chosen["unet"]), Path(chosen["controlnet"]), Path(chosen["taesd"]), scheduler)


def read_config(folder: Path, role: str) -> dict:
    """`folder`'s config.json, refused unless it is a diffusers `role` model (CLASSES)."""
    if not folder.is_dir():
        raise UnusableWeights(f"--{role} {folder} is not a folder: give the diffusers {CLASSES[role]} folder "
                              "(the one with config.json and the weights)", field=role)
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UnusableWeights(f"{folder} has no config.json: it is not a diffusers model folder "
                              f"(--{role} takes a {CLASSES[role]} saved with save_pretrained)", field=role) from exc
    except (OSError, ValueError) as exc:
        raise UnusableWeights(f"{path} cannot be read as JSON: {exc}", field=role) from exc
    found = config.get("_class_name") if isinstance(config, dict) else None
    if found != CLASSES[role]:
        what = WHAT_INSTEAD.get(found, found or "no diffusers model class")
        raise UnusableWeights(f"{folder} holds {found or 'a model of unknown class'} ({what}), but --{role} takes "
                              f"a {CLASSES[role]}", field=role)
    return config


def _refuse(folder: Path, role: str, problems: list[str]) -> None:
    if problems:
        raise UnusableWeights(f"{folder} ({CLASSES[role]}) does not fit the NEURAL contract: {'; '.join(problems)}",
                              field=role)


def check_unet(config: dict, folder: Path) -> None:
    """An SD1.5-family UNet: what the contract's tensors need of it."""
    problems = []
    if (config.get("in_channels"), config.get("out_channels")) != (c.LATENT_CHANNELS, c.LATENT_CHANNELS):
        problems.append(f"it has {config.get('in_channels')} input and {config.get('out_channels')} output channels, "
                        f"the contract's latent has {c.LATENT_CHANNELS} (an inpainting UNet has 9 inputs)")
    if config.get("cross_attention_dim") != c.ID_TOKENS_SHAPE[1]:
        problems.append(f"its cross-attention is {config.get('cross_attention_dim')} wide, the contract's "
                        f"ID_TOKENS are {c.ID_TOKENS_SHAPE[1]} (SD1.5; SD2.x and sd-turbo are 1024, SDXL 2048)")
    widths = list(config.get("block_out_channels") or [])
    if not widths or widths[0] != c.REF_CHANNELS:
        problems.append(f"its first level is {widths[0] if widths else '?'} channels wide, REF_BANK is "
                        f"{c.REF_CHANNELS}")
    blocks = list(config.get("down_block_types") or [])
    if not blocks or not str(blocks[0]).startswith("CrossAttn"):
        problems.append(f"its first down block is {blocks[0] if blocks else '?'}: the reference attention needs "
                        "self-attention at the first level (CrossAttnDownBlock2D)")
    if config.get("addition_embed_type") or config.get("class_embed_type"):
        problems.append("it takes extra conditioning embeddings (SDXL-style), which the contract has no tensor for")
    if config.get("time_cond_proj_dim"):
        problems.append("it is a full LCM UNet with a guidance embedding (time_cond_proj_dim); fuse LCM-LoRA into "
                        "an SD1.5 UNet instead (README, 'Real NEURAL weights')")
    _refuse(folder, "unet", problems)


def check_controlnet(config: dict, unet: dict, folder: Path) -> None:
    """A ControlNet whose residuals line up with the UNet's skips, conditioned on an RGB image."""
    problems = []
    if config.get("conditioning_channels", 3) != 3:
        problems.append(f"its condition has {config.get('conditioning_channels')} channels, the pose image has 3")
    if config.get("cross_attention_dim") != c.ID_TOKENS_SHAPE[1]:
        problems.append(f"its cross-attention is {config.get('cross_attention_dim')} wide, not "
                        f"{c.ID_TOKENS_SHAPE[1]} (an SD1.5 ControlNet, e.g. lllyasviel/control_v11p_sd15_openpose)")
    for key in ("block_out_channels", "layers_per_block", "down_block_types"):
        if config.get(key) != unet.get(key):
            problems.append(f"its {key} {config.get(key)} differ from the UNet's {unet.get(key)}: its residuals "
                            "would not fit the UNet's skips")
    _refuse(folder, "controlnet", problems)


def check_taesd(config: dict, folder: Path) -> None:
    """TAESD: RGB in and out, 4 latent channels at 1/8 of the frame."""
    problems = []
    if config.get("latent_channels") != c.LATENT_CHANNELS:
        problems.append(f"its latent has {config.get('latent_channels')} channels, not {c.LATENT_CHANNELS}")
    if (config.get("in_channels", 3), config.get("out_channels", 3)) != (3, 3):
        problems.append("it does not take and give RGB images")
    down = 2 ** (len(config.get("encoder_block_out_channels") or [0]) - 1)
    up = config.get("upsampling_scaling_factor", 2) ** (len(config.get("decoder_block_out_channels") or [0]) - 1)
    if (down, up) != (c.LATENT_SCALE, c.LATENT_SCALE):
        problems.append(f"it scales frames by 1/{down} and latents by {up}, the contract's latent is 1/{c.LATENT_SCALE}")
    _refuse(folder, "taesd", problems)


def check_scheduler(path: Path | None) -> None:
    """The folded update turns the UNet's output into x0 as a noise estimate: epsilon prediction only."""
    if path is None:
        return
    try:
        prediction = json.loads(path.read_text(encoding="utf-8")).get("prediction_type", "epsilon")
    except (OSError, ValueError, AttributeError) as exc:
        raise UnusableWeights(f"{path} cannot be read as a scheduler config: {exc}", field="pipeline") from exc
    if prediction != "epsilon":
        raise UnusableWeights(f"{path} says the UNet predicts {prediction!r}; the step graph's LCM update takes a "
                              "noise (epsilon) prediction", field="unet")


def load_models(sources: Sources) -> Models:
    """The three models, checked first (configs only), then loaded in float32 for export."""
    torch, diffusers = require_extra()
    unet_config = read_config(sources.unet, "unet")
    check_unet(unet_config, sources.unet)
    check_controlnet(read_config(sources.controlnet, "controlnet"), unet_config, sources.controlnet)
    check_taesd(read_config(sources.taesd, "taesd"), sources.taesd)
    check_scheduler(sources.scheduler)
    loaded = {}
    for role, folder in (("unet", sources.unet), ("controlnet", sources.controlnet), ("taesd", sources.taesd)):
        cls = getattr(diffusers, CLASSES[role])
        try:
            model = cls.from_pretrained(str(folder), torch_dtype=torch.float32, low_cpu_mem_usage=False)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise UnusableWeights(f"cannot load the {CLASSES[role]} in {folder}: {exc}", field=role) from exc
        model.eval().requires_grad_(False)
        loaded[role] = model
    return Models(**loaded)
