"""DiffuseIT's guidance losses, per image (vectors of length B), so a batch's total is a sum of independent terms.

Each term reproduces the official code for one image (``model_vit/loss_vit.py``, ``model_vit/contra_loss.py``,
``optimization/losses.py``, ``id_loss.py``); the official code loops over the batch and adds (or, for the
contrastive and ID terms, averages) them, which equals these sums at batch size 1, the official setting.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

NCE_TEMPERATURE = 0.07
NCE_DIAGONAL = -10.0
SELF_SIM_EPS = 1e-8


def key_self_similarity(keys: torch.Tensor) -> torch.Tensor:
    """Cosine self-similarity of tokens ``B x N x D -> B x N x N`` (norm products clamped at 1e-8, as Splice)."""
    norms = keys.norm(dim=2, keepdim=True)
    return (keys @ keys.transpose(1, 2)) / torch.clamp(norms @ norms.transpose(1, 2), min=SELF_SIM_EPS)


def self_similarity_loss(keys: torch.Tensor, source_self_sim: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the key self-similarity matrices (the structure term)."""
    return ((key_self_similarity(keys) - source_self_sim) ** 2).mean(dim=(1, 2))


def patch_nce_loss(keys: torch.Tensor, source_keys: torch.Tensor) -> torch.Tensor:
    """PatchNCE on keys: token i of the output against token i of the source (positive) and every other source
    token (negatives, the diagonal of the negatives set to -10), cosine logits / 0.07, cross-entropy averaged over
    tokens."""
    q_norm = keys.norm(p=2, dim=-1, keepdim=True)
    k_norm = source_keys.norm(p=2, dim=-1, keepdim=True)
    pos = (keys * source_keys).sum(dim=-1, keepdim=True) / (q_norm * k_norm)
    neg = (keys @ source_keys.transpose(1, 2)) / (q_norm @ k_norm.transpose(1, 2))
    eye = torch.eye(keys.shape[1], dtype=torch.bool, device=keys.device)
    neg = neg.masked_fill(eye, NCE_DIAGONAL)
    logits = torch.cat([pos, neg], dim=2) / NCE_TEMPERATURE
    return -torch.log_softmax(logits, dim=2)[..., 0].mean(dim=1)


def semantic_divergence_loss(cls: torch.Tensor, previous_cls: torch.Tensor) -> torch.Tensor:
    """Minus the mean squared difference of [CLS] to the previous step's [CLS] (pushes away from it)."""
    return -((previous_cls - cls) ** 2).mean(dim=1)


def style_cls_loss(cls: torch.Tensor, style_cls: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of [CLS] to the style image's [CLS]."""
    return ((style_cls - cls) ** 2).mean(dim=1)


def pixel_loss(x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Mean squared difference to the style image, both in [-1, 1]."""
    return ((x - style) ** 2).mean(dim=(1, 2, 3))


def range_loss(x: torch.Tensor) -> torch.Tensor:
    """Mean squared excess of x̂0 outside [-1, 1]."""
    return (x - x.clamp(-1, 1)).pow(2).mean(dim=(1, 2, 3))


def identity_loss(embedding: torch.Tensor, source_embedding: torch.Tensor) -> torch.Tensor:
    """1 − dot product of the (L2-normalised) ArcFace embeddings."""
    return 1 - (embedding * source_embedding).sum(dim=1)


def arcface_crop(x: torch.Tensor) -> torch.Tensor:
    """pSp's ID-loss input: rows 35:223, cols 32:220 of a 256-px face (scaled for other sizes), avg-pooled to 112."""
    s = x.shape[-1] / 256
    top, bottom, left, right = (round(v * s) for v in (35, 223, 32, 220))
    return F.adaptive_avg_pool2d(x[:, :, top:bottom, left:right], (112, 112))
