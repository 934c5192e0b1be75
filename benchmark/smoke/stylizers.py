"""Deterministic procedural stylizers: the smoke profile's styles with exact ground truth.

Each stylizer is a pure function ``PIL RGB image -> PIL RGB image`` of the same size. Filter sizes
scale with the image side (``_unit``), so a style looks alike at 64 px and at 512 px. A style
reference is a stylizer applied to one reference image; the ground-truth stylization of any input
is the same stylizer applied to that input. Names starting with ``magenta-`` resolve to the
pretrained Magenta styles of :mod:`benchmark.smoke.magenta` through :func:`get_stylizer`.

CPU independence: vectorised transcendental functions (``exp``, ``**``) and BLAS reductions may differ in the
last bit between CPUs (SIMD width, kernel choice). The stylizers therefore compute in float64 and
:func:`_snap` every value to a grid of 1/4096 before any threshold, quantiser or the final 8-bit rounding. A
last-bit float64 difference (~1e-16) can then only change a pixel when it straddles a grid boundary, with a
probability of about 1e-12 per value, so the procedural ground truth is byte-identical across CPUs.
Everything after a snap is exact IEEE arithmetic (+, -, *, /, sqrt, floor, comparisons), identical everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from benchmark.errors import ConfigError
from benchmark.imageio import check_unique_stems, list_images, load_pil, output_name, save_png

Stylizer = Callable[[Image.Image], Image.Image]


def _unit(img: Image.Image) -> float:
    """Pixels per 1/64 of the shorter side."""
    return min(img.size) / 64.0


GRID = 4096.0  # the snapping grid: far finer than the 8-bit output step (1/255), far coarser than float64 noise


def _snap(x: np.ndarray | float) -> np.ndarray:
    """Round to the 1/GRID grid: the step that makes later thresholds immune to last-bit differences."""
    return np.round(np.asarray(x, dtype=np.float64) * GRID) / GRID


def _arr(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0


def _img(arr: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(_snap(arr), 0.0, 1.0) * 255.0).round().astype(np.uint8), "RGB")


def _luma(arr: np.ndarray) -> np.ndarray:
    """Rec. 601 luma as an explicit elementwise sum (no BLAS: its reduction order depends on the CPU)."""
    return arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114


def _blur(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (float64, reflected borders) over the first two axes; snapped taps."""
    if sigma <= 0.2:
        return arr
    r = max(1, int(np.ceil(3 * sigma)))
    taps = _snap(np.exp(-0.5 * (np.arange(-r, r + 1, dtype=np.float64) / sigma) ** 2) * 16.0) / 16.0
    taps = taps / sum(float(t) for t in taps)  # a Python sum: a fixed order
    out = arr.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="reflect")
        n = out.shape[axis]
        acc = np.zeros_like(out)
        for k, t in enumerate(taps):
            acc += t * np.take(p, np.arange(k, k + n), axis=axis)
        out = acc
    return out


