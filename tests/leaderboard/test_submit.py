"""A results-only submission end to end: CLI validation, copy, evaluation (a stand-in metric), leaderboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report.fakes import write_project, write_submission

from benchmark import cli
from benchmark.report.build import build_report
from benchmark.submission.submit import run_submit


def fake_evaluate_folders(content_dir, stylized_dir, style, metrics, ground_truth_dir=None, device="cpu",
                          options=None, seed=0, resolution=256) -> dict[str, Any]:  # fmt: skip
    """Stand-in for benchmark.metrics.evaluate.evaluate_folders: artfid 1.0 (beats every fake method)."""
    names = sorted(p.stem for p in Path(stylized_dir).glob("*.png"))
    assert names == sorted(p.stem for p in Path(content_dir).glob("*.png"))
    per_image = {n: 1.0 + 0.01 * i for i, n in enumerate(names)}
    return {"metrics": {"artfid": {"value": 1.01, "ci_low": 1.0, "ci_high": 1.02, "n": len(names), "direction": "lower",
                                   "protocol": "fake", "notes": [], "per_image": per_image}}}  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path)
    write_submission(tmp_path / "incoming")
    monkeypatch.setattr("benchmark.metrics.evaluate.evaluate_folders", fake_evaluate_folders)
    return tmp_path


def test_cli_validate_only_reports_problems(project: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["submit", "--name", "mine", "--folder", "incoming", "--validate-only"]) == 0
    (project / "incoming/aahq_1/low_density/00001.png").unlink()
    assert cli.main(["submit", "--name", "mine", "--folder", "incoming", "--validate-only"]) == 2
    assert not (project / "results/submissions").exists()


def test_submission_joins_the_leaderboard(project: Path) -> None:
    record = run_submit("mine", Path("incoming"), Path("results/submissions/mine"), Path("params.yaml"))
    out = project / "results/submissions/mine"
    assert record["n_files"] == 18 and len(record["sha256"]) == 18
    assert (out / "stylized/aahq_1/low_density/00001.png").read_bytes() == \
        (project / "incoming/aahq_1/low_density/00001.png").read_bytes()
    cell = json.loads((out / "metrics/aahq_1.json").read_text())
    assert cell["method"] == "mine" and cell["reference_set"] == "AAHQ" and set(cell["splits"]) == {"low_density",
                                                                                                    "high_density"}
    build_report(Path("results/tidy.csv"), Path("params.yaml"), Path("reports"))
    board = (project / "reports/tables/leaderboard.md").read_text()
    low_aahq = board.split("### Leaderboard: low_density · AAHQ")[1].split("###")[0]
    first = next(line for line in low_aahq.splitlines() if line.startswith("| 1 "))
    assert "| mine " in first and "results-only submission" in first
    assert "mine" not in (project / "reports/tables/table1.md").read_text()
    assert "mine,submission" in (project / "reports/tables/leaderboard.csv").read_text()
