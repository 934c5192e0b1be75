"""Fixtures for metric tests: tiny synthetic image folders (32-48 px, N <= 8), offline hub, temp cache."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import benchmark  # noqa: E402,F401  (installs the torchvision shim first)
from benchmark import imageio  # noqa: E402


def _smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour image with some structure (not pure noise)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.zeros((3, size, size))
    for c in range(3):
        a, b, f = rng.uniform(0, 1, 3)
        img[c] = 0.5 + 0.25 * np.sin(2 * np.pi * (f * 3 * xx + a)) * np.cos(2 * np.pi * (f * 2 * yy + b))
    img += rng.normal(0, 0.05, img.shape)
    return np.clip(img, 0, 1)


@pytest.fixture(scope="package", autouse=True)
def _one_thread():
    """Tiny inputs: one intra-op thread is faster on the shared 2-core machines (restored afterwards)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _feature_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OSASIS_BENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def folders(tmp_path):
    """content/, stylized/, style/ (one reference), gt/ with 6 paired 40 px images."""
    rng = np.random.default_rng(0)
    size, n = 40, 6
    dirs = {k: tmp_path / k for k in ("content", "stylized", "style", "gt")}
    for d in dirs.values():
        d.mkdir()
    for i in range(n):
        content = _smooth_image(rng, size)
        stylized = np.clip(0.6 * content + 0.4 * _smooth_image(rng, size), 0, 1)
        gt = np.clip(stylized + rng.normal(0, 0.03, stylized.shape), 0, 1)
        imageio.save_png(torch.from_numpy(content).float(), dirs["content"] / f"img{i:02d}.png")
        imageio.save_png(torch.from_numpy(stylized).float(), dirs["stylized"] / f"img{i:02d}.png")
        imageio.save_png(torch.from_numpy(gt).float(), dirs["gt"] / f"img{i:02d}.png")
    imageio.save_png(torch.from_numpy(_smooth_image(rng, size)).float(), dirs["style"] / "ref.png")
    return dirs


@pytest.fixture
def evalset(folders):
    from benchmark.metrics.base import EvalSet

    return EvalSet.from_folders(folders["content"], folders["stylized"], folders["style"], folders["gt"], resolution=32)
