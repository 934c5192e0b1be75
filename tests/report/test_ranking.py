"""The ranking rule: direction, shared ranks on ties, tie-breaks, paired comparisons, CI-overlap flags, costs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmark.report.ranking import SUBMISSION_DEVICE, costs_per_set, rank, tables

from .fakes import summary_rows


def _board(rows, primary="fid", **kw) -> pd.DataFrame:
    return rank(summary_rows(rows), primary, ["fid", "id"], **kw)


def test_lower_is_better_ranking_with_ci_overlap() -> None:
    board = _board([
        ("b", "low", "S", "fid", 12.0, 11.5, 12.5, "lower"),
        ("a", "low", "S", "fid", 10.0, 9.0, 11.0, "lower"),
        ("c", "low", "S", "fid", 11.0, 10.5, 11.2, "lower"),
    ])  # fmt: skip
    assert list(board["method"]) == ["a", "c", "b"] and list(board["rank"]) == [1, 2, 3]
    assert list(board["ci_overlap_above"]) == [False, True, False]  # c overlaps a; b does not overlap c


def test_higher_is_better_and_groups_per_split_and_set() -> None:
    board = _board([
        ("a", "low", "S", "id", 0.5, 0.4, 0.6, "higher"),
        ("b", "low", "S", "id", 0.7, 0.6, 0.8, "higher"),
        ("a", "high", "S", "id", 0.9, 0.8, 1.0, "higher"),
        ("b", "high", "S", "id", 0.1, 0.0, 0.2, "higher"),
    ], primary="id")  # fmt: skip
    low = board[board["split"] == "low"]
    high = board[board["split"] == "high"]
    assert list(low["method"]) == ["b", "a"] and list(high["method"]) == ["a", "b"]


def test_ties_share_rank_and_tiebreak_orders_them() -> None:
    rows = [("a", "low", "S", "fid", 10.0, 9.0, 11.0, "lower"), ("b", "low", "S", "fid", 10.0, 9.0, 11.0, "lower"),
            ("c", "low", "S", "fid", 11.0, 10.0, 12.0, "lower"),
            ("a", "low", "S", "id", 0.4, 0.3, 0.5, "higher"),
            ("b", "low", "S", "id", 0.6, 0.5, 0.7, "higher")]  # fmt: skip
    board = _board(rows, tiebreak=["id"])
    assert list(board["method"]) == ["b", "a", "c"] and list(board["rank"]) == [1, 1, 3]
    assert list(_board(rows)["method"]) == ["a", "b", "c"]  # no tie-break: by name


def test_missing_primary_goes_last_without_rank() -> None:
    board = _board([("a", "low", "S", "fid", 10.0, 9.0, 11.0, "lower"),
                    ("z", "low", "S", "id", 0.4, 0.3, 0.5, "higher")])
    assert list(board["method"]) == ["a", "z"] and math.isnan(board["rank"].iloc[1])


def test_costs_per_reference_set_and_submissions() -> None:
    costs = pd.DataFrame({"method": ["a", "a", "a"], "reference": ["r1", "r2", "r3"],
                          "finetune_seconds": [1.0, 3.0, 10.0], "finetune_peak_memory_mb": [100.0, 300.0, 50.0],
                          "stylize_seconds_per_image": [0.1, 0.3, 1.0], "device": ["cpu", "cpu", "cuda"]})  # fmt: skip
    per_set = costs_per_set(costs, {"r1": "S", "r2": "S", "r3": "T"})
    s = per_set[per_set["reference_set"] == "S"].iloc[0]
    assert s["finetune_seconds_per_reference"] == pytest.approx(2.0) and s["finetune_peak_memory_mb"] == 300.0
    assert s["stylize_seconds_per_image"] == pytest.approx(0.2) and s["device"] == "cpu"
    rows = [("a", "low", "S", "fid", 10.0, 9.0, 11.0, "lower"), ("sub", "low", "S", "fid", 9.0, 8.0, 9.5, "lower")]
    board = _board(rows, costs=per_set, submissions={"sub"})
    assert list(board["kind"]) == ["submission", "pipeline"]
    assert board["device"].iloc[0] == SUBMISSION_DEVICE and math.isnan(board["finetune_seconds_per_reference"].iloc[0])
    md = tables(board, summary_rows(rows), "fid", ["fid"], 2)[0].to_markdown()
    assert "| 1    | sub " in md and "**9.00 ± 1.00**" in md and "| 2.00 " in md and "| 300 " in md


def _per_image_world(offset: float, n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two methods on the same n inputs: b = a + offset + tiny noise, with a large per-image spread."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 0.2, n)
    b = a + offset + rng.normal(0, 0.002, n)
    tidy, images = [], []
    for method, vals in (("a", a), ("b", b)):
        tidy.append({"method": method, "reference": "r1", "reference_set": "S", "split": "low", "metric": "lp",
                     "value": float(vals.mean()), "ci_low": 0, "ci_high": 0, "n": n, "direction": "lower",
                     "notes": ""})  # fmt: skip
        images += [{"method": method, "reference": "r1", "reference_set": "S", "split": "low", "metric": "lp",
                    "image": f"{i:03d}", "value": float(v)} for i, v in enumerate(vals)]  # fmt: skip
    return pd.DataFrame(tidy), pd.DataFrame(images)


def test_paired_test_resolves_what_ci_overlap_calls_a_tie() -> None:
    """Known answer: a constant offset of 0.02 under a per-image spread of 0.2. The 95% CIs of the two means
    overlap (the old test: tied), the paired difference is 0.02 with a tight CI (resolved)."""
    from benchmark.report.ranking import paired_values
    from benchmark.report.summarize import summarize

    tidy, images = _per_image_world(0.02)
    summary = summarize(tidy, images)
    board = rank(summary, "lp", ["lp"], paired=paired_values(tidy, images, None))
    second = board.iloc[1]
    assert list(board["method"]) == ["a", "b"]
    assert bool(second["ci_overlap_above"]) is True
    assert second["resolved_above"] is True and second["comparison"].startswith("paired bootstrap of per-image")
    assert second["diff_above"] == pytest.approx(0.02, abs=0.002)
    assert 0 < second["diff_ci_low"] < 0.02 < second["diff_ci_high"] < 0.03
    assert second["diff_level"] == pytest.approx(0.95)  # one adjacent comparison: no correction


def test_paired_test_does_not_resolve_a_null_difference() -> None:
    from benchmark.report.ranking import paired_values
    from benchmark.report.summarize import summarize

    tidy, images = _per_image_world(0.0)
    board = rank(summarize(tidy, images), "lp", ["lp"], paired=paired_values(tidy, images, None))
    assert board.iloc[1]["resolved_above"] is False


def test_set_level_metrics_compare_paired_replicates_with_bonferroni() -> None:
    """Set-level metric: replicates over shared resamples. Three methods = two comparisons, level 97.5%."""
    import numpy as np

    rng = np.random.default_rng(1)
    common = rng.normal(0, 5, 200)  # the resample-to-resample variation every method shares
    reps = []
    for method, shift in (("a", 50.0), ("b", 50.5), ("c", 50.5)):
        own = rng.normal(0, 0.05, 200)
        reps += [{"method": method, "reference": "r1", "reference_set": "S", "split": "low", "metric": "fid",
                  "replicate": i, "value": shift + c + o} for i, (c, o) in enumerate(zip(common, own))]  # fmt: skip
    from benchmark.report.ranking import paired_values

    summary = summary_rows([(m, "low", "S", "fid", v, v - 10, v + 10, "lower") for m, v in
                            (("a", 50.0), ("b", 50.5), ("c", 50.51))])  # fmt: skip
    board = rank(summary, "fid", ["fid"], paired=paired_values(None, None, pd.DataFrame(reps)))
    assert list(board["method"]) == ["a", "b", "c"]
    assert list(board["ci_overlap_above"]) == [False, True, True]
    b, c = board.iloc[1], board.iloc[2]
    assert b["resolved_above"] is True and b["comparison"].startswith("paired bootstrap over inputs")
    assert c["resolved_above"] is False
    assert b["diff_level"] == pytest.approx(0.975)


def test_without_paired_values_the_ci_overlap_fallback_is_named() -> None:
    board = _board([("a", "low", "S", "fid", 10.0, 9.0, 11.0, "lower"), ("b", "low", "S", "fid", 10.5, 9.5, 11.5,
                                                                       "lower")])  # fmt: skip
    assert board.iloc[1]["resolved_above"] is False and "CI overlap" in board.iloc[1]["comparison"]
