"""MTG's loss building blocks: the 16-tap bicubic ↓4, image embedders and the CLIP direction terms.

* :func:`bicubic_downsample` is the released ``BicubicDownSample``: a separable kernel of ``4 * factor`` taps
  (Keys cubic, ``a = -0.5``, sampled at ``(i - 2 * factor + 0.5) / factor`` and normalised to sum 1), reflect
  padding of ``3 * factor`` split ``floor/ceil`` (6/6 at factor 4), applied along H then W with stride ``factor``.
* :class:`MTGCLIPEmbedder` is the released ``CLIPLoss`` image path: ``(x + 1) / 2`` → tensor bicubic resize of
  the short side to the model size *without* antialiasing (torchvision 0.8.2 tensors, which MTG pins) → centre
  crop → CLIP mean/std. ``clip.load`` on CUDA gives fp16 weights; ``half=True`` approximates that on CUDA with fp16
  autocast (convolutions and matmuls in fp16, layer norms in fp32; on a CPU ``clip.load`` casts to fp32, and so do
  we). CLIP is loaded once, through :func:`benchmark.features.clip.build_clip`.
* Embeddings are L2-normalised before any difference (``get_image_features(norm=True)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from osasis.method.embedders import CLIPEmbedder, Embedder


def bicubic_taps(factor: int, a: float = -0.5) -> torch.Tensor:
    """The ``4 * factor`` normalised taps of the released downsampling kernel."""
    size = 4 * factor
    taps = []
    for i in range(size):
        x = abs((i - math.floor(size / 2) + 0.5) / factor)
        if x <= 1.0:
            v = (a + 2.0) * x**3 - (a + 3.0) * x**2 + 1.0
        elif x < 2.0:
            v = a * x**3 - 5.0 * a * x**2 + 8.0 * a * x - 4.0 * a
        else:
            v = 0.0
        taps.append(v)
    k = torch.tensor(taps, dtype=torch.float32)
    return k / k.sum()


def bicubic_downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Downsample ``B x C x H x W`` by an integer ``factor`` (released separable bicubic, reflect padding)."""
    if factor < 1:
        raise ValueError(f"downsample factor must be >= 1, got {factor}")
    k = bicubic_taps(factor).to(x)
    c, size = x.shape[1], k.numel()
    pad = max(size - factor, 0)
    lo, hi = pad // 2, pad - pad // 2
    x = F.pad(x, (0, 0, lo, hi), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, size, 1).repeat(c, 1, 1, 1), stride=(factor, 1), groups=c)
    x = F.pad(x, (lo, hi, 0, 0), mode="reflect")
    return F.conv2d(x, k.view(1, 1, 1, size).repeat(c, 1, 1, 1), stride=(1, factor), groups=c)


class MTGCLIPEmbedder(CLIPEmbedder):
    """A CLIP image tower with MTG's preprocessing (bicubic, no antialias, centre crop, CLIP mean/std)."""

    def __init__(self, model: nn.Module, half: bool = False) -> None:
        super().__init__(model, preprocess="mtg")
        self.half_precision = half

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        x = (x + 1) / 2
        h, w = x.shape[-2:]
        short = min(h, w)
        new = (self.size, self.size) if h == w else (int(self.size * h / short), int(self.size * w / short))
        x = F.interpolate(x, size=new, mode="bicubic", align_corners=False, antialias=False)
        top, left = (x.shape[-2] - self.size) // 2, (x.shape[-1] - self.size) // 2
        x = x[..., top : top + self.size, left : left + self.size]
        x = (x - self.mean) / self.std
        if self.half_precision and x.is_cuda:
            with torch.autocast("cuda", dtype=torch.float16):
                return self.model.encode_image(x).float()
        return self.model.encode_image(x).float()


def unit(x: torch.Tensor) -> torch.Tensor:
    """``x / ||x||`` along the last dimension (no epsilon, as released)."""
    return x / x.norm(dim=-1, keepdim=True)


def one_minus_cos(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean of ``1 - cos(x, y)`` over the batch (``torch.nn.CosineSimilarity`` semantics, broadcasting)."""
    return (1.0 - F.cosine_similarity(x, y, dim=-1)).mean()


@dataclass
class Embeddings:
    """Unit image embeddings of the four renders and the reference under one embedder."""

    src: torch.Tensor  # A = G_frozen(w)
    src_ref: torch.Tensor  # A_ref = G_frozen(w_style)
    out: torch.Tensor  # B = G_train(w)
    out_ref: torch.Tensor  # B_ref = G_train(w_style)
    style: torch.Tensor  # E(I), the reference image


def clip_terms(e: Embeddings) -> dict[str, torch.Tensor]:
    """The three CLIP terms of one embedder (``lambda_direction = 1`` as released).

    across: ``1 - cos(E(B) - E(A), E(I) - E(A_ref))``; within: ``1 - cos(E(B) - E(I), E(A) - E(A_ref))``;
    ref_clip: ``1 - cos(E(B_ref), E(I))``; each difference is unit-normalised first.
    """
    return {
        "clip_across": one_minus_cos(unit(e.out - e.src), unit(e.style - e.src_ref)),
        "clip_within": one_minus_cos(unit(e.out - e.style), unit(e.src - e.src_ref)),
        "ref_clip": one_minus_cos(e.out_ref, e.style),
    }


def embed_all(embedder: Embedder, a: torch.Tensor, a_ref: torch.Tensor, b: torch.Tensor, b_ref: torch.Tensor,
              style: torch.Tensor) -> Embeddings:  # fmt: skip
    """Embed every render once (the released code re-embeds per term; the values are the same).

    ``style`` is either the reference image or its precomputed unit embedding (``ndim == 2``).
    """
    with torch.no_grad():
        e_a, e_aref = unit(embedder.embed_image(a)), unit(embedder.embed_image(a_ref))
        e_style = style if style.ndim == 2 else unit(embedder.embed_image(style))
    return Embeddings(src=e_a, src_ref=e_aref, out=unit(embedder.embed_image(b)),
                      out_ref=unit(embedder.embed_image(b_ref)), style=e_style)  # fmt: skip


def weighted_clip_terms(embedders: Sequence[tuple[Embedder, float]], a: torch.Tensor, a_ref: torch.Tensor,
                        b: torch.Tensor, b_ref: torch.Tensor, styles: Sequence[torch.Tensor],
                        ) -> dict[str, torch.Tensor]:  # fmt: skip
    """Each CLIP term summed over the embedders with their weights (released: ViT-B/32 + ViT-B/16, 1 each).

    ``styles[i]``: the reference image, or its unit embedding under ``embedders[i]``.
    """
    total: dict[str, torch.Tensor] = {}
    for (embedder, weight), style in zip(embedders, styles, strict=True):
        for name, value in clip_terms(embed_all(embedder, a, a_ref, b, b_ref, style)).items():
            total[name] = total[name] + weight * value if name in total else weight * value
    return total
