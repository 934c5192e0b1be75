"""HFGI's two trainable networks: the consultation encoder (``residue``) and the ADA alignment (``grid_align``).

Architectures and parameter names follow the official HFGI ``psp_encoders.ResidualEncoder`` /
``ResidualAligner`` (IR units without squeeze-excitation, as ``helpers.bottleneck_IR``), so the official
checkpoint's ``residue.*`` / ``grid_align.*`` weights load strictly.

What upstream hard-wires to a 1024 px generator and 256 px inputs is parametrised here:

* :class:`ResidualEncoder` ``cond_channels`` (512 upstream: the generator's width at the injection layer)
  and ``cond_size`` (64 upstream: the maps are bilinearly resized to it; a no-op for 256 px inputs).
* :class:`ResidualAligner` resizes its decoder features to the sizes of the encoder skip features it is
  concatenated with; for 256 px inputs these are upstream's fixed 64, 128 and 256.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from baselines.stylegan2.layers import EqualConv2d
from baselines.stylegan2.ops import fused_leaky_relu
from benchmark.nets.ir_se import IRUnit, UnitSpec


def ir_stack(cin: int, widths: tuple[int, int, int], stride: int) -> nn.Sequential:
    """Three IR units (no SE): ``cin -> widths[0]`` (stride ``stride``), then ``widths[0] -> [1] -> [2]``."""
    chans = (cin, *widths)
    return nn.Sequential(
        *[IRUnit(UnitSpec(chans[i], chans[i + 1], stride if i == 0 else 1), use_se=False) for i in range(3)]
    )


def stem(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv (no bias) + BN + PReLU at full resolution."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout))


class ScaledLeakyReLU(nn.Module):
    """Leaky ReLU(0.2) times sqrt(2) (StyleGAN2's ``ScaledLeakyReLU``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x)


def condition_head(cin: int, cout: int) -> nn.Sequential:
    """EqualConv3x3 ``cin -> cout`` + scaled leaky ReLU + EqualConv3x3 ``cout -> cout`` (both biased)."""
    return nn.Sequential(EqualConv2d(cin, cout, 3, padding=1), ScaledLeakyReLU(), EqualConv2d(cout, cout, 3, padding=1))


@dataclass(frozen=True)
class HFGIConfig:
    """Sizes of the HFGI branch (official: 256 px inputs, 512-channel conditions at 64x64)."""

    input_size: int = 256
    cond_channels: int = 512
    cond_size: int = 64


class ResidualEncoder(nn.Module):
    """Consultation encoder Ec: aligned residual [B, 3, S, S] -> ``(scale, shift)``, each [B, C, R, R]."""

    def __init__(self, cond_channels: int = 512, cond_size: int = 64) -> None:
        super().__init__()
        self.cond_channels, self.cond_size = cond_channels, cond_size
        self.conv_layer1 = stem(3, 32)
        self.conv_layer2 = ir_stack(32, (48, 48, 48), 2)
        self.conv_layer3 = ir_stack(48, (64, 64, 64), 2)
        self.condition_scale3 = condition_head(64, cond_channels)
        self.condition_shift3 = condition_head(64, cond_channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feat = self.conv_layer3(self.conv_layer2(self.conv_layer1(x)))
        size = (self.cond_size, self.cond_size)
        scale = F.interpolate(self.condition_scale3(feat), size=size, mode="bilinear")
        shift = F.interpolate(self.condition_shift3(feat), size=size, mode="bilinear")
        return [scale, shift]


class ResidualAligner(nn.Module):
    """ADA: ``cat[residual, reconstruction]`` [B, 6, S, S] -> aligned residual [B, 3, S, S] (a small U-Net)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_layer1 = stem(6, 16)
        self.conv_layer2 = ir_stack(16, (32, 32, 32), 2)
        self.conv_layer3 = ir_stack(32, (48, 48, 48), 2)
        self.conv_layer4 = ir_stack(48, (64, 64, 64), 2)
        self.dconv_layer1 = ir_stack(112, (64, 32, 32), 1)
        self.dconv_layer2 = ir_stack(64, (32, 16, 16), 1)
        self.dconv_layer3 = ir_stack(32, (16, 3, 3), 1)

    @staticmethod
    def _up_cat(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat((F.interpolate(x, size=tuple(skip.shape[-2:]), mode="bilinear"), skip), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat1 = self.conv_layer1(x)
        feat2 = self.conv_layer2(feat1)
        feat3 = self.conv_layer3(feat2)
        feat4 = self.conv_layer4(feat3)
        d1 = self.dconv_layer1(self._up_cat(feat4, feat3))
        d2 = self.dconv_layer2(self._up_cat(d1, feat2))
        return self.dconv_layer3(self._up_cat(d2, feat1))
