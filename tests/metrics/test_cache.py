from __future__ import annotations

import numpy as np
import torch

from benchmark import imageio
from benchmark.features.cache import FeatureCache, cache_key, default_feature_dir


def test_key_depends_on_content_weights_and_preprocessing(folders):
    files = sorted(folders["content"].iterdir())
    k = cache_key("ext", "w1", "pre", 32, files)
    assert k == cache_key("ext", "w1", "pre", 32, files)
    assert k != cache_key("ext", "w2", "pre", 32, files)
    assert k != cache_key("ext", "w1", "pre2", 32, files)
    assert k != cache_key("ext", "w1", "pre", 64, files)
    assert k != cache_key("ext", "w1", "pre", 32, files[::-1])
    imageio.save_png(torch.zeros(3, 40, 40), files[0])  # same name, new content
    assert k != cache_key("ext", "w1", "pre", 32, files)


def test_cache_roundtrip_and_disable(tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "c")
    arr = np.arange(12, dtype=np.float64).reshape(3, 4)
    cache.put("ab" * 32, arr)
    assert np.array_equal(cache.get("ab" * 32), arr)
    assert not list((tmp_path / "c").rglob("*.tmp"))
    assert FeatureCache(tmp_path / "c", enabled=False).get("ab" * 32) is None
    monkeypatch.setenv("OSASIS_BENCH_FEATURE_CACHE", "off")
    assert default_feature_dir() is None and not FeatureCache().enabled
    monkeypatch.delenv("OSASIS_BENCH_FEATURE_CACHE")
    monkeypatch.setenv("OSASIS_BENCH_CACHE", str(tmp_path / "x"))
    assert default_feature_dir() == tmp_path / "x" / "features"
