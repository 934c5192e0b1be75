"""DiffAE autoencoder training: ε-prediction MSE on random t, conditioned on z_sem = Enc(x0) (joint training).

Linear β schedule with T = 1000 (as the official), AdamW, gradient clipping, EMA of all weights. The result is
written as the official Lightning ``last.ckpt`` layout (``model.*`` = raw, ``ema_model.*`` = EMA weights).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from benchmark.pretrain.common import LoopResult, TrainSettings, optimizer_step, run_loop, training_setup, warmup_lr
from benchmark.pretrain.data import batch_indices
from osasis.configs import DiffAEConfig
from osasis.diffusion.schedule import T_DEFAULT, Schedule, linear_betas
from osasis.diffusion.steps import q_sample
from osasis.networks.diffae_unet import DiffAEAutoencoder
from osasis.weights import save_diffae_lightning


def full_schedule() -> Schedule:
    """The training diffusion: linear β, all T = 1000 steps (grid index = timestep)."""
    return Schedule.from_betas(linear_betas(T_DEFAULT))


def diffae_loss(model: DiffAEAutoencoder, x0: torch.Tensor, sched: Schedule, gen: torch.Generator) -> torch.Tensor:
    """E_t,ε ||ε − ε_θ(x_t, t, Enc(x0))||² (noise and t drawn from ``gen``)."""
    t = torch.randint(0, len(sched), (x0.shape[0],), generator=gen).to(x0.device)
    noise = torch.randn(x0.shape, generator=gen).to(x0.device)
    x_t = q_sample(x0, t, sched, noise=noise)
    return F.mse_loss(model(x_t, sched.model_t(t), cond=model.encode(x0)), noise)


def train_diffae(config: DiffAEConfig, data: torch.Tensor, settings: TrainSettings, device: str = "cpu"
                 ) -> tuple[DiffAEAutoencoder, DiffAEAutoencoder, LoopResult]:  # fmt: skip
    """Train from scratch; returns (raw model, EMA model, loop result). ``data``: (N, 3, H, W) in [-1, 1]."""
    model, ema, opt, gen = training_setup(lambda: DiffAEAutoencoder(config), settings, device)
    sched = full_schedule()

    def step(i: int) -> dict[str, float]:
        warmup_lr(opt, settings.lr, i, settings.warmup)
        x0 = data[batch_indices(len(data), settings.batch_size, gen)].to(device)
        loss = diffae_loss(model, x0, sched, gen)
        optimizer_step(loss, model, ema, opt, settings, i)
        return {"loss": loss.item()}

    result = run_loop(step, settings.steps, "diffae", max_minutes=settings.max_minutes)
    return model.eval(), ema, result


def save_autoenc(path: str | Path, model: DiffAEAutoencoder, ema: DiffAEAutoencoder, steps: int,
                 half: bool = True) -> Path:  # fmt: skip
    """Official ``ffhq256_autoenc/last.ckpt`` layout (fp16 storage when ``half``; loaders cast to fp32)."""
    return save_diffae_lightning(path, _maybe_half(model, half), _maybe_half(ema, half), global_step=steps)


def _maybe_half(model: torch.nn.Module, half: bool) -> torch.nn.Module:
    import copy

    return copy.deepcopy(model).cpu().half() if half else model
