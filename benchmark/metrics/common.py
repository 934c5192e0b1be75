"""Helpers shared by the metric modules: option handling, random-weight notes, style pairing."""

from __future__ import annotations

from typing import Any

import torch

from benchmark.errors import ConfigError, PairingError
from benchmark.metrics.base import EvalSet

RANDOM_WEIGHTS_NOTE = "random weights (smoke): not a meaningful value"


def pop_options(options: dict[str, Any], allowed: dict[str, Any], metric: str) -> dict[str, Any]:
    """Merge ``options`` into ``allowed`` defaults; unknown keys are a :class:`ConfigError`."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"metric {metric}: unknown option(s) {unknown}; allowed: {sorted(allowed)}")
    merged = dict(allowed)
    merged.update(options)
    return merged


def style_reference_index(data: EvalSet) -> list[list[int]]:
    """For every stylized image, the indices of the style images it is compared with.

    One style image: all outputs use it. Several: an output whose name equals a style file's stem is paired
    with it; otherwise every style image is used and the per-image score is the mean over them.
    """
    n_style = len(data.style)
    if n_style == 0:
        raise PairingError("this metric needs a style reference (EvalSet.style is empty)")
    if n_style == 1:
        return [[0] for _ in data.names]
    stems = {p.stem: i for i, p in enumerate(data.style)}
    return [[stems[n]] if n in stems else list(range(n_style)) for n in data.names]


def gather_style(values: torch.Tensor, refs: list[list[int]]) -> torch.Tensor:
    """Rows of ``values`` (one per style image) averaged per output according to ``refs``."""
    return torch.stack([values[r].mean(dim=0) for r in refs])


def to_minus_one_one(x: torch.Tensor) -> torch.Tensor:
    return x * 2.0 - 1.0
