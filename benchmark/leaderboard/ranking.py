"""Ranking methods per split × reference set, with 95% CIs and the measured compute cost of each method.

Ranking rule (also printed under every leaderboard table):

1. methods are ordered by the *primary metric* (``report.leaderboard.primary``) in its direction
   (lower is better for ↓ metrics, higher for ↑);
2. exact ties on the primary mean are broken by the ``report.leaderboard.tiebreak`` metrics in order,
   then by name; tied primary means share a rank (1, 2, 2, 4);
3. the rank is by mean only; the "≈ above" column says when the primary-metric 95% CI overlaps the CI of
   the method ranked directly above, i.e. the order of those two is not statistically resolved.
"""

from __future__ import annotations

import math

import pandas as pd

from benchmark.report.tables import DASH, Cell, Table, fmt_ci, fmt_number, metric_header

RULE = ("Ranked by the primary metric ({primary}, {arrow}) mean; exact ties broken by {tiebreak}, then name; "
        "tied means share a rank. '≈ above' = the primary 95% CI overlaps the CI of the method ranked directly "
        "above (order not statistically resolved). Costs: mean fine-tune time and peak memory per reference, mean "
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


def rank(summary: pd.DataFrame, primary: str, metrics: list[str], costs: pd.DataFrame | None = None,
         tiebreak: list[str] | None = None, submissions: set[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The raw leaderboard: one row per split × reference set × method, ranked by the rule above."""
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
        prev_value, prev_rank, prev_ci = None, 0, None
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
                   "ci_overlap_above": overlap}  # fmt: skip
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
                prev_value, prev_rank, prev_ci = value, this_rank, ci
    columns = ["split", "reference_set", "rank", "method", "kind", "ci_overlap_above"]
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
                     Cell("≈" if r["ci_overlap_above"] else "")]  # fmt: skip
            cells += [Cell(fmt_ci(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"], digits),
                           best[m] is not None and r[m] == best[m]) for m in shown]  # fmt: skip
            cells += [Cell(fmt_number(r["finetune_seconds_per_reference"], 2)),
                      Cell(fmt_number(r["finetune_peak_memory_mb"], 0)),
                      Cell(fmt_number(r["stylize_seconds_per_image"], 3)), Cell(r["device"])]  # fmt: skip
            rows.append(cells)
        cols = ["rank", "method", "≈ above", *(metric_header(m, dirs[m], labels) for m in shown),
                "fine-tune s/ref", "fine-tune peak MB", "s/image", "device"]  # fmt: skip
        out.append(Table(f"Leaderboard: {split} · {ref_set}", cols, rows))
    return out
