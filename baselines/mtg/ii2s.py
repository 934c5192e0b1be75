"""II2S (Zhu et al. 2020) embedding of the style image, as MTG runs it (``models/II2S.py``, ``style_embed_options``).

Optimise 18 W+ vectors, each initialised at ``latent_avg``, with Adam (lr 0.01, 1000 steps) on

    l2 * MSE(G(w), I) + percept * LPIPS_vgg(↓(G(w)), I_low) + p_norm * mean(((LeakyReLU_5(w) - μ) Cᵀ / σ)²)

where ``I`` is the reference at the generator size, ``I_low`` its PIL-LANCZOS resize to ``size / factor``, ``↓``
the released bicubic downsampler with ``factor = size // 256`` (4 at 1024), and ``(μ, C, σ)`` the PCA of
``LeakyReLU_5(mapping(z))`` stored in ``ffhq_PCA.npz`` (``X_mean``, ``X_comp``, ``X_stdev``).

Upstream quirks, kept by default:

* the generator draws fresh noise at every step (``randomize_noise=True``); here from a seeded generator
  (upstream never calls its ``set_seed``, so the released embedding is unseeded);
* the returned code is the ``latent_in`` of the last step, i.e. *before* the final Adam update
  (``final_update=False``; ``True`` returns the code after all ``steps`` updates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from baselines.mtg.losses import bicubic_downsample
from baselines.stylegan2.model import Generator
from benchmark.errors import CheckpointError

PCA_KEYS = ("X_mean", "X_comp", "X_stdev")


@dataclass
class PCAPrior:
    """PCA statistics of the LeakyReLU(5)-mapped W space: mean [D], components [K, D], stdev [K]."""

    mean: torch.Tensor
    comp: torch.Tensor
    stdev: torch.Tensor

    def to(self, device: torch.device | str) -> PCAPrior:
        return PCAPrior(self.mean.to(device), self.comp.to(device), self.stdev.to(device))


def load_pca(path: str | Path, style_dim: int | None = None) -> PCAPrior:
    """Read ``X_mean``, ``X_comp``, ``X_stdev`` from an ``.npz`` (numeric arrays only, no pickles)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in PCA_KEYS if k not in data.files]
            if missing:
                raise CheckpointError(f"{path}: PCA file lacks {missing} (has {sorted(data.files)})")
            arrays = [torch.from_numpy(np.asarray(data[k], dtype=np.float32)) for k in PCA_KEYS]
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable PCA .npz ({type(exc).__name__}: {exc})") from exc
    prior = PCAPrior(*arrays)
    d = prior.mean.numel()
    if prior.comp.ndim != 2 or prior.comp.shape[1] != d or prior.stdev.shape != (prior.comp.shape[0],):
        raise CheckpointError(f"{path}: inconsistent PCA shapes mean {tuple(prior.mean.shape)}, "
                              f"comp {tuple(prior.comp.shape)}, stdev {tuple(prior.stdev.shape)}")  # fmt: skip
    if style_dim is not None and d != style_dim:
        raise CheckpointError(f"{path}: PCA of {d}-d codes, the generator has style_dim {style_dim}")
    return prior


@torch.no_grad()
def estimate_pca(g: Generator, n: int, rng: torch.Generator, chunk: int = 65536) -> PCAPrior:
    """The statistics upstream builds when ``<ckpt>_PCA.npz`` is missing (``build_PCA_model``), seeded.

    Upstream fits sklearn's IncrementalPCA with all components on 10⁶ samples; the full-rank PCA here
    (eigen-decomposition of the covariance, ``ddof=1`` like ``explained_variance_``) has the same subspace.
    """
    dev = g.input.input.device
    d = g.style_dim
    total, sq, count = torch.zeros(d, dtype=torch.float64), torch.zeros(d, d, dtype=torch.float64), 0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        z = torch.randn(m, d, generator=rng, device=rng.device).to(dev)
        x = F.leaky_relu(g.mapping(z), 5.0).double().cpu()
        total += x.sum(0)
        sq += x.T @ x
        count += m
    mean = total / count
    cov = (sq - count * torch.outer(mean, mean)) / max(count - 1, 1)
    var, vec = torch.linalg.eigh(cov)
    order = var.argsort(descending=True)
    var, vec = var[order].clamp_min(1e-12), vec[:, order]
    return PCAPrior(mean.float(), vec.T.contiguous().float(), var.sqrt().float())


def p_norm_loss(w: torch.Tensor, prior: PCAPrior, weight: float) -> torch.Tensor:
    """``weight * mean(((LeakyReLU_5(w) - μ) Cᵀ / σ)²)`` over all W+ vectors and components."""
    z = (F.leaky_relu(w, 5.0) - prior.mean) @ prior.comp.T / prior.stdev
    return weight * z.pow(2).mean()


@dataclass
class II2SSettings:
    """Released ``style_embed_options`` (p_norm 1e-2 for style images; 1e-3 is the face setting)."""

    steps: int = 1000
    lr: float = 0.01
    l2_weight: float = 1.0
    lpips_weight: float = 1.0
    p_norm_weight: float = 1e-2
    downsample_factor: int = 4  # size // 256 at 1024
    noise: str = "random"  # "random" (released) or "const"
    final_update: bool = False  # released: the code before the last Adam update is returned


def ii2s_loss(img: torch.Tensor, w: torch.Tensor, target: torch.Tensor, target_low: torch.Tensor,
              lpips: torch.nn.Module, prior: PCAPrior, s: II2SSettings) -> dict[str, torch.Tensor]:  # fmt: skip
    """The three II2S terms (weighted) and their sum under ``"loss"``."""
    terms = {
        "l2": s.l2_weight * F.mse_loss(img, target),
        "percep": s.lpips_weight * lpips(bicubic_downsample(img, s.downsample_factor), target_low).sum(),
        "p-norm": p_norm_loss(w, prior, s.p_norm_weight),
    }
    terms["loss"] = terms["l2"] + terms["percep"] + terms["p-norm"]
    return terms


def initial_code(latent_avg: torch.Tensor, n_latent: int) -> torch.Tensor:
    """``[1, n_latent, D]`` copies of ``latent_avg`` (``[D]`` or ``[n_latent, D]``)."""
    la = latent_avg.detach().float()
    if la.ndim == 1:
        la = la[None].repeat(n_latent, 1)
    return la.reshape(1, n_latent, -1).clone()


@torch.enable_grad()
def embed(g: Generator, target: torch.Tensor, target_low: torch.Tensor, latent_avg: torch.Tensor,
          lpips: torch.nn.Module, prior: PCAPrior, settings: II2SSettings, rng: torch.Generator,
          ) -> tuple[torch.Tensor, list[float]]:  # fmt: skip
    """II2S code ``[1, n_latent, D]`` of ``target`` ([1, 3, S, S] in [-1, 1]) and the loss per step."""
    params = [p.requires_grad for p in g.parameters()]
    g.eval().requires_grad_(False)
    dev = target.device
    w = initial_code(latent_avg, g.n_latent).to(dev).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=settings.lr)
    prior = prior.to(dev)
    losses: list[float] = []
    latent_in = w.detach().clone()
    try:
        for _ in range(settings.steps):
            opt.zero_grad()
            latent_in = w.detach().clone()
            img = g(w, noise=settings.noise, rng=rng)
            loss = ii2s_loss(img, w, target, target_low, lpips, prior, settings)["loss"]
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    finally:
        for p, flag in zip(g.parameters(), params):
            p.requires_grad_(flag)
    return (w.detach().clone() if settings.final_update else latent_in), losses
