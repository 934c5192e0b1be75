"""Image input/output and the suite's single resizer.

Protocol (used by every method and metric):

* a file's type is identified by its content (magic bytes), never by its suffix; only PNG, JPEG, BMP, WebP
  and TIFF are decoded (no other Pillow plugin is ever tried), images larger than ``MAX_PIXELS`` are
  refused before decoding (decompression bombs);
* files are fully decoded (truncated files fail) and converted to 8-bit RGB: greyscale (1-bit, 8-bit and
  16-bit) is replicated to 3 channels; 16-bit samples (grey or colour, decoded at full precision) are
  scaled by 65535 (full scale), never by the image's own maximum; palette images are expanded; an alpha
  channel (LA, PA, RGBA, a palette or greyscale transparency entry) is composited over white
  (``c * a + (1 - a)``); any other mode (float, 32-bit integer, ...) is a named error; images smaller
  than ``MIN_SIDE`` pixels are rejected;
* tensors are float32 ``B x 3 x H x W`` in ``[0, 1]``;
* resizing always goes through :func:`resize` (PIL bicubic with antialiasing on float data, as in
  clean-fid's "clean" mode), never ``F.interpolate``;
* outputs are lossless 8-bit PNG, written to a temporary name and renamed into place with ordinary
  (umask) permissions; where the protocol asks for PNG (stylized outputs), other content is refused
  whatever its name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import png
import torch
from PIL import Image, UnidentifiedImageError

from benchmark.atomic import atomic_write_bytes, atomic_write_text  # noqa: F401  (re-exported)
from benchmark.errors import InvalidImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
MIN_SIDE = 8
MAX_PIXELS = 8192 * 8192
#: The file types the suite decodes (identified by content, never by suffix).
SUPPORTED_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")
# the decoders ever tried, keyed by the file signature that selects them
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}
_GREY16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")
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


def sniff_format(path: str | Path) -> str | None:
    """The image format named by the file's first bytes (``PNG``, ``JPEG``, ``BMP``, ``TIFF``, ``WEBP``), or None."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in SIGNATURES.items():
        if head.startswith(signature):
            return name
    return None


def _decode_checked(path: Path, allowed: Sequence[str], decode: Callable[[Image.Image, Path, str], Image.Image],
                    ) -> Image.Image:  # fmt: skip
    """Sniff ``path``'s type by content, refuse types outside ``allowed`` and images over ``MAX_PIXELS``, then
    ``decode(opened image, path, kind)``; every failure is an :class:`InvalidImageError` naming the file."""
    try:
        kind = sniff_format(path)
    except FileNotFoundError as exc:
        raise InvalidImageError(f"{path}: file not found") from exc
    except OSError as exc:
        raise InvalidImageError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if kind not in allowed:
        what = f"{kind} data" if kind else "not an image of a supported type (by content)"
        raise InvalidImageError(f"{path}: {what}; expected {' or '.join(allowed)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[kind]) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise InvalidImageError(f"{path}: {width}x{height} pixels, more than the {MAX_PIXELS} allowed "
                                            "(decompression bomb?); resize it first")  # fmt: skip
                return decode(img, path, kind)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning,
            Image.DecompressionBombError, png.Error) as exc:  # fmt: skip
        raise InvalidImageError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc


def _decode_suite(img: Image.Image, path: Path, kind: str) -> Image.Image:
    """The suite's decoding: 16-bit PNGs at full precision, every mode by the documented rule (``_to_rgb``)."""
    if kind == "PNG" and _png_bit_depth(path) == 16:
        return _decode_png16(path)  # Pillow keeps only the high byte of 16-bit colour samples
    img.load()
    return _to_rgb(img, path)


def _decode_like_reference(img: Image.Image, path: Path, kind: str) -> Image.Image:
    """The reference implementations' decoding: ``Image.open(path).convert("RGB")`` (alpha dropped)."""
    img.load()
    return img.convert("RGB")


