"""The training loops run on tiny configs, are deterministic, and write files the official loaders read strictly."""

from __future__ import annotations

import math

import pytest
import torch

from baselines.stylegan2 import StyleGAN2Config, load_discriminator, load_generator
from benchmark.pretrain import ddpm, diffae, latent, stylegan2
from benchmark.pretrain.common import TrainSettings
from benchmark.pretrain.data import face_tensor
from osasis.configs import get_config
from osasis.weights import load_diffae, load_latent_net, load_latent_stats, load_p2

SIZE = 32


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return face_tensor("train", 8, seed=0, size=SIZE)


def settings(steps: int = 2, **kw: object) -> TrainSettings:
    return TrainSettings(steps=steps, batch_size=4, lr=1e-3, seed=3, **kw)


def states_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_face_tensor_matches_the_world_split(tmp_path, faces) -> None:
    from benchmark.imageio import load_image
    from benchmark.smoke.build import DEFAULT_PARAMS, split_seed
    from benchmark.smoke.faces import write_face_dataset

    folder = write_face_dataset(tmp_path / "train", 2, split_seed(0, "train"), SIZE, DEFAULT_PARAMS["rare_rates"])
    on_disk = torch.stack([load_image(folder / f"{i:05d}.png") for i in range(2)]) * 2 - 1
    assert faces.shape == (8, 3, SIZE, SIZE)
    assert torch.allclose(faces[:2], on_disk, atol=1e-6)


def test_diffae_and_latent_write_official_layouts(tmp_path, faces) -> None:
    cfg, lat_cfg = get_config("diffae_tiny32"), get_config("diffae_latent_tiny32")
    model, ema, res = diffae.train_diffae(cfg, faces, settings())
    assert res.steps_done == 2 and math.isfinite(res.losses[-1]["loss"]) if res.losses else True
    diffae.save_autoenc(tmp_path / "ae.ckpt", model, ema, res.steps_done)
    loaded = load_diffae(tmp_path / "ae.ckpt", cfg)  # strict
    raw = load_diffae(tmp_path / "ae.ckpt", cfg, use_ema=False)
    for (k, p), q in zip(loaded.state_dict().items(), ema.state_dict().values()):
        assert torch.allclose(p, q.half().float()), k
    assert not states_equal(loaded, raw)

    conds = latent.encode_all(loaded, faces)
    net, net_ema, _ = latent.train_latent(lat_cfg.latent_net, conds, settings(3))
    latent.save_latent_files(tmp_path / "lat.ckpt", tmp_path / "latent.pkl", lat_cfg, loaded, net_ema, conds, 3)
    load_diffae(tmp_path / "lat.ckpt", lat_cfg)
    assert states_equal(load_latent_net(tmp_path / "lat.ckpt", lat_cfg), net_ema.half().float())
    stats = load_latent_stats(tmp_path / "latent.pkl")
    assert torch.allclose(stats.mean, conds.mean(0)) and torch.allclose(stats.std, conds.std(0))
    assert torch.allclose(load_latent_stats(tmp_path / "lat.ckpt").std, stats.std)


def test_p2_writes_official_layout(tmp_path, faces) -> None:
    cfg = get_config("p2_tiny32")
    _, ema, res = ddpm.train_p2(cfg, faces, settings())
    assert {"loss", "mse", "vb"} <= set(res.losses[-1])
    ddpm.save(tmp_path / "p2.pt", ema)
    assert load_p2(tmp_path / "p2.pt", cfg).config == cfg


def test_stylegan2_writes_official_layout(tmp_path, faces) -> None:
    cfg = StyleGAN2Config.tiny(size=SIZE)
    g, g_ema, d, res = stylegan2.train_stylegan2(cfg, faces, settings(2, extra={"r1_gamma": 0.1}))
    assert "r1" in res.losses[-1] and res.steps_done == 2
    stylegan2.save(tmp_path / "sg2.pt", g, g_ema, d, stylegan2.latent_average(g_ema, 64))
    gen, avg = load_generator(tmp_path / "sg2.pt")
    raw, _ = load_generator(tmp_path / "sg2.pt", key="g")
    load_discriminator(tmp_path / "sg2.pt")
    assert avg.shape == (cfg.style_dim,) and gen.size == SIZE and not states_equal(gen, raw)


