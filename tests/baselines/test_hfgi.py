"""HFGI: official-layout files (strict, per part), condition injection, inverter invariants, JoJoGAN+HFGI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from baselines.e4e import load_e4e
from baselines.hfgi import HFGIInverter, ResidualAligner, ResidualEncoder, load_hfgi, save_hfgi
from baselines.jojogan.inverters import InverterOptions, Projector, ProjectorSettings, build_inverter, synthesize
from baselines.stylegan2 import load_generator
from benchmark.checkpoints import load_tensors
from benchmark.errors import CheckpointError, ConfigError
from benchmark.methods import METHODS, create_method
from benchmark.testing import make_test_images, randomize

if "jojogan" not in METHODS:
    METHODS.add_lazy("jojogan", "baselines.jojogan.method:JoJoGAN")

COND_SIZE = 32  # the tiny generator's last upsampling layer (upstream: 64 px of 1024)


def branch(seed: int = 5, cond_channels: int = 8) -> tuple[ResidualEncoder, ResidualAligner]:
    residue = randomize(ResidualEncoder(cond_channels, COND_SIZE), seed, scale=0.05)
    grid_align = randomize(ResidualAligner(), seed + 1, scale=0.1)
    return residue, grid_align


@pytest.fixture(scope="module")
def tiny_hfgi_file(tiny_gan_file: Path, tiny_e4e_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    encoder, latent_avg, _ = load_e4e(tiny_e4e_file)
    g, _ = load_generator(tiny_gan_file)
    residue, grid_align = branch()
    path = tmp_path_factory.mktemp("hfgi") / "ckpt.pt"
    return save_hfgi(path, residue, grid_align, encoder=encoder, decoder=g, latent_avg=latent_avg, input_size=32)


def test_official_layout_round_trip(tiny_hfgi_file: Path) -> None:
    ckpt = load_tensors(tiny_hfgi_file, "test")
    assert set(ckpt) == {"state_dict", "opts", "latent_avg"}
    prefixes = {k.split(".")[0] for k in ckpt["state_dict"]}
    assert prefixes == {"encoder", "decoder", "residue", "grid_align"}
    assert "decoder.noises.noise_0" in ckpt["state_dict"]
    weights = load_hfgi(tiny_hfgi_file)
    for part in ("encoder", "decoder", "residue", "grid_align"):
        state = getattr(weights, part).state_dict()
        for key, value in state.items():
            assert torch.equal(value, ckpt["state_dict"][f"{part}.{key}"]), f"{part}.{key}"
    assert weights.config.cond_channels == 8 and weights.config.cond_size == COND_SIZE
    assert weights.config.input_size == 32 and weights.latent_avg is not None


def test_branch_only_file_and_named_errors(tiny_gan_file: Path, tmp_path: Path) -> None:
    residue, grid_align = branch()
    only = save_hfgi(tmp_path / "branch.pt", residue, grid_align, input_size=32)
    with pytest.raises(CheckpointError, match="encoder"):
        load_hfgi(only)  # the official file has all four parts
    weights = load_hfgi(only, parts=("residue", "grid_align"))
    assert weights.encoder is None and weights.decoder is None
    g, _ = load_generator(tiny_gan_file)
    with pytest.raises(ConfigError, match="no e4e encoder"):
        HFGIInverter(weights, g)
    # a missing key, a stray key, a wrong shape, a wrong-size generator: each a named CheckpointError
    ckpt = load_tensors(only, "test")
    for name, edit in {
        "missing": lambda s: s.pop("grid_align.conv_layer1.0.weight"),
        "stray": lambda s: s.__setitem__("discriminator.w", torch.zeros(1)),
        "shape": lambda s: s.__setitem__("residue.conv_layer1.0.weight", torch.zeros(32, 3, 5, 5)),
    }.items():
        state = dict(ckpt["state_dict"])
        edit(state)
        torch.save({**ckpt, "state_dict": state}, tmp_path / f"{name}.pt")
        with pytest.raises(CheckpointError):
            load_hfgi(tmp_path / f"{name}.pt", parts=("residue", "grid_align"))
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_hfgi(tmp_path / "empty.pt")
    with pytest.raises(ConfigError, match="do not fit"):
        wide = load_hfgi(save_hfgi(tmp_path / "wide.pt", *branch(cond_channels=16)), parts=("residue", "grid_align"))
        HFGIInverter(wide, g, base=lambda x, n: x)


def test_conditions_enter_after_the_upsampling_layer(tiny_gan_file: Path) -> None:
    g, _ = load_generator(tiny_gan_file)
    n_params = sum(p.numel() for p in g.parameters())
    w = g.mapping(torch.randn(2, g.style_dim, generator=torch.Generator().manual_seed(0)))[:, None]
    w = w.repeat(1, g.n_latent, 1)
    zeros = [torch.zeros(2, 8, 32, 32), torch.zeros(2, 8, 32, 32)]
    with torch.no_grad():
        plain = g(w)
        torch.testing.assert_close(g(w, conditions=zeros), plain, rtol=0, atol=0)
        shifted = g(w, conditions=[zeros[0], torch.ones(2, 8, 32, 32)])
        assert (shifted - plain).abs().max() > 1e-3
        # a 16-px condition changes the output too (layer chosen from the map size)
        assert (g(w, conditions=[torch.ones(2, 16, 16, 16), torch.zeros(2, 16, 16, 16)]) - plain).abs().max() > 1e-3
    assert g.condition_layer(32) == 2 and g.condition_layer(8) == 0
    with pytest.raises(ValueError, match="no upsampling layer"):
        g(w, conditions=[torch.zeros(2, 8, 64, 64)] * 2)
    with pytest.raises(ValueError, match="do not match"):
        g(w, conditions=[torch.zeros(2, 5, 32, 32)] * 2)
    assert sum(p.numel() for p in g.parameters()) == n_params


def _inverter(tiny_hfgi_file: Path, tiny_gan_file: Path, mode: str = "full") -> HFGIInverter:
    weights = load_hfgi(tiny_hfgi_file)
    g, _ = load_generator(tiny_gan_file)
    return HFGIInverter(weights, g, mode=mode)


def test_inverter_batch_independent_and_deterministic(tiny_hfgi_file: Path, tiny_gan_file: Path) -> None:
    inv = _inverter(tiny_hfgi_file, tiny_gan_file)
    images = torch.rand(3, 3, 40, 40, generator=torch.Generator().manual_seed(2))
    whole = inv.reconstruct(images, ["a", "b", "c"])
    parts = torch.cat([inv.reconstruct(images[i : i + 1], ["x"]) for i in range(3)])
    torch.testing.assert_close(whole, parts, rtol=0, atol=1e-5)
    torch.testing.assert_close(inv.reconstruct(images, ["a", "b", "c"]), whole, rtol=0, atol=0)
    assert whole.shape == (3, 3, 32, 32) and whole.min() >= 0 and whole.max() <= 1
    # the branch changes the rendering; wplus mode is exactly G(w) with HFGI's (= e4e's) W+ code
    g, _ = load_generator(tiny_gan_file)
    full = synthesize(inv, g, images, ["a", "b", "c"])
    wplus_inv = _inverter(tiny_hfgi_file, tiny_gan_file, mode="wplus")
    wplus = synthesize(wplus_inv, g, images, ["a", "b", "c"])
    assert (full - wplus).abs().max() > 1e-4
    with torch.no_grad():
        torch.testing.assert_close(wplus, g(inv(images, ["a", "b", "c"])), rtol=0, atol=0)
    # an edit of the codes reaches the rendering; random noise is drawn from the given generator
    edited = synthesize(inv, g, images, ["a"] * 3, edit=lambda w: w * 0.5, noise="random",
                        rng=torch.Generator().manual_seed(1))  # fmt: skip
    again = synthesize(inv, g, images, ["a"] * 3, edit=lambda w: w * 0.5, noise="random",
                       rng=torch.Generator().manual_seed(1))  # fmt: skip
    torch.testing.assert_close(edited, again, rtol=0, atol=0)


def test_projector_base_through_the_factory(tiny_gan_file: Path, tmp_path: Path) -> None:
    residue, grid_align = branch()
    path = save_hfgi(tmp_path / "smoke.pt", residue, grid_align, input_size=32)
    g, latent_avg = load_generator(tiny_gan_file)
    opts = InverterOptions(hfgi_path=str(path), hfgi_base="projector", projector_steps=2, projector_lpips="none")
    inv = build_inverter("hfgi", g, latent_avg, opts)
    assert isinstance(inv.inner, HFGIInverter) and isinstance(inv.inner.base, Projector)
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    direct = Projector(g, ProjectorSettings(steps=2, lpips="none"), latent_avg.reshape(1, -1))
    torch.testing.assert_close(inv(images, ["a", "b"]), direct(images, ["a", "b"]), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="hfgi_base"):
        InverterOptions(hfgi_base="e4e")
    with pytest.raises(ConfigError, match="inverter must be one of"):
        build_inverter("psp", g, latent_avg, opts)


def test_jojogan_with_hfgi(tiny_gan_file: Path, tiny_hfgi_file: Path, tmp_path: Path) -> None:
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    outs = {}
    for mode in ("full", "wplus"):
        cfg = {"generator_path": str(tiny_gan_file), "image_size": 32, "inverter": "hfgi",
               "hfgi_path": str(tiny_hfgi_file), "hfgi_mode": mode, "iterations": 2}  # fmt: skip
        method = create_method("jojogan", cfg, device="cpu", seed=0, resolution=24)
        method.prepare(ref, tmp_path / mode)
        method.load(ref, tmp_path / mode)
        outs[mode] = method.stylize(torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0)), ["a", "b"])
        assert outs[mode].shape == (2, 3, 24, 24) and outs[mode].min() >= 0 and outs[mode].max() <= 1
    assert (outs["full"] - outs["wplus"]).abs().max() > 1e-4
    with pytest.raises(ConfigError, match="hfgi_mode"):
        create_method("jojogan", {"hfgi_mode": "both"}, device="cpu", seed=0, resolution=24)


def test_committed_smoke_branch_fits_the_smoke_generator() -> None:
    from benchmark import assets

    weights = load_hfgi(assets.resolve("smoke_hfgi"), parts=("residue", "grid_align"))
    g, _ = load_generator(assets.resolve("smoke_stylegan2"))
    assert weights.config.cond_size == 64 and weights.config.input_size == g.size == 64
    inv = HFGIInverter(weights, g.float(), base=lambda images, names: g.float().mapping(torch.zeros(1, 128))[:, None]
                       .repeat(len(images), g.n_latent, 1))  # fmt: skip
    out = inv.reconstruct(torch.rand(1, 3, 64, 64), ["a"])
    assert out.shape == (1, 3, 64, 64) and torch.isfinite(out).all()


def test_smoke_trainer_is_seeded_and_writes_the_branch_layout(tiny_gan_file: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from benchmark.pretrain import hfgi as trainer
    from benchmark.pretrain.run import RECIPES

    g, _ = load_generator(tiny_gan_file)
    faces = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    codes = g.mapping(torch.randn(4, g.style_dim, generator=torch.Generator().manual_seed(1)))[:, None]
    codes = codes.repeat(1, g.n_latent, 1).detach()
    recipe = RECIPES["hfgi"]
    settings = replace(recipe, steps=3, batch_size=2, extra={**recipe.extra, "condition_size": 32, "input_size": 32})

    def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a - b).abs().mean(dim=(1, 2, 3))

    runs = [trainer.train_branch(g, faces, codes, settings, l1) for _ in range(2)]
    assert runs[0][2].losses == runs[1][2].losses and runs[0][2].steps_done == 3
    for a, b in zip(runs[0][0].parameters(), runs[1][0].parameters()):
        assert torch.equal(a, b)
    residue, grid_align, _ = runs[0]
    assert residue.cond_channels == g.convs[4].conv.cout and not residue.training
    path = trainer.save(tmp_path / "branch.pt", residue, grid_align, settings)
    weights = load_hfgi(path, parts=("residue", "grid_align"))
    assert weights.config.input_size == 32 and weights.opts["base_inverter"] == "projector"
    quality = trainer.reconstruction_lpips(g, residue, grid_align, faces, codes, {"l1": l1})
    assert set(quality["l1"]) == {"wplus", "hfgi"}


def test_ranger_is_centralised_radam_with_lookahead() -> None:
    from benchmark.pretrain.hfgi import Ranger

    grad = torch.arange(6.0).reshape(2, 3)
    p = torch.nn.Parameter(torch.ones(2, 3))
    ref = torch.nn.Parameter(torch.ones(2, 3))
    opt, radam = Ranger([p], lr=0.1, k=2, alpha=0.5), torch.optim.RAdam([ref], lr=0.1, betas=(0.95, 0.999), eps=1e-5)
    for _ in range(2):
        opt.zero_grad()
        (p * grad).sum().backward()
        opt.step()
        ref.grad = grad - grad.mean(dim=1, keepdim=True)  # gradient centralisation
        radam.step()
    # after k = 2 steps the fast weights move halfway back to the slow copy (the start)
    torch.testing.assert_close(p.detach(), 1 + 0.5 * (ref.detach() - 1), rtol=0, atol=1e-7)
    assert not torch.equal(p.detach(), torch.ones(2, 3))
