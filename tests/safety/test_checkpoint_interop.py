"""Checkpoints interoperate with the official code (key for key) and loaders reject files that are not what they claim.

Official layouts, encoded as rules (derived from reading hansam95/OSASIS and phizaz/diffae; the full-size digests
are SHA-256 over sorted ``key:shape`` lines of the official models, see ``tests/osasis/test_osasis_layouts.py``):

* OSASIS ``iter_N.pt`` (``train.py`` saves it, ``utils/tester.py`` reads it): top level ``{iter, diffae_B, model_map,
  optim_diffae_B, optim_map}``; ``diffae_B`` is ``state_dict()`` of the *latent* ``BeatGANsAutoencModel``
  (``ffhq256_autoenc_latent``: UNet + ``encoder`` + ``latent_net``), loaded with ``strict=True``; ``model_map`` is
  ``MappingNetTime``'s state.
* DiffAE ``last.ckpt`` (``LitModel``): ``state_dict`` = ``model.*`` + ``ema_model.*`` (same model) + the ``x_T``
  buffer ``[conf.sample_size, 3, img_size, img_size]`` (``sample_size`` 32 in the ffhq256 templates), plus
  ``conds_mean``/``conds_std`` ``[1, C]`` for the latent model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

import osasis
from baselines.stylegan2.model import Generator, StyleGAN2Config
from benchmark.checkpoints import load_state_strict, load_tensors, sha256_of
from benchmark.errors import CheckpointError
from osasis.method.checkpoint import load_style_model, save_style_model, style_model_checkpoint
from osasis.weights import OFFICIAL_SAMPLE_SIZE, lightning_checkpoint

#: Official full-size layouts: (sha256 over sorted "key:shape" lines, number of keys).
OFFICIAL_DIFFAE_LATENT = ("0c7f59a70d4a5dda26a8b0e1fceacae6bbd906908fe1a655e2c23425931d7b1e", 784)
OFFICIAL_DIFFAE = ("9b5a88dd055e1430f692c6ea2c9e4becfd02e2f14d979f8ebad9066331faf12b", 706)
OFFICIAL_SPN = ("ab74279158252f4aac34b8c24e7814c201d97b19e47ef7a43383d26e9f021d8d", 28)
OSASIS_TOP_LEVEL = {"iter", "diffae_B", "model_map", "optim_diffae_B", "optim_map"}


def _layout(state: dict) -> tuple[str, int]:
    lines = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in sorted(state.items()))
    return hashlib.sha256(lines.encode()).hexdigest(), len(state)


def _meta(builder, name: str) -> torch.nn.Module:
    with torch.device("meta"):
        return builder(name, device="meta")


# ------------------------------------------------------------------------------ OSASIS iter_N.pt
def test_finetuned_osasis_checkpoint_matches_official_layout_full_size() -> None:
    """ε^B (the method's default ``diffae_ffhq256``) + the frozen latent net + SPN, at full size on the meta device."""
    model_b = _meta(osasis.build_diffae, "diffae_ffhq256")
    latent = _meta(osasis.build_latent_net, "latent_ffhq256")
    spn = _meta(osasis.build_spn, "spn_default")
    ckpt = style_model_checkpoint(model_b, spn, iteration=200, latent_net=latent)
    assert set(ckpt) == OSASIS_TOP_LEVEL
    assert _layout(ckpt["diffae_B"]) == OFFICIAL_DIFFAE_LATENT  # what tester.py loads strictly
    assert _layout(ckpt["model_map"]) == OFFICIAL_SPN
    assert ckpt["optim_diffae_B"] == {} and ckpt["optim_map"] == {}


def test_finetuned_osasis_file_loads_strictly_into_the_latent_model(tmp_path: Path) -> None:
    """Tiny configs: the written file's ``diffae_B`` loads with ``strict=True`` into the latent model (tester.py)."""
    torch.manual_seed(0)
    model_b = osasis.build_diffae("diffae_tiny32")
    latent_model = osasis.build_diffae("diffae_latent_tiny32")
    spn = osasis.build_spn("spn_tiny")
    path = save_style_model(tmp_path / "osasis_model.pt", model_b, spn, iteration=3,
                            latent_net=latent_model.latent_net)  # fmt: skip
    ckpt = load_tensors(path, "written OSASIS model")
    assert set(ckpt) == OSASIS_TOP_LEVEL and ckpt["iter"] == 3
    official_like = osasis.build_diffae("diffae_latent_tiny32")
    official_like.load_state_dict(ckpt["diffae_B"], strict=True)
    assert torch.equal(official_like.latent_net.state_dict()["layers.0.linear.weight"],
                       latent_model.latent_net.state_dict()["layers.0.linear.weight"])  # fmt: skip
    osasis.build_spn("spn_tiny").load_state_dict(ckpt["model_map"], strict=True)
    # and our own loader reads it back for either ε^B config
    b, s = load_style_model(path, "diffae_tiny32", "spn_tiny", torch.device("cpu"), sha256=sha256_of(path),
                            require_spn=True)  # fmt: skip
    assert s is not None and torch.equal(b.state_dict()["out.2.weight"], model_b.state_dict()["out.2.weight"])


def test_osasis_file_without_spn_refused_when_use_spn(tmp_path: Path) -> None:
    path = save_style_model(tmp_path / "no_spn.pt", osasis.build_diffae("diffae_tiny32"), None, iteration=1)
    with pytest.raises(CheckpointError, match=r"no_spn\.pt.*no SPN.*use_spn"):
        load_style_model(path, "diffae_tiny32", "spn_tiny", torch.device("cpu"), sha256=sha256_of(path),
                         require_spn=True)  # fmt: skip
    _, spn = load_style_model(path, "diffae_tiny32", "spn_tiny", torch.device("cpu"), sha256=sha256_of(path))
    assert spn is None


def test_plugin_records_latent_net_in_written_model() -> None:
    """``prepare`` hands the frozen latent DPM to the saver (so the file is the official latent layout)."""
    import inspect

    from osasis.method import plugin

    assert "latent_net=train.latent_net" in inspect.getsource(plugin.OSASIS.prepare)


# ------------------------------------------------------------------------------------ last.ckpt
@pytest.mark.parametrize(("name", "official"), [("diffae_ffhq256", OFFICIAL_DIFFAE),
                                                ("diffae_latent_ffhq256", OFFICIAL_DIFFAE_LATENT)])  # fmt: skip
def test_written_lightning_checkpoint_matches_official_layout_full_size(name: str, official: tuple) -> None:
    model = _meta(osasis.build_diffae, name)
    stats = None
    if "latent" in name:
        stats = osasis.LatentStats(torch.zeros(512), torch.ones(512))
    state = lightning_checkpoint(model, stats=stats)["state_dict"]
    for prefix in ("model.", "ema_model."):
        assert _layout({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}) == official
    assert tuple(state["x_T"].shape) == (OFFICIAL_SAMPLE_SIZE, 3, 256, 256) == (32, 3, 256, 256)
    extra = {k for k in state if not k.startswith(("model.", "ema_model."))}
    if stats is None:
        assert extra == {"x_T"}
    else:
        assert extra == {"x_T", "conds_mean", "conds_std"}
        assert tuple(state["conds_mean"].shape) == tuple(state["conds_std"].shape) == (1, 512)


def test_written_lightning_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = osasis.build_diffae("diffae_tiny32")
    path = osasis.save_diffae_lightning(tmp_path / "last.ckpt", model)
    state = load_tensors(path, "written last.ckpt")["state_dict"]
    assert tuple(state["x_T"].shape) == (OFFICIAL_SAMPLE_SIZE, 3, 32, 32)
    assert torch.equal(osasis.load_diffae(path, "diffae_tiny32").state_dict()["out.2.weight"],
                       model.state_dict()["out.2.weight"])  # fmt: skip


# ---------------------------------------------------------------------------------- wrong files
def test_lightning_state_with_unknown_keys_is_refused(tmp_path: Path) -> None:
    model = osasis.build_diffae("diffae_tiny32")
    ckpt = lightning_checkpoint(model)
    ckpt["state_dict"]["model_extra.weight"] = torch.zeros(1)  # beside the known "model." prefix
    torch.save(ckpt, tmp_path / "extra.ckpt")
    with pytest.raises(CheckpointError, match=r"extra\.ckpt.*outside the expected layout.*model_extra\.weight"):
        osasis.load_diffae(tmp_path / "extra.ckpt", "diffae_tiny32")


def test_lightning_state_with_wrong_x_t_is_refused(tmp_path: Path) -> None:
    model = osasis.build_diffae("diffae_tiny32")
    ckpt = lightning_checkpoint(model)
    ckpt["state_dict"]["x_T"] = torch.zeros(4, 3, 64, 64)
    torch.save(ckpt, tmp_path / "xt.ckpt")
    with pytest.raises(CheckpointError, match=r"xt\.ckpt: x_T is \(4, 3, 64, 64\)"):
        osasis.load_diffae(tmp_path / "xt.ckpt", "diffae_tiny32")


@pytest.mark.parametrize(("mean_shape", "std_shape", "message"), [
    ((4, 8), (4, 8), r"conds_mean has shape \(4, 8\)"),
    ((1, 8, 1), (8,), r"conds_mean has shape \(1, 8, 1\)"),
    ((8,), (7,), r"conds_mean \(8,\) vs conds_std \(7,\)"),
    ((16,), (16,), r"expected \(8,\) or \(1, 8\)"),
])  # fmt: skip
def test_latent_stats_of_wrong_shape_are_refused(tmp_path: Path, mean_shape, std_shape, message) -> None:
    path = tmp_path / "latent.pkl"
    torch.save({"conds_mean": torch.zeros(mean_shape), "conds_std": torch.ones(std_shape)}, path)
    channels = 8 if mean_shape == (16,) else None
    with pytest.raises(CheckpointError, match=r"latent\.pkl.*" + message):
        osasis.load_latent_stats(path, channels=channels)


def test_latent_stats_accept_both_official_shapes(tmp_path: Path) -> None:
    torch.save({"conds_mean": torch.zeros(8), "conds_std": torch.ones(8)}, tmp_path / "a.pkl")
    torch.save({"conds_mean": torch.zeros(1, 8), "conds_std": torch.ones(1, 8)}, tmp_path / "b.pkl")
    for name in ("a.pkl", "b.pkl"):
        assert osasis.load_latent_stats(tmp_path / name, channels=8).mean.shape == (8,)
    torch.save({"conds_mean": torch.zeros(8), "conds_std": torch.zeros(8)}, tmp_path / "c.pkl")
    with pytest.raises(CheckpointError, match="conds_std has entries <= 0"):
        osasis.load_latent_stats(tmp_path / "c.pkl")


def test_e4e_state_with_unknown_keys_is_refused(tmp_path: Path) -> None:
    from baselines.e4e.checkpoint import load_e4e

    torch.save({"state_dict": {"encoder.w": torch.zeros(1), "encoderx.w": torch.zeros(1)},
                "latent_avg": torch.zeros(4, 8)}, tmp_path / "e4e.pt")  # fmt: skip
    with pytest.raises(CheckpointError, match=r"e4e\.pt.*encoderx\.w"):
        load_e4e(tmp_path / "e4e.pt")


def test_strict_loader_accepts_missing_batchnorm_counters_only(tmp_path: Path) -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    state = {k: torch.full_like(v, 2) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    target = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    load_state_strict(target, state, tmp_path / "2018.pth", "ArcFace")  # like torch for pre-0.4.1 files
    assert torch.equal(target[1].running_mean, torch.full((4,), 2.0))
    assert int(target[1].num_batches_tracked) == 0
    del state["1.running_var"]
    with pytest.raises(CheckpointError, match=r"2018\.pth.*1 missing keys.*1\.running_var"):
        load_state_strict(target, state, tmp_path / "2018.pth", "ArcFace")


def test_generator_truncation_needs_w_avg() -> None:
    torch.manual_seed(0)
    g = Generator(StyleGAN2Config(size=8, style_dim=16, n_mlp=2, channels={4: 8, 8: 8})).eval()
    z = torch.randn(2, 16)
    with pytest.raises(ValueError, match="truncation=0.5 needs w_avg"):
        g.sample(z, truncation=0.5)
    w_avg = g.mean_latent(64, torch.Generator().manual_seed(0))
    with torch.no_grad():
        truncated = g.sample(z, truncation=0.5, w_avg=w_avg)
        expected = g(w_avg + 0.5 * (g.mapping(z) - w_avg))
        full = g.sample(z)
        at_mean = g.sample(z, truncation=0.0, w_avg=w_avg)
    assert torch.allclose(truncated, expected)
    assert not torch.allclose(truncated, full)
    assert torch.allclose(at_mean[0], at_mean[1], atol=1e-6)  # truncation 0: every z renders w_avg
