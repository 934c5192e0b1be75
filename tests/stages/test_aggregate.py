"""The aggregate stage collects exactly the profile's cells (main matrix and ablation)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from benchmark.assets import REPO_ROOT
from benchmark.stages.aggregate import run_aggregate


def _cell(root: Path, method: str, reference: str, value: float) -> None:
    metric = {"value": value, "ci_low": value, "ci_high": value, "n": 1, "direction": "lower", "protocol": "p",
              "notes": [], "per_image": {"00001": value}}  # fmt: skip
    payload = {"method": method, "reference": reference, "reference_set": "s", "reference_kind": "in-domain",
               "splits": {"low_density": {"metrics": {"ssim": metric}}}}  # fmt: skip
    path = root / "metrics" / method / f"{reference}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    cost = root / "models" / method / reference / "cost.json"
    cost.parent.mkdir(parents=True, exist_ok=True)
    cost.write_text(json.dumps({"seconds": 1.0, "peak_memory_mb": 2.0, "device": "cpu"}))


def test_leftover_cells_of_another_profile_are_ignored(tmp_path: Path) -> None:
    params = yaml.safe_load((REPO_ROOT / "profiles" / "smoke.yaml").read_text())
    params["methods"], params["references"] = ["color-stats-transfer"], params["references"][:1]
    params["ablation"] = {"methods": ["osasis-spn-off"], "references": params["references"], "split": "low_density"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    ref = params["references"][0]
    _cell(tmp_path, "color-stats-transfer", ref, 0.5)
    _cell(tmp_path, "osasis-spn-off", ref, 0.25)
    _cell(tmp_path, "color-stats-transfer", "an_old_reference", 0.75)  # a reference dropped from the profile
    _cell(tmp_path, "removed-method", ref, 0.125)
    run_aggregate(tmp_path / "metrics", tmp_path / "models", tmp_path / "stylized", tmp_path / "tidy.csv",
                  params_path=tmp_path / "params.yaml")  # fmt: skip
    for name in ("tidy.csv", "per_image.csv", "costs.csv"):
        frame = pd.read_csv(tmp_path / name)
        cells = set(zip(frame["method"], frame["reference"]))
        assert cells == {("color-stats-transfer", ref), ("osasis-spn-off", ref)}, name
