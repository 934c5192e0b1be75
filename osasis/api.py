"""Public API of the OSASIS core: build/load networks, encode, invert, sample with mixing and SPN.

Typical inference (official defaults: t0 = 500, 50 inversion steps on the 100-grid, 25 reverse steps on the
50-grid, λ_SPN = 0.1, z_style on UNet levels 0-3)::

    model_a = load_diffae(config="diffae_latent_ffhq256")        # frozen ε^A (EMA weights)
    model_b, spn = load_osasis("exp/img1/ckpt/iter_200.pt")       # fine-tuned ε^B and SPN
    out = stylize(model_a, model_b, spn, images, style_image)    # images in [-1, 1], (N, 3, 256, 256)

All models are plain ``nn.Module``s; every sampler accepts any callable ``model(x, t, **cond)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from osasis.configs import get_config
from osasis.diffusion.loops import StepCallback, sample_loop, spn_ddim_step
from osasis.diffusion.schedule import T_DEFAULT, Schedule, ddim_timesteps
from osasis.diffusion.steps import q_sample
from osasis.diffusion.structural import StructuralSchedule, structural_schedule
from osasis.networks.adm_unet import ADMUNet
from osasis.networks.diffae_unet import DiffAEAutoencoder, MixSpec
from osasis.networks.latentnet import MLPSkipNet
from osasis.networks.spn import SPN
from osasis.weights import LatentStats

DEFAULT_T0 = 500
DEFAULT_SPN_WEIGHT = 0.1
LATENT_BETA = 0.008  # DiffAE latent DPM: constant β


# ------------------------------------------------------------------------------------------------- builders
def build_diffae(config: str | Any = "diffae_ffhq256", device: str | torch.device = "cpu") -> DiffAEAutoencoder:
    """A randomly initialised DiffAE autoencoder for a named config (``diffae_ffhq256``, ``diffae_tiny32`` ...)."""
    return DiffAEAutoencoder(get_config(config)).to(device)


def build_spn(config: str | Any = "spn_default", device: str | torch.device = "cpu") -> SPN:
    """A freshly initialised SPN (PyTorch default init, as the official code)."""
    return SPN(get_config(config)).to(device)


def build_p2(config: str | Any = "p2_ffhq256", device: str | torch.device = "cpu") -> ADMUNet:
    """A randomly initialised ADM UNet (P2-weighting layout)."""
    return ADMUNet(get_config(config)).to(device)


def build_latent_net(config: str | Any = "latent_ffhq256", device: str | torch.device = "cpu") -> MLPSkipNet:
    """A randomly initialised latent DPM MLP."""
    return MLPSkipNet(get_config(config)).to(device)


# -------------------------------------------------------------------------------------------------- helpers
def encode(model: DiffAEAutoencoder, images: torch.Tensor) -> torch.Tensor:
    """z_sem = Enc(images) (images in [-1, 1]); runs in fp32, keeps the caller's grad mode."""
    return model.encode(images.float())


def diffae_cond(z_sem: torch.Tensor, z_style: torch.Tensor | None = None, mix: MixSpec | None = None) -> dict:
    """Keyword conditioning for ``DiffAEAutoencoder.forward`` (mixing when ``z_style`` is given)."""
    cond: dict[str, Any] = {"cond": z_sem}
    if z_style is not None:
        cond["cond_style"] = z_style.expand(z_sem.shape[0], -1) if z_style.shape[0] == 1 else z_style
        cond["mix"] = mix
    return cond


def _sched(phase: str, t0: int, mode: str, schedule: StructuralSchedule | None) -> StructuralSchedule:
    return schedule or structural_schedule(phase, t0, mode)


# ------------------------------------------------------------------------------------------------ structural
def invert(model: DiffAEAutoencoder | Callable[..., torch.Tensor], images: torch.Tensor, z_sem: torch.Tensor, *,
           t0: int = DEFAULT_T0, phase: str = "inference", mode: str = "official",
           schedule: StructuralSchedule | None = None, precision: str | None = None, progress: bool = False,
           callback: StepCallback | None = None) -> torch.Tensor:  # fmt: skip
    """Structural latent x_t0: deterministic DDIM inversion of ``images`` conditioned on ``z_sem``.

    Inference: 50 steps on the 100-grid (t 0 → 500); training (``phase="training"``): 25 steps on the 50-grid.
    """
    s = _sched(phase, t0, mode, schedule)
    return sample_loop(model, images.float(), s.inversion_schedule(), s.inversion_indices, diffae_cond(z_sem),
                       method="ddim_inverse", precision=precision, progress=progress, desc="invert",
                       callback=callback)  # fmt: skip


def reverse(model: DiffAEAutoencoder | Callable[..., torch.Tensor], x_t0: torch.Tensor, z_sem: torch.Tensor, *,
            z_style: torch.Tensor | None = None, mix: MixSpec | None = None, spn: nn.Module | None = None,
            spn_image: torch.Tensor | None = None, spn_weight: float = DEFAULT_SPN_WEIGHT, t0: int = DEFAULT_T0,
            phase: str = "inference", mode: str = "official", schedule: StructuralSchedule | None = None,
            precision: str | None = None, progress: bool = False,
            callback: StepCallback | None = None) -> torch.Tensor:  # fmt: skip
    """Reverse DDIM pass from x_t0 to an image, with optional mixing (``z_style``) and SPN offsets.

    Inference: grid indices 24..0 of the 50-grid (official) — λ·SPN(spn_image, k) is added before every step.
    """
    s = _sched(phase, t0, mode, schedule)
    return sample_loop(model, x_t0, s.reverse_schedule(), s.reverse_indices, diffae_cond(z_sem, z_style, mix),
                       method="ddim", spn=spn, spn_image=spn_image, spn_weight=spn_weight, precision=precision,
                       progress=progress, desc="reverse", callback=callback)  # fmt: skip


