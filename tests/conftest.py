"""Test-wide settings (offline hubs, no DVC analytics, quiet progress, the torchvision shim) and shared fixtures."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("OSASIS_BENCH_PROGRESS", "0")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

import benchmark._tv_shim  # noqa: E402,F401  (before anything imports torchvision)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Temporary cache, weights and manifest directories, wired through the environment."""
    paths = {name: tmp_path / name for name in ("cache", "weights", "manifest")}
    for path in paths.values():
        path.mkdir()
    monkeypatch.setenv("OSASIS_BENCH_CACHE", str(paths["cache"]))
    monkeypatch.setenv("OSASIS_BENCH_WEIGHTS", str(paths["weights"]))
    monkeypatch.delenv("OSASIS_BENCH_OFFLINE", raising=False)
    return paths
