"""DiffuseIT: strict ADM loading, the guided step on the shared posterior, batch independence, the restart rule,
colour matching, n_samples, and the method contract (tiny random ADM, real VGG16 stand-in guide)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from baselines.diffuseit import losses as L
from baselines.diffuseit.color_match import color_match, mkl_transfer, stretch
from baselines.diffuseit.guides import ArcFaceGuide, DinoGuide, VGGGuide
from baselines.diffuseit.sampler import DiffuseITGuidance, LossWeights, SamplerSettings, guidance_index, guided_sample
from benchmark.errors import CheckpointError, ConfigError
from benchmark.features.dino_vit import DinoViT, ViTConfig
from benchmark.methods import METHODS, create_method
from benchmark.nets.ir_se import ir_se50
from benchmark.testing import MethodContract, make_test_images, randomize
from osasis.configs import get_config
from osasis.diffusion.schedule import Schedule
from osasis.diffusion.steps import ddpm_step, p_mean_variance
from osasis.networks.adm_unet import ADMUNet
from osasis.weights import load_adm, save_p2

TINY_ADM = "p2_tiny32"


def _tiny_adm(seed: int = 0) -> ADMUNet:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return randomize(ADMUNet(get_config(TINY_ADM)), seed + 3, 0.05)


@pytest.fixture(scope="module")
def tiny_adm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_p2(tmp_path_factory.mktemp("adm") / "ffhq_10m.pt", _tiny_adm())


def _model_fn(unet: ADMUNet):  # noqa: ANN202
    return lambda x, t: unet(x, t.float())


SMALL = LossWeights(ssim=10, contra=2, dir_cls=1, style=20, pixel=30, range=2, identity=0)  # the smoke profile's


def _guidance(settings: SamplerSettings | None = None, weights: LossWeights | None = None) -> DiffuseITGuidance:
    with torch.random.fork_rng():
        torch.manual_seed(1)
        vit = randomize(DinoViT(ViTConfig(patch_size=16, embed_dim=32, depth=2, num_heads=2)), 2, 0.1)
        arc = ir_se50(width=16).eval()
    unet = _tiny_adm().requires_grad_(False)
    settings = settings or SamplerSettings(skip_timesteps=5, first_step_repeats=2, diff_iter=2, max_restarts=3)
    weights = weights or LossWeights()
    return DiffuseITGuidance(_model_fn(unet), Schedule.respaced("10"), DinoGuide(vit),
                             ArcFaceGuide(arc) if weights.identity else None, weights, settings)  # fmt: skip


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_strict_loading_of_the_official_layout(tiny_adm_file: Path, tmp_path: Path) -> None:
    model = load_adm(tiny_adm_file, TINY_ADM, asset=None)
    ref = _tiny_adm()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ref.state_dict().values()))
    state = torch.load(tiny_adm_file, weights_only=True)
    torch.save({**state, "extra.weight": torch.zeros(1)}, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="extra.weight"):
        load_adm(tmp_path / "extra.pt", TINY_ADM, asset=None)
    state.pop("out.2.weight")
    torch.save(state, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="out.2.weight"):
        load_adm(tmp_path / "missing.pt", TINY_ADM, asset=None)


def test_guided_step_is_the_shared_step_plus_variance_times_gradient() -> None:
    unet, sched = _tiny_adm().requires_grad_(False), Schedule.respaced("10")
    x, noise, k = _images(2, 0), _images(2, 1), torch.tensor([6, 3])
    shift = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    plain = ddpm_step(_model_fn(unet), x, k, sched, clip=False, noise=noise)
    guided = ddpm_step(_model_fn(unet), x, k, sched, clip=False, noise=noise, guidance=lambda *_: shift)
    post = p_mean_variance(_model_fn(unet), x, k, sched, clip=False)
    torch.testing.assert_close(guided.x_next - plain.x_next, post.variance * shift)
    torch.testing.assert_close(post.variance, torch.exp(post.log_variance))


def test_guidance_index_matches_the_respaced_index() -> None:
    for spec in ("200", "20", "10"):
        sched = Schedule.respaced(spec)
        k = torch.arange(len(sched))
        assert torch.equal(guidance_index(sched, k), k)


def test_loss_gradient_batched_equals_single() -> None:
    guidance = _guidance()
    source, style, x = _images(3, 3), _images(1, 4), _images(3, 5) * 1.5
    k = torch.tensor([4, 4, 2])
    tg = guidance.targets(source, style)

    def grad_of(rows: list[int]) -> torch.Tensor:
        xx = x[rows].clone().requires_grad_(True)
        with torch.enable_grad():
            post = p_mean_variance(guidance.model, xx, k[rows], guidance.sched, clip=False)
            return guidance.gradient(xx, k[rows], post, tg.rows(torch.tensor(rows)))[0]

    batched = grad_of([0, 1, 2])
    scale = float(batched.abs().max())
    assert scale > 0
    for i in range(3):  # float32 rounding of differently shaped matmuls, relative to the gradient's scale
        torch.testing.assert_close(batched[i : i + 1], grad_of([i]), rtol=0, atol=1e-5 * scale)


def test_sampler_batched_equals_single_and_is_seeded() -> None:
    settings = SamplerSettings(skip_timesteps=6, first_step_repeats=2, diff_iter=2, restart_threshold=0.001,
                               max_restarts=1)  # a random ADM always flags: one restart each
    guidance = _guidance(settings, SMALL)
    source, style = _images(3, 6), _images(1, 7)
    gens = lambda: [torch.Generator().manual_seed(100 + i) for i in range(3)]  # noqa: E731
    batched = guided_sample(guidance, guidance.targets(source, style), gens())
    again = guided_sample(guidance, guidance.targets(source, style), gens())
    torch.testing.assert_close(batched.x0, again.x0, rtol=0, atol=0)
    for i in range(3):
        single = guided_sample(guidance, guidance.targets(source[i : i + 1], style),
                               [torch.Generator().manual_seed(100 + i)])  # fmt: skip
        torch.testing.assert_close(batched.x0[i : i + 1], single.x0, rtol=0, atol=1e-4)
        assert single.restarts[0] == batched.restarts[i] == 1


def test_restart_rule() -> None:
    """A flagged step after the first restarts the image (bounded by max_restarts); the first step never flags."""
    repeats, skip, n = 2, 5, 10
    k0 = n - skip - 1
    always = SamplerSettings(skip_timesteps=skip, first_step_repeats=repeats, restart_threshold=-1.0, max_restarts=2)
    only_range = LossWeights(ssim=0, contra=0, dir_cls=0, style=0, pixel=0, range=1.0, identity=0)
    g = _guidance(always, only_range)
    result = guided_sample(g, g.targets(_images(1, 8), _images(1, 9)), [torch.Generator().manual_seed(0)])
    assert result.restarts == [2]
    assert result.guided_steps == [2 * (repeats + 1) + repeats + k0]  # two cut trajectories, then a full one
    never = SamplerSettings(skip_timesteps=skip, first_step_repeats=repeats, restart_threshold=1e9, max_restarts=2)
    g = _guidance(never, only_range)
    result = guided_sample(g, g.targets(_images(1, 8), _images(1, 9)), [torch.Generator().manual_seed(0)])
    assert result.restarts == [0] and result.guided_steps == [repeats + k0]


def test_loss_terms_on_known_values() -> None:
    keys = torch.randn(2, 5, 4)
    assert torch.allclose(L.key_self_similarity(keys).diagonal(dim1=1, dim2=2), torch.ones(2, 5))
    assert torch.equal(L.self_similarity_loss(keys, L.key_self_similarity(keys)), torch.zeros(2))
    # identical keys: PatchNCE = cross-entropy with positive logit 1/T against the others' cosines
    nce = L.patch_nce_loss(keys, keys)
    cos = L.key_self_similarity(keys).masked_fill(torch.eye(5, dtype=torch.bool), -10.0)
    logits = torch.cat([torch.ones(2, 5, 1), cos], dim=2) / 0.07
    expected = torch.nn.functional.cross_entropy(logits.reshape(10, 6), torch.zeros(10, dtype=torch.long),
                                                 reduction="none").reshape(2, 5).mean(1)  # fmt: skip
    torch.testing.assert_close(nce, expected)
    x = torch.tensor([-2.0, 0.0, 0.5, 1.5]).reshape(1, 1, 2, 2)
    torch.testing.assert_close(L.range_loss(x), torch.tensor([(1.0 + 0.25) / 4]))
    assert L.arcface_crop(torch.rand(1, 3, 256, 256)).shape == (1, 3, 112, 112)


def test_vgg_stand_in_guide_uses_real_weights() -> None:
    guide = VGGGuide()
    feats = guide.features(_images(2, 10))
    assert feats.keys.shape == (2, 1 + 8 * 8, 256) and feats.cls.shape == (2, 256)
    torch.testing.assert_close(feats.keys[:, 0], feats.cls)


def test_color_match_properties() -> None:
    g = torch.Generator().manual_seed(0)
    src = torch.randint(0, 256, (3, 16, 16), generator=g).double()
    mix = torch.rand(3, 3, generator=g).double()
    ref = (mix @ torch.randint(30, 200, (3, 256), generator=g).double()).reshape(3, 16, 16)
    res = mkl_transfer(stretch(src), stretch(ref))
    cov_res, cov_ref = torch.cov(res.reshape(3, -1)), torch.cov(stretch(ref).reshape(3, -1))
    torch.testing.assert_close(cov_res, cov_ref, rtol=1e-6, atol=1e-9)  # MKL maps the covariance exactly
    torch.testing.assert_close(res.mean(dim=(1, 2)), stretch(ref).mean(dim=(1, 2)))
    torch.testing.assert_close(mkl_transfer(stretch(src), stretch(src)), stretch(src), rtol=1e-6, atol=1e-6)
    out = color_match(src, ref)
    assert out.min() == 0 and out.max() == 1
    assert torch.equal(out * 255, (out * 255).round())


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="guide"):
        create_method("diffuseit", {"guide": "clip"})
    with pytest.raises(ConfigError, match="skip_timesteps"):
        create_method("diffuseit", {"timestep_respacing": "10", "skip_timesteps": 9})


def _tiny_method_config(adm: Path) -> dict[str, Any]:
    """Few coarse steps, weights /10000 and no restarts: a random ADM's trajectories stay well-conditioned, so
    batch sizes agree to the 8-bit grid (the restart rule is tested on the sampler above)."""
    return {"model_path": str(adm), "model_config": TINY_ADM, "guide": "vgg16-imagenet", "use_id_loss": False,
            "timestep_respacing": "10", "skip_timesteps": 6, "first_step_repeats": 2, "diff_iter": 2,
            "lambda_ssim": 0.1, "lambda_contra_ssim": 0.02, "lambda_dir_cls": 0.01, "lambda_trg": 0.2,
            "l2_trg_lambda": 0.3, "range_lambda": 0.02, "use_range_restart": False}  # fmt: skip


def test_n_samples_scores_sample_zero(tiny_adm_file: Path, tmp_path: Path) -> None:
    ref = make_test_images(tmp_path / "ref", n=1, size=32)[0]
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    outs = []
    for n in (1, 2):
        cfg = {**_tiny_method_config(tiny_adm_file), "n_samples": n}
        method = create_method("diffuseit", cfg, seed=0, resolution=32)
        method.prepare(ref, tmp_path / f"w{n}")
        method.load(ref, tmp_path / f"w{n}")
        outs.append(method.stylize(images, ["a", "b"]))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    assert sorted(p.name for p in (tmp_path / "w2" / "samples").glob("*.png")) == ["a_s1.png", "b_s1.png"]
    assert (tmp_path / "w1" / "diffuseit_guidance.json").is_file()


class TestDiffuseITContract(MethodContract):
    """Shared method contract with a tiny random ADM in the official layout and the VGG16 stand-in guide."""

    method_name = "diffuseit"

    @pytest.fixture(autouse=True)
    def _files(self, tiny_adm_file: Path) -> None:
        self._adm = tiny_adm_file
        assert "diffuseit" in METHODS

    def tiny_config(self, tmp_path: Path) -> dict[str, Any]:
        return _tiny_method_config(self._adm)
