"""Fréchet distance with a stable, scipy-independent matrix square root, and the small-N rule.

tr((S1 S2)^{1/2}) is computed as sum(sqrt(eig(S1^{1/2} S2 S1^{1/2}))) in float64 with symmetric
eigendecompositions (the eigenvalues of S1 S2 and S1^{1/2} S2 S1^{1/2} coincide for PSD matrices).
Negative eigenvalues are the imaginary part of scipy's ``sqrtm``: a non-negligible one raises.
"""

from __future__ import annotations

import numpy as np

from benchmark.errors import ConfigError

IMAG_TOL = 1e-3


class SmallSampleError(ConfigError):
    """FID requested on sets too small for a meaningful covariance (opt in with ``allow_small_n=True``)."""


def check_sample_size(metric: str, sizes: dict[str, int], dims: int, allow_small_n: bool) -> str | None:
    """The small-N rule: every set needs N > feature dims (full-rank covariance possible).

    Returns a note when the rule is waived by ``allow_small_n``; raises :class:`SmallSampleError` otherwise.
    """
    small = {k: n for k, n in sizes.items() if n <= dims}
    if not small:
        return None
    text = ", ".join(f"{k} N={n}" for k, n in small.items())
    if not allow_small_n:
        raise SmallSampleError(
            f"{metric}: {text} <= feature dims {dims}, so the covariance is rank-deficient and FID is strongly "
            f"biased; use more images, KID, or pass allow_small_n=True to compute it anyway (flagged in the notes)"
        )
    return f"small N ({text} <= dims {dims}): rank-deficient covariance, FID biased upward; compare only at equal N"


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (N-1)-normalised covariance; a single sample has zero covariance."""
    x = np.asarray(features, dtype=np.float64)
    mu = x.mean(axis=0)
    if x.shape[0] < 2:
        return mu, np.zeros((x.shape[1], x.shape[1]))
    return mu, np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _check_eigenvalues(w: np.ndarray, what: str) -> np.ndarray:
    negative = w[w < 0]
    imag = float(np.sqrt(-negative).sum()) if negative.size else 0.0
    if imag > IMAG_TOL * max(1.0, float(np.sqrt(np.clip(w, 0, None)).sum())):
        raise ValueError(f"{what}: matrix square root has a non-negligible imaginary part ({imag:.3g})")
    return np.clip(w, 0, None)


def sqrtm_psd(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix via eigendecomposition (float64)."""
    s = np.asarray(sigma, dtype=np.float64)
    s = (s + s.T) / 2
    w, v = np.linalg.eigh(s)
    w = _check_eigenvalues(w, "covariance")
    return (v * np.sqrt(w)) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((sigma1 sigma2)^{1/2}) for PSD matrices."""
    r = sqrtm_psd(sigma1)
    m = r @ np.asarray(sigma2, dtype=np.float64) @ r
    w = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(_check_eigenvalues(w, "S1^1/2 S2 S1^1/2")).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})."""
    diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return float(value)


class FixedReference:
    """Fréchet distance of many sample sets against one fixed reference (cheap bootstrap).

    The reference covariance is kept as a factor S_ref = B B^T (B = V diag(s): the eigenvectors of S_ref
    scaled by the root eigenvalues; from the thin SVD of the centred reference features when it has fewer
    samples than dimensions, so no ``d x d`` decomposition is needed). With the sample covariance
    S = Xc^T Xc / (n-1), the non-zero eigenvalues of S_ref^{1/2} S S_ref^{1/2}, S S_ref and (Xc B)(Xc B)^T / (n-1)
    coincide: an ``n x n`` or ``r x r`` problem (r = rank of the reference).
    """

    def __init__(self, reference: np.ndarray) -> None:
        y = np.asarray(reference, dtype=np.float64)
        self.mu, self.sigma = statistics(y)
        self.trace = float(np.trace(self.sigma))
        m, d = y.shape
        if m < 2:
            self.factor = np.zeros((d, 0))
        elif m <= d:
            _, sv, vt = np.linalg.svd(y - self.mu, full_matrices=False)
            self.factor = vt.T * (sv / np.sqrt(m - 1))
        else:
            w, v = np.linalg.eigh((self.sigma + self.sigma.T) / 2)
            self.factor = v * np.sqrt(_check_eigenvalues(w, "covariance"))

    def distance(self, samples: np.ndarray) -> float:
        x = np.asarray(samples, dtype=np.float64)
        n = x.shape[0]
        mu = x.mean(axis=0)
        diff = mu - self.mu
        if n < 2:
            return float(diff @ diff + self.trace)
        xc = x - mu
        a = xc @ self.factor / np.sqrt(n - 1)
        gram = a @ a.T if n < a.shape[1] else a.T @ a
        w = _check_eigenvalues(np.linalg.eigvalsh((gram + gram.T) / 2), "S_ref^1/2 S S_ref^1/2")
        trace_s = float((xc * xc).sum() / (n - 1))
        return float(diff @ diff + trace_s + self.trace - 2 * np.sqrt(w).sum())
