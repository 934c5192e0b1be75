"""The feature-extractor interface and batched, cached extraction over an :class:`EvalSet`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmark.assets import get_asset, sha256_file
from benchmark.features.cache import FeatureCache, cache_key
from benchmark.metrics.base import EvalSet
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE  # noqa: E402,F401  (re-exported)


def weights_id(asset_name: str, path: Path | None, random_weights: bool, seed: int, init: str = "default") -> str:
    """The weights part of a cache key: the pinned (or computed) file SHA-256, or the random seed and init scheme."""
    if random_weights or path is None:
        return f"random-seed{seed}-init:{init}"
    pinned = get_asset(asset_name).sha256
    return pinned or sha256_file(path)


class FeatureExtractor(ABC, nn.Module):
    """Maps ``B x 3 x R x R`` images in [0, 1] to ``B x D`` features (float)."""

    name: str = "?"
    preprocessing: str = "?"
    weights: str = "?"
    random_weights: bool = False

    @abstractmethod
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features of a batch."""

    @property
    def device(self) -> torch.device:
        try:
            return next(self.parameters()).device
        except StopIteration:
            return torch.device("cpu")


def extract(extractor: FeatureExtractor, images: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """Run ``extractor`` over ``images`` in batches; returns float64 ``N x D``."""
    outs = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size].to(extractor.device)
            outs.append(extractor(batch).double().cpu().numpy())
    if not outs:
        raise ValueError(f"{extractor.name}: no images to extract features from")
    return np.concatenate(outs)


def extract_native(extractor: FeatureExtractor, images: list[torch.Tensor], batch_size: int = 16) -> np.ndarray:
    """Features of native-size images (reference protocol): equally sized neighbours share a batch."""
    from benchmark.metrics.protocols import size_batches

    outs = []
    with torch.no_grad():
        for _, batch in size_batches(images, batch_size):
            outs.append(extractor(batch.to(extractor.device)).double().cpu().numpy())
    if not outs:
        raise ValueError(f"{extractor.name}: no images to extract features from")
    return np.concatenate(outs)


def extract_set(extractor: FeatureExtractor, data: EvalSet, kind: str, batch_size: int = 16,
                cache: FeatureCache | None = None) -> np.ndarray:  # fmt: skip
    """Features of ``data``'s ``kind`` images, read from / written to ``cache`` (keyed by file hashes)."""
    cache = cache if cache is not None else FeatureCache()
    paths = data.paths(kind)
    key = ""
    if cache.enabled:
        key = cache_key(extractor.name, extractor.weights, extractor.preprocessing, data.resolution, paths)
    if cache.enabled:
        hit = cache.get(key)
        if hit is not None and hit.shape[0] == len(paths):
            return hit.astype(np.float64)
    if getattr(extractor, "protocol", "clean") == "reference":
        feats = extract_native(extractor, data.native(kind), batch_size)
    else:
        feats = extract(extractor, data.images(kind), batch_size)
    if cache.enabled:
        cache.put(key, feats)
    return feats
