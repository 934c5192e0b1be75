"""JoJoGAN fine-tuning (the released ``stylize.ipynb`` recipe), seeded.

Per iteration: draw z, map it to w_rand, mix it into the reference's W+ code at the swap indices,
render, and minimise the mean over the chosen discriminator blocks of the L1 distance between the
frozen discriminator's features of the render and of the reference.

Notes on the released code:

* ``alpha`` is inverted there (``alpha = 1 - alpha``): with the user's alpha, the mixed code at the swap
  indices is ``(1 - alpha) * w_ref + alpha * w_rand``, so ``alpha=1`` (the default) means fully random
  codes at those indices, i.e. the strongest stylisation.
* ``get_latent`` (the mapping network call for w_rand) runs under ``torch.no_grad()`` in JoJoGAN's
  ``model.py``, so the mapping MLP receives no gradient although it sits in the Adam parameter list;
  ``train_mapping=False`` reproduces that, ``True`` back-propagates into the mapping network.
* Noise is re-drawn on every training forward (``randomize_noise=True``); here it comes from ``rng``.
* Swap indices for generators with fewer than 18 W+ codes: each released index ``i`` maps to
  ``floor(i * (n - 1) / 17 + 0.5)`` (proportional position in the code list), duplicates removed.
  For 18 codes this is the identity; for 8 codes (32 px) 7..17 becomes 3..7.
* Discriminator blocks: the released (1, 3, 4, 5), truncated to the blocks a smaller D has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from baselines.stylegan2.model import Discriminator, Generator

RELEASED_N_LATENT = 18
DEFAULT_SWAP = tuple(range(7, 18))
PRESERVE_COLOR_SWAP = (9, 11, 15, 16, 17)
RELEASED_D_BLOCKS = (1, 3, 4, 5)


def scale_indices(indices: Sequence[int], n_latent: int) -> list[int]:
    """Map W+ indices of an 18-code generator to an ``n_latent``-code one (see module notes)."""
    if n_latent == RELEASED_N_LATENT:
        return sorted(set(indices))
    ratio = (n_latent - 1) / (RELEASED_N_LATENT - 1)
    return sorted({int(math.floor(i * ratio + 0.5)) for i in indices})


def swap_indices(n_latent: int, preserve_color: bool = False) -> list[int]:
    """The W+ indices that receive random style codes."""
    return scale_indices(PRESERVE_COLOR_SWAP if preserve_color else DEFAULT_SWAP, n_latent)


def d_blocks(disc: Discriminator, blocks: Sequence[int] = RELEASED_D_BLOCKS) -> list[int]:
    """Feature blocks used by the loss, limited to those ``disc`` has."""
    kept = [b for b in blocks if b < len(disc.convs)]
    if not kept:
        raise ValueError(f"none of the blocks {list(blocks)} exist in a discriminator with {len(disc.convs)} blocks")
    return kept


def mix_codes(w_ref: torch.Tensor, w_rand: torch.Tensor, indices: Sequence[int], alpha: float) -> torch.Tensor:
    """``w_ref`` [B, n, D] with ``(1 - alpha) * w_ref + alpha * w_rand`` at ``indices`` (``w_rand`` [B, D])."""
    mixed = w_ref.clone()
    idx = list(indices)
    mixed[:, idx] = (1 - alpha) * w_ref[:, idx] + alpha * w_rand[:, None, :]
    return mixed


def feature_loss(fake: Sequence[torch.Tensor], real: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the mean absolute difference."""
    return sum(F.l1_loss(a, b) for a, b in zip(fake, real, strict=True)) / len(fake)  # type: ignore[return-value]


@dataclass
class FinetuneSettings:
    """Hyper-parameters (released defaults)."""

    iterations: int = 300
    lr: float = 2e-3
    betas: tuple[float, float] = (0.0, 0.99)
    alpha: float = 1.0
    preserve_color: bool = False
    swap: Sequence[int] | None = None  # explicit indices override the rule above
    blocks: Sequence[int] = RELEASED_D_BLOCKS
    train_mapping: bool = False
    noise: str = "random"  # "random" (released) or "const"
    losses: list[float] = field(default_factory=list)


def finetune(
    g: Generator,
    disc: Discriminator,
    w_ref: torch.Tensor,
    target: torch.Tensor,
    settings: FinetuneSettings,
    rng: torch.Generator,
) -> list[float]:
    """Fine-tune ``g`` in place toward ``target`` ([B, 3, S, S] in [-1, 1], S = G size); returns the losses."""
    dev = w_ref.device
    disc = disc.eval().requires_grad_(False)
    blocks = d_blocks(disc, settings.blocks)
    idx = list(settings.swap) if settings.swap is not None else swap_indices(g.n_latent, settings.preserve_color)
    if idx and max(idx) >= g.n_latent:
        raise ValueError(f"swap indices {idx} exceed the generator's {g.n_latent} W+ codes")
    g.train().requires_grad_(True)
    opt = torch.optim.Adam(g.parameters(), lr=settings.lr, betas=(float(settings.betas[0]), float(settings.betas[1])))
    with torch.no_grad():
        real = disc.features(target, blocks)
    batch = w_ref.shape[0]
    losses: list[float] = []
    for _ in range(settings.iterations):
        z = torch.randn(batch, g.style_dim, generator=rng, device=rng.device).to(dev)
        if settings.train_mapping:
            w_rand = g.mapping(z)
        else:
            with torch.no_grad():
                w_rand = g.mapping(z)
        w_in = mix_codes(w_ref, w_rand, idx, settings.alpha)
        img = g(w_in, noise=settings.noise, rng=rng)
        loss = feature_loss(disc.features(img, blocks), real)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    g.eval()
    return losses
