from __future__ import annotations

import json

import pytest

from benchmark.errors import AssetError, PairingError
from benchmark.metrics.evaluate import describe_metrics, evaluate_folders


def test_evaluate_folders_json(folders):
    out = evaluate_folders(folders["content"], folders["stylized"], folders["style"],
                           ["lpips-alex", "ssim", "gt-lpips-vgg", "artfid"], ground_truth_dir=folders["gt"],
                           options={"artfid": {"random_weights": True, "dims": 64, "allow_small_n": True,
                                                      "n_boot": 10}},
                           resolution=32)  # fmt: skip
    text = json.dumps(out, allow_nan=False)
    assert set(out["metrics"]) == {"lpips-alex", "ssim", "gt-lpips-vgg", "artfid"}
    assert out["files"]["stylized"]["n"] == 6 and out["files"]["style"]["n"] == 1
    assert out["protocol"]["resolution"] == 32 and "PIL" in out["protocol"]["resizer"]
    assert "random weights (smoke)" in text


def test_evaluate_missing_weights_and_record(folders):
    with pytest.raises(AssetError, match="pt_inception-2015-12-05"):
        evaluate_folders(
            folders["content"], folders["stylized"], folders["style"], ["fid-inception2015"], resolution=32
        )
    out = evaluate_folders(folders["content"], folders["stylized"], folders["style"], ["fid-inception2015", "ssim"],
                           resolution=32, on_error="record")  # fmt: skip
    assert "fid-inception2015" in out["errors"] and "ssim" in out["metrics"]


def test_evaluate_pairing_error(folders):
    (folders["stylized"] / "img01.png").unlink()
    with pytest.raises(PairingError):
        evaluate_folders(folders["content"], folders["stylized"], folders["style"], ["ssim"], resolution=32)


def test_describe_metrics():
    rows = describe_metrics()
    json.dumps(rows, allow_nan=False)
    by_name = {r["name"]: r for r in rows}
    assert by_name["artfid"]["direction"] == "lower" and by_name["ssim"]["direction"] == "higher"
    assert "style set" in by_name["artfid"]["protocol"]


def test_options_for_unselected_metrics_are_ignored(folders):
    out = evaluate_folders(
        folders["content"],
        folders["stylized"],
        folders["style"],
        ["ssim"],
        options={"artfid": {"dims": 64}},
        resolution=32,
    )
    assert out["protocol"]["ignored_options"] == ["artfid"]