def reverse_step(model: DiffAEAutoencoder | Callable[..., torch.Tensor], x: torch.Tensor, k: int,
                 schedule: Schedule, z_sem: torch.Tensor, *, z_style: torch.Tensor | None = None,
                 mix: MixSpec | None = None, spn: nn.Module | None = None, spn_image: torch.Tensor | None = None,
                 spn_weight: float = DEFAULT_SPN_WEIGHT, precision: str | None = None,
                 clip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """One differentiable reverse DDIM step with SPN: returns ``(x_next, x0_pred)`` (the training primitive).

    ``schedule`` is the reverse grid (e.g. ``structural_schedule("training").reverse_schedule()``) and ``k`` the
    grid index; the SPN also receives ``k``.
    """
    return spn_ddim_step(model, x, k, schedule, diffae_cond(z_sem, z_style, mix), spn=spn, spn_image=spn_image,
                         spn_weight=spn_weight, clip=clip, precision=precision)  # fmt: skip


@torch.no_grad()
def stylize(model_a: DiffAEAutoencoder, model_b: DiffAEAutoencoder, spn: nn.Module | None, images: torch.Tensor,
            style: torch.Tensor, *, style_is_code: bool = False, mix: MixSpec | None = None,
            spn_weight: float = DEFAULT_SPN_WEIGHT, t0: int = DEFAULT_T0, mode: str = "official",
            schedule: StructuralSchedule | None = None, precision: str | None = None,
            progress: bool = False) -> torch.Tensor:  # fmt: skip
    """Official OSASIS inference: z_in = Enc_A(I), x_t0 = invert_A(I), then ε^B reverse pass with mixing + SPN.

    ``style`` is the style image I_B^style (1 or N images, [-1, 1]) or, with ``style_is_code``, z_style itself.
    Returns images in [-1, 1] (unclamped, as the official sampler outputs them).
    """
    z_in = encode(model_a, images)
    z_style = style if style_is_code else encode(model_a, style)
    s = _sched("inference", t0, mode, schedule)
    x_t0 = invert(model_a, images, z_in, schedule=s, precision=precision, progress=progress)
    return reverse(model_b, x_t0, z_in, z_style=z_style, mix=mix, spn=spn, spn_image=images, spn_weight=spn_weight,
                   schedule=s, precision=precision, progress=progress)  # fmt: skip


# ---------------------------------------------------------------------------------------------- generation
@torch.no_grad()
def sample_latent(latent_net: MLPSkipNet, stats: LatentStats | None, n: int, *, steps: int = 200,
                  generator: torch.Generator | None = None, device: str | torch.device = "cpu",
                  progress: bool = False, noise: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """z_sem samples from the latent DPM (DDIM, constant β = 0.008, no clipping), de-normalised with ``stats``.

    ``noise`` (n, C): the starting noise (default: drawn from ``generator``)."""
    c = latent_net.config.num_channels
    if noise is None:
        noise = torch.randn(n, c, generator=generator, device=generator.device if generator else device)
    noise = noise.to(device)
    sched = Schedule.from_betas(np.full(T_DEFAULT, LATENT_BETA, dtype=np.float64), ddim_timesteps(steps))
    z = sample_loop(latent_net, noise, sched, range(len(sched) - 1, -1, -1), clip=False, progress=progress,
                    desc="latent")  # fmt: skip
    return stats.denormalize(z) if stats is not None else z


@torch.no_grad()
def sample_images(model: DiffAEAutoencoder, z_sem: torch.Tensor, *, steps: int = 20, x_T: torch.Tensor | None = None,
                  generator: torch.Generator | None = None, precision: str | None = None,
                  progress: bool = False) -> torch.Tensor:  # fmt: skip
    """Decode z_sem from x_T ~ N(0, I) with a full ``steps``-point DDIM (synthetic training inputs use 20)."""
    cfg = model.config
    if x_T is None:
        shape = (z_sem.shape[0], cfg.in_channels, cfg.image_size, cfg.image_size)
        x_T = torch.randn(shape, generator=generator, device=generator.device if generator else z_sem.device)
    sched = Schedule.ddim(steps)
    return sample_loop(model, x_T.to(z_sem.device), sched, range(steps - 1, -1, -1), diffae_cond(z_sem),
                       precision=precision, progress=progress, desc="decode")  # fmt: skip


@torch.no_grad()
def sdedit(model: ADMUNet | Callable[..., torch.Tensor], images: torch.Tensor, *, respacing: str | int = 50,
           t_start_ratio: float = 0.5, generator: torch.Generator | None = None, progress: bool = False,
           callback: StepCallback | None = None) -> torch.Tensor:  # fmt: skip
    """I_A^style from I_B^style with the P2 DDPM (official ``gen_style_domA``): noise to respaced index
    ``int(n·ratio)`` (t≈510 for 50 steps), then ancestral learned-variance steps ``int(n·ratio)-1 .. 0``.
    """
    sched = Schedule.respaced(respacing)
    k_start = int(len(sched) * t_start_ratio)
    x = q_sample(images.float(), k_start, sched, generator)
    return sample_loop(model, x, sched, range(k_start - 1, -1, -1), method="ddpm", generator=generator,
                       progress=progress, desc="sdedit", callback=callback)  # fmt: skip
