"""Byte-stable figures (matplotlib Agg, fixed DPI, no timestamps in PNG or PDF metadata)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from benchmark import imageio  # noqa: E402

os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
plt.rcParams.update({"svg.hashsalt": "osasis-bench", "font.size": 8, "figure.dpi": 100})
PNG_METADATA = {"Software": None}
PDF_METADATA = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}


def save_figure(fig: plt.Figure, stem: Path, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Save ``fig`` to ``stem.<fmt>`` for each format, atomically and byte-stably."""
    written = []
    for fmt in formats:
        buffer = io.BytesIO()
        metadata = PNG_METADATA if fmt == "png" else PDF_METADATA if fmt == "pdf" else None
        fig.savefig(buffer, format=fmt, dpi=100, metadata=metadata)
        path = stem.with_suffix(f".{fmt}")
        imageio.atomic_write_bytes(path, buffer.getvalue())
        written.append(path)
    plt.close(fig)
    return written


def image_grid(rows: Sequence[Sequence[Path | None]], row_labels: Sequence[str], col_labels: Sequence[str],
               stem: Path, size: int = 96, formats: Sequence[str] = ("png",)) -> list[Path]:  # fmt: skip
    """A grid of images (``None`` cells stay blank) with row and column labels."""
    n_rows, n_cols = len(rows), len(col_labels)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols + 0.6, 1.1 * n_rows + 0.3), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            path = row[c] if c < len(row) else None
            if path is not None:
                img = imageio.pil_to_tensor(imageio.resize_pil(imageio.load_pil(path), size))
                ax.imshow(np.asarray(img.permute(1, 2, 0)), interpolation="nearest")
            if r == 0:
                ax.set_title(col_labels[c], fontsize=7)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=7)
    fig.tight_layout(pad=0.3)
    return save_figure(fig, stem, formats)
