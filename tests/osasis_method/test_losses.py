"""Loss semantics on hand-computed 2-d embeddings (spec §3.4)."""

from __future__ import annotations

import math

import pytest
import torch

from osasis.method.losses import (
    LossWeights,
    StyleTargets,
    clip_recon_loss,
    cross_domain_loss,
    in_domain_loss,
    osasis_losses,
)


def v(*xs: float) -> torch.Tensor:
    return torch.tensor([xs], dtype=torch.float64)


def test_direction_terms_by_hand() -> None:
    e_a, e_b, e_in = v(0, 0), v(1, 0), v(0, 1)
    # x̂0 moved exactly along the style direction: both terms vanish
    assert cross_domain_loss(e_a, e_b, e_in, v(1, 1)).item() == pytest.approx(0, abs=1e-12)
    assert in_domain_loss(e_a, e_b, e_in, v(1, 1)).item() == pytest.approx(0, abs=1e-12)
    # x̂0 moved orthogonally: cross = 1 - cos([1,0],[0,1]) = 1; in-domain = 1 - cos([0,1], [-1,2]/√5)
    out = v(0, 2)
    assert cross_domain_loss(e_a, e_b, e_in, out).item() == pytest.approx(1.0)
    assert in_domain_loss(e_a, e_b, e_in, out).item() == pytest.approx(1 - 2 / math.sqrt(5))
    # embeddings are not normalised before the difference: scaling e_in changes the in-domain term
    assert in_domain_loss(e_a, e_b, e_in, 3 * out).item() == pytest.approx(1 - 6 / math.sqrt(37))
    assert clip_recon_loss(v(1, 1), v(1, 0)).item() == pytest.approx(1 - 1 / math.sqrt(2))


def test_batch_average_and_weighted_total() -> None:
    e_out = torch.tensor([[1.0, 1.0], [0.0, 2.0]], dtype=torch.float64)
    e_in = torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    x0_in = torch.zeros(2, 1)  # the stub embedder looks inputs up by shape
    x0_st = torch.full((1, 1), 0.5, dtype=torch.float64)
    style = StyleTargets(image_a=torch.zeros(1, 1), image_b=torch.zeros(1, 1, dtype=torch.float64),
                         emb_a=v(0, 0), emb_b=v(1, 0))  # fmt: skip

    def embed(x: torch.Tensor) -> torch.Tensor:
        return e_out if x.shape[0] == 2 else v(1, 1)

    total, terms = osasis_losses(embed, lambda a, b: torch.tensor([0.25]), style, e_in, x0_in, x0_st, LossWeights())
    expected = {"cross": 0.5, "in_domain": (0 + 1 - 2 / math.sqrt(5)) / 2, "recon_clip": 1 - 1 / math.sqrt(2),
                "recon_l1": 0.5, "recon_lpips": 0.25}  # fmt: skip
    for key, value in expected.items():
        assert terms[key] == pytest.approx(value), key
    w = {"cross": 1, "in_domain": 0.5, "recon_clip": 30, "recon_l1": 10, "recon_lpips": 10}
    assert total.item() == pytest.approx(sum(w[k] * expected[k] for k in w))
