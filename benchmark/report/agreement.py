"""Metric agreement with ground truth (smoke profile): how well each metric ranks stylizations like the truth does.

The smoke domain knows the true stylization of every input, so a ground-truth distance (``gt-lpips-vgg`` by
default) is the yardstick. For every other metric, each (method, reference, split) cell's value is turned into a
"goodness" score (negated when lower is better) and compared with the ground truth's goodness:

* pooled Spearman ρ over all cells (methods × references × splits);
* mean Spearman ρ of the *method ranking* within each (reference, split) group — the question a leaderboard asks.

ρ = 1: the metric orders results exactly as the ground truth; 0: unrelated; −1: reversed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from benchmark.report.tables import Cell, Table

KEYS = ["method", "reference", "split"]


def _goodness(frame: pd.DataFrame) -> pd.Series:
    sign = np.where(frame["direction"] == "lower", -1.0, 1.0)
    return frame["value"].astype(float) * sign


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def agreement(tidy: pd.DataFrame, ground_truth: str) -> pd.DataFrame:
    """One row per metric: pooled ρ, number of cells, mean within-group ρ over methods, number of groups."""
    truth = tidy[tidy["metric"] == ground_truth]
    if truth.empty:
        return pd.DataFrame(columns=["metric", "direction", "rho_pooled", "n_cells", "rho_methods", "n_groups"])
    truth = truth.assign(truth=_goodness(truth))[[*KEYS, "truth"]]
    rows = []
    for metric, frame in sorted(tidy.groupby("metric"), key=lambda kv: kv[0]):
        if metric == ground_truth or metric.startswith("gt-"):
            continue
        joined = frame.assign(score=_goodness(frame)).merge(truth, on=KEYS)
        if joined.empty:
            continue
        pooled = _rho(joined["score"].to_numpy(), joined["truth"].to_numpy())
        within = [_rho(g["score"].to_numpy(), g["truth"].to_numpy()) for _, g in joined.groupby(["reference", "split"])]
        within = [r for r in within if np.isfinite(r)]
        rows.append({"metric": metric, "direction": frame["direction"].iloc[0], "rho_pooled": pooled,
                     "n_cells": len(joined), "rho_methods": float(np.mean(within)) if within else float("nan"),
                     "n_groups": len(within)})  # fmt: skip
    return pd.DataFrame(rows)


def agreement_table(frame: pd.DataFrame, ground_truth: str, digits: int = 2) -> Table:
    """The agreement section as a report table."""

    def fmt(value: float) -> str:
        return "–" if not np.isfinite(value) else f"{value:+.{digits}f}"

    rows = [[Cell(r.metric), Cell("↓" if r.direction == "lower" else "↑"), Cell(fmt(r.rho_pooled)),
             Cell(str(r.n_cells)), Cell(fmt(r.rho_methods)), Cell(str(r.n_groups))]
            for r in frame.itertuples(index=False)]  # fmt: skip
    caption = (f"Spearman rank correlation between each metric and the ground-truth distance {ground_truth} "
               "(both oriented so that higher = better): pooled over method × reference × split cells, and the mean "
               "over (reference, split) groups of the correlation between method rankings. 1 = the metric ranks "
               "results as the ground truth does. Metrics computed with random weights (see the captions) are "
               "expected near 0.")  # fmt: skip
    return Table(f"Metric agreement with ground truth ({ground_truth})",
                 ["metric", "dir", "ρ pooled", "cells", "ρ method ranking", "groups"], rows, caption)


def density_split_table(split_file: Path) -> Table | None:
    """How many truly rare images (smoke ground truth) the density ranking put in the low-density split."""
    if not Path(split_file).is_file():
        return None
    settings = json.loads(Path(split_file).read_text()).get("settings", {})
    score = settings.get("rare_attribute_precision_at_k")
    if not score:
        return None
    n = int(settings.get("N") or 0)
    base_rate = score["n_rare"] / n if n else float("nan")
    p_value = chance_tail(n, int(score["n_rare"]), int(score["k"]), int(score["hits"])) if n else float("nan")
    row = [Cell(str(settings.get("N", "–"))), Cell(str(score["k"])), Cell(str(score["hits"])),
           Cell(f"{score['precision']:.2f}"), Cell(f"{base_rate:.2f}"), Cell(f"{score['recall']:.2f}"),
           Cell(f"{p_value:.3g}")]  # fmt: skip
    caption = (
        "Low-density split = the k images with the largest reconstruction distance "
        f"({settings.get('distance')}) under {settings.get('reconstructor')}. A random pick reaches the base rate; "
        "p = probability that k random images hold at least as many rare ones (hypergeometric)."
    )
    return Table("Density split vs known rare attributes (precision at k)",
                 ["candidates", "k", "rare in split", "precision@k", "base rate", "recall", "p (chance)"], [row],
                 caption)  # fmt: skip


def chance_tail(n: int, n_rare: int, k: int, hits: int) -> float:
    """P(X >= hits) for X ~ Hypergeometric(population n, n_rare successes, k draws)."""
    total = math.comb(n, k)
    upper = min(k, n_rare)
    return sum(math.comb(n_rare, i) * math.comb(n - n_rare, k - i) for i in range(hits, upper + 1)) / total
