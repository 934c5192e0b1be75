"""StyleGAN2 training: non-saturating logistic loss, lazy R1 on reals, style mixing, Adam β = (0, 0.99), EMA.

No path-length regularisation. Saved in the official ``{g, g_ema, d, latent_avg}`` layout.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F

from baselines.stylegan2.checkpoint import save_official
from baselines.stylegan2.model import Discriminator, Generator, StyleGAN2Config
from benchmark.pretrain.common import LoopResult, TrainSettings, make_ema, run_loop, update_ema
from benchmark.pretrain.data import batch_indices

R1_EVERY = 16
MIXING_PROB = 0.9


def random_wplus(g: Generator, batch: int, gen: torch.Generator, device: str) -> torch.Tensor:
    """W+ codes from z ~ N(0, I), with style mixing (a random crossover layer) for a ``MIXING_PROB`` share."""
    z = torch.randn(2, batch, g.style_dim, generator=gen).to(device)
    w1, w2 = g.mapping(z[0]), g.mapping(z[1])
    n = g.n_latent
    cut = torch.randint(1, n, (batch,), generator=gen)
    mix = torch.rand(batch, generator=gen) < MIXING_PROB
    cut = torch.where(mix, cut, torch.full_like(cut, n)).to(device)
    layer = torch.arange(n, device=device)[None, :, None]
    return torch.where(layer < cut[:, None, None], w1[:, None], w2[:, None])


def train_stylegan2(
    config: StyleGAN2Config, data: torch.Tensor, settings: TrainSettings, device: str = "cpu",
    init_from: str | Path | None = None,
) -> tuple[Generator, Generator, Discriminator, LoopResult]:  # fmt: skip
    """Train G and D; returns (g, g_ema, d, loop result). ``settings.extra['r1_gamma']``: R1 γ.

    From scratch, or continuing from the ``{g, g_ema, d}`` of an official-layout file ``init_from`` (weights in
    float32; the Adam moments start from zero, as the file holds no optimizer state).
    """
    torch.manual_seed(settings.seed)
    g, d = Generator(config).to(device).train(), Discriminator(config).to(device).train()
    g_ema = make_ema(g)
    if init_from is not None:
        from baselines.stylegan2.checkpoint import load_discriminator, load_generator

        g.load_state_dict(load_generator(init_from, key="g", cfg=config)[0].float().state_dict())
        g_ema.load_state_dict(load_generator(init_from, key="g_ema", cfg=config)[0].float().state_dict())
        d.load_state_dict(load_discriminator(init_from, cfg=config).float().state_dict())
    gamma = float(settings.extra.get("r1_gamma", 0.1))
    ratio = R1_EVERY / (R1_EVERY + 1)
    opt_g = torch.optim.Adam(g.parameters(), lr=settings.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(d.parameters(), lr=settings.lr * ratio, betas=(0.0, 0.99**ratio))
    gen = torch.Generator().manual_seed(settings.seed + 1)
    batch = settings.batch_size

    def step(i: int) -> dict[str, float]:
        real = data[batch_indices(len(data), batch, gen)].to(device)
        # discriminator
        g.requires_grad_(False)
        d.requires_grad_(True)
        with torch.no_grad():
            fake = g(random_wplus(g, batch, gen, device), noise="random", rng=gen)
        d_loss = F.softplus(d(fake)).mean() + F.softplus(-d(real)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        logs = {"d": d_loss.item()}
        if i % R1_EVERY == 0:
            real.requires_grad_(True)
            (grad,) = torch.autograd.grad(d(real).sum(), real, create_graph=True)
            r1 = grad.pow(2).flatten(1).sum(1).mean()
            opt_d.zero_grad(set_to_none=True)
            (gamma / 2 * r1 * R1_EVERY).backward()
            opt_d.step()
            logs["r1"] = r1.item()
        # generator
        g.requires_grad_(True)
        d.requires_grad_(False)
        fake = g(random_wplus(g, batch, gen, device), noise="random", rng=gen)
        g_loss = F.softplus(-d(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        update_ema(g_ema, g, settings.ema_decay)
        logs["g"] = g_loss.item()
        return logs

    result = run_loop(step, settings.steps, "stylegan2", max_minutes=settings.max_minutes)
    return g.eval(), g_ema, d.eval(), result


@torch.no_grad()
def latent_average(g_ema: Generator, n: int = 4096, seed: int = 0) -> torch.Tensor:
    """Mean w over ``n`` z (the official ``latent_avg``), shape (style_dim,)."""
    return g_ema.mean_latent(n, torch.Generator().manual_seed(seed))[0]


def save(path: str | Path, g: Generator, g_ema: Generator, d: Discriminator, latent_avg: torch.Tensor,
         half: bool = True) -> Path:  # fmt: skip
    """Official layout ``{g, g_ema, d, latent_avg}`` (fp16 tensors when ``half``; loaders cast to fp32)."""
    parts = [copy.deepcopy(m).cpu() for m in (g, g_ema, d)]
    if half:
        parts = [m.half() for m in parts]
    return save_official(path, g=parts[0], g_ema=parts[1], d=parts[2], latent_avg=latent_avg.float())
