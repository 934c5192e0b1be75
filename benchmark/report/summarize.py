"""Summaries over reference sets: mean and 95% CI per method × split × reference set × metric.

Per-image metrics: each input's score is averaged over the references of the set, then the mean and a
seeded percentile bootstrap over inputs are taken. Set-level metrics (FID, KID, ArtFID, ...): the mean over
references, with the mean of the per-reference CI bounds (a conservative interval). A metric counts as
per-image only when its value is the mean of its per-image values for every reference (ArtFID, for example,
stores its LPIPS term per image, which must not be averaged in its place).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.metrics.protocols import check_single_mode
from benchmark.stats import bootstrap_mean_ci

GROUP = ["method", "split", "reference_set", "metric"]
SUMMARY_COLUMNS = [*GROUP, "value", "ci_low", "ci_high", "n_images", "n_references", "direction", "notes"]


def summarize(tidy: pd.DataFrame, per_image: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One row per method × split × reference set × metric; results under two metric protocols are refused."""
    if "protocol_mode" in tidy.columns:
        check_single_mode(tidy["protocol_mode"], "report")
    rows = []
    per_image_keys = set()
    if len(per_image):
        per_image_keys = set(per_image[GROUP].drop_duplicates().itertuples(index=False, name=None))
    for key, group in tidy.groupby(GROUP, sort=True):
        direction = group["direction"].iloc[0]
        notes = "; ".join(sorted({n for n in group["notes"] if isinstance(n, str) and n}))
        sel = per_image.set_index(GROUP).loc[[key]] if key in per_image_keys else None
        if sel is not None and is_per_image_mean(group, sel):
            by_image = sel.groupby("image")["value"].mean().sort_index()
            values = by_image.to_numpy(dtype=np.float64)
            low, high = bootstrap_mean_ci(values, seed=seed)
            value, n_images = float(values.mean()), len(values)
        else:
            value = float(group["value"].mean())
            low, high = float(group["ci_low"].mean()), float(group["ci_high"].mean())
            n_images = int(group["n"].max())
        rows.append([*key, value, low, high, n_images, group["reference"].nunique(), direction, notes])
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def is_per_image_mean(group: pd.DataFrame, per_image: pd.DataFrame) -> bool:
    """True when each reference's tidy value equals the mean of its per-image values (CSV precision)."""
    means = per_image.groupby("reference")["value"].mean()
    for rec in group.itertuples(index=False):
        if rec.reference not in means.index or not np.isclose(means[rec.reference], rec.value, rtol=1e-4, atol=1e-6):
            return False
    return True


def best_mask(summary: pd.DataFrame) -> pd.Series:
    """True where a row holds the best value of its (split, reference set, metric) group."""
    best = pd.Series(False, index=summary.index)
    for _, group in summary.groupby(["split", "reference_set", "metric"]):
        if group["value"].isna().all():
            continue
        idx = group["value"].idxmin() if group["direction"].iloc[0] == "lower" else group["value"].idxmax()
        best.loc[group.index[group["value"] == group.loc[idx, "value"]]] = True
    return best
