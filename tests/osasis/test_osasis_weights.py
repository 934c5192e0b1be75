"""Official checkpoint layouts: save → strict load round trips, and named errors for broken files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import osasis
from benchmark.checkpoints import load_tensors
from benchmark.errors import AssetError, CheckpointError
from osasis import weights


def _same(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_diffae_lightning_round_trip_uses_ema(tmp_path: Path, tiny_diffae: osasis.DiffAEAutoencoder) -> None:
    raw = osasis.build_diffae("diffae_tiny32")
    path = osasis.save_diffae_lightning(tmp_path / "last.ckpt", raw, ema_model=tiny_diffae)
    ckpt = load_tensors(path, "test")
    assert {"model.out.2.weight", "ema_model.out.2.weight", "x_T"} <= set(ckpt["state_dict"])
    _same(osasis.load_diffae(path, "diffae_tiny32"), tiny_diffae)
    _same(osasis.load_diffae(path, "diffae_tiny32", use_ema=False), raw)


def test_latent_checkpoint_and_stats_round_trip(tmp_path: Path, tiny_diffae_latent: osasis.DiffAEAutoencoder) -> None:
    conds = torch.randn(20, 32)
    pkl = osasis.save_latent_stats(tmp_path / "latent.pkl", conds)
    stats = osasis.load_latent_stats(pkl)
    assert torch.allclose(stats.mean, conds.mean(0)) and torch.allclose(stats.std, conds.std(0))
    path = osasis.save_diffae_lightning(tmp_path / "latent.ckpt", tiny_diffae_latent, stats=stats)
    assert tuple(load_tensors(path, "test")["state_dict"]["conds_mean"].shape) == (1, 32)
    _same(osasis.load_diffae(path, "diffae_latent_tiny32"), tiny_diffae_latent)
    _same(osasis.load_latent_net(path, "diffae_latent_tiny32"), tiny_diffae_latent.latent_net)
    assert torch.equal(osasis.load_latent_stats(path).std, stats.std)
    z = torch.randn(3, 32)
    assert torch.allclose(stats.normalize(stats.denormalize(z)), z, atol=1e-5)


def test_osasis_checkpoint_round_trip(tmp_path: Path, tiny_diffae_latent: osasis.DiffAEAutoencoder,
                                      tiny_spn: osasis.SPN) -> None:  # fmt: skip
    opt = torch.optim.Adam(tiny_spn.parameters(), lr=1e-4)
    tiny_spn(torch.zeros(1, 3, 4, 4), torch.tensor([3])).sum().backward()
    opt.step()
    opt.zero_grad()
    path = osasis.save_osasis(tmp_path / "iter_200.pt", tiny_diffae_latent, tiny_spn, optim_spn=opt.state_dict())
    assert set(load_tensors(path, "test")) == {"iter", "diffae_B", "model_map", "optim_diffae_B", "optim_map"}
    model, spn = osasis.load_osasis(path, "diffae_latent_tiny32", "spn_tiny")
    _same(model, tiny_diffae_latent)
    _same(spn, tiny_spn)
    model2, _ = osasis.load_osasis(path, "diffae_tiny32", "spn_tiny")  # latent_net weights dropped
    assert not hasattr(model2, "latent_net")


def test_p2_round_trip(tmp_path: Path, tiny_p2: osasis.ADMUNet) -> None:
    path = osasis.save_p2(tmp_path / "ffhq_p2.pt", tiny_p2)
    _same(osasis.load_p2(path, "p2_tiny32"), tiny_p2)


def test_truncated_file_names_the_file(tmp_path: Path, tiny_p2: osasis.ADMUNet) -> None:
    path = osasis.save_p2(tmp_path / "ffhq_p2.pt", tiny_p2)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="ffhq_p2.pt"):
        osasis.load_p2(path, "p2_tiny32")


def test_wrong_layout_names_file_and_keys(tmp_path: Path, tiny_diffae: osasis.DiffAEAutoencoder) -> None:
    path = osasis.save_diffae_lightning(tmp_path / "last.ckpt", tiny_diffae)
    with pytest.raises(CheckpointError, match=r"last\.ckpt.*(missing|unexpected|shape)"):
        osasis.load_diffae(path, "diffae_smoke64")
    with pytest.raises(CheckpointError, match="missing keys"):
        osasis.load_diffae(path, "diffae_latent_tiny32")  # no latent_net weights in this file
    plain = osasis.save_p2(tmp_path / "plain.pt", osasis.build_p2("p2_tiny32"))
    with pytest.raises(CheckpointError, match=r"plain\.pt.*state_dict"):
        osasis.load_diffae(plain, "diffae_tiny32")
    with pytest.raises(CheckpointError, match="diffae_B"):
        osasis.load_osasis(plain, "diffae_tiny32", "spn_tiny")


def test_missing_file_and_missing_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        osasis.load_p2(tmp_path / "nope.pt", "p2_tiny32")
    monkeypatch.setenv("OSASIS_BENCH_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("OSASIS_BENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(AssetError, match="p2_ffhq256"):
        osasis.load_p2()


def test_official_assets_are_registered() -> None:
    from benchmark import assets

    for name in (weights.ASSET_AUTOENC, weights.ASSET_LATENT_STATS, weights.ASSET_AUTOENC_LATENT, weights.ASSET_P2,
                 weights.ASSET_OSASIS_IMG1, weights.ASSET_OSASIS_IMG2):  # fmt: skip
        a = assets.get_asset(name)
        assert a.url.startswith("https://drive.google.com/") and "paper" in a.profiles


def test_lightning_file_with_foreign_classes_loads_via_stubs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_diffae: osasis.DiffAEAutoencoder
) -> None:
    """Official Lightning files pickle DiffAE config enums (module ``choices``); they must load as inert stubs."""
    import importlib
    import sys

    (tmp_path / "choices.py").write_text("import enum\nclass Activation(enum.Enum):\n    silu = 'silu'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    choices = importlib.import_module("choices")
    path = osasis.save_diffae_lightning(tmp_path / "last.ckpt", tiny_diffae)
    ckpt = load_tensors(path, "test")
    ckpt["hyper_parameters"]["net_latent_activation"] = choices.Activation.silu
    torch.save(ckpt, path)
    monkeypatch.delitem(sys.modules, "choices")
    (tmp_path / "choices.py").unlink()
    _same(osasis.load_diffae(path, "diffae_tiny32"), tiny_diffae)
    assert "choices" not in sys.modules  # the foreign module was never imported
