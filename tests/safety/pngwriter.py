"""A minimal PNG encoder for tests: any bit depth and colour type, independent of Pillow's writer."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

COLOR_TYPES = {"grey": 0, "rgb": 2, "palette": 3, "grey_alpha": 4, "rgba": 6}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path: Path, pixels: np.ndarray, color: str, bit_depth: int = 8, palette: np.ndarray | None = None,
              trns: bytes | None = None) -> Path:  # fmt: skip
    """``pixels``: ``H x W`` or ``H x W x C`` integers already in the range of ``bit_depth``."""
    arr = np.asarray(pixels)
    height, width = arr.shape[:2]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    rows = arr.reshape(height, width * channels)
    raw = bytearray()
    for row in rows:
        raw.append(0)  # filter type None
        if bit_depth == 16:
            raw += row.astype(">u2").tobytes()
        elif bit_depth == 8:
            raw += row.astype(np.uint8).tobytes()
        else:  # 1, 2 or 4 bits per sample, packed big-endian
            raw += np.packbits(np.unpackbits(row.astype(np.uint8)[:, None], axis=1)[:, -bit_depth:].ravel()).tobytes()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, COLOR_TYPES[color], 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
    if palette is not None:
        data += _chunk(b"PLTE", np.asarray(palette, dtype=np.uint8).tobytes())
    if trns is not None:
        data += _chunk(b"tRNS", trns)
    data += _chunk(b"IDAT", zlib.compress(bytes(raw))) + _chunk(b"IEND", b"")
    Path(path).write_bytes(data)
    return Path(path)


def bomb_png(path: Path, side: int = 30000) -> Path:
    """A tiny file that claims ``side`` x ``side`` pixels (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    Path(path).write_bytes(data + _chunk(b"IEND", b""))
    return Path(path)
