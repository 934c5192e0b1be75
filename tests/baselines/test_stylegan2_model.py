"""StyleGAN2 G/D: official layout, checkpoint round trip, determinism, D feature shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from baselines.layout import layout_digest
from baselines.stylegan2 import (
    Discriminator,
    Generator,
    StyleGAN2Config,
    infer_config,
    load_discriminator,
    load_generator,
)
from baselines.stylegan2.ops import upfirdn2d
from benchmark.checkpoints import load_tensors
from benchmark.errors import CheckpointError

TINY = StyleGAN2Config.tiny()


@pytest.fixture(scope="module")
def meta_official() -> tuple[Generator, Discriminator]:
    with torch.device("meta"):
        return Generator(StyleGAN2Config.official()), Discriminator(StyleGAN2Config.official())


def test_generator_layout_matches_official(meta_official: tuple[Generator, Discriminator]) -> None:
    g, _ = meta_official
    # digest of sorted "key:shape" lines of rosinality Generator(1024, 512, 8, channel_multiplier=2) on meta
    assert layout_digest(g) == (171, "12a56a48bd22fbe8791eb2cd82ec50be3539290875da65956c9fe2508a7918ea")
    sd = g.state_dict()
    assert sd["convs.14.conv.weight"].shape == (1, 32, 64, 3, 3)
    assert sd["to_rgbs.7.upsample.kernel"].shape == (4, 4)
    assert sd["noises.noise_16"].shape == (1, 1, 1024, 1024)
    assert sd["style.8.bias"].shape == (512,)
    assert sum(p.numel() for p in g.parameters()) == 30_370_060
    assert sum(b.numel() for n, b in g.named_buffers() if n.startswith("noises.")) == 2_796_176
    assert sum(p.numel() for p in g.style.parameters()) == 2_101_248
    assert g.n_latent == 18 and g.num_layers == 17


def test_discriminator_layout_and_feature_shapes(meta_official: tuple[Generator, Discriminator]) -> None:
    _, d = meta_official
    assert layout_digest(d) == (64, "63ab5c96d36c719d8a84b090c30d216485c1f2407f2dd8ed6cb22ac12f4593f8")
    assert d.state_dict()["final_conv.0.weight"].shape == (512, 513, 3, 3)
    assert sum(p.numel() for p in d.parameters()) == 29_012_513
    feats = d.features(torch.empty(1, 3, 1024, 1024, device="meta"), (1, 3, 4, 5))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 512, 512), (256, 128, 128), (512, 64, 64), (512, 32, 32)]


def test_tiny_round_trip(tiny_gan_file: Path) -> None:
    g, latent_avg = load_generator(tiny_gan_file)
    g2, _ = load_generator(tiny_gan_file, key="g")
    d = load_discriminator(tiny_gan_file)
    assert g.cfg.channels == {4: 16, 8: 16, 16: 16, 32: 8} and g.n_latent == 8
    assert latent_avg is not None and latent_avg.shape == (TINY.style_dim,)
    w = torch.randn(2, g.n_latent, g.style_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(g(w), g2(w), rtol=0, atol=0)
        assert d(g(w)).shape == (2, 1)
    assert infer_config(d.state_dict()).channels == {32: 8, 16: 16, 8: 16, 4: 16}


def test_strict_loading_names_mismatch(tiny_gan_file: Path, tmp_path: Path) -> None:
    ckpt = load_tensors(tiny_gan_file, "test")
    del ckpt["g_ema"]["noises.noise_0"]
    bad = tmp_path / "bad.pt"
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointError, match="noises.noise_0"):
        load_generator(bad)


def test_generator_deterministic_noise_modes(tiny_gan_file: Path) -> None:
    g, _ = load_generator(tiny_gan_file)
    w = torch.randn(2, g.n_latent, g.style_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = g(w), g(w)
        r1 = g(w, noise="random", rng=torch.Generator().manual_seed(5))
        r2 = g(w, noise="random", rng=torch.Generator().manual_seed(5))
        single = g(w[:1])
    assert a.shape == (2, 3, 32, 32)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(r1, r2, rtol=0, atol=0)
    torch.testing.assert_close(single, a[:1], rtol=1e-5, atol=1e-5)
    assert (r1 - a).abs().max() > 1e-4


def test_upfirdn2d_matches_direct_definition() -> None:
    x = torch.randn(1, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    k = torch.rand(4, 4, generator=torch.Generator().manual_seed(1))
    out = upfirdn2d(x, k, up=2, down=1, pad=(2, 1))
    # direct sum: y[i, j] = sum_{a,b} u[i + a - 2... ] written as true convolution of the zero-stuffed, padded input
    u = torch.zeros(1, 2, 10, 10)
    u[..., ::2, ::2] = x
    u = torch.nn.functional.pad(u, (2, 1, 2, 1))
    ref = torch.zeros_like(out)
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            ref[..., i, j] = (u[..., i : i + 4, j : j + 4] * k.flip(0, 1)).sum((-1, -2))
    torch.testing.assert_close(out, ref)
