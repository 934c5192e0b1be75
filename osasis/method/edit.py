"""Text-driven editing (paper §3.2/§4.5; no official code or hyper-parameters exist, so these are our choices).

1. z_in = Enc_A(I) and x_t0 = DDIM inversion of I with ε^A to t0 (inference grid), both frozen.
2. z is a parameter initialised at z_in. Each Adam step decodes x_t0 with ε^A over ``decode_steps`` DDIM steps
   (grid of ``round(decode_steps·T/t0)`` points, official start index, gradients through every step) and
   minimises 1 − cos(E_img(x̂0) − E_img(I), E_txt(target) − E_txt(source)) + λ‖z − z_in‖².
3. ``render="direct"`` (default): the edited z is the *input* code of the usual mixed ε^B sampling (z_style from
   the style reference, x_t0 from the input's own inversion). ``render="photo"``: the edit is first rendered as a
   photo by ε^A (x_t0 of the input, the edited z, the inference grids and schedule from t0), which is then stylized
   with the edited z as its input code. Where the structural latent x_t0 carries most of the image, as in the
   smoke world's tiny DiffAE, the direct render drops the edit, and a higher edit ``t0`` (700) leaves z room to act.

E_img/E_txt are CLIP ViT-B/32 (the text tower is required: ``vgg16-imagenet`` cannot edit; without the CLIP
weights an AssetError says how to get them).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from benchmark.errors import ConfigError
from osasis.api import encode, invert, reverse, reverse_step
from osasis.diffusion.schedule import T_DEFAULT
from osasis.diffusion.structural import structural_schedule
from osasis.method.embedders import Embedder
from osasis.method.losses import unit
from osasis.networks.diffae_unet import DiffAEAutoencoder

RENDERS = ("direct", "photo")


@dataclass(frozen=True)
class EditSettings:
    steps: int = 50
    lr: float = 0.01
    reg: float = 0.1
    decode_steps: int = 5
    t0: int = 500
    inversion_grid: int = 100
    precision: str = "fp32"
    render: str = "direct"  # direct | photo (see the module docstring)
    reverse_grid: int = 50  # photo render: the reverse grid from t0 (the inference grids)
    schedule: str = "official"  # photo render: official | consistent (osasis.diffusion.structural)

    def __post_init__(self) -> None:
        if self.render not in RENDERS:
            raise ConfigError(f"edit render must be one of {RENDERS}, got {self.render!r}")
        if self.steps < 1 or self.decode_steps < 1 or self.lr <= 0 or self.reg < 0:
            raise ConfigError("edit settings need steps >= 1, decode_steps >= 1, lr > 0 and reg >= 0")


def text_direction(embedder: Embedder, source: str, target: str) -> torch.Tensor:
    """u(E_txt(target) − E_txt(source)), shape (1, D)."""
    with torch.no_grad():
        e = embedder.embed_text([source, target])
    return unit(e[1:2] - e[0:1])


def edit_codes(model_a: DiffAEAutoencoder, embedder: Embedder, images: torch.Tensor, source: str, target: str,
               s: EditSettings) -> tuple[torch.Tensor, list[float]]:  # fmt: skip
    """Optimised input codes for ``images`` ([-1, 1]) and the loss per step."""
    direction = text_direction(embedder, source, target)
    decode_grid = max(2, round(s.decode_steps * T_DEFAULT / s.t0))
    sched = structural_schedule("inference", s.t0, "official", grids=(s.inversion_grid, decode_grid))
    rev = sched.reverse_schedule()
    with torch.no_grad():
        z_in = encode(model_a, images)
        x_t0 = invert(model_a, images, z_in, schedule=sched, precision=s.precision)
        e_img = embedder.embed_image(images)
    z = z_in.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=s.lr)
    losses = []
    for _ in range(s.steps):
        x, x0 = x_t0, images
        for k in sched.reverse_indices:
            x, x0 = reverse_step(model_a, x, k, rev, z, precision=s.precision)
        delta = unit(embedder.embed_image(x0) - e_img)
        loss = (1 - F.cosine_similarity(delta, direction, dim=-1)).mean()
        loss = loss + s.reg * ((z - z_in) ** 2).sum(dim=-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return z.detach(), losses


@torch.no_grad()
def render_photo(model_a: DiffAEAutoencoder, images: torch.Tensor, z_edit: torch.Tensor, s: EditSettings
                 ) -> torch.Tensor:  # fmt: skip
    """The ``photo`` render: x_t0 = ε^A inversion of ``images`` with their own z_in (grids ``inversion_grid`` /
    ``reverse_grid``, ``schedule``), decoded by ε^A with the edited codes; [-1, 1], clamped."""
    sched = structural_schedule("inference", s.t0, s.schedule, grids=(s.inversion_grid, s.reverse_grid))
    z_in = encode(model_a, images)
    x_t0 = invert(model_a, images, z_in, schedule=sched, precision=s.precision)
    return reverse(model_a, x_t0, z_edit, schedule=sched, precision=s.precision).clamp(-1, 1)
