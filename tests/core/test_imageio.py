"""Image decoding, conversion, resizing and atomic PNG writing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark import imageio
from benchmark.errors import InvalidImageError


def _save(path, arr, mode=None):
    Image.fromarray(arr, mode).save(path)
    return path


def test_rgb_roundtrip(tmp_path) -> None:
    arr = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = _save(tmp_path / "a.png", arr)
    x = imageio.load_image(path)
    assert x.shape == (3, 20, 30) and x.dtype == torch.float32
    out = imageio.save_png(x, tmp_path / "b.png")
    assert np.array_equal(np.asarray(Image.open(out)), arr)


def test_grey_and_rgba_are_converted(tmp_path) -> None:
    grey = _save(tmp_path / "g.png", np.full((16, 16), 100, np.uint8), "L")
    x = imageio.load_image(grey)
    assert x.shape[0] == 3 and torch.allclose(x[0], x[1])
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:8, :, 3] = 255  # top opaque red, bottom transparent -> white
    x = imageio.load_image(_save(tmp_path / "r.png", rgba, "RGBA"))
    assert torch.allclose(x[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(x[:, 15, 0], torch.tensor([1.0, 1.0, 1.0]))


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "tiny"])
def test_bad_images_raise_naming_the_file(tmp_path, kind) -> None:
    good = _save(tmp_path / "good.png", np.zeros((32, 32, 3), np.uint8) + 7)
    bad = tmp_path / f"bad_{kind}.png"
    if kind == "truncated":
        bad.write_bytes(good.read_bytes()[:40])
    elif kind == "garbage":
        bad.write_bytes(b"not an image at all" * 10)
    elif kind == "empty":
        bad.write_bytes(b"")
    else:
        _save(bad, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=bad.name):
        imageio.load_image(bad)
    with pytest.raises(InvalidImageError, match=bad.name):
        imageio.validate_folder(tmp_path)


def test_non_image_file_in_folder_is_named(tmp_path) -> None:
    _save(tmp_path / "a.png", np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InvalidImageError, match="notes.txt"):
        imageio.list_images(tmp_path)


def test_listing_is_sorted(tmp_path) -> None:
    for name in ["c.png", "a.png", "b.jpg"]:
        _save(tmp_path / name, np.zeros((16, 16, 3), np.uint8))
    assert [p.name for p in imageio.list_images(tmp_path)] == ["a.png", "b.jpg", "c.png"]


def test_resizer_matches_pil_bicubic_and_is_batch_consistent() -> None:
    x = torch.rand(3, 3, 40, 40, generator=torch.Generator().manual_seed(0))
    batch = imageio.resize(x, 16)
    single = torch.stack([imageio.resize(img, 16) for img in x])
    assert batch.shape == (3, 3, 16, 16) and torch.equal(batch, single)
    ref = np.asarray(Image.fromarray((x[0, 0].numpy() * 255).astype(np.float32), "F").resize((16, 16), Image.BICUBIC))
    assert np.allclose(batch[0, 0].numpy() * 255, np.clip(ref, 0, 255), atol=1e-3)


def test_png_only_and_atomic(tmp_path) -> None:
    with pytest.raises(ValueError, match="PNG"):
        imageio.save_png(torch.zeros(3, 8, 8), tmp_path / "x.jpg")
    imageio.save_png(torch.zeros(3, 8, 8), tmp_path / "x.png")
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]
