"""The NEURAL renderer's model contract: every tensor the Triton models take and give, and the sampler.

A photoreal frame is the skeleton frame SignStream already draws (the pose image ControlNet-OpenPose
conditions on) plus the stream's reference photo:

* `neural_appearance`, once per stream: the reference -> identity tokens (the UNet's cross-attention
  context, SD1.5's 77 x 768) and a reference-attention bank (ReferenceNet's features at t = 0 for the
  UNet's first-level self-attention: one 320-wide token per latent pixel);
* `neural_unet_step`, S in {1, 2, 4} times per frame: one sampler step with the update folded into the
  graph, so the latent never leaves Triton between steps and requests of any stream and any step
  index batch together (timestep and scheduler coefficients are per item);
* `neural_decode`: the latent -> the frame (a TAESD-shaped decoder, clamping and uint8 folded in);
* `pose2img`: the one-pass alternative, pose + reference -> frame.

Everything is batch-first; the spatial dims are free (a latent is 1/8 of the frame, so frame sides
are multiples of 8). The real weights (an SD1.5-family UNet with LCM-LoRA fused or a Turbo UNet,
ControlNet-OpenPose, TAESD) are exported to exactly these names and shapes by `signstream renderer
export`; `signstream models stand-in` writes random-weight models with the same ones.

The sampler is LCM's (latent consistency): timesteps from the 50-step origin schedule of SD1.5's
1000-step scaled-linear betas, the consistency boundary condition (c_skip, c_out), and the next
timestep's noise level re-applied with the model's own noise estimate (eta = 0), so a frame depends
only on its pose, its stream's reference and its stream's seed (the stream's one noise tensor is the
starting latent of every frame: less flicker, as StreamDiffusion does). `folded_update` is the NumPy
reference of what the step graph computes after its UNet.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LATENT_CHANNELS = 4
LATENT_SCALE = 8                  # frame side / latent side
ID_TOKENS_SHAPE = (77, 768)       # SD1.5's cross-attention context
REF_CHANNELS = 320                # the UNet's first-level width
SCHED_SIZE = 6                    # see `Sched`
STEPS_ALLOWED = (1, 2, 4)
DEFAULT_STEPS = 1

# SD1.5's training schedule and LCM's defaults.
TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012
ORIGIN_STEPS = 50
SIGMA_DATA = 0.5
TIMESTEP_SCALING = 10.0


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str                    # Triton's name: "FP32", "UINT8", ...
    dims: tuple[int, ...]         # after the batch dimension; -1 = free


@dataclass(frozen=True)
class ModelContract:
    name: str
    weights: str                  # the ONNX file in the model's 1/ folder
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.outputs)


APPEARANCE = ModelContract("neural_appearance", "neural_appearance.onnx",
                           (Tensor("reference", "FP32", (3, -1, -1)),),              # RGB 0..1, the frame's size
                           (Tensor("ID_TOKENS", "FP32", ID_TOKENS_SHAPE),
                            Tensor("REF_BANK", "FP32", (-1, REF_CHANNELS))))         # (h * w, 320)
UNET_STEP = ModelContract("neural_unet_step", "neural_unet_step.onnx",
                          (Tensor("sample", "FP32", (LATENT_CHANNELS, -1, -1)),
                           Tensor("timestep", "FP32", (1,)),
                           Tensor("sched", "FP32", (SCHED_SIZE,)),
                           Tensor("id_tokens", "FP32", ID_TOKENS_SHAPE),
                           Tensor("pose", "FP32", (3, -1, -1)),                       # RGB 0..1, 8h x 8w
                           Tensor("ref_bank", "FP32", (-1, REF_CHANNELS))),
                          (Tensor("x_prev", "FP32", (LATENT_CHANNELS, -1, -1)),))
DECODE = ModelContract("neural_decode", "neural_decode.onnx",
                       (Tensor("latent", "FP32", (LATENT_CHANNELS, -1, -1)),),
                       (Tensor("IMAGE", "UINT8", (-1, -1, 3)),))
POSE2IMG = ModelContract("pose2img", "pose2img.onnx",
                         (Tensor("POSE", "UINT8", (-1, -1, 3)), Tensor("REFERENCE", "UINT8", (-1, -1, 3))),
                         (Tensor("IMAGE", "UINT8", (-1, -1, 3)),))
NEURAL_MODELS = {m.name: m for m in (APPEARANCE, UNET_STEP, DECODE, POSE2IMG)}


_SPATIAL = {"sample": "latent", "x_prev": "latent", "latent": "latent", "pose": "frame", "reference": "frame",
            "POSE": "frame", "REFERENCE": "frame", "IMAGE": "frame", "REF_BANK": "tokens", "ref_bank": "tokens"}


def dims_at(tensor: Tensor, height: int, width: int) -> tuple[int, ...]:
    """`tensor`'s dims (after the batch) for frames of height x width: each free dim filled in."""
    kind = _SPATIAL.get(tensor.name)
    h, w = height // LATENT_SCALE, width // LATENT_SCALE
    sides = {"latent": [h, w], "frame": [height, width], "tokens": [h * w]}.get(kind, [])
    out = []
    for d in tensor.dims:
        if d > 0:
            out.append(d)
        elif not sides:
            raise ValueError(f"{tensor.name} has a free dim this contract cannot size")
        else:
            out.append(sides.pop(0))
    return tuple(out)


