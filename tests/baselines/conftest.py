"""Tiny StyleGAN2 / e4e fixtures saved in the official layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from baselines.e4e import E4EConfig, Encoder4Editing, save_e4e
from baselines.stylegan2 import Discriminator, Generator, StyleGAN2Config, save_official

TINY = StyleGAN2Config.tiny(size=32, style_dim=32, n_mlp=2, width=16)


def build_tiny_gan(seed: int = 0) -> tuple[Generator, Discriminator, torch.Tensor]:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        g, d = Generator(TINY), Discriminator(TINY)
        for name, p in g.named_parameters():  # non-zero noise strengths and biases exercise every path
            if name.endswith("noise.weight") or name.endswith("activate.bias"):
                p.data.normal_(0, 0.1)
        latent_avg = g.mean_latent(256)[0]
    return g.eval(), d.eval(), latent_avg


@pytest.fixture(scope="session")
def tiny_gan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g, d, latent_avg = build_tiny_gan()
    path = tmp_path_factory.mktemp("tinygan") / "tiny-stylegan2.pt"
    return save_official(path, g=g, g_ema=g, d=d, latent_avg=latent_avg)


@pytest.fixture(scope="session")
def tiny_e4e_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with torch.random.fork_rng():
        torch.manual_seed(1)
        enc = Encoder4Editing(E4EConfig.tiny(n_latent=TINY.n_latent, style_dim=TINY.style_dim, width=8, input_size=32))
    g, _, latent_avg = build_tiny_gan()
    path = tmp_path_factory.mktemp("tinye4e") / "tiny-e4e.pt"
    return save_e4e(path, enc.eval(), latent_avg.repeat(TINY.n_latent, 1), decoder=g)


@pytest.fixture(autouse=True)
def _single_thread() -> object:
    """Tiny models run fastest (and steadiest on shared CPUs) with one intra-op thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _inversion_cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own empty inversion cache (never the user's ~/.cache)."""
    monkeypatch.setenv("OSASIS_BENCH_INVERSION_CACHE", str(tmp_path / "inversion-cache"))
