"""Network behaviour: mixing semantics, batch independence, SPN."""

from __future__ import annotations

import torch

import osasis
from osasis import MixSpec


def test_mixing_with_equal_codes_equals_plain_forward(tiny_diffae: osasis.DiffAEAutoencoder,
                                                      images: torch.Tensor) -> None:  # fmt: skip
    t = torch.tensor([10, 700])
    with torch.no_grad():
        z = tiny_diffae.encode(images)
        plain = tiny_diffae(images, t, z)
        for mix in (None, MixSpec((0,)), MixSpec((0, 1)).reversed(3)):
            assert torch.equal(tiny_diffae(images, t, z, cond_style=z, mix=mix), plain)


def test_mixing_routes_codes_by_level(tiny_diffae: osasis.DiffAEAutoencoder, images: torch.Tensor) -> None:
    t = torch.tensor([300, 300])
    n = tiny_diffae.config.num_levels
    with torch.no_grad():
        z = tiny_diffae.encode(images)
        zs = torch.randn_like(z) * 3
        plain_in, plain_style = tiny_diffae(images, t, z), tiny_diffae(images, t, zs)
        every_level = MixSpec(tuple(range(n)), middle="style")
        assert torch.allclose(tiny_diffae(images, t, z, cond_style=zs, mix=every_level), plain_style, atol=1e-6)
        assert torch.allclose(tiny_diffae(images, t, z, cond_style=zs, mix=MixSpec((), "input")), plain_in, atol=1e-6)
        mixed = tiny_diffae(images, t, z, cond_style=zs)  # config default: levels (0, 1)
        swapped = tiny_diffae(images, t, z, cond_style=zs, mix=MixSpec((0, 1)).reversed(n))
        assert not torch.allclose(mixed, plain_in) and not torch.allclose(mixed, swapped)
    assert MixSpec((0, 1, 2, 3)).reversed(6) == MixSpec((4, 5), "style")


def test_batch_size_independence(tiny_diffae: osasis.DiffAEAutoencoder, tiny_p2: osasis.ADMUNet,
                                 tiny_spn: osasis.SPN, images: torch.Tensor) -> None:  # fmt: skip
    t = torch.tensor([5, 600])
    with torch.no_grad():
        z = tiny_diffae.encode(images)
        assert torch.allclose(tiny_diffae.encode(images[1:]), z[1:], atol=1e-5)
        both = tiny_diffae(images, t, z, cond_style=z.flip(0))
        one = tiny_diffae(images[1:], t[1:], z[1:], cond_style=z[:1])
        assert torch.allclose(both[1:], one, atol=1e-5)
        assert torch.allclose(tiny_p2(images, t)[1:], tiny_p2(images[1:], t[1:]), atol=1e-5)
        assert torch.allclose(tiny_spn(images, t)[1:], tiny_spn(images[1:], t[1:]), atol=1e-5)


def test_output_shapes(tiny_diffae_latent: osasis.DiffAEAutoencoder, tiny_p2: osasis.ADMUNet,
                       tiny_spn: osasis.SPN, images: torch.Tensor) -> None:  # fmt: skip
    t = torch.tensor([0, 999])
    with torch.no_grad():
        z = tiny_diffae_latent.encode(images)
        assert z.shape == (2, 32)
        assert tiny_diffae_latent(images, t, z).shape == images.shape
        assert tiny_diffae_latent.latent_net(z, t).shape == z.shape
        assert tiny_p2(images, t).shape == (2, 6, 32, 32)
        assert tiny_spn(images, torch.tensor([24, 0])).shape == images.shape


def test_spn_uses_only_1x1_convs(tiny_spn: osasis.SPN) -> None:
    convs = [m for m in tiny_spn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6 and all(m.kernel_size == (1, 1) for m in convs)
    assert osasis.build_spn("spn_default").block1.pre_layer[0].num_groups == 32
