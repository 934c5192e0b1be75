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


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]


def _panels(n_panels: int, n_labels: int, ncol: int) -> tuple[plt.Figure, np.ndarray, int]:
    """A row of panels with room below for a legend of ``n_labels`` entries in ``ncol`` columns."""
    rows = -(-n_labels // ncol) if n_labels else 0
    fig, axes = plt.subplots(1, max(1, n_panels), figsize=(3.2 * max(1, n_panels) + 0.4, 2.9 + 0.18 * rows),
                             squeeze=False)  # fmt: skip
    return fig, axes, rows


def _legend(fig: plt.Figure, ax: plt.Axes, ncol: int, rows: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    height = fig.get_figheight()
    bottom = (0.12 + 0.18 * rows) / height if handles else 0
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, bottom, 1, 1))


def scatter_ci(panels: dict[str, list[dict]], x_label: str, y_label: str, stem: Path,
               formats: Sequence[str] = ("png",)) -> list[Path]:  # fmt: skip
    """One panel per key; each point ``{label, x, x_low, x_high, y, y_low, y_high}`` with 95% CI error bars."""
    names = sorted({p["label"] for pts in panels.values() for p in pts})
    ncol = min(4, max(1, len(names)))
    fig, axes, rows = _panels(len(panels), len(names), ncol)
    for ax, (title, points) in zip(axes[0], sorted(panels.items())):
        for p in sorted(points, key=lambda q: q["label"]):
            i = names.index(p["label"])
            ax.errorbar(p["x"], p["y"], xerr=[[p["x"] - p["x_low"]], [p["x_high"] - p["x"]]],
                        yerr=[[p["y"] - p["y_low"]], [p["y_high"] - p["y"]]], fmt=MARKERS[i % len(MARKERS)],
                        color=f"C{i % 10}", capsize=2, label=p["label"], markersize=5)  # fmt: skip
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(y_label)
    _legend(fig, axes[0][0], ncol, rows)
    return save_figure(fig, stem, formats)


def density_scatter(panels: dict[str, list[dict]], y_label: str, stem: Path,
                    formats: Sequence[str] = ("png",)) -> list[Path]:  # fmt: skip
    """Per-image metric values vs the density score; points ``{label, split, score, value}``, one panel per key."""
    names = sorted({p["label"] for pts in panels.values() for p in pts})
    splits = sorted({p["split"] for pts in panels.values() for p in pts})
    ncol = min(3, max(1, len(names) * len(splits)))
    fig, axes, rows = _panels(len(panels), len(names) * len(splits), ncol)
    for ax, (title, points) in zip(axes[0], sorted(panels.items())):
        for i, name in enumerate(names):
            for j, split in enumerate(splits):
                pts = sorted((p["score"], p["value"]) for p in points if p["label"] == name and p["split"] == split)
                if pts:
                    xs, ys = zip(*pts)
                    ax.scatter(xs, ys, s=12, marker=MARKERS[j % len(MARKERS)], color=f"C{i % 10}", alpha=0.8,
                               label=f"{name} · {split}")  # fmt: skip
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("density score (reconstruction LPIPS; higher = rarer)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(y_label)
    _legend(fig, axes[0][0], ncol, rows)
    return save_figure(fig, stem, formats)
