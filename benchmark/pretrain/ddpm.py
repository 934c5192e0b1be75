"""P2-style ADM DDPM with learned variance (improved-DDPM hybrid loss, P2 weighting), saved as ``ffhq_p2.pt``.

Loss = P2-weighted ε-MSE (weight 1/(k + SNR_t)^γ; the released FFHQ model used k = γ = 1, the smoke recipe uses
γ = 0, i.e. plain L_simple, see docs/SMOKE_MODELS.md) + L_vlb term for the variance: the per-timestep KL
(bits/dim) between the true posterior and the model's Gaussian with a stop-gradient on the mean (the decoder NLL
at t = 0), times T/1000 — i.e. L_simple + 0.001·L_vlb. Linear β, T = 1000, EMA.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from benchmark.pretrain.common import LoopResult, TrainSettings, optimizer_step, run_loop, training_setup, warmup_lr
from benchmark.pretrain.data import batch_indices
from benchmark.pretrain.diffae import full_schedule
from osasis.configs import ADMConfig
from osasis.diffusion.schedule import Schedule
from osasis.diffusion.steps import predict_x0, q_sample
from osasis.networks.adm_unet import ADMUNet
from osasis.weights import save_p2

P2_K = 1.0
P2_GAMMA = 1.0  # default of hybrid_loss; the recipe passes settings.extra["p2_gamma"]


def normal_kl(mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor) -> torch.Tensor:
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)), elementwise, in nats."""
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def discretized_gaussian_nll(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """−log P(x) of 8-bit data in [-1, 1] under a Gaussian discretised to bins of width 2/255 (edge bins open)."""
    inv_std = torch.exp(-log_scale)
    upper = inv_std * (x - mean + 1.0 / 255)
    lower = inv_std * (x - mean - 1.0 / 255)
    log_cdf_upper = torch.log(torch.special.ndtr(upper).clamp(min=1e-12))
    log_sf_lower = torch.log(torch.special.ndtr(-lower).clamp(min=1e-12))
    log_delta = torch.log((torch.special.ndtr(upper) - torch.special.ndtr(lower)).clamp(min=1e-12))
    log_p = torch.where(x < -0.999, log_cdf_upper, torch.where(x > 0.999, log_sf_lower, log_delta))
    return -log_p


def learned_log_variance(sched: Schedule, k: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """guided-diffusion ``learned_range``: interpolate log σ² between the clipped posterior variance and β."""
    frac = (values + 1) / 2
    min_log = sched.coef("posterior_log_variance_clipped", k, values)
    return frac * sched.coef("log_betas", k, values) + (1 - frac) * min_log


def hybrid_loss(model: ADMUNet, x0: torch.Tensor, sched: Schedule, gen: torch.Generator,
                p2_gamma: float = P2_GAMMA, p2_k: float = P2_K) -> dict[str, torch.Tensor]:  # fmt: skip
    """The P2-weighted MSE and the VLB term (both averaged over the batch) for one random (t, ε) per image."""
    k = torch.randint(0, len(sched), (x0.shape[0],), generator=gen).to(x0.device)
    noise = torch.randn(x0.shape, generator=gen).to(x0.device)
    x_t = q_sample(x0, k, sched, noise=noise)
    out = model(x_t, sched.model_t(k))
    eps, values = out[:, :3], out[:, 3:]
    ac = sched.coef("alphas_cumprod", k, x0)
    weight = 1.0 / (p2_k + ac / (1 - ac)) ** p2_gamma
    mse = (weight * (eps - noise) ** 2).mean(dim=(1, 2, 3))
    x0_pred = predict_x0(sched, x_t, k, eps.detach(), clip=False)
    c1, c2 = sched.coef("posterior_mean_coef1", k, x_t), sched.coef("posterior_mean_coef2", k, x_t)
    model_mean, true_mean = c1 * x0_pred + c2 * x_t, c1 * x0 + c2 * x_t
    model_logvar = learned_log_variance(sched, k, values)
    kl = normal_kl(true_mean, sched.coef("posterior_log_variance_clipped", k, x_t), model_mean, model_logvar)
    nll = discretized_gaussian_nll(x0, model_mean, 0.5 * model_logvar)
    vb = torch.where(k == 0, nll.mean(dim=(1, 2, 3)), kl.mean(dim=(1, 2, 3))) / math.log(2.0)
    return {"mse": mse.mean(), "vb": vb.mean() * len(sched) / 1000.0}


def train_p2(config: ADMConfig, data: torch.Tensor, settings: TrainSettings, device: str = "cpu"
             ) -> tuple[ADMUNet, ADMUNet, LoopResult]:  # fmt: skip
    """Train from scratch; returns (raw, EMA, loop result)."""
    model, ema, opt, gen = training_setup(lambda: ADMUNet(config), settings, device)
    sched = full_schedule()
    gamma, k = float(settings.extra.get("p2_gamma", P2_GAMMA)), float(settings.extra.get("p2_k", P2_K))

    def step(i: int) -> dict[str, float]:
        warmup_lr(opt, settings.lr, i, settings.warmup)
        x0 = data[batch_indices(len(data), settings.batch_size, gen)].to(device)
        terms = hybrid_loss(model, x0, sched, gen, gamma, k)
        loss = terms["mse"] + terms["vb"]
        optimizer_step(loss, model, ema, opt, settings, i)
        return {"loss": loss.item(), "mse": terms["mse"].item(), "vb": terms["vb"].item()}

    result = run_loop(step, settings.steps, "p2", max_minutes=settings.max_minutes)
    return model.eval(), ema, result


def save(path: str | Path, ema: ADMUNet, half: bool = True) -> Path:
    """The released ``ffhq_p2.pt`` is one (EMA) state dict; fp16 storage when ``half``."""
    import copy

    return save_p2(path, copy.deepcopy(ema).cpu().half() if half else ema)