def load_pil(path: str | Path, formats: Sequence[str] | None = None) -> Image.Image:
    """Open and fully decode an image as 8-bit RGB; raise :class:`InvalidImageError` naming the file.

    ``formats`` restricts the accepted file types (by content), e.g. ``("PNG",)`` for stylized outputs.
    """
    path = Path(path)
    rgb = _decode_checked(path, tuple(formats) if formats else SUPPORTED_FORMATS, _decode_suite)
    if min(rgb.size) < MIN_SIDE:
        raise InvalidImageError(f"{path}: image is {rgb.size[0]}x{rgb.size[1]}, smaller than {MIN_SIDE} px")
    return rgb


def _png_bit_depth(path: Path) -> int:
    with open(path, "rb") as handle:
        head = handle.read(26)
    return head[24] if len(head) == 26 and head[12:16] == b"IHDR" else 0


def _decode_png16(path: Path) -> Image.Image:
    """A 16-bit PNG (grey, grey+alpha, RGB, RGBA; a tRNS entry becomes alpha) decoded at full precision by
    pypng, scaled by 65535 and composited over white, then rounded to 8 bits."""
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = int(info["planes"])
    arr = np.vstack([np.asarray(row, dtype=np.float64) for row in rows]).reshape(height, width, planes) / 65535.0
    has_alpha = bool(info.get("alpha"))
    colour = arr[..., : planes - 1] if has_alpha else arr
    if has_alpha:
        alpha = arr[..., planes - 1 :]
        colour = colour * alpha + (1.0 - alpha)
    if colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)
    return Image.fromarray((colour * 255.0).round().astype(np.uint8), "RGB")


def _on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _to_rgb(img: Image.Image, path: Path) -> Image.Image:
    """The documented conversion of every supported mode to 8-bit RGB (see the module docstring)."""
    mode = img.mode
    if mode in _GREY16:
        arr = np.asarray(img)
        if arr.dtype.kind == "i" and (arr.min() < 0 or arr.max() > 65535):
            raise InvalidImageError(f"{path}: {mode} samples outside 0..65535; only 8- and 16-bit images are supported")
        grey = Image.fromarray((arr.astype(np.float64) * (255.0 / 65535.0)).round().astype(np.uint8), "L")
        if "transparency" in img.info and isinstance(img.info["transparency"], int):
            alpha = np.where(arr == img.info["transparency"], 0, 255).astype(np.uint8)
            return _on_white(Image.merge("RGBA", (grey, grey, grey, Image.fromarray(alpha, "L"))))
        return grey.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        return _on_white(img.convert("RGBA"))
    if mode in ("1", "L", "P", "RGB", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return img.convert("RGB")
    raise InvalidImageError(f"{path}: image mode {mode} is not supported (use 8- or 16-bit grey, palette or RGB(A))")


def load_reference(path: str | Path) -> torch.Tensor:
    """Decode a file exactly as the reference metric implementations do (pytorch-fid, art-fid, Splice):
    ``Image.open(path).convert("RGB")`` at native size (alpha dropped, not composited), ``3 x H x W`` in [0, 1]
    as torchvision's ``ToTensor``. The same content sniffing and pixel cap as :func:`load_pil` apply first;
    unreadable or excluded files raise :class:`InvalidImageError` naming the file."""
    return pil_to_tensor(_decode_checked(Path(path), SUPPORTED_FORMATS, _decode_like_reference))


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


def check_png_files(paths: Iterable[Path]) -> None:
    """Raise :class:`InvalidImageError` for any file that is not PNG data (whatever its suffix)."""
    for path in paths:
        kind = sniff_format(path)
        if kind != "PNG":
            raise InvalidImageError(f"{path}: {kind or 'unrecognised'} data named {path.suffix}; the protocol "
                                    "requires lossless PNG")  # fmt: skip


def check_unique_stems(paths: Iterable[Path]) -> None:
    seen: dict[str, Path] = {}
    for p in paths:
        if p.stem in seen:
            raise InvalidImageError(f"{p} and {seen[p.stem]} would write the same output {p.stem}.png")
        seen[p.stem] = p
