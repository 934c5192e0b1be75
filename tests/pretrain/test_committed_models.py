"""The committed smoke models match their manifest entries and load strictly with the official loaders."""

from __future__ import annotations

import pytest
import torch

from benchmark import assets
from benchmark.errors import AssetError
from benchmark.pretrain import configs as C
from benchmark.pretrain.manifest import ENTRIES

SMOKE_ASSETS = sorted(ENTRIES)


def _resolve(name: str):
    try:
        asset = assets.get_asset(name)
    except AssetError:  # manifest not written yet
        pytest.skip(f"{name} is not in the manifest yet")
    path = assets.REPO_ROOT / asset.file
    if not path.is_file():
        pytest.skip(f"{asset.file} is not committed yet")
    return asset, path


@pytest.mark.parametrize("name", SMOKE_ASSETS)
def test_manifest_entry_matches_file(name: str) -> None:
    asset, path = _resolve(name)
    assert asset.bundled and asset.profiles == ("smoke",) and asset.file.startswith("data/smoke/models/")
    assert asset.size == path.stat().st_size
    assert assets.sha256_file(path) == asset.sha256
    assert assets.resolve(name) is not None


def test_diffae_files_load() -> None:
    from osasis.weights import load_diffae, load_latent_net, load_latent_stats

    _, ae = _resolve("smoke_diffae_autoenc")
    model = load_diffae(ae, C.DIFFAE_SMOKE)
    z = model.encode(torch.zeros(1, 3, 64, 64))
    assert z.shape == (1, C.DIFFAE_SMOKE.enc_out_channels) and torch.isfinite(z).all()
    _, lat = _resolve("smoke_diffae_autoenc_latent")
    load_diffae(lat, C.DIFFAE_LATENT_SMOKE)
    load_latent_net(lat, C.DIFFAE_LATENT_SMOKE)
    _, pkl = _resolve("smoke_diffae_latent_stats")
    stats = load_latent_stats(pkl)
    assert stats.mean.shape == (C.LATENT_SMOKE.num_channels,) and (stats.std > 0).all()


def test_p2_and_stylegan2_files_load() -> None:
    from baselines.stylegan2 import load_discriminator, load_generator
    from osasis.weights import load_p2

    _, p2 = _resolve("smoke_p2")
    assert load_p2(p2, C.P2_SMOKE).config == C.P2_SMOKE
    _, sg = _resolve("smoke_stylegan2")
    g, avg = load_generator(sg)
    load_discriminator(sg)
    assert g.size == 64 and avg is not None and avg.shape == (g.style_dim,)
    for res in (4, 8, 16, 32, 64):
        assert g.cfg.width(res) == C.STYLEGAN2_SMOKE.width(res)


def test_committed_stylegan2_draws_faces_of_the_domain() -> None:
    """The quality the README states, recomputed: samples near held-out faces, some detected as faces."""
    from baselines.stylegan2 import Generator, load_generator
    from benchmark.metrics.lpips import get_lpips
    from benchmark.pretrain.data import face_tensor
    from benchmark.pretrain.quality import face_detection_rate, nearest_lpips

    _, sg = _resolve("smoke_stylegan2")
    trained, _ = load_generator(sg)
    untrained = Generator(C.STYLEGAN2_SMOKE).eval()
    z = torch.randn(32, trained.style_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        samples, noise = trained.sample(z), untrained.sample(z)
    vgg = get_lpips("vgg", torch.device("cpu"))
    heldout = face_tensor("heldout", 64)
    assert nearest_lpips(vgg, samples, heldout).mean() < 0.45 < 0.75 < nearest_lpips(vgg, noise, heldout).mean()
    assert face_detection_rate(samples) > 0.0 == face_detection_rate(noise)
