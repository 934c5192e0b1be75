"""Colour-statistics transfer: a weight-free reference method (Reinhard et al. 2001, in CIELAB).

Each content image's per-channel CIELAB mean and standard deviation are matched to the style
reference's, optionally blended with the content by ``strength``. ``prepare`` measures the
reference statistics once and stores them in ``workdir/reference_stats.json``. It has no learned
weights and no randomness, so it runs anywhere and exercises the whole pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmark import imageio
from benchmark.errors import ConfigError
from benchmark.methods.base import StylizationMethod

# sRGB (D65) <-> CIELAB, own implementation of the standard formulas.
_RGB_TO_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754], dtype=torch.float64)
_EPS = (6.0 / 29.0) ** 3


def _srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(min=0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.pow(1 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """``B x 3 x H x W`` sRGB in [0,1] -> CIELAB (L in [0,100])."""
    lin = _srgb_to_linear(rgb.double())
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ, lin) / _WHITE.view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp(min=1e-12).pow(1 / 3), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    L = 116 * f[:, 1] - 16
    a = 500 * (f[:, 0] - f[:, 1])
    b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([L, a, b], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_lab`; result clamped to [0,1]."""
    fy = (lab[:, 0] + 16) / 116
    fx = fy + lab[:, 1] / 500
    fz = fy - lab[:, 2] / 200
    f = torch.stack([fx, fy, fz], dim=1)
    xyz = torch.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE.view(1, 3, 1, 1)
    lin = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB_TO_XYZ), xyz)
    return _linear_to_srgb(lin).clamp(0, 1)


def lab_statistics(image: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel CIELAB mean and standard deviation of one ``3 x H x W`` image."""
    lab = rgb_to_lab(image.unsqueeze(0))[0].flatten(1)
    return lab.mean(dim=1).tolist(), lab.std(dim=1, unbiased=False).tolist()


@dataclass
class ColorStatsConfig:
    """Parameters of colour-statistics transfer."""

    strength: float = 1.0  # 0 = content unchanged, 1 = full statistics match
    match_luminance: bool = True  # also match the L channel (else only a*, b*)

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ConfigError(f"strength must lie in [0, 1], got {self.strength}")


class ColorStatsTransfer(StylizationMethod):
    """Match CIELAB mean/std of each input to the style reference (no weights, deterministic)."""

    Config = ColorStatsConfig
    description = "Reinhard colour-statistics transfer in CIELAB (weight-free reference method)"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._target: tuple[torch.Tensor, torch.Tensor] | None = None

    def prepare(self, reference: Path, workdir: Path) -> None:
        image = imageio.load_image(reference, self.resolution)
        mean, std = lab_statistics(image)
        workdir.mkdir(parents=True, exist_ok=True)
        stats = {"reference": Path(reference).name, "lab_mean": mean, "lab_std": std}
        imageio.atomic_write_text(workdir / "reference_stats.json", json.dumps(stats, indent=2) + "\n")

    def load(self, reference: Path, workdir: Path) -> None:
        stats = json.loads((workdir / "reference_stats.json").read_text())
        self._target = (torch.tensor(stats["lab_mean"], dtype=torch.float64),
                        torch.tensor(stats["lab_std"], dtype=torch.float64))  # fmt: skip

    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        if self._target is None:
            raise RuntimeError("call load() before stylize()")
        lab = rgb_to_lab(images.cpu())
        flat = lab.flatten(2)
        mean = flat.mean(dim=2, keepdim=True).unsqueeze(-1)
        std = flat.std(dim=2, unbiased=False, keepdim=True).unsqueeze(-1).clamp(min=1e-6)
        t_mean = self._target[0].view(1, 3, 1, 1)
        t_std = self._target[1].view(1, 3, 1, 1)
        matched = (lab - mean) / std * t_std + t_mean
        if not self.config.match_luminance:
            matched[:, 0] = lab[:, 0]
        out = lab + self.config.strength * (matched - lab)
        return lab_to_rgb(out).float().to(images.device)
