"""Shared machinery of the Inception-feature set metrics (FID, KID, ArtFID): options, cached features."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from benchmark.errors import ConfigError, PairingError
from benchmark.features.cache import FeatureCache
from benchmark.features.extractor import FeatureExtractor, extract_set
from benchmark.features.inception import ART_MIN_SIZE, ArtInception, FIDInception
from benchmark.metrics.base import EvalSet, SetMetric
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE, pop_options
from benchmark.metrics.protocols import DEFAULT as DEFAULT_PROTOCOL
from benchmark.metrics.protocols import check_protocol

SET_OPTIONS: dict[str, Any] = {
    "random_weights": False,  # seeded random init (smoke); the result is flagged as meaningless
    "weights": None,  # explicit weight file path (else the manifest resolver)
    "dims": 2048,  # feature tap (64/192/768/2048); small taps for tests only
    "allow_small_n": False,  # FID only: compute even when N <= dims
    "reference": "style",  # which images form the reference set: "style" or "content"
    "cache": True,  # feature cache on/off
    "cache_dir": None,  # feature cache directory override
    "n_boot": 200,  # bootstrap resamples for the CI
    "protocol": DEFAULT_PROTOCOL,  # "reference" (as pytorch-fid / art-fid, from the files) or "clean"
}
EXTRACTORS = {"fid-inception": FIDInception, "art-inception": ArtInception}


class FeatureSetMetric(SetMetric):
    """A set metric on features of the stylized images against a reference set (features cached once)."""

    extractor_kind: ClassVar[str] = "fid-inception"
    extra_options: ClassVar[dict[str, Any]] = {}
    reference_protocol: ClassVar[bool] = True  # False: no reference implementation, the suite's protocol only

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        self.opts = pop_options(options, {**SET_OPTIONS, **self.extra_options}, self.name)
        if self.opts["reference"] not in ("style", "content"):
            raise ConfigError(f"{self.name}: reference must be 'style' or 'content', got {self.opts['reference']!r}")
        self.n_boot = int(self.opts["n_boot"])  # type: ignore[misc]
        if self.reference_protocol:
            self.protocol_mode: str | None = check_protocol(self.opts["protocol"], self.name)
        elif "protocol" in options:
            raise ConfigError(f"{self.name}: no reference implementation, so no `protocol` option")
        else:
            self.protocol_mode = None
        self._extractor: FeatureExtractor | None = None
        self.cache = FeatureCache(self.opts["cache_dir"], enabled=bool(self.opts["cache"]))
        if self.opts["random_weights"]:
            self.notes.append(RANDOM_WEIGHTS_NOTE)

    @property
    def extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            cls = self.extractor_class()
            self._extractor = cls(dims=int(self.opts["dims"]), random_weights=bool(self.opts["random_weights"]),
                                  path=self.opts["weights"], seed=self.seed,
                                  protocol=self.protocol_mode).to(self.device)  # fmt: skip
        return self._extractor

    def extractor_class(self) -> type[FeatureExtractor]:
        return EXTRACTORS[self.extractor_kind]

    def features(self, data: EvalSet) -> tuple[np.ndarray, np.ndarray]:
        """(stylized features, reference-set features), each ``N x dims`` float64."""
        kind = self.opts["reference"]
        if kind == "style" and not data.style:
            raise PairingError(f"{self.name}: needs a style reference set (EvalSet.style is empty)")
        if (self.extractor_kind == "art-inception" and self.protocol_mode == "clean" and data.resolution < ART_MIN_SIZE
                and int(self.opts["dims"]) >= 768):  # fmt: skip
            self.notes.append(f"resolution {data.resolution} < {ART_MIN_SIZE}: images upsampled to {ART_MIN_SIZE} for "
                              "the art Inception (art-fid feeds images at native size)")  # fmt: skip
        x = extract_set(self.extractor, data, "stylized", self.batch_size, self.cache)
        y = extract_set(self.extractor, data, kind, self.batch_size, self.cache)
        return x, y

    def set_protocol(self, data: EvalSet) -> str:
        e = self.extractor
        return (f"{self.protocol_mode or 'suite'} protocol; {e.name} [{e.preprocessing}]; weights {e.weights}; "
                f"stylized set (N={len(data)}) vs "
                f"{self.opts['reference']} set; CI: bootstrap over stylized inputs (reference set fixed), "
                f"{self.n_boot} resamples, seed {self.seed}")  # fmt: skip
