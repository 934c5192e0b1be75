"""MTG+HFGI (the paper's Table 1 row): both HFGI modes through the shared inverter factory, batch independence."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from baselines import hfgi
from baselines.e4e import load_e4e
from baselines.stylegan2 import load_generator
from benchmark.methods import METHODS, create_method
from benchmark.testing import make_test_images, randomize

if "mtg" not in METHODS:
    METHODS.add_lazy("mtg", "baselines.mtg.method:MTG")


@pytest.fixture(scope="module")
def tiny_hfgi(tiny_gan_file: Path, tiny_e4e_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    encoder, latent_avg, _ = load_e4e(tiny_e4e_file)
    g, _ = load_generator(tiny_gan_file)
    residue = randomize(hfgi.ResidualEncoder(8, 32), 5, scale=0.05)  # conditions at the 32-px layer of the tiny G
    grid_align = randomize(hfgi.ResidualAligner(), 6, scale=0.1)
    path = tmp_path_factory.mktemp("hfgi") / "ckpt.pt"
    return hfgi.save_hfgi(path, residue, grid_align, encoder=encoder, decoder=g, latent_avg=latent_avg, input_size=32)


def test_mtg_with_hfgi_full_and_wplus(tiny_gan_file: Path, tiny_hfgi: Path, tmp_path: Path) -> None:
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    images = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    outs = {}
    for mode in ("full", "wplus"):
        cfg = {"generator_path": str(tiny_gan_file), "image_size": 32, "inverter": "hfgi", "hfgi_path": str(tiny_hfgi),
               "hfgi_mode": mode, "embedder": "vgg16-imagenet", "pca": None, "pca_samples": 512, "ii2s_steps": 2,
               "iterations": 2, "batch": 2, "downsample_factor": 2}  # fmt: skip
        method = create_method("mtg", cfg, device="cpu", seed=0, resolution=24)
        method.prepare(ref, tmp_path / mode)
        method.load(ref, tmp_path / mode)
        outs[mode] = method.stylize(images, ["a", "b"])
        assert outs[mode].shape == (2, 3, 24, 24) and outs[mode].min() >= 0 and outs[mode].max() <= 1
        one = method.stylize(images[1:], ["b"])
        assert (one - outs[mode][1:]).abs().max() < 1e-5  # batch-size independent (per-image noise)
    assert (outs["full"] - outs["wplus"]).abs().max() > 1e-4
