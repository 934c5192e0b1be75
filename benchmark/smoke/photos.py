"""Real photos that install offline (scikit-image and matplotlib sample data), for out-of-domain inputs.

Each photo is cropped to a square (a centre crop, or a fixed box around the face for the two
portraits) and resized with the suite's one resizer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from benchmark.errors import AssetError
from benchmark.imageio import resize_pil

# name -> (loader, square crop box (left, top, side) or None for a centre crop)
PHOTO_NAMES = ("astronaut", "grace-hopper", "chelsea", "coffee", "rocket", "horse")
FACE_BOXES: dict[str, tuple[int, int, int]] = {"astronaut": (110, 0, 240), "grace-hopper": (96, 40, 340)}


def _skimage(name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        from skimage import data

        arr = np.asarray(getattr(data, name)())
        if arr.dtype == bool:
            arr = np.where(arr, 255, 0).astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")

    return load


def _grace_hopper() -> Image.Image:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        img = Image.open(handle)
        img.load()
    return img.convert("RGB")


LOADERS: dict[str, Callable[[], Image.Image]] = {
    "astronaut": _skimage("astronaut"),
    "grace-hopper": _grace_hopper,
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "horse": _skimage("horse"),
}


def square_crop(img: Image.Image, box: tuple[int, int, int] | None = None) -> Image.Image:
    """Crop ``(left, top, side)`` or, without a box, the largest centred square."""
    if box is None:
        side = min(img.size)
        box = ((img.width - side) // 2, (img.height - side) // 2, side)
    left, top, side = box
    return img.crop((left, top, left + side, top + side))


def load_photo(name: str, size: int = 64, face_crop: bool = True) -> Image.Image:
    """One offline photo as a ``size`` x ``size`` RGB image."""
    if name not in LOADERS:
        raise AssetError(f"unknown offline photo {name!r} (known: {', '.join(LOADERS)})")
    try:
        img = LOADERS[name]()
    except (ImportError, OSError) as exc:
        raise AssetError(f"offline photo {name!r} could not be loaded ({type(exc).__name__}: {exc})") from exc
    box = FACE_BOXES.get(name) if face_crop else None
    return resize_pil(square_crop(img, box), size)


def ood_photos(size: int = 64, names: tuple[str, ...] = PHOTO_NAMES, face_crop: bool = True) -> dict[str, Image.Image]:
    """Offline photos by name (portraits cropped to the face unless ``face_crop`` is false)."""
    return {name: load_photo(name, size, face_crop) for name in names}
