"""Image input/output and the suite's single resizer.

Protocol (used by every method and metric):

* files are read with Pillow, fully decoded (truncated files fail), converted to RGB: greyscale is
  replicated to 3 channels and an alpha channel is composited on white, both recorded as explicit
  conversions rather than errors; images smaller than ``MIN_SIDE`` pixels are rejected;
* tensors are float32 ``B x 3 x H x W`` in ``[0, 1]``;
* resizing always goes through :func:`resize` (PIL bicubic with antialiasing on float data, as in
  clean-fid's "clean" mode), never ``F.interpolate``;
* outputs are lossless 8-bit PNG, written to a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from benchmark.errors import InvalidImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
MIN_SIDE = 8
RESIZER = "PIL.BICUBIC(float32, antialias)"


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name. Non-image files raise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidImageError(f"not a directory: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES and p.suffix.lower() not in (".json",)]
    if others:
        raise InvalidImageError(f"{others[0]}: not an image file (allowed suffixes: {', '.join(IMAGE_SUFFIXES)})")
    return [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]


def load_pil(path: str | Path) -> Image.Image:
    """Open and fully decode an image as RGB; raise :class:`InvalidImageError` naming the file."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                rgb = _to_rgb(img)
    except FileNotFoundError as exc:
        raise InvalidImageError(f"{path}: file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    if min(rgb.size) < MIN_SIDE:
        raise InvalidImageError(f"{path}: image is {rgb.size[0]}x{rgb.size[1]}, smaller than {MIN_SIDE} px")
    return rgb


def load_reference(path: str | Path) -> torch.Tensor:
    """Decode a file exactly as the reference metric implementations do (pytorch-fid, art-fid, Splice):
    ``Image.open(path).convert("RGB")`` at native size (alpha dropped, not composited), ``3 x H x W`` in [0, 1]
    as torchvision's ``ToTensor``. Unreadable files raise :class:`InvalidImageError` naming the file."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except FileNotFoundError as exc:
        raise InvalidImageError(f"{path}: file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    return pil_to_tensor(rgb)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode == "I;16" or img.mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        arr = (arr / max(arr.max(), 1.0) * 255.0).round().astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    return img.convert("RGB")


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float32 ``3 x H x W`` in [0, 1]."""
    arr = np.asarray(img, dtype=np.uint8).copy()
    return torch.from_numpy(arr).permute(2, 0, 1).float().div_(255.0)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """``3 x H x W`` float in [0, 1] -> RGB PIL image (rounded to 8 bit)."""
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(f"expected a 3xHxW tensor, got shape {tuple(x.shape)}")
    arr = x.detach().float().clamp(0, 1).mul(255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(arr, "RGB")


def resize_pil(img: Image.Image, size: int | tuple[int, int]) -> Image.Image:
    """The one resizer: PIL bicubic on float32 channels (antialiased when downsampling)."""
    width, height = (size, size) if isinstance(size, int) else (size[1], size[0])
    if img.size == (width, height):
        return img.copy()
    arr = np.asarray(img, dtype=np.float32)
    channels = [Image.fromarray(arr[..., c], mode="F").resize((width, height), Image.BICUBIC) for c in range(3)]
    out = np.stack([np.asarray(ch) for ch in channels], axis=-1)
    return Image.fromarray(np.clip(out, 0, 255).round().astype(np.uint8), "RGB")


def resize(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize a ``(B x) 3 x H x W`` [0,1] tensor with the suite's resizer (float, not quantised)."""
    squeeze = x.ndim == 3
    batch = x.unsqueeze(0) if squeeze else x
    height, width = (size, size) if isinstance(size, int) else size
    if tuple(batch.shape[-2:]) == (height, width):
        return x
    out = []
    for img in batch.detach().float().cpu().numpy():
        chans = [np.asarray(Image.fromarray(c, mode="F").resize((width, height), Image.BICUBIC)) for c in img]
        out.append(np.stack(chans))
    result = torch.from_numpy(np.stack(out)).to(x.device).clamp_(0, 1)
    return result[0] if squeeze else result


def load_image(path: str | Path, size: int | None = None) -> torch.Tensor:
    """Load one image as ``3 x H x W`` [0,1], optionally resized to ``size`` x ``size``."""
    img = load_pil(path)
    if size is not None:
        img = resize_pil(img, size)
    return pil_to_tensor(img)


def load_batch(paths: Sequence[str | Path], size: int) -> torch.Tensor:
    """Load and resize images into a ``B x 3 x size x size`` tensor."""
    return torch.stack([load_image(p, size) for p in paths]) if paths else torch.empty(0, 3, size, size)


def validate_folder(folder: str | Path) -> list[Path]:
    """Decode every image in ``folder``; raise on the first unreadable one. Returns the sorted list."""
    files = list_images(folder)
    for path in files:
        load_pil(path)
    return files


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_png(x: torch.Tensor | Image.Image, path: str | Path) -> Path:
    """Save a [0,1] tensor or PIL image as a lossless PNG, atomically. The suffix must be ``.png``."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: outputs are always PNG")
    img = x if isinstance(x, Image.Image) else tensor_to_pil(x)
    import io

    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=False, compress_level=6)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def output_name(input_path: str | Path) -> str:
    """The PNG file name an output takes: the input's stem plus ``.png``."""
    return Path(input_path).stem + ".png"


def check_unique_stems(paths: Iterable[Path]) -> None:
    seen: dict[str, Path] = {}
    for p in paths:
        if p.stem in seen:
            raise InvalidImageError(f"{p} and {seen[p.stem]} would write the same output {p.stem}.png")
        seen[p.stem] = p
