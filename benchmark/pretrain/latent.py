"""DiffAE latent DPM: an ``MLPSkipNet`` trained on normalised z_sem of the training set.

Constant β = 0.008 over T = 1000 (DiffAE's latent config, the schedule ``osasis.api.sample_latent`` samples
with), ε-prediction with the L1 loss (DiffAE's latent loss), EMA. z_sem comes from the EMA semantic encoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.pretrain.common import LoopResult, TrainSettings, optimizer_step, run_loop, training_setup, warmup_lr
from benchmark.pretrain.data import batch_indices
from osasis.api import LATENT_BETA
from osasis.configs import DiffAEConfig, LatentNetConfig
from osasis.diffusion.schedule import T_DEFAULT, Schedule
from osasis.diffusion.steps import q_sample
from osasis.networks.diffae_unet import DiffAEAutoencoder
from osasis.networks.latentnet import MLPSkipNet
from osasis.weights import LatentStats, save_diffae_lightning, save_latent_stats


def latent_schedule() -> Schedule:
    """Constant β = 0.008, T = 1000."""
    return Schedule.from_betas(np.full(T_DEFAULT, LATENT_BETA, dtype=np.float64))


@torch.no_grad()
def encode_all(model: DiffAEAutoencoder, data: torch.Tensor, batch: int = 100, device: str = "cpu") -> torch.Tensor:
    """z_sem of every image (N, C), float32 on the CPU."""
    model = model.to(device).eval()
    return torch.cat([model.encode(data[i : i + batch].to(device)).float().cpu() for i in range(0, len(data), batch)])


def stats_of(conds: torch.Tensor) -> LatentStats:
    """Per-dimension mean/std as ``save_latent_stats`` writes them."""
    return LatentStats(conds.mean(dim=0), conds.std(dim=0))


def train_latent(config: LatentNetConfig, conds: torch.Tensor, settings: TrainSettings, device: str = "cpu"
                 ) -> tuple[MLPSkipNet, MLPSkipNet, LoopResult]:  # fmt: skip
    """Train the latent DPM on ``conds`` (raw z_sem, normalised here); returns (raw, EMA, loop result)."""
    net, ema, opt, gen = training_setup(lambda: MLPSkipNet(config), settings, device)
    sched = latent_schedule()
    z_all = stats_of(conds).normalize(conds)

    def step(i: int) -> dict[str, float]:
        warmup_lr(opt, settings.lr, i, settings.warmup)
        z0 = z_all[batch_indices(len(z_all), settings.batch_size, gen)].to(device)
        t = torch.randint(0, len(sched), (z0.shape[0],), generator=gen).to(device)
        noise = torch.randn(z0.shape, generator=gen).to(device)
        loss = F.l1_loss(net(q_sample(z0, t, sched, noise=noise), sched.model_t(t)), noise)
        optimizer_step(loss, net, ema, opt, settings, i)
        return {"loss": loss.item()}

    result = run_loop(step, settings.steps, "latent", max_minutes=settings.max_minutes, log_every=500)
    return net.eval(), ema, result


def combined_model(config: DiffAEConfig, autoenc: DiffAEAutoencoder, latent_net: MLPSkipNet) -> DiffAEAutoencoder:
    """A ``DiffAEAutoencoder`` with a latent net: the autoencoder's weights plus ``latent_net``."""
    model = DiffAEAutoencoder(config)
    state = {k: v for k, v in model.state_dict().items() if k.startswith("latent_net.")}
    state.update(autoenc.state_dict())
    state.update({f"latent_net.{k}": v for k, v in latent_net.state_dict().items()})
    model.load_state_dict(state, strict=True)
    return model.eval()


def save_latent_files(ckpt_path: str | Path, pkl_path: str | Path, config: DiffAEConfig, ema_autoenc: DiffAEAutoencoder,
                      ema_latent: MLPSkipNet, conds: torch.Tensor, steps: int, half: bool = True
                      ) -> tuple[Path, Path]:  # fmt: skip
    """Write ``latent.pkl`` and the ``ffhq256_autoenc_latent/last.ckpt`` layout.

    The latter stores the EMA weights as both ``model.*`` and ``ema_model.*`` (one shared storage, so the file holds
    a single copy); fp16 storage when ``half``.
    """
    model = combined_model(config, ema_autoenc.cpu(), ema_latent.cpu())
    if half:
        model = model.half()
    stats = stats_of(conds)
    ckpt = save_diffae_lightning(ckpt_path, model, model, stats=stats, global_step=steps)
    return ckpt, save_latent_stats(pkl_path, conds)
