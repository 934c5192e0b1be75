"""Schedules, DDIM/DDPM steps and the structural latent."""

from __future__ import annotations

import pytest
import torch

import osasis
from benchmark.errors import ConfigError


def test_official_grids() -> None:
    assert osasis.ddim_timesteps(100)[:3] == [0, 10, 20] and osasis.ddim_timesteps(20)[-1] == 950
    respaced = osasis.space_timesteps(1000, 50)
    assert respaced[:5] == [0, 20, 41, 61, 82] and respaced[25] == 510 and respaced[-1] == 999
    assert osasis.space_timesteps(1000, "ddim50") == list(range(0, 1000, 20))
    sched = osasis.Schedule.ddim(50)
    ac = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64), 0)
    assert torch.allclose(sched.alphas_cumprod, ac[::20], rtol=1e-10)
    assert abs(float(ac[500]) - 0.0778) < 1e-3


def test_structural_schedules() -> None:
    inf = osasis.structural_schedule()
    assert (inf.inversion_grid, inf.inversion_steps, inf.reverse_grid) == (100, 50, 50)
    assert inf.reverse_indices == list(range(24, -1, -1))
    assert inf.t_end_inversion == 500 and inf.t_start_reverse == 480  # the official off-by-one
    tr = osasis.structural_schedule("training")
    assert (tr.inversion_steps, tr.reverse_start, tr.t_start_reverse) == (25, 9, 450)
    con = osasis.structural_schedule(mode="consistent")
    assert con.reverse_start == 25 and con.t_start_reverse == con.t_end_inversion == 500
    assert osasis.structural_schedule("training", mode="consistent").t_start_reverse == 500
    with pytest.raises(ConfigError):
        osasis.structural_schedule(mode="nope")
    with pytest.raises(ConfigError):
        osasis.structural_schedule(t0=510, mode="consistent")


def test_ddim_step_clamps_and_rederives_eps() -> None:
    sched = osasis.Schedule.ddim(50)
    x = torch.randn(2, 3, 4, 4) * 2
    out = osasis.ddim_step(lambda x, t: torch.zeros_like(x), x, 10, sched)
    assert out.x0_pred.abs().max() <= 1
    a, a_prev = sched.alphas_cumprod[10].float(), sched.alphas_cumprod[9].float()
    x0 = (x / a.sqrt()).clamp(-1, 1)
    eps = (x / a.sqrt() - x0) / (1 / a - 1).sqrt()
    assert torch.allclose(out.x_next, x0 * a_prev.sqrt() + (1 - a_prev).sqrt() * eps, atol=1e-5)
    inv = osasis.ddim_step(lambda x, t: torch.zeros_like(x), x, 10, sched, inverse=True)
    assert torch.allclose(inv.x0_pred, out.x0_pred)


def test_inversion_then_reverse_reconstructs(smooth_diffae: osasis.DiffAEAutoencoder) -> None:
    model = smooth_diffae
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(11)) * 1.6 - 0.8
    sched = osasis.structural_schedule(t0=60, mode="consistent", grids=(50, 50))
    with torch.no_grad():
        z = osasis.encode(model, x)
        x_t0 = osasis.invert(model, x, z, schedule=sched)
        rec = osasis.reverse(model, x_t0, z, schedule=sched)
    moved = (x_t0 - x).abs().mean()
    assert moved > 0.03
    assert (rec - x).abs().mean() < min(0.02, 0.25 * float(moved))


def test_reverse_with_spn_matches_manual_loop(tiny_diffae: osasis.DiffAEAutoencoder, tiny_spn: osasis.SPN,
                                              images: torch.Tensor) -> None:  # fmt: skip
    sched = osasis.structural_schedule(t0=100, grids=(20, 20))  # official: indices 1, 0
    rs = sched.reverse_schedule()
    with torch.no_grad():
        z = osasis.encode(tiny_diffae, images)
        zs = z.flip(0)
        seen: list[int] = []
        out = osasis.reverse(tiny_diffae, images, z, z_style=zs, spn=tiny_spn, spn_image=images, schedule=sched,
                             callback=lambda i, k, o: seen.append(k))  # fmt: skip
        x = images
        for k in sched.reverse_indices:
            x, _ = osasis.reverse_step(tiny_diffae, x, k, rs, z, z_style=zs, spn=tiny_spn, spn_image=images)
    assert seen == [1, 0]
    assert torch.allclose(out, x)


