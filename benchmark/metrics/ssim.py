"""SSIM (Wang et al. 2004) on the resized RGB images: Gaussian 11x11 window, sigma 1.5, K1=0.01, K2=0.03.

Per channel, population (co)variances, data range 1; the SSIM map is averaged over the valid region (no
padding) and over the three channels. This equals ``skimage.metrics.structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1)``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from benchmark import imageio
from benchmark.metrics.base import EvalSet, MetricInfo, PerImageMetric
from benchmark.metrics.common import pop_options

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM per image of two ``B x C x H x W`` tensors (computed in float64)."""
    if x.shape != y.shape:
        raise ValueError(f"SSIM needs equal shapes, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW} px, got {tuple(x.shape[-2:])}")
    x, y = x.double(), y.double()
    c = x.shape[1]
    w = gaussian_window().to(x.device).expand(c, 1, WINDOW, WINDOW)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    smap = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return smap.mean(dim=(1, 2, 3))


_PROTOCOL = (f"SSIM Gaussian {WINDOW}x{WINDOW} sigma={SIGMA}, K1={K1}, K2={K2}, data range 1, RGB per channel, "
             f"valid region, at RxR ({imageio.RESIZER}); mean over images, 95% bootstrap CI")  # fmt: skip


class SSIM(PerImageMetric):
    """Structural similarity between content and stylized image (higher = more of the content kept)."""

    target = "content"
    info = MetricInfo("higher", (-1.0, 1.0), "content vs stylized: " + _PROTOCOL, description="structural similarity")

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        pop_options(options, {}, self.name)

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        return ssim(data.images(self.target)[index], data.images("stylized")[index])


class GroundTruthSSIM(SSIM):
    target = "ground_truth"
    info = MetricInfo("higher", (-1.0, 1.0), "ground truth vs stylized: " + _PROTOCOL,
                      needs=("ground_truth", "stylized"), description="SSIM to a ground-truth stylization")  # fmt: skip
