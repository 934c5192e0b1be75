"""Summaries: per-image bootstrap only for true per-image means; notes split safely."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark.report.summarize import summarize
from benchmark.report.tables import caption, split_notes

from .fakes import summary_rows


def _tidy(metric: str, values: dict[str, float], notes: str = "") -> pd.DataFrame:
    return pd.DataFrame([{"method": "m", "reference": r, "reference_set": "S", "split": "low", "metric": metric,
                          "value": v, "ci_low": v - 0.1, "ci_high": v + 0.1, "n": 2, "direction": "lower",
                          "notes": notes} for r, v in values.items()])  # fmt: skip


def _per_image(metric: str, values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(r, i, v) for r, vs in values.items() for i, v in enumerate(vs)]
    return pd.DataFrame([{"method": "m", "reference": r, "reference_set": "S", "split": "low", "metric": metric,
                          "image": f"{i:05d}", "value": v} for r, i, v in rows])  # fmt: skip


def test_per_image_metric_is_bootstrapped_over_inputs() -> None:
    out = summarize(_tidy("lpips", {"r1": 0.2, "r2": 0.4}), _per_image("lpips", {"r1": [0.1, 0.3], "r2": [0.3, 0.5]}))
    row = out.iloc[0]
    assert row["value"] == pytest.approx(0.3) and row["n_images"] == 2 and row["n_references"] == 2


def test_set_level_metric_with_auxiliary_per_image_values_is_not_averaged_from_them() -> None:
    # ArtFID stores its LPIPS term per image: the summary must keep the ArtFID values
    out = summarize(_tidy("artfid", {"r1": 1.5, "r2": 1.7}), _per_image("artfid", {"r1": [0.1, 0.3], "r2": [0.2, 0.4]}))
    row = out.iloc[0]
    assert row["value"] == pytest.approx(1.6) and row["ci_low"] == pytest.approx(1.5)


def test_notes_split_respects_brackets_and_caption_keeps_common_notes() -> None:
    assert split_notes("a; b (x; y); c [d; e]") == ["a", "b (x; y)", "c [d; e]"]
    assert split_notes(float("nan")) == []
    summary = summary_rows([("a", "low", "S", "fid", 1.0, 0.9, 1.1, "lower"),
                            ("b", "low", "S", "fid", 2.0, 1.9, 2.1, "lower")])  # fmt: skip
    summary["notes"] = ["random weights; n=3", "random weights; n=4"]
    text = caption(summary)
    assert "fid: random weights (+2 cell-specific notes in the CSV)." in text


def test_results_under_two_metric_protocols_are_refused() -> None:
    from benchmark.metrics.protocols import ProtocolMixError

    tidy = pd.concat([_tidy("artfid", {"r1": 1.5}).assign(protocol_mode="reference"),
                      _tidy("structure", {"r1": 0.1}).assign(protocol_mode="clean"),
                      _tidy("lpips", {"r1": 0.2}).assign(protocol_mode=None)])  # fmt: skip
    with pytest.raises(ProtocolMixError, match="different metric protocols"):
        summarize(tidy, _per_image("lpips", {"r1": [0.2]}))
    same = tidy.assign(protocol_mode=["reference", "reference", None])
    assert len(summarize(same, _per_image("lpips", {"r1": [0.2]}))) == 3
