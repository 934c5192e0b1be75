"""The ranking rule: direction, shared ranks on ties, tie-breaks, CI-overlap flags, costs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from report.fakes import summary_rows

from benchmark.leaderboard.ranking import SUBMISSION_DEVICE, costs_per_set, rank, tables


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
