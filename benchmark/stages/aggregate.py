"""The aggregate stage: every metric JSON and cost record into tidy CSV files.

Outputs (all sorted, so reruns are byte-identical):

* ``tidy.csv``: one row per method × reference × split × metric (value, 95% CI, n, direction, protocol, notes);
* ``per_image.csv`` beside it: one row per method × reference × split × metric × image;
* ``costs.csv`` beside it: fine-tune time/peak memory per reference and stylization time per image;
* ``bootstrap.csv`` beside it: the bootstrap replicates of every set-level metric (FID, KID, ArtFID), one row
  per method × reference × split × metric × replicate; replicates share their input resamples across methods
  (same seed, same inputs), which makes the leaderboard's paired comparison of set-level metrics possible.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmark.atomic import atomic_write_text, check_output_file
from benchmark.errors import ConfigError
from benchmark.params import load_params, method_cells, pipeline_methods

TIDY_COLUMNS = ["method", "reference", "reference_set", "reference_kind", "split", "metric", "value", "ci_low",
                "ci_high", "n", "direction", "protocol", "notes", "protocol_mode"]  # fmt: skip
PER_IMAGE_COLUMNS = ["method", "reference", "reference_set", "split", "metric", "image", "value"]
BOOTSTRAP_COLUMNS = ["method", "reference", "reference_set", "split", "metric", "replicate", "value"]
COST_COLUMNS = ["method", "reference", "finetune_seconds", "finetune_peak_memory_mb", "stylize_seconds_per_image",
                "stylize_peak_memory_mb", "device"]  # fmt: skip


def _csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.6g", lineterminator="\n")


Cell = tuple[str, str]


def expected_cells(params: dict) -> set[Cell]:
    """(method, reference) pairs the profile runs: the main matrix and the ablation."""
    return {(m, r) for m in pipeline_methods(params) for r in method_cells(params, m)[0]}


def collect(metrics_dir: Path, cells: set[Cell] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of every metric JSON under ``metrics_dir`` (only ``cells`` when given: leftovers of an earlier
    profile in the working tree are ignored)."""
    rows, per_image = [], []
    for path in sorted(Path(metrics_dir).rglob("*.json")):
        cell = json.loads(path.read_text())
        if cells is not None and (cell["method"], cell["reference"]) not in cells:
            continue
        base = {k: cell[k] for k in ("method", "reference", "reference_set", "reference_kind")}
        for split, result in sorted(cell["splits"].items()):
            for metric, res in sorted(result["metrics"].items()):
                rows.append({**base, "split": split, "metric": metric, "value": res["value"], "ci_low": res["ci_low"],
                             "ci_high": res["ci_high"], "n": res["n"], "direction": res["direction"],
                             "protocol": res["protocol"], "notes": "; ".join(res.get("notes", [])),
                             "protocol_mode": res.get("protocol_mode")})  # fmt: skip
                for image, value in sorted((res.get("per_image") or {}).items()):
                    per_image.append({"method": base["method"], "reference": base["reference"],
                                      "reference_set": base["reference_set"], "split": split, "metric": metric,
                                      "image": image, "value": value})  # fmt: skip
    tidy = pd.DataFrame(rows, columns=TIDY_COLUMNS).sort_values(["method", "reference", "split", "metric"])
    images = pd.DataFrame(per_image, columns=PER_IMAGE_COLUMNS).sort_values(PER_IMAGE_COLUMNS[:-1])
    return tidy, images


def collect_bootstrap(metrics_dir: Path, cells: set[Cell] | None = None) -> pd.DataFrame:
    """Bootstrap replicates of the set-level metrics in every metric JSON under ``metrics_dir`` (sorted)."""
    rows = []
    for path in sorted(Path(metrics_dir).rglob("*.json")):
        cell = json.loads(path.read_text())
        if cells is not None and (cell["method"], cell["reference"]) not in cells:
            continue
        for split, result in sorted(cell["splits"].items()):
            for metric, res in sorted(result["metrics"].items()):
                for i, value in enumerate(res.get("bootstrap") or []):
                    rows.append([cell["method"], cell["reference"], cell["reference_set"], split, metric, i, value])
    return pd.DataFrame(rows, columns=BOOTSTRAP_COLUMNS).sort_values(BOOTSTRAP_COLUMNS[:-1])


def collect_costs(models_dir: Path, stylized_dir: Path, cells: set[Cell] | None = None) -> pd.DataFrame:
    """Fine-tune and stylization costs of every model folder (only ``cells`` when given)."""
    rows = []
    for cost_file in sorted(Path(models_dir).glob("*/*/cost.json")):
        method, reference = cost_file.parent.parent.name, cost_file.parent.name
        if cells is not None and (method, reference) not in cells:
            continue
        fine = json.loads(cost_file.read_text())
        stylize_files = sorted((Path(stylized_dir) / method / reference).glob("*/cost.json"))
        stylize = [json.loads(p.read_text()) for p in stylize_files]
        n_images = sum(s["n_images"] for s in stylize)
        rows.append({
            "method": method, "reference": reference, "finetune_seconds": fine["seconds"],
            "finetune_peak_memory_mb": fine["peak_memory_mb"],
            "stylize_seconds_per_image": (sum(s["seconds"] for s in stylize) / n_images) if n_images else float("nan"),
            "stylize_peak_memory_mb": max((s["peak_memory_mb"] for s in stylize), default=float("nan")),
            "device": fine["device"],
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COST_COLUMNS).sort_values(["method", "reference"])


def run_aggregate(metrics_dir: Path, models_dir: Path, stylized_dir: Path, out: Path,
                  params_path: Path | None = None) -> None:  # fmt: skip
    """Write ``out`` (tidy), ``per_image.csv`` and ``costs.csv`` next to it, for the profile's cells."""
    out = Path(out)
    sources = [metrics_dir, models_dir, stylized_dir]
    if out.name in ("per_image.csv", "costs.csv"):
        raise ConfigError(f"--out {out}: per_image.csv and costs.csv are written beside it; name it e.g. tidy.csv")
    for path in (out, out.with_name("per_image.csv"), out.with_name("costs.csv")):
        check_output_file(path, sources, suffixes=(".csv",))
    if not Path(metrics_dir).is_dir():
        raise ConfigError(f"--metrics-dir {metrics_dir}: not a folder (run the evaluate stage first)")
    cells = expected_cells(load_params(params_path))
    tidy, per_image = collect(metrics_dir, cells)
    atomic_write_text(out, _csv_text(tidy))
    atomic_write_text(out.with_name("per_image.csv"), _csv_text(per_image))
    atomic_write_text(out.with_name("costs.csv"), _csv_text(collect_costs(models_dir, stylized_dir, cells)))
    atomic_write_text(out.with_name("bootstrap.csv"), _csv_text(collect_bootstrap(metrics_dir, cells)))
