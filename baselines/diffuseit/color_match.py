"""DiffuseIT's colour post-process: the Monge-Kantorovich linear (``mkl``) colour transfer of ``color-matcher``.

Implemented here from the maths (the package is GPL-3.0). In float64, per image:

1. stretch source and reference to [0, 1] by their own global min/max (values outside clipped; an image whose
   maximum is 0 is left as it is, as upstream);
2. ``res = T (s − μ_s) + μ_r`` over pixels with ``T = C_s^{-1/2} (C_s^{1/2} C_r C_s^{1/2})^{1/2} C_s^{-1/2}``,
   covariances with ddof 1, square roots by eigendecomposition with ε = ``np.spacing(1)`` added to √λ_s;
3. stretch ``res`` by its global min/max to [0, 1] and round to 8 bits.
"""

from __future__ import annotations

import numpy as np
import torch

EPS = float(np.spacing(1))


def stretch(x: torch.Tensor) -> torch.Tensor:
    """``(x − min) / (max − min)`` by the global extremes, clipped to [0, 1]; unchanged when max is 0 (upstream)."""
    lo, hi = x.min(), x.max()
    if hi == 0:
        return x.clamp(0, 1)
    return ((x - lo) / (hi - lo)).clamp(0, 1)


def _sym_sqrt_parts(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    values, vectors = torch.linalg.eigh(cov)
    return values.clamp(min=0).sqrt(), vectors


def mkl_transfer(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Map the colours of ``source`` (``3 x H x W``) onto ``reference`` (``3 x H' x W'``); float64, unstretched."""
    s = source.reshape(source.shape[0], -1).double()
    r = reference.reshape(reference.shape[0], -1).double()
    mu_s, mu_r = s.mean(dim=1, keepdim=True), r.mean(dim=1, keepdim=True)
    cov_s, cov_r = torch.cov(s), torch.cov(r)
    sqrt_s, vec_s = _sym_sqrt_parts(cov_s)
    inv_s = torch.diag(1.0 / (sqrt_s + EPS))
    mat_c = torch.diag(sqrt_s) @ vec_s.T @ cov_r @ vec_s @ torch.diag(sqrt_s)
    sqrt_c, vec_c = _sym_sqrt_parts(mat_c)
    transfer = vec_s @ inv_s @ vec_c @ torch.diag(sqrt_c) @ vec_c.T @ inv_s @ vec_s.T
    return (transfer @ (s - mu_s) + mu_r).reshape(source.shape)


def color_match(source_u8: torch.Tensor, reference_u8: torch.Tensor) -> torch.Tensor:
    """The full post-process on 8-bit images (``3 x H x W`` values 0..255): [0, 1] float64, on the 8-bit grid."""
    res = mkl_transfer(stretch(source_u8.double()), stretch(reference_u8.double()))
    return torch.round(stretch(res) * 255) / 255
