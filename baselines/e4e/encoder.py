"""e4e encoder (``Encoder4Editing``): IR-SE trunk, feature pyramid, one map-to-style head per W+ code.

Parameter names follow the official encoder4editing repository (``input_layer``, ``body.N``,
``styles.N.convs/linear``, ``latlayer1/2``) so ``e4e_ffhq_encode.pt`` loads strictly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from baselines.stylegan2.layers import EqualLinear
from benchmark.nets.ir_se import IRSEBody, stage_end_indices


@dataclass(frozen=True)
class E4EConfig:
    """Encoder architecture: trunk depth/width, W+ size and the (square) input resolution."""

    num_layers: int = 50
    width: int = 64
    style_dim: int = 512
    n_latent: int = 18
    input_size: int = 256
    coarse_end: int = 3  # codes [0, 3) read the coarsest map, [3, 7) the middle one, the rest the finest
    middle_end: int = 7

    @classmethod
    def tiny(cls, n_latent: int = 8, style_dim: int = 32, width: int = 8, input_size: int = 64) -> E4EConfig:
        """Cheap test configuration (same code)."""
        return cls(width=width, style_dim=style_dim, n_latent=n_latent, input_size=input_size)


class MapToStyle(nn.Module):
    """Strided 3x3 convs + leaky ReLU down to 1x1, then an equalised linear (official ``GradualStyleBlock``)."""

    def __init__(self, cin: int, cout: int, spatial: int) -> None:
        super().__init__()
        n_down = int(math.log2(spatial))
        layers: list[nn.Module] = []
        for i in range(n_down):
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride=2, padding=1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(cout, cout, lr_mul=1.0)
        self.cout = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.convs(x).reshape(-1, self.cout))


def upsample_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear (align_corners) upsampling of ``x`` to ``y``'s size, plus ``y``."""
    return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=True) + y


class Encoder4Editing(nn.Module):
    """Predicts W+ as w0 (from the coarsest map) repeated, plus one delta per later code.

    Output excludes the generator's average latent; :class:`~baselines.e4e.inverter.E4EInverter` adds it.
    """

    def __init__(self, cfg: E4EConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or E4EConfig()
        self.cfg = cfg
        trunk = IRSEBody(cfg.num_layers, "ir_se", cfg.width)
        self.input_layer, self.body = trunk.input_layer, trunk.body
        self.taps = stage_end_indices(cfg.num_layers)[1:]  # ends of stages 2, 3, 4
        w = cfg.width
        s = cfg.input_size
        self.styles = nn.ModuleList()
        for i in range(cfg.n_latent):
            spatial = s // 16 if i < cfg.coarse_end else s // 8 if i < cfg.middle_end else s // 4
            self.styles.append(MapToStyle(8 * w, cfg.style_dim, spatial))
        self.latlayer1 = nn.Conv2d(4 * w, 8 * w, kernel_size=1)
        self.latlayer2 = nn.Conv2d(2 * w, 8 * w, kernel_size=1)

    def pyramid(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Trunk outputs after stages 2, 3 and 4 (fine, middle, coarse)."""
        x = self.input_layer(x)
        tapped = []
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i in self.taps:
                tapped.append(x)
        return tapped[0], tapped[1], tapped[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images normalised to [-1, 1], [B, 3, input_size, input_size] -> W+ offsets [B, n_latent, style_dim]."""
        c1, c2, c3 = self.pyramid(x)
        w0 = self.styles[0](c3)
        codes = [w0]
        feats, p2 = c3, c3
        for i in range(1, self.cfg.n_latent):
            if i == self.cfg.coarse_end:
                p2 = feats = upsample_add(c3, self.latlayer1(c2))
            elif i == self.cfg.middle_end:
                feats = upsample_add(p2, self.latlayer2(c1))
            codes.append(w0 + self.styles[i](feats))
        return torch.stack(codes, dim=1)
