"""Weight files load strictly through the manifest resolver (random stand-ins saved under the real names)."""

from __future__ import annotations

import pytest
import torch

from benchmark.errors import AssetError, CheckpointError
from benchmark.features.inception import (
    ArtInception,
    FIDInception,
    _art_inception_architecture,
    _fid_inception_architecture,  # fmt: skip
    _random_init,
)


def test_fid_inception_loads_strictly_from_local_file(tmp_path, monkeypatch):
    state = _random_init(_fid_inception_architecture, 0).state_dict()
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    monkeypatch.setenv("OSASIS_BENCH_WEIGHTS", str(tmp_path))
    x = torch.rand(2, 3, 32, 32)
    loaded = FIDInception(dims=64)
    assert loaded.weights != "random-seed0-init:he-normal" and not loaded.random_weights
    torch.testing.assert_close(loaded(x), FIDInception(dims=64, random_weights=True, seed=0)(x))
    del state["Mixed_7c.branch_pool.conv.weight"]
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="missing"):
        FIDInception(dims=64)


def test_art_inception_ignores_only_the_heads(tmp_path):
    net = _random_init(_art_inception_architecture, 1)
    state = {k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    state.update({"fc1.weight": torch.zeros(1000, 2048), "fc2.weight": torch.zeros(1000, 2048)})
    path = tmp_path / "art_inception.pth"
    torch.save(state, path)
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(
        ArtInception(dims=64, path=path)(x), ArtInception(dims=64, random_weights=True, seed=1)(x)
    )
    state["Mixed_5b.extra.weight"] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="unexpected"):
        ArtInception(dims=64, path=path)


def test_missing_inception_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("OSASIS_BENCH_WEIGHTS", str(tmp_path))
    with pytest.raises(AssetError, match="pt_inception-2015-12-05-6726825d.pth.*(fetch|place)"):
        FIDInception(dims=64)