def test_reverse_step_has_gradients(tiny_spn: osasis.SPN, images: torch.Tensor) -> None:
    model = osasis.build_diffae("diffae_tiny32").train()
    spn = osasis.build_spn("spn_tiny")
    rs = osasis.structural_schedule("training").reverse_schedule()
    z = torch.randn(2, 32)
    x_next, x0 = osasis.reverse_step(model, images, 9, rs, z, spn=spn, spn_image=images)
    (x0.square().mean() + x_next.mean()).backward()
    assert spn.in_layer[0].weight.grad is not None and spn.in_layer[0].weight.grad.abs().sum() > 0
    assert model.time_embed.time_embed[0].weight.grad is not None


def test_ddpm_and_sdedit_reproducible(tiny_p2: osasis.ADMUNet, images: torch.Tensor) -> None:
    sched = osasis.Schedule.respaced(50)
    with torch.no_grad():
        a = osasis.ddpm_step(tiny_p2, images, 3, sched, generator=torch.Generator().manual_seed(0))
        b = osasis.ddpm_step(tiny_p2, images, 3, sched, generator=torch.Generator().manual_seed(0))
        c = osasis.ddpm_step(tiny_p2, images, 3, sched, generator=torch.Generator().manual_seed(1))
        last0 = osasis.ddpm_step(tiny_p2, images, 0, sched, generator=torch.Generator().manual_seed(0))
        last1 = osasis.ddpm_step(tiny_p2, images, 0, sched, generator=torch.Generator().manual_seed(1))
        s1 = osasis.sdedit(tiny_p2, images, t_start_ratio=0.06, generator=torch.Generator().manual_seed(5))
        s2 = osasis.sdedit(tiny_p2, images, t_start_ratio=0.06, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.x_next, b.x_next) and not torch.equal(a.x_next, c.x_next)
    assert torch.equal(last0.x_next, last1.x_next)  # no noise at index 0
    assert torch.equal(s1, s2) and s1.shape == images.shape


def test_latent_and_image_sampling(tiny_diffae_latent: osasis.DiffAEAutoencoder) -> None:
    stats = osasis.LatentStats(torch.full((32,), 2.0), torch.full((32,), 0.5))
    g = torch.Generator().manual_seed(0)
    z = osasis.sample_latent(tiny_diffae_latent.latent_net, stats, 2, steps=4, generator=g)
    assert z.shape == (2, 32) and torch.isfinite(z).all()
    imgs = osasis.sample_images(tiny_diffae_latent, z, steps=2, generator=g)
    assert imgs.shape == (2, 3, 32, 32) and imgs.abs().max() <= 1 + 1e-6


def test_autocast_option_runs_on_cpu(tiny_diffae: osasis.DiffAEAutoencoder, images: torch.Tensor) -> None:
    rs = osasis.Schedule.ddim(20)
    with torch.no_grad():
        z = osasis.encode(tiny_diffae, images)
        ref = osasis.ddim_step(tiny_diffae, images, 5, rs, osasis.diffae_cond(z))
        low = osasis.ddim_step(tiny_diffae, images, 5, rs, osasis.diffae_cond(z), precision="bf16")
    assert low.x_next.dtype == torch.float32
    assert (low.x_next - ref.x_next).abs().max() < 0.1


def test_stylize_pipeline(smooth_diffae: osasis.DiffAEAutoencoder, tiny_diffae: osasis.DiffAEAutoencoder,
                          tiny_spn: osasis.SPN, images: torch.Tensor) -> None:  # fmt: skip
    sched = osasis.structural_schedule(t0=100, grids=(20, 20))
    style = images[:1].flip(-1)
    out = osasis.stylize(smooth_diffae, tiny_diffae, tiny_spn, images, style, schedule=sched)
    with torch.no_grad():
        z_in, z_style = osasis.encode(smooth_diffae, images), osasis.encode(smooth_diffae, style)
        x_t0 = osasis.invert(smooth_diffae, images, z_in, schedule=sched)
        manual = osasis.reverse(tiny_diffae, x_t0, z_in, z_style=z_style, spn=tiny_spn, spn_image=images,
                                schedule=sched)  # fmt: skip
    assert out.shape == images.shape and torch.allclose(out, manual)
