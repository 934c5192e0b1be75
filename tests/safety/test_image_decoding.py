"""Every PNG mode decodes to the right 8-bit RGB values; types are identified by content; bad files are named."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pngwriter import bomb_png, write_png

from benchmark.errors import InvalidImageError, PairingError
from benchmark.imageio import _to_rgb, load_pil
from benchmark.metrics.base import EvalSet

H, W = 10, 12
RNG = np.random.default_rng(0)


def decoded(path: Path) -> np.ndarray:
    return np.asarray(load_pil(path), dtype=np.int64)


def over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The documented alpha rule, in [0, 1]: c * a + (1 - a)."""
    return np.round((colour * alpha[..., None] + (1 - alpha[..., None])) * 255)


def test_one_bit(tmp_path: Path) -> None:
    bits = RNG.integers(0, 2, (H, W))
    got = decoded(write_png(tmp_path / "a.png", bits, "grey", 1))
    assert np.array_equal(got, np.repeat(bits[..., None] * 255, 3, axis=2))


@pytest.mark.parametrize("writer", ["pil", "minimal"])
def test_grey_8(tmp_path: Path, writer: str) -> None:
    grey = RNG.integers(0, 256, (H, W))
    path = tmp_path / "a.png"
    if writer == "pil":
        Image.fromarray(grey.astype(np.uint8), "L").save(path)
    else:
        write_png(path, grey, "grey", 8)
    assert np.array_equal(decoded(path), np.repeat(grey[..., None], 3, axis=2))


@pytest.mark.parametrize("writer", ["pil_I16", "pil_I16B", "minimal"])
def test_grey_16_scaled_by_full_range(tmp_path: Path, writer: str) -> None:
    """Uniform 50 % and 1.5 % grey stay 50 % and 1.5 % (not both white, as with per-image max scaling)."""
    for level in (32768, 983, 65535, 0):
        grey = np.full((H, W), level)
        path = tmp_path / f"g{level}.png"
        if writer == "minimal":
            write_png(path, grey, "grey", 16)
        else:
            mode = "I;16" if writer == "pil_I16" else "I;16B"
            Image.frombytes(mode, (W, H), grey.astype("<u2" if mode == "I;16" else ">u2").tobytes()).save(path)
        assert np.all(decoded(path) == round(level / 65535 * 255)), (writer, level)


def test_grey_16_gradient(tmp_path: Path) -> None:
    grey = RNG.integers(0, 65536, (H, W))
    got = decoded(write_png(tmp_path / "a.png", grey, "grey", 16))
    assert np.array_equal(got[..., 0], np.round(grey / 65535 * 255))


@pytest.mark.parametrize("bits", [8, 16])
def test_grey_alpha(tmp_path: Path, bits: int) -> None:
    top = 2**bits - 1
    grey, alpha = RNG.integers(0, top + 1, (H, W)), RNG.integers(0, top + 1, (H, W))
    got = decoded(write_png(tmp_path / "a.png", np.stack([grey, alpha], -1), "grey_alpha", bits))
    want = over_white(grey[..., None].repeat(3, 2) / top, alpha / top)
    assert np.abs(got - want).max() <= 1


@pytest.mark.parametrize("bits", [8, 16])
def test_rgb(tmp_path: Path, bits: int) -> None:
    top = 2**bits - 1
    rgb = RNG.integers(0, top + 1, (H, W, 3))
    got = decoded(write_png(tmp_path / "a.png", rgb, "rgb", bits))
    assert np.array_equal(got, np.round(rgb / top * 255))


