"""Metric-agreement section: Spearman correlation with the ground-truth metric, oriented by direction."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmark.report.agreement import agreement, agreement_table


def _tidy() -> pd.DataFrame:
    rows = []
    for ref in ("r1", "r2"):
        for m, truth in zip(("a", "b", "c", "d"), (0.1, 0.2, 0.3, 0.4)):
            base = {"method": m, "reference": ref, "split": "low_density"}
            rows.append({**base, "metric": "gt-lpips-vgg", "value": truth, "direction": "lower"})
            rows.append({**base, "metric": "same", "value": truth * 2, "direction": "lower"})
            rows.append({**base, "metric": "flipped", "value": truth, "direction": "higher"})
            rows.append({**base, "metric": "constant", "value": 1.0, "direction": "lower"})
    return pd.DataFrame(rows)


def test_agreement_orients_by_direction() -> None:
    frame = agreement(_tidy(), "gt-lpips-vgg").set_index("metric")
    assert math.isclose(frame.loc["same", "rho_pooled"], 1.0)
    assert math.isclose(frame.loc["same", "rho_methods"], 1.0) and frame.loc["same", "n_groups"] == 2
    assert math.isclose(frame.loc["flipped", "rho_pooled"], -1.0)
    assert math.isnan(frame.loc["constant", "rho_pooled"])
    assert "gt-lpips-vgg" not in frame.index


def test_agreement_table_and_missing_truth() -> None:
    table = agreement_table(agreement(_tidy(), "gt-lpips-vgg"), "gt-lpips-vgg")
    assert "+1.00" in table.to_markdown() and "–" in table.to_markdown()
    assert agreement(_tidy(), "gt-ssim").empty


def test_density_split_table(tmp_path) -> None:
    import json

    from benchmark.report.agreement import density_split_table

    path = tmp_path / "split.json"
    assert density_split_table(path) is None
    score = {"k": 4, "hits": 2, "n_rare": 5, "precision": 0.5, "recall": 0.4}
    path.write_text(json.dumps({"settings": {"N": 20, "rare_attribute_precision_at_k": score}}))
    text = density_split_table(path).to_markdown()
    assert "0.50" in text and "0.25" in text  # precision and base rate 5/20


def test_chance_tail_matches_scipy_hypergeometric() -> None:
    from scipy.stats import hypergeom

    from benchmark.report.agreement import chance_tail

    for n, n_rare, k, hits in [(200, 32, 12, 3), (200, 32, 12, 0), (50, 5, 10, 5), (20, 20, 4, 4), (30, 2, 5, 3)]:
        assert chance_tail(n, n_rare, k, hits) == pytest.approx(hypergeom.sf(hits - 1, n, n_rare, k), abs=1e-12)
