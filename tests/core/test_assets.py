"""The asset resolver: order of lookup, checksum verification, actionable errors."""

from __future__ import annotations

import hashlib

import pytest

from benchmark import assets
from benchmark.errors import AssetError


@pytest.fixture
def manifest_dir(tmp_path, monkeypatch):
    payload = b"weights" * 100
    digest = hashlib.sha256(payload).hexdigest()
    folder = tmp_path / "manifest"
    folder.mkdir()
    (folder / "test.yaml").write_text(
        "assets:\n"
        f"  - {{name: tiny-net, file: tiny.pt, url: 'http://127.0.0.1:9/tiny.pt', sha256: {digest}, size: 700,"
        " license: MIT, profiles: [smoke], used_by: [tests]}\n"
    )
    monkeypatch.setattr(assets, "MANIFEST_DIR", folder)
    assets._load_manifest.cache_clear()
    monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(assets.WEIGHTS_ENV, raising=False)
    yield payload, tmp_path
    assets._load_manifest.cache_clear()


def test_missing_asset_error_says_how_to_get_it(manifest_dir) -> None:
    with pytest.raises(AssetError, match=r"tiny-net.*tiny.pt.*osasis-bench fetch --asset tiny-net"):
        assets.resolve("tiny-net")


def test_weights_env_then_cache_then_explicit(manifest_dir, monkeypatch) -> None:
    payload, tmp = manifest_dir
    cache = tmp / "cache"
    cache.mkdir()
    (cache / "tiny.pt").write_bytes(payload)
    assert assets.resolve("tiny-net") == cache / "tiny.pt"
    weights = tmp / "weights"
    weights.mkdir()
    (weights / "tiny.pt").write_bytes(payload)
    monkeypatch.setenv(assets.WEIGHTS_ENV, str(weights))
    assert assets.resolve("tiny-net") == weights / "tiny.pt"
    explicit = tmp / "elsewhere.pt"
    explicit.write_bytes(payload)
    assert assets.resolve("tiny-net", explicit) == explicit


def test_checksum_mismatch_is_an_error(manifest_dir) -> None:
    _, tmp = manifest_dir
    bad = tmp / "bad.pt"
    bad.write_bytes(b"something else")
    with pytest.raises(AssetError, match="checksum mismatch"):
        assets.resolve("tiny-net", bad)
    state, _ = assets.asset_state(assets.get_asset("tiny-net"), bad)
    assert state == "checksum mismatch"


def test_unknown_asset(manifest_dir) -> None:
    with pytest.raises(AssetError, match="unknown asset"):
        assets.resolve("nope")


def test_repository_manifest_is_consistent() -> None:
    assets._load_manifest.cache_clear()
    entries = assets.manifest()
    for asset in entries.values():
        assert asset.file and asset.license, asset.name
        assert set(asset.profiles) <= {"paper", "smoke"}, asset.name
        if asset.sha256 is not None:
            assert len(asset.sha256) == 64, asset.name