@pytest.mark.parametrize("bits", [8, 16])
def test_rgba(tmp_path: Path, bits: int) -> None:
    top = 2**bits - 1
    rgba = RNG.integers(0, top + 1, (H, W, 4))
    got = decoded(write_png(tmp_path / "a.png", rgba, "rgba", bits))
    want = over_white(rgba[..., :3] / top, rgba[..., 3] / top)
    assert np.abs(got - want).max() <= 1
    opaque = rgba.copy()
    opaque[..., 3] = top
    got = decoded(write_png(tmp_path / "b.png", opaque, "rgba", bits))
    assert np.array_equal(got, np.round(rgba[..., :3] / top * 255))


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    palette = RNG.integers(0, 256, (4, 3))
    index = RNG.integers(0, 4, (H, W))
    assert np.array_equal(decoded(write_png(tmp_path / "p.png", index, "palette", 8, palette=palette)), palette[index])
    alpha = np.array([0, 128, 255, 255])  # "PA": per-entry alpha from tRNS
    got = decoded(write_png(tmp_path / "pa.png", index, "palette", 8, palette=palette, trns=bytes(alpha[:3].tolist())))
    assert np.abs(got - over_white(palette[index] / 255, alpha[index] / 255)).max() <= 1
    pa = Image.fromarray(index.astype(np.uint8), "P")
    pa.putpalette(palette.astype(np.uint8).ravel().tolist())
    pa = pa.convert("PA")  # Pillow's own PA mode (PNG stores it as palette + tRNS, tested above)
    assert np.array_equal(np.asarray(_to_rgb(pa, Path("pa")), dtype=np.int64), palette[index])


def test_jpeg_bytes_named_png_refused_as_stylized_output(tmp_path: Path) -> None:
    content, stylized = tmp_path / "content", tmp_path / "stylized"
    content.mkdir()
    stylized.mkdir()
    img = Image.fromarray(RNG.integers(0, 256, (16, 16, 3)).astype(np.uint8), "RGB")
    img.save(content / "a.png")
    img.save(stylized / "a.png", format="JPEG")  # lossy bytes under a .png name
    with pytest.raises(InvalidImageError, match="JPEG data named .png"):
        EvalSet.from_folders(content, stylized)
    with pytest.raises(InvalidImageError, match="expected PNG"):
        load_pil(stylized / "a.png", formats=("PNG",))
    assert load_pil(stylized / "a.png").size == (16, 16)  # as an *input*, JPEG content is fine


def test_empty_folders_are_a_pairing_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(PairingError, match="no images"):
        EvalSet.from_folders(tmp_path / "a", tmp_path / "b")


def _gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="GIF")
    return buffer.getvalue()


@pytest.mark.parametrize("content,match", [
    (b"", "not an image"),
    (b"just some text, not pixels", "not an image"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n", "not an image"),  # never handed to Ghostscript
    ("gif", "not an image"),
    ("truncated", "not a readable image"),
])  # fmt: skip
def test_malformed_files_are_named_errors(tmp_path: Path, content: bytes | str, match: str) -> None:
    path = tmp_path / "bad.png"
    if content == "gif":
        content = _gif_bytes()
    elif content == "truncated":
        buffer = io.BytesIO()
        Image.fromarray(RNG.integers(0, 256, (64, 64, 3)).astype(np.uint8), "RGB").save(buffer, format="PNG")
        content = buffer.getvalue()[:300]
    path.write_bytes(content)
    with pytest.raises(InvalidImageError, match=match) as info:
        load_pil(path)
    assert "bad.png" in str(info.value)


def test_decompression_bomb_and_unsupported_modes(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="bomb"):
        load_pil(bomb_png(tmp_path / "bomb.png"))
    with pytest.raises(InvalidImageError, match="bomb"):
        load_pil(bomb_png(tmp_path / "bomb2.png", side=9000))  # over MAX_PIXELS, under Pillow's own limit
    float_tiff = tmp_path / "float.tif"
    Image.fromarray(RNG.random((H, W)).astype(np.float32), "F").save(float_tiff)
    with pytest.raises(InvalidImageError, match="mode F is not supported"):
        load_pil(float_tiff)
    with pytest.raises(InvalidImageError, match="smaller than"):
        load_pil(write_png(tmp_path / "tiny.png", np.zeros((4, 4)), "grey", 8))
