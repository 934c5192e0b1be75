"""Marking a dry run's report: every table and the page say "dry run: random weights, not a result"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
