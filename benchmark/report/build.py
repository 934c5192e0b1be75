"""The report stage: summary tables and the qualitative grid from ``results/``."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from benchmark.params import load_params
from benchmark.report.figures import image_grid
from benchmark.report.summarize import summarize
from benchmark.report.tables import write_tables
from benchmark.stages.layout import Layout

log = logging.getLogger(__name__)


def qualitative_grid(params: dict, layout: Layout, out_dir: Path) -> list[Path]:
    """Inputs × methods for the first reference of each set on the configured split."""
    cfg = params.get("report", {}).get("grid", {})
    split = cfg.get("split", params["splits"][0])
    n_inputs = int(cfg.get("n_inputs", 4))
    references = cfg.get("references") or params["references"][:1]
    methods = params["methods"]
    inputs = sorted(layout.split_dir(split).glob("*.png"))[:n_inputs]
    rows, labels = [], []
    for reference in references:
        for path in inputs:
            cells = [path, layout.reference_path(reference)]
            for method in methods:
                out = layout.stylized_dir(method, reference, split) / path.name
                cells.append(out if out.is_file() else None)
            rows.append(cells)
            labels.append(f"{reference}\n{path.stem}")
    if not rows:
        log.warning("no inputs in %s: qualitative grid skipped", layout.split_dir(split))
        return []
    return image_grid(rows, labels, ["input", "reference", *methods], out_dir / "figures" / "qualitative_grid",
                      formats=("png", "pdf"))  # fmt: skip


def build_report(tidy_csv: Path, params_path: Path | None, out_dir: Path) -> None:
    """Write ``out_dir/tables/*`` and ``out_dir/figures/*``."""
    params = load_params(params_path)
    report_cfg = params.get("report", {})
    tidy = pd.read_csv(tidy_csv)
    per_image_path = Path(tidy_csv).with_name("per_image.csv")
    per_image = pd.read_csv(per_image_path) if per_image_path.is_file() else pd.DataFrame()
    summary = summarize(tidy, per_image, seed=int(params["seed"]))
    out_dir = Path(out_dir)
    digits = int(report_cfg.get("digits", 4))
    all_metrics = sorted(summary["metric"].unique())
    main_metrics = [m for m in report_cfg.get("main_metrics", all_metrics) if m in all_metrics]
    profile = params["profile"]
    write_tables(summary, main_metrics, out_dir / "tables" / "main",
                 f"Main metrics ({profile} profile)", digits)  # fmt: skip
    write_tables(summary, all_metrics, out_dir / "tables" / "all_metrics",
                 f"All metrics ({profile} profile)", digits)  # fmt: skip
    qualitative_grid(params, Layout.from_params(params), out_dir)
