"""Marking a dry run's report: every table, every PNG figure and the page say "dry run: random weights, not a
result"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

from benchmark.atomic import atomic_write_text
from benchmark.report.tables import csv_text


def stamp_tables(tables_dir: Path, stamp: str) -> int:
    """Prefix every Markdown and LaTeX table with the stamp and add a ``dry_run`` column to every CSV; returns the
    number of files stamped."""
    count = 0
    for path in sorted(tables_dir.rglob("*")):
        if path.suffix == ".md":
            atomic_write_text(path, f"> **{stamp.upper()}**\n\n" + path.read_text(encoding="utf-8"))
        elif path.suffix == ".tex":
            atomic_write_text(path, f"% {stamp.upper()}\n" + path.read_text(encoding="utf-8"))
        elif path.suffix == ".csv":
            try:
                frame = pd.read_csv(path)
            except pd.errors.EmptyDataError:
                frame = pd.DataFrame()
            frame.insert(0, "dry_run", stamp)
            atomic_write_text(path, csv_text(frame))
        else:
            continue
        count += 1
    return count


def stamp_figures(figures_dir: Path, stamp: str) -> int:
    """Put a red band with the stamp above every PNG figure (the PDFs keep the HTML page's banner); returns the
    number of figures stamped."""
    count = 0
    for path in sorted(figures_dir.rglob("*.png")):
        with Image.open(path) as figure:
            figure = figure.convert("RGB")
        band = 18
        out = Image.new("RGB", (figure.width, figure.height + band), (200, 0, 0))
        out.paste(figure, (0, band))
        ImageDraw.Draw(out).text((4, 3), stamp.upper(), fill=(255, 255, 255))
        staged = path.with_name(f".{path.name}.stamp")
        out.save(staged, format="PNG")
        staged.replace(path)
        count += 1
    return count
