"""MTG fine-tuning (``train.py`` / ``models/MTG.py`` of the released code), seeded.

Two copies of the pretrained generator: ``G_A`` (frozen, source) and ``G_B`` (trainable). Per iteration:
``z ~ N(0, I)`` [batch, D]; ``w = mapping_A(z)``; with fresh noise for every render
``A = G_A(w)``, ``A_ref = G_A(w_style)`` (no grad), ``B_ref = G_B(w_style)``, ``B = G_B(w)``;

    loss = across * L_across + within * L_within + ref_clip * L_ref
           + l2 * MSE(↓4 B_ref, I_256) + lpips * LPIPS_vgg(↓4 B_ref, I_256)

(CLIP terms in :mod:`baselines.mtg.losses`, each summed over the CLIP models). Adam over *all* of ``G_B``'s
parameters (only the trainable ones receive gradients) with ``lr * r`` and betas ``(0 ** r, 0.99 ** r)``,
``r = g_reg_every / (g_reg_every + 1) = 4/5``. Trainable with the released ``phase=None``: the constant input,
``conv1`` and every ``convs`` layer (modulations included); mapping and ToRGB layers stay frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from baselines.mtg.losses import Embedder, bicubic_downsample, unit, weighted_clip_terms
from baselines.stylegan2.model import Generator

PHASES = ("default", "texture", "shape", "no_fine", "shape_expanded", "all")


def training_modules(g: Generator, phase: str = "default") -> list[nn.Module]:
    """The released ``get_training_layers(phase)`` (``default`` = upstream ``phase=None``)."""
    head: list[nn.Module] = [g.input, g.conv1]
    convs = list(g.convs)
    layers = {
        "default": head + convs,
        "texture": head + convs[2:10],
        "shape": head + convs[0:2],
        "no_fine": head + convs[:10],
        "shape_expanded": head + convs[0:3],
        "all": list(g.children()),
    }
    if phase not in layers:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    return layers[phase]


def set_trainable(g: Generator, phase: str = "default") -> None:
    """Freeze ``g``, then unfreeze the phase's layers."""
    g.requires_grad_(False)
    for module in training_modules(g, phase):
        module.requires_grad_(True)


@dataclass
class LossWeights:
    """Released ``MTGOptions`` loss weights."""

    clip_across: float = 1.0
    clip_within: float = 0.5
    ref_clip: float = 30.0
    l2: float = 10.0
    lpips: float = 10.0


class MTGLoss(nn.Module):
    """The five MTG terms given the four renders; the reference ``style`` ([1,3,S,S]) and ``style_low``."""

    def __init__(self, embedders: Sequence[tuple[Embedder, float]], lpips: nn.Module, style: torch.Tensor,
                 style_low: torch.Tensor, weights: LossWeights, downsample_factor: int = 4) -> None:  # fmt: skip
        super().__init__()
        self.embedders = list(embedders)
        self.lpips = lpips
        self.register_buffer("style", style)
        self.register_buffer("style_low", style_low)
        self.weights = weights
        self.factor = downsample_factor
        self._style_embeddings: list[torch.Tensor] | None = None

    def style_embeddings(self) -> list[torch.Tensor]:
        """Unit embeddings of the reference per embedder (constant: computed once)."""
        if self._style_embeddings is None:
            with torch.no_grad():
                self._style_embeddings = [unit(e.embed_image(self.style)) for e, _ in self.embedders]
        return self._style_embeddings

    def terms(self, a: torch.Tensor, a_ref: torch.Tensor, b: torch.Tensor, b_ref: torch.Tensor
              ) -> dict[str, torch.Tensor]:  # fmt: skip
        """Unweighted terms ``clip_across``, ``clip_within``, ``ref_clip``, ``l2``, ``lpips``."""
        out = weighted_clip_terms(self.embedders, a, a_ref, b, b_ref, self.style_embeddings())
        low = bicubic_downsample(b_ref, self.factor)
        out["l2"] = F.mse_loss(low, self.style_low)
        out["lpips"] = self.lpips(low, self.style_low).mean()
        return out

    def forward(self, a: torch.Tensor, a_ref: torch.Tensor, b: torch.Tensor, b_ref: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # fmt: skip
        terms = self.terms(a, a_ref, b, b_ref)
        w = self.weights
        total = (w.clip_across * terms["clip_across"] + w.ref_clip * terms["ref_clip"] + w.lpips * terms["lpips"]
                 + w.l2 * terms["l2"] + w.clip_within * terms["clip_within"])  # fmt: skip
        return total, terms


@dataclass
class FinetuneSettings:
    """Released ``MTGOptions`` training settings."""

    iterations: int = 600
    batch: int = 4
    lr: float = 0.002
    g_reg_every: int = 4
    phase: str = "default"
    noise: str = "random"  # "random" (released) or "const"

    @property
    def ratio(self) -> float:
        return self.g_reg_every / (self.g_reg_every + 1)


def make_optimizer(g_train: Generator, s: FinetuneSettings) -> torch.optim.Adam:
    """Adam over all of ``G_B``'s parameters, as released (frozen ones never get a gradient)."""
    r = s.ratio
    return torch.optim.Adam(g_train.parameters(), lr=s.lr * r, betas=(0.0**r, 0.99**r))


def renders(g_frozen: Generator, g_train: Generator, z: torch.Tensor, w_style: torch.Tensor, noise: str,
            rng: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """``A, A_ref`` (no grad) and ``B_ref, B`` in the released order, each with its own noise."""
    with torch.no_grad():
        w = g_frozen.mapping(z)
        a = g_frozen(w, noise=noise, rng=rng)
        a_ref = g_frozen(w_style, noise=noise, rng=rng)
    b_ref = g_train(w_style, noise=noise, rng=rng)
    b = g_train(w, noise=noise, rng=rng)
    return a, a_ref, b, b_ref


def finetune(g_frozen: Generator, g_train: Generator, w_style: torch.Tensor, loss_fn: MTGLoss,
             settings: FinetuneSettings, rng: torch.Generator, optimizer: torch.optim.Adam | None = None,
             on_step: Callable[[int, dict[str, float]], None] | None = None,
             ) -> tuple[torch.optim.Adam, list[float]]:  # fmt: skip
    """Fine-tune ``g_train`` in place; returns the optimiser (saved as ``g_optim``) and the losses."""
    dev = w_style.device
    g_frozen.eval().requires_grad_(False)
    set_trainable(g_train, settings.phase)
    g_train.train()
    opt = optimizer or make_optimizer(g_train, settings)
    losses: list[float] = []
    for step in range(settings.iterations):
        z = torch.randn(settings.batch, g_frozen.style_dim, generator=rng, device=rng.device).to(dev)
        a, a_ref, b, b_ref = renders(g_frozen, g_train, z, w_style, settings.noise, rng)
        loss, terms = loss_fn(a, a_ref, b, b_ref)
        g_train.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step, {k: float(v.detach()) for k, v in terms.items()})
    g_train.eval()
    return opt, losses
