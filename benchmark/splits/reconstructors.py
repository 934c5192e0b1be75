"""Stochastic reconstructors for the density split (named choices in ``params.yaml``).

* ``diffae``: the paper's protocol — z_sem = Enc(x), x_T ~ N(0, I) from the image's own generator, decoded
  with deterministic DDIM over ``steps`` steps (the paper does not state the step count; 20 is DiffAE's
  default rendering length). Uses the profile's DiffAE (official FFHQ-256 weights, or the smoke model).
* ``pca``: a weight-free linear proxy fitted on a training folder; the reconstruction is the projection
  onto the top principal components (deterministic). An ablation, not the paper protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from benchmark import imageio
from benchmark.errors import ConfigError
from benchmark.splits.density import Reconstructor


def pca_reconstructor(train_dir: Path, resolution: int, n_components: int = 32) -> tuple[Reconstructor, str]:
    """Project onto the top ``n_components`` principal components of ``train_dir`` images."""
    files = imageio.list_images(train_dir)
    if len(files) <= n_components:
        raise ConfigError(f"pca reconstructor needs more than {n_components} images in {train_dir}")
    data = imageio.load_batch(files, resolution).flatten(1).double()
    mean = data.mean(dim=0, keepdim=True)
    _, _, v = torch.linalg.svd(data - mean, full_matrices=False)
    basis = v[:n_components]

    def reconstruct(x: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
        flat = x.flatten(1).double() - mean
        return ((flat @ basis.T) @ basis + mean).clamp(0, 1).float().view_as(x)

    return reconstruct, f"pca(n_components={n_components}, fit on {len(files)} images of {train_dir.name})"


def diffae_reconstructor(config: dict[str, Any], resolution: int, device: str) -> tuple[Reconstructor, str]:
    """DiffAE stochastic reconstruction: z_sem = Enc(x), x_T from each image's generator, DDIM decode."""
    from benchmark.assets import resolve
    from benchmark.splits.density import noise_like
    from osasis.api import encode, sample_images
    from osasis.weights import load_diffae

    path = resolve(config["diffae_asset"], config.get("diffae_path"))
    model_config = config.get("diffae_config", "diffae_ffhq256")
    model = load_diffae(path, config=model_config, device=device).eval()
    size = model.config.image_size
    steps = int(config.get("steps", 20))

    def reconstruct(x: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
        x_model = imageio.resize(x, size).to(device) * 2 - 1
        z_sem = encode(model, x_model)
        x_T = noise_like((model.config.in_channels, size, size), generators, device)
        decoded = sample_images(model, z_sem, steps=steps, x_T=x_T)
        return imageio.resize(((decoded + 1) / 2).clamp(0, 1).cpu(), tuple(x.shape[-2:])).to(x.device)

    return reconstruct, f"diffae stochastic reconstruction ({path.name}, {model_config}, EMA, DDIM {steps} steps)"


def make_reconstructor(config: dict[str, Any], train_dir: Path | None, resolution: int,
                       device: str) -> tuple[Reconstructor, str]:  # fmt: skip
    """The reconstructor named by ``config['reconstructor']``."""
    kind = config.get("reconstructor", "diffae")
    if kind == "pca":
        if train_dir is None:
            raise ConfigError("the pca reconstructor needs a training folder")
        return pca_reconstructor(train_dir, resolution, int(config.get("n_components", 32)))
    if kind == "diffae":
        return diffae_reconstructor(config, resolution, device)
    raise ConfigError(f"unknown density reconstructor {kind!r}; choose diffae or pca")
