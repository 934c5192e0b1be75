"""Mind the Gap: released numerics (bicubic ↓, p-norm, CLIP terms), trainable set, II2S quirk, the released
per-style checkpoint layout (strict loading, pretrained_style path), determinism and the method contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines.mtg.checkpoint import OFFICIAL_KEYS, load_mtg, save_mtg
from baselines.mtg.finetune import FinetuneSettings, LossWeights, MTGLoss, finetune, make_optimizer, set_trainable
from baselines.mtg.ii2s import II2SSettings, PCAPrior, embed, estimate_pca, load_pca, p_norm_loss
from baselines.mtg.losses import Embeddings, bicubic_downsample, bicubic_taps, clip_terms
from baselines.mtg.method import MODEL_FILE
from baselines.stylegan2 import load_generator
from benchmark.errors import CheckpointError, ConfigError
from benchmark.methods import METHODS, create_method
from benchmark.testing import MethodContract, make_test_images

if "mtg" not in METHODS:
    METHODS.add_lazy("mtg", "baselines.mtg.method:MTG")


class MeanPoolEmbedder(torch.nn.Module):
    """A cheap differentiable stand-in for CLIP in unit tests."""

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.adaptive_avg_pool2d(x, 2).flatten(1), x.std(dim=(2, 3))], 1)


def tiny_config(gan: Path, **extra: Any) -> dict[str, Any]:
    cfg = {
        "generator_path": str(gan), "image_size": 32, "inverter": "projector", "projector_steps": 3,
        "projector_lpips": "none", "embedder": "vgg16-imagenet", "pca": None, "pca_samples": 512,
        "ii2s_steps": 2, "iterations": 2, "batch": 2, "downsample_factor": 2,
    }  # fmt: skip
    cfg.update(extra)
    return cfg


def test_bicubic_kernel_is_the_released_16_tap_filter() -> None:
    k = bicubic_taps(4)
    assert k.numel() == 16 and torch.allclose(k, k.flip(0)) and abs(float(k.sum()) - 1) < 1e-6
    assert k[7] == k[8] == k.max() and k.min() < 0  # peak at the centre, negative lobes (a = -0.5)
    x = torch.rand(2, 3, 64, 64)
    y = bicubic_downsample(x, 4)
    assert y.shape == (2, 3, 16, 16)
    torch.testing.assert_close(bicubic_downsample(torch.full((1, 3, 32, 32), 0.3), 4), torch.full((1, 3, 8, 8), 0.3))
    torch.testing.assert_close(bicubic_downsample(x[:1], 4), y[:1])  # per image


def test_p_norm_matches_formula_and_pca_file_is_checked(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen))
    prior = PCAPrior(torch.randn(6, generator=gen), q.T, torch.rand(6, generator=gen) + 0.5)
    w = torch.randn(1, 4, 6, generator=gen)
    manual = (((torch.where(w > 0, w, 5 * w) - prior.mean) @ prior.comp.T / prior.stdev) ** 2).mean() * 0.01
    torch.testing.assert_close(p_norm_loss(w, prior, 0.01), manual)
    path = tmp_path / "pca.npz"
    np.savez(path, X_mean=prior.mean.numpy(), X_comp=prior.comp.numpy(), X_stdev=prior.stdev.numpy())
    torch.testing.assert_close(load_pca(path, 6).comp, prior.comp)
    with pytest.raises(CheckpointError, match="style_dim"):
        load_pca(path, 8)
    np.savez(path, X_mean=prior.mean.numpy(), X_comp=prior.comp.numpy())
    with pytest.raises(CheckpointError, match="X_stdev"):
        load_pca(path)


def test_estimated_pca_is_orthonormal_and_sorted(tiny_gan_file: Path) -> None:
    g, _ = load_generator(tiny_gan_file)
    prior = estimate_pca(g, 2000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(prior.comp @ prior.comp.T, torch.eye(g.style_dim), atol=1e-4, rtol=0)
    assert bool((prior.stdev[:-1] >= prior.stdev[1:]).all())


def test_clip_terms_on_known_directions() -> None:
    e = torch.eye(3)
    emb = Embeddings(src=e[:1], src_ref=e[1:2], out=e[:1] + e[2:3], out_ref=e[2:3], style=e[2:3])
    terms = clip_terms(emb)
    half = 1 - 2**-0.5
    # across: B - A = e2 vs I - A_ref = e2 - e1; within: B - I = e0 vs A - A_ref = e0 - e1; ref: B_ref = I
    torch.testing.assert_close(terms["clip_across"], torch.tensor(half))
    torch.testing.assert_close(terms["clip_within"], torch.tensor(half))
    torch.testing.assert_close(terms["ref_clip"], torch.tensor(0.0))
    emb.src = torch.stack([e[0], -e[2]])  # batch of two renders: the mean over the batch
    expected = 1 - (2**-0.5 + 2 / 10**0.5) / 2  # B - A = [e2, e0 + 2 e2]
    torch.testing.assert_close(clip_terms(emb)["clip_across"], torch.tensor(expected))


def test_trainable_set_and_one_step(tiny_gan_file: Path) -> None:
    g0, _ = load_generator(tiny_gan_file)
    g_train = copy.deepcopy(g0)
    set_trainable(g_train)
    names = {n for n, p in g_train.named_parameters() if p.requires_grad}
    assert names and all(n.startswith(("input.", "conv1.", "convs.")) for n in names)
    assert not any(n.startswith(("style.", "to_rgb")) for n in names)
    opt = make_optimizer(g_train, FinetuneSettings())
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0016) and opt.param_groups[0]["betas"] == (0.0, 0.99**0.8)
    style = torch.rand(1, 3, 32, 32) * 2 - 1
    loss = MTGLoss([(MeanPoolEmbedder(), 1.0)], lambda a, b: (a - b).abs().mean(dim=(1, 2, 3)), style,
                   F.avg_pool2d(style, 2), LossWeights(), downsample_factor=2)  # fmt: skip
    w_style = g0.mapping(torch.randn(1, g0.style_dim))[:, None].repeat(1, g0.n_latent, 1).detach()
    _, losses = finetune(copy.deepcopy(g0), g_train, w_style, loss, FinetuneSettings(iterations=2, batch=2),
                         torch.Generator().manual_seed(0))  # fmt: skip
    assert len(losses) == 2 and all(np.isfinite(losses))
    for n, p in g_train.named_parameters():
        changed = not torch.equal(p, dict(g0.named_parameters())[n])
        assert changed == (n in names), n


def test_ii2s_returns_the_code_before_the_last_update(tiny_gan_file: Path) -> None:
    g, latent_avg = load_generator(tiny_gan_file)
    target = torch.rand(1, 3, 32, 32) * 2 - 1
    prior = estimate_pca(g, 512, torch.Generator().manual_seed(0))
    lp = lambda a, b: (a - b).pow(2).mean(dim=(1, 2, 3))  # noqa: E731
    runs = {}
    for final in (False, True):
        s = II2SSettings(steps=3, downsample_factor=2, final_update=final)
        runs[final], losses = embed(g, target, F.avg_pool2d(target, 2), latent_avg, lp, prior, s,
                                    torch.Generator().manual_seed(1))  # fmt: skip
    again, _ = embed(g, target, F.avg_pool2d(target, 2), latent_avg, lp, prior,
                     II2SSettings(steps=3, downsample_factor=2), torch.Generator().manual_seed(1))  # fmt: skip
    assert torch.equal(runs[False], again) and not torch.equal(runs[False], runs[True])
    assert runs[False].shape == (1, g.n_latent, g.style_dim)
    zero, _ = embed(g, target, target, latent_avg, lp, prior, II2SSettings(steps=0), torch.Generator())
    torch.testing.assert_close(zero[0], latent_avg[None].repeat(g.n_latent, 1))


def _official_file(gan: Path, path: Path) -> Path:
    """A per-style file in the released layout, written with plain torch.save like train.py."""
    g, latent_avg = load_generator(gan)
    opt = torch.optim.Adam(g.parameters(), lr=1e-3)
    style = torch.randn(1, g.n_latent, g.style_dim)
    torch.save({"g_ema": g.state_dict(), "g_optim": opt.state_dict(), "latent_avg": latent_avg,
                "style_latent": style}, path)  # fmt: skip
    return path


def test_official_layout_loads_strictly(tiny_gan_file: Path, tmp_path: Path) -> None:
    path = _official_file(tiny_gan_file, tmp_path / "style.pt")
    model = load_mtg(path)
    assert model.style_latent.shape == (1, 8, 32) and model.optimizer_state is not None
    ckpt = torch.load(path, weights_only=True)
    ckpt["g_ema"]["extra.weight"] = torch.zeros(1)
    torch.save(ckpt, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="unexpected"):
        load_mtg(tmp_path / "extra.pt")
    del ckpt["g_ema"]["extra.weight"]
    ckpt["style_latent"] = torch.zeros(1, 18, 32)
    torch.save(ckpt, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="style_latent"):
        load_mtg(tmp_path / "shape.pt")
    del ckpt["style_latent"]
    torch.save(ckpt, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="style_latent"):
        load_mtg(tmp_path / "missing.pt")
    out = save_mtg(tmp_path / "ours.pt", model.generator, None, model.latent_avg, model.style_latent)
    assert set(torch.load(out, weights_only=True)) == set(OFFICIAL_KEYS)


def test_pretrained_style_skips_finetuning(tiny_gan_file: Path, tmp_path: Path) -> None:
    released = _official_file(tiny_gan_file, tmp_path / "digital_painting_jing.pt")
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    by_sha = {__import__("hashlib").sha256(ref.read_bytes()).hexdigest(): "mtg-test-style"}
    for key in ({ref.stem: "mtg-test-style"}, by_sha):
        cfg = tiny_config(tiny_gan_file, pretrained_styles=key, pretrained_paths={"mtg-test-style": str(released)},
                          iterations=10**6, ii2s_steps=10**6)  # fmt: skip
        method = create_method("mtg", cfg, device="cpu", seed=0, resolution=24)
        work = tmp_path / f"work{len(key)}"
        method.prepare(ref, work)
        info = json.loads((work / "mtg_finetune.json").read_text())
        assert info["iterations"] == 0 and "mtg-test-style" in info["source"]
        assert (work / MODEL_FILE).read_bytes() == released.read_bytes()
        method.load(ref, work)
        torch.testing.assert_close(method._style, load_mtg(released).style_latent)
        out = method.stylize(torch.rand(2, 3, 24, 24), ["a", "b"])
        assert out.shape == (2, 3, 24, 24)


def test_with_color_replaces_codes_from_the_scaled_index(tiny_gan_file: Path, tmp_path: Path) -> None:
    released = _official_file(tiny_gan_file, tmp_path / "s.pt")
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    cfg = tiny_config(tiny_gan_file, pretrained_styles={ref.stem: "s"}, pretrained_paths={"s": str(released)})
    method = create_method("mtg", cfg, device="cpu", seed=0, resolution=24)
    method.prepare(ref, tmp_path / "w")
    method.load(ref, tmp_path / "w")
    assert method.mix_index() == 3  # 7 of 18 codes -> 3 of 8
    w = torch.zeros(2, 8, 32)
    mixed = method.style_codes(w)
    assert mixed[:, :3].eq(0).all() and torch.equal(mixed[:, 3:], method._style[:, 3:].expand(2, -1, -1))


def test_bad_config_is_a_named_error(tiny_gan_file: Path) -> None:
    for bad in ({"inverter": "nope"}, {"embedder": "clip-rn50"}, {"phase": "x"}, {"clip_models": ["RN50"],
                "clip_model_weights": [1.0]}, {"clip_model_weights": [1.0]}, {"hfgi_mode": "both"}):  # fmt: skip
        with pytest.raises(ConfigError):
            create_method("mtg", tiny_config(tiny_gan_file, **bad), device="cpu", seed=0, resolution=24)


def test_prepare_is_deterministic(tiny_gan_file: Path, tmp_path: Path) -> None:
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    states = []
    for run in range(2):
        method = create_method("mtg", tiny_config(tiny_gan_file), device="cpu", seed=3, resolution=24)
        method.prepare(ref, tmp_path / f"run{run}")
        states.append(torch.load(tmp_path / f"run{run}" / MODEL_FILE, weights_only=True))
    for key in ("style_latent", "latent_avg"):
        assert torch.equal(states[0][key], states[1][key])
    assert all(torch.equal(states[0]["g_ema"][k], states[1]["g_ema"][k]) for k in states[0]["g_ema"])


class TestMTGContract(MethodContract):
    """Shared method contract with a tiny 32-px StyleGAN2 saved in the official layout."""

    method_name = "mtg"

    @pytest.fixture(autouse=True)
    def _files(self, tiny_gan_file: Path) -> None:
        self._gan = tiny_gan_file

    def tiny_config(self, tmp_path: Path) -> dict[str, Any]:
        return tiny_config(self._gan)


def test_clip_preprocessing_matches_torchvision_without_antialias() -> None:
    from torchvision import transforms as T

    from baselines.mtg.losses import MTGCLIPEmbedder
    from benchmark.features.clip import CLIP_MEAN, CLIP_STD

    class Recorder(torch.nn.Module):
        visual = type("V", (), {"image_size": 224})()

        def encode_image(self, x: torch.Tensor) -> torch.Tensor:
            self.seen = x
            return x.mean(dim=(2, 3))

    model = Recorder()
    x = torch.rand(2, 3, 40, 56) * 2 - 1  # non-square: short side to 224, then the centre crop
    MTGCLIPEmbedder(model).embed_image(x)
    reference = T.Compose([T.Normalize([-1.0] * 3, [2.0] * 3),
                           T.Resize(224, interpolation=T.InterpolationMode.BICUBIC, antialias=False),
                           T.CenterCrop(224), T.Normalize(CLIP_MEAN, CLIP_STD)])(x)  # fmt: skip
    torch.testing.assert_close(model.seen, reference)


def test_missing_clip_weights_fail_fast_with_the_asset_name(tiny_gan_file: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from benchmark.errors import AssetError

    monkeypatch.setenv("OSASIS_BENCH_WEIGHTS", str(tmp_path / "none"))
    monkeypatch.setenv("OSASIS_BENCH_CACHE", str(tmp_path / "none"))
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    method = create_method("mtg", tiny_config(tiny_gan_file, embedder="clip", ii2s_steps=10**6), device="cpu",
                           seed=0, resolution=24)  # fmt: skip
    with pytest.raises(AssetError, match="clip-vit-b32-openai"):
        method.prepare(ref, tmp_path / "work")


def test_smoke_clip_goes_through_the_open_clip_path(tiny_gan_file: Path, tmp_path: Path) -> None:
    """``clip_models: [ViT-T-8-smoke64]`` loads the committed tiny CLIP with build_clip, wrapped in MTG's
    preprocessing (64 px, CLIP mean/std); a short prepare runs with it and records the CLIP embedder."""
    import json

    from baselines.mtg.losses import MTGCLIPEmbedder
    from benchmark import assets

    try:
        assets.resolve("clip-tiny-smoke")
    except Exception:  # noqa: BLE001
        pytest.skip("clip-tiny-smoke is not committed yet")
    cfg = tiny_config(tiny_gan_file, embedder="clip", clip_models=["ViT-T-8-smoke64"], clip_model_weights=[1.0])
    method = create_method("mtg", cfg, device="cpu", seed=0, resolution=32)
    embedders = method._embedders()
    assert len(embedders) == 1 and isinstance(embedders[0][0], MTGCLIPEmbedder) and embedders[0][0].size == 64
    e = embedders[0][0].embed_image(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert e.shape == (2, 64) and torch.isfinite(e).all()
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    method.prepare(ref, tmp_path / "work")
    from baselines.mtg.method import INFO_FILE

    record = json.loads((tmp_path / "work" / INFO_FILE).read_text())
    assert record["embedder"] == "clip" and record["clip_models"] == ["ViT-T-8-smoke64"]
