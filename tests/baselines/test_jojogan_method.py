"""JoJoGAN: swap-index rule, alpha semantics, fine-tuning lowers the loss, method contract (tiny G)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from baselines.jojogan.finetune import (
    FinetuneSettings,
    d_blocks,
    feature_loss,
    finetune,
    mix_codes,
    swap_indices,
)
from baselines.stylegan2 import load_discriminator, load_generator
from benchmark.methods import METHODS
from benchmark.testing import MethodContract

if "jojogan" not in METHODS:
    METHODS.add_lazy("jojogan", "baselines.jojogan.method:JoJoGAN")


def test_swap_indices_released_and_scaled() -> None:
    assert swap_indices(18) == list(range(7, 18))
    assert swap_indices(18, preserve_color=True) == [9, 11, 15, 16, 17]
    assert swap_indices(8) == [3, 4, 5, 6, 7]
    assert swap_indices(14) == list(range(5, 14))
    assert max(swap_indices(8, preserve_color=True)) == 7


def test_alpha_one_means_fully_random_codes() -> None:
    w_ref, w_rand = torch.zeros(1, 4, 2), torch.ones(1, 2)
    full = mix_codes(w_ref, w_rand, [2, 3], alpha=1.0)
    assert full[0, :2].eq(0).all() and full[0, 2:].eq(1).all()
    assert mix_codes(w_ref, w_rand, [2, 3], alpha=0.0).eq(0).all()
    torch.testing.assert_close(mix_codes(w_ref, w_rand, [3], alpha=0.25)[0, 3], torch.full((2,), 0.25))


def _eval_loss(g, disc, w, target, blocks) -> float:  # noqa: ANN001
    with torch.no_grad():
        return float(feature_loss(disc.features(g(w), blocks), disc.features(target, blocks)))


def test_finetune_lowers_loss_and_is_seeded(tiny_gan_file: Path) -> None:
    g0, _ = load_generator(tiny_gan_file)
    disc = load_discriminator(tiny_gan_file)
    assert d_blocks(disc) == [1, 3]
    w_ref = g0.mapping(torch.randn(1, g0.style_dim, generator=torch.Generator().manual_seed(3)))
    w_ref = w_ref[:, None].repeat(1, g0.n_latent, 1).detach()
    target = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 2 - 1
    blocks = d_blocks(disc)
    before = _eval_loss(g0, disc, w_ref, target, blocks)
    settings = FinetuneSettings(iterations=15, alpha=0.0, noise="const")
    g1 = copy.deepcopy(g0)
    finetune(g1, disc, w_ref, target, settings, torch.Generator().manual_seed(0))
    assert _eval_loss(g1, disc, w_ref, target, blocks) < 0.8 * before
    # released recipe (alpha=1, random noise): identical losses for identical seeds, mapping untouched
    runs = []
    for _ in range(2):
        g = copy.deepcopy(g0)
        runs.append(finetune(g, disc, w_ref, target, FinetuneSettings(iterations=3), torch.Generator().manual_seed(7)))
        torch.testing.assert_close(g.style[1].weight, g0.style[1].weight, rtol=0, atol=0)
    assert runs[0] == runs[1]
    g = copy.deepcopy(g0)
    finetune(g, disc, w_ref, target, FinetuneSettings(iterations=2, train_mapping=True), torch.Generator())
    assert not torch.equal(g.style[1].weight, g0.style[1].weight)


class TestJoJoGANContract(MethodContract):
    """Shared method contract with a tiny 32-px StyleGAN2 saved in the official layout."""

    method_name = "jojogan"

    @pytest.fixture(autouse=True)
    def _files(self, tiny_gan_file: Path) -> None:
        self._gan = tiny_gan_file

    def tiny_config(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "generator_path": str(self._gan),
            "image_size": 32,
            "inverter": "projector",
            "projector_steps": 3,
            "projector_lpips": "none",
            "iterations": 3,
        }


def test_e4e_inverter_path(tiny_gan_file: Path, tiny_e4e_file: Path, tmp_path: Path) -> None:
    from benchmark.methods import create_method
    from benchmark.testing import make_test_images

    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    cfg = {"generator_path": str(tiny_gan_file), "image_size": 32, "encoder_path": str(tiny_e4e_file), "iterations": 2}
    method = create_method("jojogan", cfg, device="cpu", seed=0, resolution=24)
    method.prepare(ref, tmp_path / "work")
    method.load(ref, tmp_path / "work")
    out = method.stylize(torch.rand(2, 3, 24, 24), ["a", "b"])
    assert out.shape == (2, 3, 24, 24) and out.min() >= 0 and out.max() <= 1
    ft, _ = load_generator(tmp_path / "work" / "jojogan_generator.pt", key="g")
    assert ft.n_latent == 8
