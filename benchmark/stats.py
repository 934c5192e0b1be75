"""Confidence intervals: percentile bootstrap over inputs with a seeded RNG."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_BOOTSTRAP = 1000
CI_LEVEL = 0.95


def bootstrap_mean_ci(values: Sequence[float], seed: int = 0, n_boot: int = DEFAULT_BOOTSTRAP) -> tuple[float, float]:
    """95% percentile-bootstrap CI of the mean of ``values``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("no values to bootstrap")
    if arr.size == 1:
        return float(arr[0]), float(arr[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    means = arr[idx].mean(axis=1)
    alpha = (1.0 - CI_LEVEL) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def bootstrap_statistic_ci(
    n: int, statistic: Callable[[np.ndarray], float], seed: int = 0, n_boot: int = 200
) -> tuple[float, float]:
    """95% bootstrap CI of ``statistic(indices)`` for a set-level metric, resampling the ``n`` inputs."""
    if n < 2:
        value = statistic(np.arange(n))
        return value, value
    rng = np.random.default_rng(seed)
    samples = [statistic(rng.integers(0, n, size=n)) for _ in range(n_boot)]
    alpha = (1.0 - CI_LEVEL) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))
