"""KID (Binkowski et al. 2018): unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3, averaged over random subsets.

Subset size m = min(1000, N_stylized, N_reference) adapts to small sets (m >= 2 required); 100 subsets drawn
without replacement by a seeded RNG. Reported as is (not x1000).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.errors import ConfigError
from benchmark.metrics.base import EvalSet, MetricInfo, MetricResult
from benchmark.metrics.setfeatures import FeatureSetMetric

MAX_SUBSET = 1000


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between equally sized samples ``x`` and ``y`` with the cubic polynomial kernel."""
    m, d = x.shape
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / (m * m))


def kid(x: np.ndarray, y: np.ndarray, n_subsets: int = 100, subset_size: int | None = None, seed: int = 0
        ) -> tuple[float, float, int]:  # fmt: skip
    """(mean, std over subsets, subset size) of the KID between feature sets ``x`` and ``y``."""
    m = min(MAX_SUBSET, x.shape[0], y.shape[0]) if subset_size is None else subset_size
    if m < 2:
        raise ConfigError(f"KID needs at least 2 images in each set, got {x.shape[0]} and {y.shape[0]}")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_subsets):
        xs = x[rng.choice(x.shape[0], m, replace=False)]
        ys = y[rng.choice(y.shape[0], m, replace=False)]
        values.append(polynomial_mmd2_unbiased(xs, ys))
    return float(np.mean(values)), float(np.std(values)), m


class KIDInception2015(FeatureSetMetric):
    """Kernel Inception distance on pytorch-fid Inception features, stylized set vs reference set."""

    extractor_kind = "fid-inception"
    extra_options: dict[str, Any] = {"n_subsets": 100, "boot_subsets": 10}
    info = MetricInfo(
        "lower", (float("-inf"), float("inf")),
        "KID, pytorch-fid Inception-v3 2015-12-05 pool3 (2048-d), input protocol as fid-inception2015; "
        "unbiased poly-3 MMD^2, 100 subsets "
        "of size min(1000, N_x, N_ref), seeded; stylized set vs reference set (default: the style images given); "
        "95% bootstrap CI over stylized inputs",
        needs=("stylized", "style"), description="Kernel Inception distance",
    )  # fmt: skip

    def compute(self, data: EvalSet) -> MetricResult:
        self._x, self._y = self.features(data)
        mean, std, m = kid(self._x, self._y, int(self.opts["n_subsets"]), seed=self.seed)
        self.notes.append(f"KID over {self.opts['n_subsets']} subsets of size {m}: std {std:.6g}")
        self.notes.append("protocol: " + self.set_protocol(data))
        self.notes.append(
            f"CI: each bootstrap resample uses {self.opts['boot_subsets']} subsets; repeated inputs "
            "in a resample make the within-set term slightly biased"
        )
        result = super().compute(data)
        result.value = mean
        return result

    def compute_indices(self, data: EvalSet, indices: np.ndarray) -> float:
        full = len(indices) == len(self._x) and bool(np.all(indices == np.arange(len(self._x))))
        n_sub = int(self.opts["n_subsets"] if full else self.opts["boot_subsets"])
        # resampled sets contain repeats; subsets are drawn over positions of the resample
        return kid(self._x[indices], self._y, n_sub, seed=self.seed)[0]
