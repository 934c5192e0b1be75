"""Interrupted commands leave nothing behind; the leaderboard ranks only complete submissions."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import World, digest_tree
from report.fakes import write_project, write_submission

from benchmark import cli
from benchmark.methods.color_stats import ColorStatsTransfer
from benchmark.report.build import build_report
from benchmark.submission import submit
from benchmark.submission.submit import run_submit, submission_status


def fake_evaluate_folders(content_dir, stylized_dir, style, metrics, ground_truth_dir=None, device="cpu",
                          options=None, seed=0, resolution=256):  # fmt: skip
    names = sorted(p.stem for p in Path(stylized_dir).glob("*.png"))
    per_image = {n: 1.0 + 0.01 * i for i, n in enumerate(names)}
    return {"metrics": {"artfid": {"value": 1.01, "ci_low": 1.0, "ci_high": 1.02, "n": len(names),
                                   "direction": "lower", "protocol": "fake", "notes": [], "per_image": per_image}}}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path)
    write_submission(tmp_path / "incoming")
    monkeypatch.setattr("benchmark.metrics.evaluate.evaluate_folders", fake_evaluate_folders)
    return tmp_path


def test_submission_failing_midway_leaves_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = submit._json
    written = []

    def failing_json(path: Path, payload: dict) -> None:  # the second metrics file cannot be written
        if len(written) == 1:
            raise RuntimeError("disk full (simulated)")
        written.append(path)
        real(path, payload)

    monkeypatch.setattr(submit, "_json", failing_json)
    with pytest.raises(RuntimeError, match="simulated"):
        run_submit("mine", Path("incoming"), Path("results/submissions/mine"), Path("params.yaml"))
    assert written, "the failure must happen after some output was written"
    subs = project / "results/submissions"
    assert not subs.exists() or not list(subs.iterdir()), list(subs.iterdir())


def test_failed_resubmission_keeps_the_previous_complete_one(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = Path("results/submissions/mine")
    run_submit("mine", Path("incoming"), out, Path("params.yaml"))
    before = digest_tree(out)
    monkeypatch.setattr(submit, "evaluate_submission", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert cli.main(["submit", "--name", "mine", "--folder", "incoming"]) == 130
    assert digest_tree(out) == before
    assert [p.name for p in out.parent.iterdir()] == ["mine"]


def test_leaderboard_ranks_only_complete_submissions(project: Path) -> None:
    run_submit("complete", Path("incoming"), Path("results/submissions/complete"), Path("params.yaml"))
    half = project / "results/submissions/half"  # e.g. copied by hand from an interrupted older version
    (half / "metrics").mkdir(parents=True)
    for f in (project / "results/submissions/complete/metrics").glob("*.json"):
        (half / "metrics" / f.name).write_text(f.read_text().replace('"complete"', '"half"'))
    staging = project / "results/submissions/.other.tmp-1-ab"  # a submission in progress
    (staging / "metrics").mkdir(parents=True)
    complete, incomplete = submission_status(project / "results/submissions")
    assert [p.name for p in complete] == ["complete"]
    assert incomplete == [("half", "no submission.json (the submission did not finish)")]
    build_report(Path("results/tidy.csv"), Path("params.yaml"), Path("reports"))
    board = (project / "reports/tables/leaderboard.md").read_text()
    ranked, listed = board.split("### Incomplete submissions")
    assert "| complete " in ranked and "half" not in ranked and "- half: no submission.json" in listed
    assert "half" not in (project / "reports/tables/leaderboard.csv").read_text()


def test_stylize_failing_midway_keeps_previous_output(world: World, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    out = world.root / "styled"
    assert run_cli(*world.stylize_args(out, "--batch-size", 1)).code == 0
    before = digest_tree(out)
    calls = []
    real = ColorStatsTransfer.stylize

    def fail_on_second(self, batch, names):
        calls.append(names)
        if len(calls) == 2:
            raise RuntimeError("crash (simulated)")
        return real(self, batch, names)

    monkeypatch.setattr(ColorStatsTransfer, "stylize", fail_on_second)
    with pytest.raises(RuntimeError, match="simulated"):
        run_cli(*world.stylize_args(out, "--batch-size", 1))
    assert digest_tree(out) == before
    assert not [p for p in world.root.iterdir() if p.name.startswith(".styled")]
