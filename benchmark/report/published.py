"""The paper's published numbers (``data/published/osasis_cvpr2024.yaml``) and ours-vs-published tables."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmark.assets import REPO_ROOT
from benchmark.report.tables import Cell, Table, fmt_ci, fmt_number, metric_header

PUBLISHED_FILE = Path("data/published/osasis_cvpr2024.yaml")
NOT_COMPARABLE = ("{profile} profile: these numbers are NOT comparable to the paper (different data, resolution and "
                  "offline substitute metrics); the published values are listed for reference only.")  # fmt: skip


def norm_set(name: str) -> str:
    """Reference-set key for matching: case-insensitive, without a ``_references`` suffix (paper profile names
    its sets ``aahq_references``, ``metfaces_references``, ``prev_references``; the paper says AAHQ, ...)."""
    key = str(name).strip().lower()
    for suffix in ("_references", "-references", " references"):
        key = key.removesuffix(suffix)
    return key


@dataclass(frozen=True)
class Published:
    """Published Table 1 (method -> set -> metric -> value) and Table 2 (label -> metric -> value)."""

    source: str
    metrics: dict[str, dict[str, str]]
    methods: dict[str, str]
    table1: dict[str, dict[str, dict[str, float]]]
    table2: dict[str, dict[str, float]]
    table2_reference_set: str

    def value(self, method: str, reference_set: str, metric: str) -> float | None:
        sets = {norm_set(k): v for k, v in self.table1.get(method, {}).items()}
        return sets.get(norm_set(reference_set), {}).get(metric)


def load_published(path: str | Path | None = None) -> Published:
    """Read the published-numbers file (relative paths resolve against the repository root)."""
    path = Path(path or PUBLISHED_FILE)
    if not path.is_absolute() and not path.is_file():
        path = REPO_ROOT / path
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    t2 = data.get("table2") or {}
    return Published(str(data["source"]), data["metrics"], data["methods"], data["table1"],
                     dict(t2.get("rows") or {}), str(t2.get("reference_set", "")))  # fmt: skip


def published_table1(pub: Published) -> Table:
    """The paper's Table 1 as printed (best per column in bold), for reference."""
    sets = sorted({s for per in pub.table1.values() for s in per}, key=str.lower)
    cols, rows = [], []
    for metric in pub.metrics:
        cols += [(metric, s) for s in sets]
    best = {}
    for metric, s in cols:
        vals = [pub.table1[m][s][metric] for m in pub.table1 if metric in pub.table1[m].get(s, {})]
        best[(metric, s)] = min(vals) if pub.metrics[metric]["direction"] == "lower" else max(vals)
    for method, per in pub.table1.items():
        row = [Cell(pub.methods.get(method, method))]
        for metric, s in cols:
            value = per.get(s, {}).get(metric)
            digits = int(pub.metrics[metric].get("digits", 4))
            row.append(Cell(fmt_number(value, digits) if value is not None else "–", value == best[(metric, s)]))
        rows.append(row)
    header = ["method", *(f"{metric_header(m, pub.metrics[m]['direction'], _labels(pub))} {s}" for m, s in cols)]
    return Table("Published Table 1 (paper, low-density FFHQ)", header, rows, f"Source: {pub.source}.")


def _labels(pub: Published) -> dict[str, str]:
    return {k: v["label"] for k, v in pub.metrics.items()}


def metric_digits(pub: Published) -> dict[str, int]:
    """Decimals printed in the paper per metric."""
    return {k: int(v.get("digits", 4)) for k, v in pub.metrics.items()}


def comparison_rows(ours: pd.DataFrame, published: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    """Join our summary rows (columns ``key``, ``reference_set``, ``metric``, value, CI) with published values.

    Returns one row per published value: ours (NaN where not run), published, difference ours − published and
    whether the published value lies inside our 95% CI.
    """
    index = {(r.key, norm_set(r.reference_set), r.metric): r for r in ours.itertuples(index=False)}
    rows = []
    for (key, ref_set, metric), pub_value in published.items():  # the paper's order
        rec = index.get((key, norm_set(ref_set), metric))
        value = float(rec.value) if rec is not None else math.nan
        low = float(rec.ci_low) if rec is not None else math.nan
        high = float(rec.ci_high) if rec is not None else math.nan
        rows.append({"key": key, "reference_set": ref_set, "metric": metric, "ours": value, "ci_low": low,
                     "ci_high": high, "published": float(pub_value), "difference": value - float(pub_value),
                     "published_in_ci": bool(low <= pub_value <= high) if rec is not None else False})  # fmt: skip
    return pd.DataFrame(rows, columns=["key", "reference_set", "metric", "ours", "ci_low", "ci_high", "published",
                                       "difference", "published_in_ci"])  # fmt: skip


def comparison_table(rows: pd.DataFrame, title: str, digits: int, labels: dict[str, str], key_label: str = "method",
                     metric_digits: dict[str, int] | None = None) -> Table:  # fmt: skip
    """Ours ± CI beside the published value and the difference (ours − published).

    Each metric uses at least the number of decimals the paper printed (``metric_digits``).
    """
    out = []
    for r in rows.itertuples(index=False):
        ran = math.isfinite(r.ours)
        d = max(digits, (metric_digits or {}).get(r.metric, 0))
        out.append([Cell(labels.get(r.key, r.key)), Cell(r.reference_set), Cell(r.metric),
                    Cell(fmt_ci(r.ours, r.ci_low, r.ci_high, d) if ran else "not run"),
                    Cell(fmt_number(r.published, d)),
                    Cell(_signed(r.difference, d) if ran else "–"),
                    Cell(("yes" if r.published_in_ci else "no") if ran else "–")])  # fmt: skip
    cols = [key_label, "reference set", "metric", "ours (± 95% CI)", "published", "Δ (ours − published)",
            "published in our CI"]  # fmt: skip
    return Table(title, cols, out, "Δ = ours − published; values as printed in the paper (no published CIs).")


def _signed(value: float, digits: int) -> str:
    return ("+" if value >= 0 else "−") + f"{abs(value):.{digits}f}"
