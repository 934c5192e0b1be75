"""Density-split reconstructors: PCA proxy and DiffAE stochastic reconstruction (tiny official-layout model)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from benchmark import seeding
from benchmark.splits.reconstructors import make_reconstructor
from osasis.api import build_diffae
from osasis.weights import save_diffae_lightning


def _folder(path, n: int, size: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    path.mkdir()
    base = rng.uniform(0, 1, (size, size, 3))
    for i in range(n):
        img = np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1)
        Image.fromarray((img * 255).astype(np.uint8)).save(path / f"{i:03d}.png")
    return path


def test_pca_reconstructs_the_domain_better_than_noise(tmp_path) -> None:
    train = _folder(tmp_path / "train", 24)
    reconstruct, desc = make_reconstructor({"reconstructor": "pca", "n_components": 4}, train, 32, "cpu")
    assert "pca" in desc
    x = torch.from_numpy(np.asarray(Image.open(train / "000.png"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    noise = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    batch = torch.cat([x, noise])
    err = (reconstruct(batch, []) - batch).abs().flatten(1).mean(1)
    assert err[0] < err[1] / 3


def test_diffae_reconstruction_is_seeded_per_image(tmp_path) -> None:
    torch.manual_seed(0)
    model = build_diffae("diffae_tiny32")
    path = tmp_path / "last.ckpt"
    save_diffae_lightning(path, model, model)
    cfg = {"reconstructor": "diffae", "diffae_asset": "diffae_ffhq256_autoenc", "diffae_path": str(path),
           "diffae_config": "diffae_tiny32", "steps": 3}  # fmt: skip
    reconstruct, desc = make_reconstructor(cfg, None, 32, "cpu")
    assert "DDIM 3 steps" in desc
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    gens = lambda: [seeding.generator(0, f"img{i}") for i in range(3)]  # noqa: E731
    full = reconstruct(x, gens())
    assert full.shape == x.shape and full.min() >= 0 and full.max() <= 1
    assert torch.equal(full, reconstruct(x, gens()))
    single = reconstruct(x[1:2], gens()[1:2])
    assert torch.allclose(single, full[1:2], atol=1e-5)
