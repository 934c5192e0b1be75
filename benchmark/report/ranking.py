"""Ranking methods per split × reference set, with 95% CIs and the measured compute cost of each method.

Ranking rule (also printed under every leaderboard table):

1. methods are ordered by the *primary metric* (``report.leaderboard.primary``) in its direction
   (lower is better for ↓ metrics, higher for ↑);
2. exact ties on the primary mean are broken by the ``report.leaderboard.tiebreak`` metrics in order,
   then by name; tied primary means share a rank (1, 2, 2, 4);
3. the rank is by mean only; the "vs above" columns compare each method with the one ranked directly above
   on the primary metric by their **paired** difference over the same inputs: per-image metrics by a percentile
   bootstrap of the mean per-image difference (inputs resampled jointly for both methods), set-level metrics
   (FID, KID, ArtFID) by the difference of their bootstrap replicates, which share the input resamples (same seed,
   same inputs). The CI level is Bonferroni-corrected for the number of adjacent comparisons in the table; the
   order is "resolved" when that CI excludes 0. Without paired values (e.g. old results) the 95% CI overlap test
   is the fallback, named in the row. ``ci_overlap_above`` (the old, conservative test) stays in the CSV.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmark.report.summarize import is_per_image_mean
from benchmark.report.tables import DASH, Cell, Table, fmt_ci, fmt_number, metric_header
from benchmark.stats import adjusted_level, paired_difference_ci, paired_replicates_ci

RULE = ("Ranked by the primary metric ({primary}, {arrow}) mean; exact ties broken by {tiebreak}, then name; "
        "tied means share a rank. 'Δ vs above' = this method minus the one ranked directly above, paired over the "
        "same inputs (per-image metrics: bootstrap of the mean per-image difference; set-level metrics: difference "
        "of bootstrap replicates over shared input resamples), with its CI Bonferroni-corrected for the adjacent "
        "comparisons of the table; 'resolved' = that CI excludes 0, '≈' = not resolved. Costs: mean fine-tune time "
        "and peak memory per reference, mean "
        "stylization time per image, measured by the pipeline (results-only submissions have none).")  # fmt: skip
COST_COLUMNS = ["finetune_seconds_per_reference", "finetune_peak_memory_mb", "stylize_seconds_per_image", "device"]
SUBMISSION_DEVICE = "results-only submission"


def costs_per_set(costs: pd.DataFrame, reference_sets: dict[str, str]) -> pd.DataFrame:
    """Per method × reference set: mean fine-tune seconds, max peak memory, mean seconds/image, device(s)."""
    if costs is None or not len(costs):
        return pd.DataFrame(columns=["method", "reference_set", *COST_COLUMNS])
    frame = costs.assign(reference_set=costs["reference"].map(reference_sets)).dropna(subset=["reference_set"])
    rows = []
    for (method, ref_set), g in frame.groupby(["method", "reference_set"], sort=True):
        rows.append({"method": method, "reference_set": ref_set,
                     "finetune_seconds_per_reference": float(g["finetune_seconds"].mean()),
                     "finetune_peak_memory_mb": float(g["finetune_peak_memory_mb"].max()),
                     "stylize_seconds_per_image": float(g["stylize_seconds_per_image"].mean()),
                     "device": "; ".join(sorted(set(g["device"].astype(str))))})  # fmt: skip
    return pd.DataFrame(rows, columns=["method", "reference_set", *COST_COLUMNS])


def _key(value: float, direction: str) -> float:
    if value is None or not math.isfinite(value):
        return math.inf
    return value if direction == "lower" else -value


GROUP = ["method", "split", "reference_set", "metric"]


def paired_values(tidy: pd.DataFrame | None, per_image: pd.DataFrame | None,
                  replicates: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """The values a paired comparison needs, per method × split × reference set × metric, averaged over the
    references of the set: per-image scores (only where the metric is the mean of its per-image values) and
    bootstrap replicates of set-level metrics."""
    images = pd.DataFrame(columns=[*GROUP, "image", "value"])
    if per_image is not None and len(per_image) and tidy is not None and len(tidy):
        keep = []
        tidy_groups = dict(list(tidy.groupby(GROUP, sort=True)))
        for key, sel in per_image.groupby(GROUP, sort=True):
            if key in tidy_groups and is_per_image_mean(tidy_groups[key], sel):
                keep.append(sel.groupby("image", as_index=False)["value"].mean().assign(
                    **dict(zip(GROUP, key))))  # fmt: skip
        if keep:
            images = pd.concat(keep, ignore_index=True)[[*GROUP, "image", "value"]]
    reps = pd.DataFrame(columns=[*GROUP, "replicate", "value"])
    if replicates is not None and len(replicates):
        reps = replicates.groupby([*GROUP, "replicate"], as_index=False)["value"].mean()
    return images, reps


def paired_comparison(above: str, below: str, values: tuple[pd.DataFrame, pd.DataFrame], split: str, ref_set: str,
                      metric: str, level: float, seed: int) -> tuple[float, float, float, str] | None:  # fmt: skip
    """(difference below - above, CI low, CI high, test name) from paired values, or None without them."""
    images, reps = values

    def pick(frame: pd.DataFrame, method: str, key: str) -> pd.Series:
        sel = frame[(frame["method"] == method) & (frame["split"] == split) & (frame["reference_set"] == ref_set)
                    & (frame["metric"] == metric)]  # fmt: skip
        return sel.set_index(key)["value"].astype(float).sort_index()

    a, b = pick(reps, above, "replicate"), pick(reps, below, "replicate")
    if len(a) > 1 and len(a) == len(b) and (a.index == b.index).all():
        low, high = paired_replicates_ci(a.to_numpy(), b.to_numpy(), level)
        return float(b.mean() - a.mean()), low, high, "paired bootstrap over inputs (set-level)"
    a, b = pick(images, above, "image"), pick(images, below, "image")
    common = a.index.intersection(b.index)
    if len(common) > 1:
        diff, low, high = paired_difference_ci(a[common].to_numpy(), b[common].to_numpy(), level, seed)
        return diff, low, high, f"paired bootstrap of per-image differences (n={len(common)})"
    return None


def rank(summary: pd.DataFrame, primary: str, metrics: list[str], costs: pd.DataFrame | None = None,
         tiebreak: list[str] | None = None, submissions: set[str] | None = None,
         paired: tuple[pd.DataFrame, pd.DataFrame] | None = None, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """The raw leaderboard: one row per split × reference set × method, ranked by the rule above.

    ``paired`` is :func:`paired_values` output; without it every comparison falls back to CI overlap.
    """
    tiebreak = [m for m in (tiebreak or []) if m != primary]
    metrics = [primary, *[m for m in metrics if m != primary]]
    dirs = summary.drop_duplicates("metric").set_index("metric")["direction"].to_dict()
    submissions = submissions or set()
    cost_index = {}
    if costs is not None and len(costs):
        cost_index = {(r["method"], r["reference_set"]): r for r in costs.to_dict("records")}
    rows = []
    for (split, ref_set), group in summary.groupby(["split", "reference_set"], sort=True):
        vals = {(r.method, r.metric): r for r in group.itertuples(index=False)}
        entries = []
        for method in sorted(group["method"].unique()):
            rec = vals.get((method, primary))
            value = float(rec.value) if rec is not None else math.nan
            order = [_key(value, dirs.get(primary, "lower"))]
            order += [_key(float(vals[(method, m)].value) if (method, m) in vals else math.nan, dirs.get(m, "lower"))
                      for m in tiebreak]  # fmt: skip
            entries.append((order, method, rec))
        entries.sort(key=lambda e: (e[0], e[1]))
        n_finite = sum(1 for e in entries if e[2] is not None and math.isfinite(float(e[2].value)))
        level = adjusted_level(max(1, n_finite - 1))
        prev_value, prev_rank, prev_ci, prev_method = None, 0, None, None
        for position, (_, method, rec) in enumerate(entries, start=1):
            value = float(rec.value) if rec is not None else math.nan
            if not math.isfinite(value):
                this_rank = math.nan
            elif prev_value is not None and value == prev_value:
                this_rank = prev_rank
            else:
                this_rank = position
            ci = (float(rec.ci_low), float(rec.ci_high)) if rec is not None else None
            overlap = bool(ci and prev_ci and ci[0] <= prev_ci[1] and prev_ci[0] <= ci[1])
            kind = "submission" if method in submissions else "pipeline"
            row = {"split": split, "reference_set": ref_set, "rank": this_rank, "method": method, "kind": kind,
                   "ci_overlap_above": overlap, "diff_above": math.nan, "diff_ci_low": math.nan,
                   "diff_ci_high": math.nan, "diff_level": math.nan, "resolved_above": None,
                   "comparison": ""}  # fmt: skip
            if prev_method is not None and math.isfinite(value):
                found = paired_comparison(prev_method, method, paired, split, ref_set, primary, level, seed) \
                    if paired is not None else None  # fmt: skip
                if found is not None:
                    diff, low, high, test = found
                    row.update(diff_above=diff, diff_ci_low=low, diff_ci_high=high, diff_level=level,
                               resolved_above=bool(low > 0 or high < 0), comparison=test)  # fmt: skip
                else:
                    row.update(diff_above=value - prev_value, resolved_above=not overlap,
                               comparison="95% CI overlap (no paired values)")  # fmt: skip
            for m in metrics:
                r = vals.get((method, m))
                row[m] = float(r.value) if r is not None else math.nan
                row[f"{m}_ci_low"] = float(r.ci_low) if r is not None else math.nan
                row[f"{m}_ci_high"] = float(r.ci_high) if r is not None else math.nan
            cost = cost_index.get((method, ref_set), {})
            for c in COST_COLUMNS[:-1]:
                row[c] = float(cost.get(c, math.nan))
            row["device"] = SUBMISSION_DEVICE if method in submissions else str(cost.get("device", DASH))
            rows.append(row)
            if math.isfinite(value):
                prev_value, prev_rank, prev_ci, prev_method = value, this_rank, ci, method
    columns = ["split", "reference_set", "rank", "method", "kind", "ci_overlap_above", "diff_above", "diff_ci_low",
               "diff_ci_high", "diff_level", "resolved_above", "comparison"]  # fmt: skip
    columns += [c for m in metrics for c in (m, f"{m}_ci_low", f"{m}_ci_high")] + COST_COLUMNS
    return pd.DataFrame(rows, columns=columns)


def rule_text(primary: str, direction: str, tiebreak: list[str]) -> str:
    return RULE.format(primary=primary, arrow="↓ lower is better" if direction == "lower" else "↑ higher is better",
                       tiebreak=", ".join(tiebreak) or "nothing")  # fmt: skip


def tables(board: pd.DataFrame, summary: pd.DataFrame, primary: str, metrics: list[str], digits: int,
           tiebreak: list[str] | None = None, labels: dict[str, str] | None = None) -> list[Table]:  # fmt: skip
    """One rendered table per split × reference set; the best value of each metric column in bold.

    The ranking rule (:func:`rule_text`) is not repeated under each table; print it once above them.
    """
    dirs = summary.drop_duplicates("metric").set_index("metric")["direction"].to_dict()
    shown = [m for m in [primary, *[m for m in metrics if m != primary]] if m in dirs and m in board.columns]
    out = []
    for (split, ref_set), g in board.groupby(["split", "reference_set"], sort=True):
        best = {}
        for m in shown:
            vals = g[m].dropna()
            best[m] = (vals.min() if dirs[m] == "lower" else vals.max()) if len(vals) else None
        rows = []
        for r in g.to_dict("records"):
            cells = [Cell(DASH if not math.isfinite(r["rank"]) else str(int(r["rank"]))), Cell(r["method"]),
                     Cell(_difference(r, digits)), Cell(_resolved(r))]  # fmt: skip
            cells += [Cell(fmt_ci(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"], digits),
                           best[m] is not None and r[m] == best[m]) for m in shown]  # fmt: skip
            cells += [Cell(fmt_number(r["finetune_seconds_per_reference"], 2)),
                      Cell(fmt_number(r["finetune_peak_memory_mb"], 0)),
                      Cell(fmt_number(r["stylize_seconds_per_image"], 3)), Cell(r["device"])]  # fmt: skip
            rows.append(cells)
        cols = ["rank", "method", "Δ vs above [CI]", "resolved", *(metric_header(m, dirs[m], labels) for m in shown),
                "fine-tune s/ref", "fine-tune peak MB", "s/image", "device"]  # fmt: skip
        out.append(Table(f"Leaderboard: {split} · {ref_set}", cols, rows))
    return out


def _difference(row: dict, digits: int) -> str:
    diff = row.get("diff_above")
    if diff is None or not np.isfinite(diff):
        return ""
    low, high = row.get("diff_ci_low"), row.get("diff_ci_high")
    if low is None or not np.isfinite(low):
        return f"{diff:+.{digits}f}"
    return f"{diff:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def _resolved(row: dict) -> str:
    resolved = row.get("resolved_above")
    if resolved is None or (isinstance(resolved, float) and math.isnan(resolved)):
        return ""
    note = "" if row.get("comparison", "").startswith("paired") else " (CI overlap)"
    return ("yes" if resolved else "≈") + note