def alphas_cumprod() -> np.ndarray:
    """SD1.5's ᾱ_t for t = 0..999 (scaled-linear betas), float64."""
    betas = np.linspace(BETA_START ** 0.5, BETA_END ** 0.5, TRAIN_TIMESTEPS, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def lcm_timesteps(steps: int) -> list[int]:
    """LCM's timesteps for `steps` steps: evenly spaced over the 50-step origin schedule, from the top
    (1: [999]; 2: [999, 499]; 4: [999, 759, 499, 259])."""
    if steps not in STEPS_ALLOWED:
        raise ValueError(f"steps must be one of {', '.join(map(str, STEPS_ALLOWED))}, got {steps}")
    origin = np.arange(1, ORIGIN_STEPS + 1) * (TRAIN_TIMESTEPS // ORIGIN_STEPS) - 1     # 19, 39, ..., 999
    picks = np.floor(np.arange(0, steps) * len(origin) / steps).astype(int)
    return [int(t) for t in origin[::-1][picks]]


def boundary(t: int) -> tuple[float, float]:
    """LCM's consistency boundary condition at timestep t: (c_skip, c_out)."""
    scaled = t * TIMESTEP_SCALING
    c_skip = SIGMA_DATA ** 2 / (scaled ** 2 + SIGMA_DATA ** 2)
    c_out = scaled / (scaled ** 2 + SIGMA_DATA ** 2) ** 0.5
    return c_skip, c_out


def schedule(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per step of a frame: (timestep (steps, 1) float32, sched (steps, SCHED_SIZE) float32), sched being
    [√ᾱ_t, √(1−ᾱ_t), c_skip, c_out, √ᾱ_prev, √(1−ᾱ_prev)], where prev is the next step's timestep
    (the last step lands on the clean latent: ᾱ_prev = 1)."""
    ab = alphas_cumprod()
    ts = lcm_timesteps(steps)
    rows = []
    for i, t in enumerate(ts):
        prev = ab[ts[i + 1]] if i + 1 < len(ts) else 1.0
        c_skip, c_out = boundary(t)
        rows.append([ab[t] ** 0.5, (1 - ab[t]) ** 0.5, c_skip, c_out, prev ** 0.5, (1 - prev) ** 0.5])
    return np.array(ts, dtype=np.float32)[:, None], np.array(rows, dtype=np.float32)


def folded_update(sample: np.ndarray, eps: np.ndarray, sched: np.ndarray) -> np.ndarray:
    """The step graph after its UNet, in NumPy (float32): sample, eps (B, 4, h, w), sched (B, 6) ->
    x_prev. x0 = (x − √(1−ᾱ_t)·ε) / √ᾱ_t; denoised = c_skip·x + c_out·x0;
    x_prev = √ᾱ_prev·denoised + √(1−ᾱ_prev)·ε."""
    s = np.asarray(sched, dtype=np.float32)[:, :, None, None, None]      # (B, 6, 1, 1, 1)
    x0 = (sample - s[:, 1] * eps) / s[:, 0]
    denoised = s[:, 2] * sample + s[:, 3] * x0
    return (s[:, 4] * denoised + s[:, 5] * eps).astype(np.float32)


def stream_noise(seed: int, height: int, width: int) -> np.ndarray:
    """The stream's starting latent (4, height / 8, width / 8) float32 from its seed."""
    if height % LATENT_SCALE or width % LATENT_SCALE:
        raise ValueError(f"frame sides must be multiples of {LATENT_SCALE}, got {width}x{height}")
    rng = np.random.default_rng(int(seed))
    return rng.standard_normal((LATENT_CHANNELS, height // LATENT_SCALE, width // LATENT_SCALE)).astype(np.float32)