def test_short_runs_are_deterministic(faces) -> None:
    cfg = get_config("diffae_tiny32")
    a = diffae.train_diffae(cfg, faces, settings())[1]
    b = diffae.train_diffae(cfg, faces, settings())[1]
    assert states_equal(a, b)
    sg = StyleGAN2Config.tiny(size=SIZE)
    ga = stylegan2.train_stylegan2(sg, faces, settings(2))[1]
    gb = stylegan2.train_stylegan2(sg, faces, settings(2))[1]
    assert states_equal(ga, gb)


def test_hybrid_loss_terms() -> None:
    m, lv = torch.randn(5), torch.randn(5)
    assert torch.allclose(ddpm.normal_kl(m, lv, m, lv), torch.zeros(5), atol=1e-6)
    x = torch.linspace(-1, 1, 256)
    nll = ddpm.discretized_gaussian_nll(x, x, torch.full_like(x, math.log(1e-3)))
    assert nll.max() < 1e-3  # a sharp Gaussian on the right bin: probability ~1
    sched = diffae.full_schedule()
    k = torch.tensor([0, 500, 999])
    lo = ddpm.learned_log_variance(sched, k, -torch.ones(3, 1, 1, 1))
    hi = ddpm.learned_log_variance(sched, k, torch.ones(3, 1, 1, 1))
    assert torch.allclose(hi.flatten(), torch.log(sched.betas[k]).float())
    assert torch.allclose(lo.flatten(), sched.posterior_log_variance_clipped[k].float())


def test_face_detection_rate_separates_faces_from_noise() -> None:
    from benchmark.pretrain.quality import face_detection_rate

    real = face_tensor("heldout", 32)
    noise = torch.rand(8, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert face_detection_rate(real) > 0.25 and face_detection_rate(noise) == 0.0
    assert face_detection_rate(real) == face_detection_rate(real.clone())


def test_stylegan2_continues_from_a_saved_file(tmp_path, faces) -> None:
    cfg = StyleGAN2Config.tiny(size=SIZE)
    g, g_ema, d, _ = stylegan2.train_stylegan2(cfg, faces, settings(2, extra={"r1_gamma": 0.1}))
    stylegan2.save(tmp_path / "sg2.pt", g, g_ema, d, stylegan2.latent_average(g_ema, 64), half=False)
    frozen = settings(1, extra={"r1_gamma": 0.1})
    frozen = TrainSettings(**{**frozen.to_dict(), "lr": 0.0})
    g2, _, d2, res = stylegan2.train_stylegan2(cfg, faces, frozen, init_from=tmp_path / "sg2.pt")
    assert res.steps_done == 1
    assert states_equal(g2, g) and states_equal(d2, d)  # lr 0: the continued weights are exactly the file's
    fresh, _, _, _ = stylegan2.train_stylegan2(cfg, faces, frozen)
    assert not states_equal(fresh, g)


def test_stylegan2_recipe_runs_both_phases(tmp_path) -> None:
    """The committed recipe: from scratch, then ``continue_steps`` more from the file just written."""
    import json

    from benchmark.pretrain.run import main

    main(["--models", "stylegan2", "--out", str(tmp_path), "--steps-scale", "0.0002", "--n-train", "16",
          "--no-manifest", "--no-quality", "--threads", "1"])  # fmt: skip
    entry = json.loads((tmp_path / "record.json").read_text())["models"]["stylegan2"]
    assert entry["first_phase"]["steps"] == 2 and entry["init_from"]["steps"] == 2
    assert entry["init_from"]["seed"] == entry["first_phase"]["seed"] + 1
    final = entry["files"]["stylegan2_smoke64.pt"]["sha256"]
    assert entry["init_from"]["sha256"] == entry["first_phase"]["sha256"] != final
    load_generator(tmp_path / "stylegan2_smoke64.pt")


@pytest.mark.slow
def test_inst_recipe_writes_a_loadable_model(tmp_path) -> None:
    """InST's LDM: VAE phase then UNet phase, saved with the token table as seed + digest, strictly reloadable."""
    import json

    from baselines.inst.weights import load_smoke_ldm
    from benchmark.pretrain.run import main

    main(["--models", "inst", "--out", str(tmp_path), "--steps-scale", "0.005", "--n-train", "8",
          "--no-manifest", "--no-quality", "--threads", "1"])  # fmt: skip
    entry = json.loads((tmp_path / "record.json").read_text())["models"]["inst"]
    assert entry["vae_result"]["steps_done"] == 1 and entry["result"]["steps_done"] == 2
    model = load_smoke_ldm(tmp_path / "inst_ldm_smoke64.pt")
    assert model.arch.name == "smoke-ldm64"
    assert entry["params"]["unet"] == sum(p.numel() for p in model.unet.parameters())
