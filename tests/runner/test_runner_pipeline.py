"""``osasis-bench run`` on the real ``dvc.yaml`` (tiny CI parameters) with each executor: the products must be
byte-identical to a serial ``dvc repro`` of the same commit, ``dvc status`` clean, and a second run a no-op."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.runner.workspace import assert_same_products, osasis_run, run

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]
TAIL = 8  # stages after fetch and prepare (which the base already ran): 2 finetune, 2 stylize, evaluate,
# text-edit, aggregate, report


def _summary(ws: Path) -> dict:
    latest = (ws / ".runner" / "LATEST").read_text().strip()
    return json.loads((ws / ".runner" / latest / "summary.json").read_text())


def _records(ws: Path) -> list[dict]:
    latest = (ws / ".runner" / "LATEST").read_text().strip()
    paths = sorted((ws / ".runner" / latest / "records").glob("*.json"))
    return [json.loads(p.read_text()) for p in paths if not p.name.endswith(".spec.json")]


def _check_run(ws: Path, reference: Path, out: str) -> None:
    assert f"{TAIL} stale stage(s)" in out, out
    summary = _summary(ws)
    assert summary["exit_code"] == 0 and summary["dvc_status_clean"] is True, summary
    assert all(s["state"] == "done" for s in summary["stages"].values())
    assert_same_products(ws, reference)
    status = run([sys.executable, "-m", "dvc", "status"], ws).stdout
    assert "up to date" in status, status


def _check_gpus(ws: Path, ids: set[str]) -> None:
    for r in _records(ws):
        if r["stage"] in ("aggregate", "report"):
            assert r["cuda_visible_devices"] == "", r
        else:
            assert r["cuda_visible_devices"] in ids, r


def _second_run_does_nothing(ws: Path, *args: str) -> None:
    out = osasis_run(ws, *args).stderr
    assert "0 stale stage(s)" in out and "data and pipelines are up to date" in out, out


def test_local_executor_with_fake_gpus(workspace: Path, serial_reference: Path) -> None:
    out = osasis_run(workspace, "--gpus", "0,1", "--jobs", "2").stderr
    _check_run(workspace, serial_reference, out)
    _check_gpus(workspace, {"0", "1"})
    _second_run_does_nothing(workspace, "--gpus", "0,1")


def test_slurm_executor_without_a_shared_filesystem(workspace: Path, serial_reference: Path, slurm_cluster,
                                                    tmp_path: Path) -> None:  # fmt: skip
    """A real single-node Slurm; storage ``clone``: workers clone the commit, pull and push through a DVC
    remote (a local directory), and the coordinator restores each of their stages from the run-cache."""
    remote = tmp_path / "dvc-remote"
    remote.mkdir()
    run([sys.executable, "-m", "dvc", "remote", "add", "--local", "--default", "store", str(remote)], workspace)
    out = osasis_run(workspace, "--executor", "slurm", "--storage", "clone", "--gpus", "0,1").stderr
    _check_run(workspace, serial_reference, out)
    _check_gpus(workspace, {"0", "1"})  # set by Slurm from --gres=gpu:1 (fake GPU devices)
    stages = _summary(workspace)["stages"]
    on_workers = [n for n, s in stages.items() if s["restored"] is not None]
    assert sorted(on_workers) == sorted(n for n in stages if n.split("@")[0] in ("finetune", "stylize", "text-edit"))
    assert all(stages[n]["restored"] for n in on_workers), stages  # from the run-cache, not run again
    assert all(stages[n]["where"].startswith("slurm job") for n in on_workers)
    _second_run_does_nothing(workspace, "--executor", "slurm", "--storage", "clone")


def test_ray_executor_on_a_local_cluster(workspace: Path, serial_reference: Path, ray_available) -> None:
    out = osasis_run(workspace, "--executor", "ray", "--gpus", "0,1", "--jobs", "2").stderr
    _check_run(workspace, serial_reference, out)
    _check_gpus(workspace, {"0", "1"})  # set by Ray for num_gpus=1 tasks
    assert all(s["where"].startswith("ray ") for s in _summary(workspace)["stages"].values())
    _second_run_does_nothing(workspace, "--executor", "local", "--gpus", "0,1")
