"""The latent diffusion model InST runs on (diffusers/transformers networks) and its two procedures.

* :func:`training_loss`: one textual-inversion step of ldm's ``LatentDiffusion``: VAE posterior *sample* x 0.18215,
  t ~ U{0..999}, ε ~ N(0, I), x_t = √ᾱ_t z + √(1-ᾱ_t) ε, loss = mean (ε_θ(x_t, t, c) - ε)² (``l_simple_weight`` 1,
  ``logvar`` 0, no ELBO term).
* :func:`stylize_latent`: the notebook's inference: x₇₀₀ = q_sample(z, 700, fresh noise), ε̂ = ε_θ(x₇₀₀, 700, c)
  without guidance, z_enc = √ᾱ₇₀₀ z + √(1-ᾱ₇₀₀) ε̂ (``stochastic_encode(..., noise=ε̂, use_original_steps=True)``),
  then DDIM (η = 0) over the first ``strength·steps`` DDIM timesteps (681 … 1 for 50 steps, strength 0.7) with
  classifier-free guidance ``e_u + s (e_c - e_u)`` on ``[uncond, cond]``. The step is diffusers' ``DDIMScheduler``
  (no clipping, ``set_alpha_to_one=False`` so the last step goes to ᾱ₀ as ldm's ``ddim_alphas_prev`` does).

ᾱ is computed as ldm does (float64 cumprod of linspace(√β₀, √β₁)², cast to float32) and installed in the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from baselines.inst.configs import BETA_END, BETA_START, LATENT_SCALE, NUM_TRAIN_TIMESTEPS, LDMArchitecture


def ldm_alphas_cumprod(n: int = NUM_TRAIN_TIMESTEPS, start: float = BETA_START, end: float = BETA_END) -> torch.Tensor:
    """ᾱ_t of ldm's "linear" schedule, computed in float64 and stored in float32 as ldm's buffers are."""
    betas = np.linspace(start**0.5, end**0.5, n, dtype=np.float64) ** 2
    return torch.from_numpy(np.cumprod(1.0 - betas)).float()


def ddim_scheduler(steps: int):  # noqa: ANN201 - diffusers.DDIMScheduler
    """diffusers' DDIM with Stable Diffusion's settings and ldm's ᾱ; ``set_timesteps(steps)`` already called."""
    from diffusers import DDIMScheduler

    sched = DDIMScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, beta_start=BETA_START, beta_end=BETA_END,
                          beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                          timestep_spacing="leading", prediction_type="epsilon")  # fmt: skip
    sched.alphas_cumprod = ldm_alphas_cumprod()
    sched.final_alpha_cumprod = sched.alphas_cumprod[0]
    sched.set_timesteps(steps)
    return sched


