"""Batch inference (spec §4): z_in and x_t0 from ε^A, then the mixed reverse pass of ε^B with SPN offsets.

Deterministic (DDIM η=0, no noise) and per-sample (GroupNorm, no batch statistics), hence batch-size independent.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from osasis.api import encode, invert, reverse
from osasis.configs import DiffAEConfig
from osasis.diffusion.structural import StructuralSchedule, structural_schedule
from osasis.networks.diffae_unet import DiffAEAutoencoder, MixSpec


@dataclass(frozen=True)
class InferSettings:
    """Official defaults: t0 500, 50 inversion steps on the 100-grid, 25 reverse steps on the 50-grid, λ 0.1."""

    t0: int = 500
    grids: tuple[int, int] = (100, 50)
    schedule: str = "official"
    spn_weight: float = 0.1
    mix: MixSpec | None = None
    precision: str = "fp32"

    def structural(self) -> StructuralSchedule:
        return structural_schedule("inference", self.t0, self.schedule, grids=tuple(self.grids))


def mix_spec(config: DiffAEConfig, mode: str = "default", levels: list[int] | None = None) -> MixSpec:
    """The content/style level assignment: z_style on ``levels`` (default: the config's), or the reverse."""
    spec = MixSpec(tuple(levels) if levels is not None else tuple(config.style_levels))
    return spec.reversed(config.num_levels) if mode == "reversed" else spec


@torch.no_grad()
def style_code(model_a: DiffAEAutoencoder, style_b: torch.Tensor) -> torch.Tensor:
    """z_style = Enc_A(I_B^style): the code of the *stylised* reference (official tester)."""
    return encode(model_a, style_b)


@torch.no_grad()
def stylize_batch(model_a: DiffAEAutoencoder, model_b: DiffAEAutoencoder, spn: nn.Module | None,
                  images: torch.Tensor, z_style: torch.Tensor | None, s: InferSettings, *,
                  z_input: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Stylize ``images`` ([-1, 1] at the model resolution); returns [-1, 1] (clamped).

    ``z_style`` None gives a plain (unmixed) reconstruction through ε^B. ``z_input`` replaces z_in as the content
    code of the reverse pass (text editing); the inversion always uses the image's own z_in.
    """
    sched = s.structural()
    z_in = encode(model_a, images)
    x_t0 = invert(model_a, images, z_in, schedule=sched, precision=s.precision)
    out = reverse(model_b, x_t0, z_in if z_input is None else z_input, z_style=z_style, mix=s.mix, spn=spn,
                  spn_image=images, spn_weight=s.spn_weight if spn is not None else 0.0, schedule=sched,
                  precision=s.precision)  # fmt: skip
    return out.clamp(-1, 1)
