"""`signstream renderer export`: the user's diffusers folders -> the four NEURAL ONNX files, each
where the model repository's config names it (<repo>/<model>/1/<weights>), so that `signstream
triton --model-repository <repo>` serves them (and `signstream build-engines` makes their plans).

    written = export_repository(find_sources(pipeline=Path("sd15")), ExportOptions(out=Path("models")))

The models are traced at one example frame (`frame_side` x `frame_side` + 8: a latent side that is
not a multiple of the UNet's upsampling factor, so the traced UNet sizes each upsampling by its
skip and any frame with sides that are multiples of 8 runs). `out` may be an existing model
repository (its configs are kept; only the neural weight files are replaced) or a new folder, which
gets a copy of the project's repository (configs and code, no weights) first.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signstream.errors import InvalidArgument
from signstream.neural import contract as c
from signstream.models.export.loading import Models, Sources, load_models, require_extra

TRACE_SEED = 0
ID_TOKENS_NOTE = ("ID_TOKENS: zeros (no prompt: the UNet's cross-attention adds only its bias); pass --id-tokens "
                  "FILE.npy for a prompt's embedding (README, 'Real NEURAL weights')")


@dataclass(frozen=True)
class ExportOptions:
    out: Path                           # the model repository to write into
    frame_side: int = 256               # the example frame traced (any multiple of 8 runs afterwards)
    opset: int = 17
    id_tokens: Path | None = None       # (77, 768) .npy; default zeros
    control_scale: float = 1.0          # ControlNet's conditioning scale, folded into the step graph
    pose2img: bool = True               # also the one-pass model (a second copy of the UNet and ControlNet)
    pose2img_max_side: int = 1024       # pose2img's largest frame side (its fixed noise is cut from this size)
    source_repository: Path | None = None   # copied into `out` when it is not a repository yet


def check_options(options: ExportOptions) -> None:
    for flag, side in (("--frame-side", options.frame_side), ("--pose2img-max-side", options.pose2img_max_side)):
        if side <= 0 or side % c.LATENT_SCALE:
            raise InvalidArgument(f"{flag} must be a positive multiple of {c.LATENT_SCALE}, got {side}", field=flag)
    if not 14 <= options.opset <= 21:
        raise InvalidArgument(f"--opset {options.opset}: the exporter writes opsets 14 to 21 (17 by default)",
                              field="opset")


def prepare_repository(out: Path, source: Path | None) -> Path:
    """`out` as a model repository: kept when it is one, else made from `source`'s configs and code."""
    from signstream.models.standin import copy_repository

    out = Path(out)
    if any(out.glob("*/config.pbtxt")):
        missing = [m for m in c.NEURAL_MODELS if not (out / m / "config.pbtxt").is_file()]
        if missing:
            raise InvalidArgument(f"--out {out} is a model repository without {', '.join(missing)}: copy those "
                                  "models' folders from the project's model_repository first", field="out")
        return out
    if out.exists() and any(out.iterdir()):
        raise InvalidArgument(f"--out {out} is neither a model repository nor empty: pick a new folder or a model "
                              "repository (a folder of */config.pbtxt)", field="out")
    from signstream.config import model_repository_path, settings_from_env

    source = Path(source) if source else model_repository_path(settings_from_env())
    try:
        copy_repository(source, out)
    except FileNotFoundError as exc:
        raise InvalidArgument(f"cannot make --out {out}: {exc}; pass --model-repository", field="out") from exc
    return out


def _examples(models: Models, side: int, rng: np.random.Generator):
    """Example inputs at `side` x `side` + 8, batch 2 (a batch of 1 can get folded into constants)."""
    import torch

    height, width = side, side + c.LATENT_SCALE
    h, w = height // c.LATENT_SCALE, width // c.LATENT_SCALE

    def rand(*shape):
        return torch.from_numpy(rng.random(shape, dtype=np.float32))

    reference, pose = rand(2, 3, height, width), rand(2, 3, height, width)
    sample = torch.from_numpy(rng.standard_normal((2, c.LATENT_CHANNELS, h, w)).astype(np.float32))
    timestep = torch.tensor([[999.0], [499.0]])
    return reference, sample, timestep, pose


def export_models(models: Models, options: ExportOptions, progress: Callable[[str], None] = print) -> dict:
    """The four contract models as onnx.ModelProto, by model name (pose2img only if asked)."""
    torch, _ = require_extra()
    from signstream.models.export.wrappers import Appearance, Decode, UNetStep
    from signstream.models.export.writing import compose_pose2img, conform, read_id_tokens, trace, with_sampler_update

    check_options(options)
    id_tokens = read_id_tokens(options.id_tokens)
    if options.id_tokens is None:
        progress(ID_TOKENS_NOTE)
    reference, sample, timestep, pose = _examples(models, options.frame_side, np.random.default_rng(TRACE_SEED))
    appearance = Appearance(models.unet, models.taesd, torch.from_numpy(id_tokens)).eval()
    step = UNetStep(models.unet, models.controlnet, options.control_scale).eval()
    with torch.no_grad():
        tokens, bank = appearance(reference)
    source = f"exported by signstream renderer export (opset {options.opset})"
    out = {}
    progress(f"{c.APPEARANCE.name}: tracing TAESD's encoder and the UNet's first level at t = 0 ...")
    out[c.APPEARANCE.name] = conform(trace(appearance, (reference,), c.APPEARANCE.input_names,
                                           c.APPEARANCE.output_names, c.APPEARANCE, options.opset),
                                     c.APPEARANCE, f"{source}: TAESD encoder + ReferenceNet (UNet at t = 0)")
    progress(f"{c.UNET_STEP.name}: tracing ControlNet + UNet with reference attention, LCM update folded in ...")
    step_names = tuple(n for n in c.UNET_STEP.input_names if n != "sched")
    traced = trace(step, (sample, timestep, tokens, pose, bank), step_names, ("eps",), c.UNET_STEP, options.opset)
    out[c.UNET_STEP.name] = conform(with_sampler_update(traced), c.UNET_STEP,
                                    f"{source}: ControlNet + UNet (reference attention) + folded LCM update")
    progress(f"{c.DECODE.name}: tracing TAESD's decoder ...")
    out[c.DECODE.name] = conform(trace(Decode(models.taesd).eval(), (sample,), c.DECODE.input_names,
                                       c.DECODE.output_names, c.DECODE, options.opset),
                                 c.DECODE, f"{source}: TAESD decoder to uint8")
    if options.pose2img:
        progress(f"{c.POSE2IMG.name}: composing appearance, one step (t = 999) and decode ...")
        out[c.POSE2IMG.name] = conform(compose_pose2img(*(out[n] for n in (c.APPEARANCE.name, c.UNET_STEP.name,
                                                                            c.DECODE.name)),
                                                        options.pose2img_max_side),
                                       c.POSE2IMG, f"{source}: appearance + 1 LCM step + decode, fixed noise")
    return out


def export_repository(sources: Sources, options: ExportOptions, progress: Callable[[str], None] = print) -> list[Path]:
    """Load, export and write every model into `options.out`; the files written."""
    from signstream.models.export.writing import save

    check_options(options)
    progress(f"loading {sources.unet}, {sources.controlnet}, {sources.taesd} ...")
    models = load_models(sources)
    repository = prepare_repository(options.out, options.source_repository)
    written = []
    for name, model in export_models(models, options, progress).items():
        contract = c.NEURAL_MODELS[name]
        files = save(model, repository / name / "1" / contract.weights)
        progress(f"wrote {', '.join(map(str, files))}")
        written += files
    return written