def _edges(lum: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of a luminance array (edge-replicated borders)."""
    p = np.pad(lum, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return np.sqrt(gx * gx + gy * gy)


def posterize_ink(img: Image.Image) -> Image.Image:
    """Flat posterised colours (4 levels, saturated) with dark ink outlines."""
    u = _unit(img)
    arr = _blur(_arr(img), 0.5 * u)
    grey = _luma(arr)[..., None]
    arr = _snap(np.clip(grey + 1.4 * (arr - grey), 0, 1))  # boost saturation
    poster = np.floor(arr * 3.999) / 3.0
    edges = _edges(_luma(_blur(_arr(img), 0.6 * u)))
    ink = np.clip((edges - 0.25) / 0.25, 0, 1)[..., None]
    ink = _blur(ink, 0.35 * u)
    ink_colour = np.asarray([0.08, 0.05, 0.12], dtype=np.float64)
    return _img(poster * (1 - ink) + ink_colour * ink)


def pencil_sketch(img: Image.Image) -> Image.Image:
    """Grey colour-dodge sketch on warm paper, with hatching in dark regions."""
    u = _unit(img)
    lum = _luma(_arr(img))
    blurred = _blur(1.0 - lum, 1.6 * u)
    dodge = np.clip(lum / np.maximum(1.0 - blurred, 1e-3), 0, 1)
    sketch = dodge**2.2
    h, w = lum.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    period = max(3.0, 2.5 * u)
    hatch = (np.mod(xx + yy, period) < period * 0.35).astype(np.float64)
    sketch = sketch - 0.22 * hatch * np.clip(0.55 - lum, 0, 1) / 0.55
    paper = np.asarray([0.98, 0.95, 0.88], dtype=np.float64)
    return _img(np.clip(sketch, 0, 1)[..., None] * paper)


def mosaic(img: Image.Image) -> Image.Image:
    """Square tiles of average colour (16 per side) with thin, dark grout lines."""
    w, h = img.size
    cell = max(2, int(round(4 * _unit(img))))
    arr = _arr(img)
    ny, nx = -(-h // cell), -(-w // cell)
    padded = np.pad(arr, ((0, ny * cell - h), (0, nx * cell - w), (0, 0)), mode="edge")
    means = padded.reshape(ny, cell, nx, cell, 3).mean(axis=(1, 3))
    means = np.round(_snap(means) * 7.0) / 7.0  # a small, tile-like palette
    tiles = np.repeat(np.repeat(means, cell, axis=0), cell, axis=1)[:h, :w]
    yy, xx = np.mgrid[0:h, 0:w]
    grout = ((yy % cell) == 0) | ((xx % cell) == 0)
    tiles[grout] = tiles[grout] * 0.6 + 0.05
    return _img(tiles)


PALETTE = (
    np.asarray([(27, 20, 64), (120, 28, 110), (226, 64, 90), (250, 160, 60), (252, 238, 170)], dtype=np.float64) / 255.0
)


def palette_swap(img: Image.Image) -> Image.Image:
    """Map smoothed luminance to a fixed five-colour sunset palette (pop-art gradient map)."""
    lum = _snap(_luma(_blur(_arr(img), 0.4 * _unit(img))))
    lo, hi = np.percentile(lum, 2), np.percentile(lum, 98)
    t = _snap(np.clip((lum - lo) / max(hi - lo, 1e-3), 0, 1)) * (len(PALETTE) - 1)
    i0 = np.minimum(np.floor(t).astype(np.int64), len(PALETTE) - 2)
    frac = np.clip(t - i0, 0, 1)
    frac = np.clip((frac - 0.3) / 0.4, 0, 1)[..., None]  # mostly flat bands, short transitions
    return _img(PALETTE[i0] * (1 - frac) + PALETTE[i0 + 1] * frac)


def watercolor(img: Image.Image) -> Image.Image:
    """Soft washed colours, darkened pigment edges and a fixed paper grain."""
    u = _unit(img)
    w, h = img.size
    size = max(3, int(2 * u) // 2 * 2 + 1)
    base = img.convert("RGB").filter(ImageFilter.MedianFilter(size))
    arr = _snap(_blur(_arr(base), 0.8 * u))
    arr = np.round(arr * 6.0) / 6.0 * 0.5 + arr * 0.5
    arr = 1.0 - (1.0 - arr) * 0.8  # pale washes
    edges = _edges(_luma(arr))
    arr = arr * (1.0 - 0.5 * np.clip(edges / 0.4, 0, 1))[..., None]
    grain = np.random.default_rng(12345).random((h, w), dtype=np.float32).astype(np.float64)  # fixed by the size
    grain = _blur(grain, 0.6 * u)
    arr = arr * (0.9 + 0.2 * grain)[..., None]
    return _img(arr)


def halftone(img: Image.Image) -> Image.Image:
    """Dark-blue dots on cream whose size follows darkness, on a 45-degree screen."""
    u = _unit(img)
    w, h = img.size
    ss = 4
    lum = _luma(_arr(img))
    lo, hi = np.percentile(lum, 2), np.percentile(lum, 98)
    lum = _snap(np.clip((lum - lo) / max(hi - lo, 1e-3), 0, 1) ** 1.3)
    lum = np.asarray(Image.fromarray(lum.astype(np.float32), "F").resize((w * ss, h * ss), Image.BILINEAR))
    lum = _snap(lum)
    period = max(2.0, 2.0 * u) * ss
    yy, xx = np.mgrid[0 : h * ss, 0 : w * ss].astype(np.float64)
    a, b = (xx + yy) / np.sqrt(2), (xx - yy) / np.sqrt(2)
    da = np.mod(a, period) - period / 2
    db = np.mod(b, period) - period / 2
    dist = np.sqrt(da * da + db * db) / (period / 2)
    radius = np.sqrt(np.clip(1.0 - lum, 0, 1)) * 0.95
    ink = (_snap(dist) < _snap(radius)).astype(np.float64)
    paper, dot = np.asarray([0.99, 0.96, 0.86], np.float64), np.asarray([0.1, 0.2, 0.45], np.float64)
    big = paper * (1 - ink[..., None]) + dot * ink[..., None]
    return _img(big).resize((w, h), Image.BOX)


STYLIZERS: dict[str, Stylizer] = {
    "posterize-ink": posterize_ink,
    "pencil-sketch": pencil_sketch,
    "mosaic": mosaic,
    "palette-swap": palette_swap,
    "watercolor": watercolor,
    "halftone": halftone,
}


def get_stylizer(name: str) -> Stylizer:
    """A procedural stylizer by name, or a pretrained one for ``magenta-<style>`` names."""
    if name in STYLIZERS:
        return STYLIZERS[name]
    if name.startswith("magenta-"):
        from benchmark.smoke.magenta import magenta_stylizer

        return magenta_stylizer(name)
    raise ConfigError(f"unknown stylizer {name!r} (known: {', '.join(all_stylizer_names())})")


def all_stylizer_names() -> list[str]:
    """Procedural and Magenta stylizer names (Magenta names are listed even without the package)."""
    from benchmark.smoke.magenta import MAGENTA_STYLES

    return [*STYLIZERS, *(f"magenta-{k}" for k in MAGENTA_STYLES)]


def apply_style(name: str, img: Image.Image) -> Image.Image:
    """Apply the stylizer ``name`` to an RGB image; the result has the same size."""
    src = img.convert("RGB")
    out = get_stylizer(name)(src)
    if out.size != src.size or out.mode != "RGB":
        raise AssertionError(f"stylizer {name} returned {out.mode} {out.size} for an RGB {src.size} image")
    return out


def stylize_folder(name: str, input_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Apply stylizer ``name`` to every image in ``input_dir``; write ``<stem>.png`` files to ``out_dir``."""
    files = list_images(input_dir)
    check_unique_stems(files)
    return [save_png(apply_style(name, load_pil(p)), Path(out_dir) / output_name(p)) for p in files]


def write_style_task(
    style_name: str, reference: Image.Image, inputs: dict[str, Image.Image], out_dir: str | Path
) -> Path:
    """Write a one-shot task: ``reference.png``, ``inputs/<name>.png`` and ``ground_truth/<name>.png``."""
    out_dir = Path(out_dir)
    save_png(apply_style(style_name, reference), out_dir / "reference.png")
    for key, img in inputs.items():
        save_png(img.convert("RGB"), out_dir / "inputs" / f"{key}.png")
        save_png(apply_style(style_name, img), out_dir / "ground_truth" / f"{key}.png")
    return out_dir
