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
    samples = bootstrap_replicates(n, statistic, seed, n_boot)
    alpha = (1.0 - CI_LEVEL) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))


def bootstrap_replicates(n: int, statistic: Callable[[np.ndarray], float], seed: int = 0,
                         n_boot: int = 200) -> np.ndarray:  # fmt: skip
    """``statistic`` on ``n_boot`` resamples of the ``n`` inputs (one value when ``n < 2``).

    The resample indices depend only on (seed, n, n_boot): two methods scored on the same inputs with the same
    seed see the same resamples, so their replicates are paired (:func:`paired_replicates_ci`).
    """
    if n < 2:
        return np.asarray([statistic(np.arange(n))], dtype=np.float64)
    rng = np.random.default_rng(seed)
    return np.asarray([statistic(rng.integers(0, n, size=n)) for _ in range(n_boot)], dtype=np.float64)


def adjusted_level(n_comparisons: int, level: float = CI_LEVEL) -> float:
    """Bonferroni: the per-comparison CI level that keeps the family-wise error at ``1 - level``."""
    return 1.0 - (1.0 - level) / max(1, n_comparisons)


def paired_difference_ci(a: Sequence[float], b: Sequence[float], level: float = CI_LEVEL, seed: int = 0,
                         n_boot: int = DEFAULT_BOOTSTRAP) -> tuple[float, float, float]:  # fmt: skip
    """Mean of the per-input differences ``b - a`` and its percentile-bootstrap CI at ``level`` (paired:
    inputs are resampled, each keeping both its scores)."""
    diff = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    if diff.size == 0:
        raise ValueError("no paired values")
    if diff.size == 1:
        return float(diff[0]), float(diff[0]), float(diff[0])
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(n_boot, diff.size))].mean(axis=1)
    alpha = (1.0 - level) / 2
    return float(diff.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_replicates_ci(replicates_a: Sequence[float], replicates_b: Sequence[float],
                         level: float = CI_LEVEL) -> tuple[float, float]:  # fmt: skip
    """CI of a set-level difference from paired bootstrap replicates (the same input resamples for both)."""
    a, b = np.asarray(replicates_a, dtype=np.float64), np.asarray(replicates_b, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired replicates need equal, non-empty shapes, got {a.shape} and {b.shape}")
    diff = b - a
    alpha = (1.0 - level) / 2
    return float(np.quantile(diff, alpha)), float(np.quantile(diff, 1 - alpha))