@dataclass
class LatentDiffusion:
    """UNet2DConditionModel + AutoencoderKL + CLIPTextModel of one architecture, frozen."""

    arch: LDMArchitecture
    unet: nn.Module
    vae: nn.Module
    text_encoder: nn.Module
    scale: float = LATENT_SCALE

    def __post_init__(self) -> None:
        for m in (self.unet, self.vae, self.text_encoder):
            m.eval().requires_grad_(False)
        self.alphas_cumprod = ldm_alphas_cumprod()

    def to(self, device: torch.device | str) -> LatentDiffusion:
        for m in (self.unet, self.vae, self.text_encoder):
            m.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @torch.no_grad()
    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) of the VAE posterior of images in [-1, 1]: the deterministic half of ``encode``."""
        posterior = self.vae.encode(images.to(self.device)).latent_dist
        return posterior.mean, posterior.std

    def sample_posterior(self, moments: tuple[torch.Tensor, torch.Tensor], noise: torch.Tensor | None = None,
                         generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
        """scale · (mean + std · noise), noise drawn from ``generator`` when not given (ldm's ``sample()``)."""
        mean, std = moments
        if noise is None:
            noise = torch.randn(mean.shape, generator=generator).to(self.device)
        return self.scale * (mean + std * noise.to(self.device))

    @torch.no_grad()
    def encode(self, images: torch.Tensor, noise: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
        """A posterior sample of images in [-1, 1]: ``sample_posterior(posterior(images))``."""
        return self.sample_posterior(self.posterior(images), noise, generator)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latents / self.scale).sample

    def eps(self, x: torch.Tensor, t: torch.Tensor | int, context: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, device=x.device).reshape(-1).expand(x.shape[0])
        return self.unet(x, t, encoder_hidden_states=context).sample

    def q_sample(self, z: torch.Tensor, t: torch.Tensor | int, noise: torch.Tensor) -> torch.Tensor:
        a = self.alphas_cumprod.to(z.device)[torch.as_tensor(t, device=z.device).reshape(-1)].view(-1, 1, 1, 1)
        return a.sqrt() * z + (1 - a).sqrt() * noise


def training_loss(ldm: LatentDiffusion, z: torch.Tensor, context: torch.Tensor, t: torch.Tensor,
                  noise: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """ldm's ``p_losses`` for ε-prediction: mean over (C, H, W) then over the batch."""
    pred = ldm.eps(ldm.q_sample(z, t, noise), t, context)
    return F.mse_loss(pred.float(), noise.float(), reduction="none").mean(dim=(1, 2, 3)).mean()


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The notebook's optional AdaIN of the content latent to the style latent (unbiased variance + eps)."""
    c_mean, s_mean = content.mean(dim=(2, 3), keepdim=True), style.mean(dim=(2, 3), keepdim=True)
    c_std = (content.flatten(2).var(dim=2) + eps).sqrt()[..., None, None]
    s_std = (style.flatten(2).var(dim=2) + eps).sqrt()[..., None, None]
    return (content - c_mean) / c_std * s_std + s_mean


@dataclass
class InferenceSettings:
    steps: int = 50
    strength: float = 0.7
    guidance: float = 10.0
    inversion_t: int | None = None  # None: int(strength * 1000) as in the notebook


def decode_timesteps(settings: InferenceSettings) -> tuple[Any, torch.Tensor]:
    """(scheduler, the first ``int(strength·steps)`` DDIM timesteps, descending)."""
    sched = ddim_scheduler(settings.steps)
    n = int(settings.strength * settings.steps)
    return sched, sched.timesteps[len(sched.timesteps) - n :]


@torch.no_grad()
def stylize_latent(ldm: LatentDiffusion, z: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor,
                   noise: torch.Tensor, settings: InferenceSettings) -> torch.Tensor:  # fmt: skip
    """Stochastic inversion from t = 1000·strength with the predicted ε, then guided DDIM decoding (η = 0)."""
    t_inv = settings.inversion_t if settings.inversion_t is not None else int(settings.strength * NUM_TRAIN_TIMESTEPS)
    z_enc = invert(ldm, z, cond, noise, t_inv)
    sched, timesteps = decode_timesteps(settings)
    x = z_enc
    for t in timesteps:
        x = guided_ddim_step(ldm, sched, x, int(t), cond, uncond, settings.guidance)
    return x


def invert(ldm: LatentDiffusion, z: torch.Tensor, cond: torch.Tensor, noise: torch.Tensor, t: int) -> torch.Tensor:
    """√ᾱ_t z + √(1-ᾱ_t) ε_θ(q_sample(z, t, noise), t, c)."""
    eps_hat = ldm.eps(ldm.q_sample(z, t, noise), t, cond)
    return ldm.q_sample(z, t, eps_hat)


def guided_ddim_step(ldm: LatentDiffusion, sched: Any, x: torch.Tensor, t: int, cond: torch.Tensor,
                     uncond: torch.Tensor, guidance: float) -> torch.Tensor:  # fmt: skip
    if guidance == 1.0:
        e = ldm.eps(x, t, cond)
    else:
        e_u, e_c = ldm.eps(torch.cat([x, x]), t, torch.cat([uncond, cond])).chunk(2)
        e = e_u + guidance * (e_c - e_u)
    return sched.step(e, t, x, eta=0.0).prev_sample
