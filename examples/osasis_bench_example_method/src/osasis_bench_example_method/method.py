"""A reference-tinted pencil sketch: a small but real one-shot stylization method.

``prepare`` measures the style reference's mean colour (its "paper tint") and stores it in
``workdir/tint.json``; ``stylize`` turns each input into a colour-dodge pencil sketch (grayscale divided by its
blurred inverse) and multiplies it by the tint. Deterministic, per-image, no weights.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmark import imageio
from benchmark.errors import ConfigError
from benchmark.methods.base import StylizationMethod

LUMA = (0.299, 0.587, 0.114)


@dataclass
class TintedSketchConfig:
    """Parameters (the method's ``method_cfg`` section)."""

    blur: int = 5  # odd box-blur size in pixels (larger = thicker strokes)
    tint_strength: float = 1.0  # 0 = gray sketch, 1 = fully tinted by the reference's mean colour

    def __post_init__(self) -> None:
        if self.blur < 1 or self.blur % 2 == 0:
            raise ConfigError(f"blur must be a positive odd integer, got {self.blur}")
        if not 0.0 <= self.tint_strength <= 1.0:
            raise ConfigError(f"tint_strength must lie in [0, 1], got {self.tint_strength}")


class TintedSketch(StylizationMethod):
    """Colour-dodge pencil sketch tinted with the style reference's mean colour."""

    Config = TintedSketchConfig
    description = "example plug-in: pencil sketch tinted by the reference's mean colour"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._tint: torch.Tensor | None = None

    def prepare(self, reference: Path, workdir: Path) -> None:
        image = imageio.load_image(reference, self.resolution)
        tint = image.mean(dim=(1, 2))
        tint = tint / tint.max().clamp(min=1e-6)
        workdir.mkdir(parents=True, exist_ok=True)
        record = {"tint": [round(float(t), 6) for t in tint]}
        imageio.atomic_write_text(workdir / "tint.json", json.dumps(record) + "\n")

    def load(self, reference: Path, workdir: Path) -> None:
        self._tint = torch.tensor(json.loads((workdir / "tint.json").read_text())["tint"], dtype=torch.float32)

    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        if self._tint is None:
            raise RuntimeError("call load() before stylize()")
        x = images.float().cpu()
        gray = (x * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        k = self.config.blur
        blurred = F.avg_pool2d(F.pad(1.0 - gray, [k // 2] * 4, mode="replicate"), k, stride=1)
        sketch = (gray / (1.0 - blurred).clamp(min=1e-3)).clamp(0, 1)
        tint = 1.0 + self.config.tint_strength * (self._tint.view(1, 3, 1, 1) - 1.0)
        return (sketch * tint).clamp(0, 1).to(images.device)
