"""OSASIS fine-tuning losses with the official code's exact semantics (spec §3.4).

E(·) embeddings are unnormalised; u(v) = v/‖v‖; batch terms are averaged:

* cross-domain: 1 − cos(u(E(I_B^st) − E(I_A^st)), u(E(x̂0_in) − E(I_in)))               × w_cross (1)
* in-domain:    1 − cos(u(E(I_in) − E(I_A^st)),   u(E(x̂0_in) − E(I_B^st)))               × w_in (0.5)
* recon-CLIP:   1 − cos(E(x̂0_st), E(I_B^st))                                              × 30
* recon-L1:     mean |x̂0_st − I_B^st| (pixels in [-1, 1])                                 × 10
* recon-LPIPS:  LPIPS-VGG(x̂0_st, I_B^st)                                                  × 10
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
TERMS = ("cross", "in_domain", "recon_clip", "recon_l1", "recon_lpips")


def unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True)


def direction_loss(src_a: torch.Tensor, dst_a: torch.Tensor, src_b: torch.Tensor, dst_b: torch.Tensor) -> torch.Tensor:
    """1 − cos(u(dst_a − src_a), u(dst_b − src_b)), averaged over the (broadcast) batch."""
    return (1 - F.cosine_similarity(unit(dst_a - src_a), unit(dst_b - src_b), dim=-1)).mean()


def cross_domain_loss(e_a_st: Tensor, e_b_st: Tensor, e_in: Tensor, e_out: Tensor) -> Tensor:
    """The change I_in → x̂0_in should be parallel to I_A^style → I_B^style."""
    return direction_loss(e_a_st, e_b_st, e_in, e_out)


def in_domain_loss(e_a_st: Tensor, e_b_st: Tensor, e_in: Tensor, e_out: Tensor) -> Tensor:
    """The B-domain offset I_B^style → x̂0_in should be parallel to the A-domain offset I_A^style → I_in."""
    return direction_loss(e_a_st, e_in, e_b_st, e_out)


def clip_recon_loss(e_rec: torch.Tensor, e_target: torch.Tensor) -> torch.Tensor:
    """1 − cos(E(x̂0_st), E(I_B^st)) (the paper's "L1 CLIP embedding loss" is a cosine in the code)."""
    return (1 - F.cosine_similarity(e_rec, e_target, dim=-1)).mean()


@dataclass(frozen=True)
class LossWeights:
    cross: float = 1.0
    in_domain: float = 0.5
    recon_clip: float = 30.0
    recon_l1: float = 10.0
    recon_lpips: float = 10.0


@dataclass
class StyleTargets:
    """Fixed quantities of the style pair: images in [-1, 1] (1,3,R,R) and their embeddings (1, D)."""

    image_a: torch.Tensor
    image_b: torch.Tensor
    emb_a: torch.Tensor
    emb_b: torch.Tensor


def osasis_losses(embed: Callable[[Tensor], Tensor], lpips: Callable[[Tensor, Tensor], Tensor], style: StyleTargets,
                  emb_in: Tensor, x0_in: Tensor, x0_st: Tensor,
                  weights: LossWeights) -> tuple[Tensor, dict[str, float]]:  # fmt: skip
    """Total weighted loss and the unweighted terms (floats) for one reverse step."""
    e_out = embed(x0_in)
    e_rec = embed(x0_st)
    terms = {
        "cross": cross_domain_loss(style.emb_a, style.emb_b, emb_in, e_out),
        "in_domain": in_domain_loss(style.emb_a, style.emb_b, emb_in, e_out),
        "recon_clip": clip_recon_loss(e_rec, style.emb_b),
        "recon_l1": (x0_st - style.image_b).abs().mean(),
        "recon_lpips": lpips(x0_st, style.image_b).mean(),
    }
    total = sum(getattr(weights, k) * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}  # type: ignore[return-value]
