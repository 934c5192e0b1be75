"""Tiny randomly initialised OSASIS networks (zero-initialised output convs perturbed so outputs are non-trivial)."""

from __future__ import annotations

import sys
from pathlib import Path

# The editable install predates osasis/__init__.py and registers ``osasis`` as a namespace package; make sure the
# regular package in this checkout is the one imported (harmless once the install is refreshed: `pip install -e .`).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if "osasis" in sys.modules and getattr(sys.modules["osasis"], "__file__", None) is None:
    del sys.modules["osasis"]

import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import osasis  # noqa: E402


def randomize(module: nn.Module, seed: int, scale: float = 0.1) -> nn.Module:
    """Overwrite every parameter with N(0, scale²) noise (deterministic), keeping norms near identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g) * scale
            p.copy_(1 + noise if name.endswith("weight") and p.ndim == 1 else noise)
    return module.eval()


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
