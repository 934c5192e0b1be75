"""IR / IR-SE ResNet backbones (InsightFace ArcFace family, as used by pSp/e4e).

Module and parameter names follow the TreB1eN ``Backbone`` layout, so the
pSp/e4e file ``model_ir_se50.pth`` (``IRSEBackbone(num_layers=50, mode="ir_se",
drop_ratio=0.6)``) loads with ``strict=True``.  ``width`` scales every channel
count (64 in the real networks); small widths give cheap test networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Units per stage for each depth; stage widths are width * (1, 2, 4, 8).
STAGE_UNITS: dict[int, tuple[int, int, int, int]] = {
    50: (3, 4, 14, 3),
    100: (3, 13, 30, 3),
    152: (3, 8, 36, 3),
}
SE_REDUCTION = 16


@dataclass(frozen=True)
class UnitSpec:
    """One residual unit: input channels, output channels, stride."""

    in_channels: int
    out_channels: int
    stride: int


def unit_specs(num_layers: int = 50, width: int = 64) -> list[UnitSpec]:
    """Residual unit list in body order (the first unit of each stage downsamples)."""
    if num_layers not in STAGE_UNITS:
        raise ValueError(f"num_layers must be one of {sorted(STAGE_UNITS)}, got {num_layers}")
    specs: list[UnitSpec] = []
    in_ch = width
    for stage, count in enumerate(STAGE_UNITS[num_layers]):
        out_ch = width * 2**stage
        specs.append(UnitSpec(in_ch, out_ch, 2))
        specs.extend(UnitSpec(out_ch, out_ch, 1) for _ in range(count - 1))
        in_ch = out_ch
    return specs


def stage_end_indices(num_layers: int = 50) -> tuple[int, int, int, int]:
    """Body indices of the last unit of each stage (e.g. 2, 6, 20, 23 for depth 50)."""
    ends, total = [], 0
    for count in STAGE_UNITS[num_layers]:
        total += count
        ends.append(total - 1)
    return tuple(ends)  # type: ignore[return-value]


class Flatten(nn.Module):
    """Flatten all but the batch dimension."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class SqueezeExcite(nn.Module):
    """Channel attention: global pool, 1x1 bottleneck, sigmoid gate (parameters ``fc1``, ``fc2``)."""

    def __init__(self, channels: int, reduction: int = SE_REDUCTION) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))
        return x * gate


class IRUnit(nn.Module):
    """Pre-activation "improved residual" unit, optionally with squeeze-excitation.

    ``res_layer`` = BN, conv3x3, PReLU, conv3x3 (strided), BN[, SE]; the shortcut is
    a strided identity (``MaxPool2d(1, stride)``) or a 1x1 conv + BN when widths differ.
    """

    def __init__(self, spec: UnitSpec, use_se: bool = True) -> None:
        super().__init__()
        cin, cout, stride = spec.in_channels, spec.out_channels, spec.stride
        if cin == cout:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        layers: list[nn.Module] = [
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if use_se:
            layers.append(SqueezeExcite(cout))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class IRSEBody(nn.Module):
    """Stem (``input_layer``) plus residual ``body``, without the embedding head.

    This is the trunk shared by the ArcFace backbone and the pSp/e4e encoders.
    """

    def __init__(self, num_layers: int = 50, mode: str = "ir_se", width: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        if mode not in ("ir", "ir_se"):
            raise ValueError(f"mode must be 'ir' or 'ir_se', got {mode!r}")
        self.num_layers, self.mode, self.width = num_layers, mode, width
        self.input_layer = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.PReLU(width)
        )
        self.body = nn.Sequential(*[IRUnit(s, use_se=mode == "ir_se") for s in unit_specs(num_layers, width)])

    @property
    def out_channels(self) -> int:
        return self.width * 8

    def forward_features(self, x: torch.Tensor, taps: tuple[int, ...] = ()) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the trunk; also return the outputs of the body units listed in ``taps``."""
        x = self.input_layer(x)
        tapped: list[torch.Tensor] = []
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i in taps:
                tapped.append(x)
        return x, tapped

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]


class IRSEBackbone(IRSEBody):
    """ArcFace IR/IR-SE backbone returning L2-normalised ``embedding_dim`` embeddings.

    ``input_size`` 112 (7x7 final map) or 224 (14x14).  The head ``output_layer`` is
    BN2d, Dropout, Flatten, Linear, BN1d, exactly as in the official checkpoints.
    """

    def __init__(
        self,
        num_layers: int = 50,
        mode: str = "ir_se",
        input_size: int = 112,
        drop_ratio: float = 0.6,
        affine: bool = True,
        width: int = 64,
        embedding_dim: int = 512,
    ) -> None:
        super().__init__(num_layers, mode, width)
        if input_size % 16:
            raise ValueError(f"input_size must be a multiple of 16, got {input_size}")
        self.input_size = input_size
        spatial = input_size // 16
        c = self.out_channels
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(c),
            nn.Dropout(drop_ratio),
            Flatten(),
            nn.Linear(c * spatial * spatial, embedding_dim),
            nn.BatchNorm1d(embedding_dim, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed faces ``x`` of shape [B, 3, input_size, input_size] (already normalised)."""
        feats = super().forward(x)
        return F.normalize(self.output_layer(feats), p=2, dim=1)


def ir_se50(**kwargs: object) -> IRSEBackbone:
    """The pSp/e4e identity network ``model_ir_se50.pth`` (input 112, drop 0.6)."""
    return IRSEBackbone(num_layers=50, mode="ir_se", input_size=112, drop_ratio=0.6, **kwargs)  # type: ignore[arg-type]
