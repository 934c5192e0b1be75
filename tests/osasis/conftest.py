"""Tiny randomly initialised OSASIS networks (zero-initialised output convs perturbed so outputs are non-trivial)."""

from __future__ import annotations

import pytest
import torch

import osasis
from benchmark.testing import randomize


@pytest.fixture(scope="session")
def tiny_diffae() -> osasis.DiffAEAutoencoder:
    torch.manual_seed(0)
    return randomize(osasis.build_diffae("diffae_tiny32"), 1)


@pytest.fixture(scope="session")
def smooth_diffae() -> osasis.DiffAEAutoencoder:
    """Tiny DiffAE with small weights (smooth in t), for inversion/reconstruction checks."""
    torch.manual_seed(0)
    return randomize(osasis.build_diffae("diffae_tiny32"), 1, 0.03)


@pytest.fixture(scope="session")
def tiny_diffae_latent() -> osasis.DiffAEAutoencoder:
    torch.manual_seed(0)
    return randomize(osasis.build_diffae("diffae_latent_tiny32"), 2)


@pytest.fixture(scope="session")
def tiny_spn() -> osasis.SPN:
    torch.manual_seed(0)
    return osasis.build_spn("spn_tiny").eval()


@pytest.fixture(scope="session")
def tiny_p2() -> osasis.ADMUNet:
    torch.manual_seed(0)
    return randomize(osasis.build_p2("p2_tiny32"), 3, 0.05)


@pytest.fixture()
def images() -> torch.Tensor:
    g = torch.Generator().manual_seed(11)
    return torch.rand(2, 3, 32, 32, generator=g) * 1.6 - 0.8
