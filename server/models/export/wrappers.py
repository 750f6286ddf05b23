"""The torch modules `signstream renderer export` traces: diffusers models behind the NEURAL
contract's tensors (signstream.neural.contract). Imported only with the `export` extra (torch).

* `Appearance`: reference (B, 3, H, W) in 0..1 -> ID_TOKENS, REF_BANK. TAESD's encoder gives the
  reference's latent; the same UNet runs on it at t = 0 (ReferenceNet) only up to its first-level
  self-attention, whose input (the first transformer block's normed hidden states, one 320-wide
  token per latent pixel) is the bank. ID_TOKENS are the export's fixed text context (`id_tokens`),
  the same for every stream: a stream's identity comes through the bank.
* `UNetStep`: ControlNet on the pose, then the UNet with the bank joined to the keys and values of
  that same self-attention (reference attention); its noise estimate is the output `eps`, and the
  exporter appends the folded LCM update (the contract's, as ONNX nodes) after it.
* `Decode`: TAESD's decoder, its [-1, 1] output to (B, H, W, 3) uint8 (clamped, rounded).

Each wrapper puts its own attention processor on the shared UNet for the length of its forward, so
one loaded UNet serves both the ReferenceNet and the step.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from signstream.errors import UnusableWeights


def first_self_attention(unet: nn.Module) -> nn.Module:
    """The UNet's first-level self-attention: where the bank is read (ReferenceNet) and joined (step)."""
    try:
        return unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1
    except (AttributeError, IndexError) as exc:
        raise UnusableWeights("the UNet has no self-attention in its first down block (down_blocks[0]"
                              ".attentions[0].transformer_blocks[0].attn1)", field="unet") from exc


@contextmanager
def processor(attention: nn.Module, replacement):
    """`attention` runs `replacement(base, attn, hidden_states, ...)` inside the block, its own after."""
    base = attention.processor
    attention.set_processor(lambda attn, hidden_states, *args, **kwargs: replacement(base, attn, hidden_states,
                                                                                    *args, **kwargs))
    try:
        yield
    finally:
        attention.set_processor(base)


class _Captured(Exception):
    def __init__(self, hidden_states: torch.Tensor):
        super().__init__("captured")
        self.hidden_states = hidden_states


def _capture(base, attn, hidden_states, *args, **kwargs):
    raise _Captured(hidden_states)      # the rest of the UNet never runs (and so is never traced)


class Appearance(nn.Module):
    def __init__(self, unet: nn.Module, taesd: nn.Module, id_tokens: torch.Tensor):
        super().__init__()
        self.unet, self.encoder = unet, taesd.encoder
        self.scaling = float(taesd.config.scaling_factor)
        self.register_buffer("id_tokens", id_tokens.to(torch.float32)[None])          # (1, 77, 768)
        self.attention = first_self_attention(unet)

    def bank(self, latent: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """ReferenceNet at t = 0: the first-level self-attention's input, (B, h * w, 320)."""
        t0 = torch.zeros(latent.shape[0], dtype=latent.dtype)
        with processor(self.attention, _capture):
            try:
                self.unet(latent, t0, encoder_hidden_states=context, return_dict=False)
            except _Captured as captured:
                return captured.hidden_states
        raise UnusableWeights("the UNet's first-level self-attention never ran", field="unet")

    def forward(self, reference: torch.Tensor):
        latent = self.encoder(reference * 2 - 1) * self.scaling     # TAESD's encoder takes [-1, 1]
        context = self.id_tokens.expand(reference.shape[0], -1, -1)
        return context, self.bank(latent, context)


class UNetStep(nn.Module):
    def __init__(self, unet: nn.Module, controlnet: nn.Module, control_scale: float = 1.0):
        super().__init__()
        self.unet, self.controlnet = unet, controlnet
        self.control_scale = float(control_scale)
        self.attention = first_self_attention(unet)

    def forward(self, sample, timestep, id_tokens, pose, ref_bank):
        """-> eps (B, 4, h, w); the exporter adds the `sched` input and the update after it."""
        t = timestep.reshape(-1)
        down, mid = self.controlnet(sample, t, encoder_hidden_states=id_tokens, controlnet_cond=pose,
                                    conditioning_scale=self.control_scale, return_dict=False)

        def reference_attention(base, attn, hidden_states, encoder_hidden_states=None, *args, **kwargs):
            return base(attn, hidden_states, torch.cat([hidden_states, ref_bank], dim=1), *args, **kwargs)

        with processor(self.attention, reference_attention):
            eps = self.unet(sample, t, encoder_hidden_states=id_tokens, down_block_additional_residuals=down,
                            mid_block_additional_residual=mid, return_dict=False)[0]
        return eps


class Decode(nn.Module):
    def __init__(self, taesd: nn.Module):
        super().__init__()
        self.decoder = taesd.decoder
        self.scaling = float(taesd.config.scaling_factor)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        rgb = self.decoder(latent / self.scaling)                   # [-1, 1]
        pixels = torch.round(((rgb + 1) / 2).clamp(0, 1) * 255)
        return pixels.permute(0, 2, 3, 1).to(torch.uint8)
