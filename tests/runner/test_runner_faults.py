"""The runner on a toy DVC pipeline (real DVC, seconds per stage): plan, GPU pool, faults, resume."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.runner.toy import MIDDLE, commit, make_toy, set_toy, start_run
from tests.runner.workspace import run

pytestmark = pytest.mark.slow
ALL = ["a", *MIDDLE, "report"]


def osasis_run(ws: Path, *args: str) -> tuple[int, str]:
    result = run([sys.executable, "-m", "benchmark", "run", "--repo", str(ws), *args], ws, check=False)
    return result.returncode, result.stdout + result.stderr


def latest(ws: Path) -> Path:
    return ws / ".runner" / (ws / ".runner" / "LATEST").read_text().strip()


def records(run_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((run_dir / "records").glob("*.json"))
            if not p.name.endswith(".spec.json")]  # fmt: skip


def dvc_status_clean(ws: Path) -> bool:
    out = run([sys.executable, "-m", "dvc", "status"], ws).stdout
    return "up to date" in out


def wait_for(predicate, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_dry_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    ws = make_toy(tmp_path / "toy")
    code, out = osasis_run(ws, "--dry", "--gpus", "0,1")
    assert code == 0, out
    assert "6 stale stage(s)" in out
    lines = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [line.split()[1] for line in lines] == ALL  # topological, upstream first
    assert "gpu=0" in lines[-1] and all("gpu=1" in line for line in lines[:-1])  # report is a CPU stage
    assert not (ws / "out").exists() and not (ws / "dvc.lock").exists()


def test_gpu_ids_are_exclusive_and_second_run_does_nothing(tmp_path: Path) -> None:
    ws = make_toy(tmp_path / "toy", sleeps=dict.fromkeys(MIDDLE, 2.0))
    code, out = osasis_run(ws, "--gpus", "0,1", "--jobs", "4", "--status-every", "1")
    assert code == 0, out
    assert "dvc status: data and pipelines are up to date" in out
    recs = records(latest(ws))
    assert sorted(r["stage"] for r in recs) == sorted(ALL)
    for r in recs:
        assert r["cuda_visible_devices"] == ("" if r["stage"] == "report" else r["cuda_visible_devices"])
        if r["stage"] != "report":
            assert r["cuda_visible_devices"] in ("0", "1"), r
    gpu = [r for r in recs if r["gpus"]]
    for i, x in enumerate(gpu):
        for y in gpu[i + 1:]:
            overlap = x["t_dvc_start"] < y["t_dvc_end"] and y["t_dvc_start"] < x["t_dvc_end"]
            assert not (overlap and x["cuda_visible_devices"] == y["cuda_visible_devices"]), (x, y)
    # with 4 slots and 2 GPUs, two GPU stages did run at the same time (on different ids)
    assert any(x["t_dvc_start"] < y["t_dvc_end"] and y["t_dvc_start"] < x["t_dvc_end"]
               for i, x in enumerate(gpu) for y in gpu[i + 1:])  # fmt: skip
    assert dvc_status_clean(ws)
    code, out = osasis_run(ws, "--gpus", "0,1")
    assert code == 0 and "0 stale stage(s)" in out, out


def test_failed_stage_blocks_descendants_and_siblings_finish(tmp_path: Path) -> None:
    ws = make_toy(tmp_path / "toy", sleeps={"b2": 1.0}, fail=("b1",), middle=("b1", "b2"))
    code, out = osasis_run(ws, "--jobs", "2", "--gpus", "0,1")
    assert code == 1, out
    run_dir = latest(ws)
    log = run_dir / "logs" / "b1.log"
    assert "failed:  b1 (exit code" in out and str(log) in out
    assert "blocked: report (upstream failed: b1)" in out
    assert "failed to reproduce 'b1'" in log.read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {n: s["state"] for n, s in summary["stages"].items()} == {
        "a": "done", "b1": "failed", "b2": "done", "report": "blocked"}
    assert (ws / "out" / "b2" / "value.txt").is_file()
    # fix the stage: only b1 and its descendant run again
    set_toy(ws, "b1", fail=False)
    commit(ws, "fix b1")
    code, out = osasis_run(ws, "--gpus", "0,1")
    assert code == 0, out
    assert sorted(r["stage"] for r in records(latest(ws))) == ["b1", "report"]


def test_interrupt_then_resume_runs_only_what_is_stale(tmp_path: Path) -> None:
    ws = make_toy(tmp_path / "toy", sleeps={"b2": 10.0}, middle=("b1", "b2"))
    proc = start_run(ws, "--jobs", "2", "--gpus", "0,1", "--status-every", "1")
    try:
        wait_for(lambda: (ws / ".runner" / "LATEST").is_file(), what="the run to start")
        run_dir = latest(ws)

        def state(name: str) -> str | None:
            path = run_dir / "records" / f"{name}.1.json"
            return json.loads(path.read_text())["state"] if path.is_file() else None

        wait_for(lambda: state("a") == "done" and state("b2") == "running", what="a done and b2 running")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    assert "interrupted; run the same command again to resume" in out
    assert not (ws / "out" / "b2" / "value.txt").exists()
    done_before = {r["stage"] for r in records(run_dir) if r["state"] == "done"}
    assert "a" in done_before and "report" not in done_before
    code, out = osasis_run(ws, "--gpus", "0,1")
    assert code == 0, out
    resumed = sorted(r["stage"] for r in records(latest(ws)))
    assert resumed == sorted({"b1", "b2", "report"} - done_before)
    assert dvc_status_clean(ws)


def test_killed_stage_is_retried_past_its_stale_lock(tmp_path: Path) -> None:
    """SIGKILL of a running stage (a preempted job): DVC's rwlock keeps the dead worker's entry; the retry
    must get past it, and the run must end clean."""
    ws = make_toy(tmp_path / "toy", sleeps={"b1": 30.0}, middle=("b1",))
    proc = start_run(ws, "--jobs", "2", "--gpus", "0,1", "--retries", "1")
    try:
        wait_for(lambda: (ws / ".runner" / "LATEST").is_file(), what="the run to start")
        first = latest(ws) / "records" / "b1.1.json"
        wait_for(lambda: first.is_file() and json.loads(first.read_text())["state"] == "running", what="b1 running")
        time.sleep(3)  # inside the stage's command, with DVC's write lock on out/b1 held
        os.killpg(json.loads(first.read_text())["pid"], signal.SIGKILL)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "retry    b1: killed by signal 9 (attempt 1 of 2)" in out
    summary = json.loads((latest(ws) / "summary.json").read_text())
    assert summary["stages"]["b1"]["attempts"] == 2 and summary["dvc_status_clean"] is True
    assert "had been killed. Auto removed it from the lock file" in (latest(ws) / "logs" / "b1.log").read_text()


def test_a_stale_lock_entry_does_not_block_a_run(tmp_path: Path) -> None:
    """The rwlock entry a killed worker leaves behind (a dead PID holding the write lock on an output)."""
    ws = make_toy(tmp_path / "toy", middle=("b1",))
    dead = 2**22 + 12345  # above the default pid_max: no such process
    lock_dir = ws / ".dvc" / "tmp"
    lock_dir.mkdir(parents=True, exist_ok=True)
    entry = {"pid": dead, "cmd": "dvc repro -s b1"}
    (lock_dir / "rwlock").write_text(json.dumps({"write": {str(ws / "out" / "b1"): entry}, "read": {}}))
    code, out = osasis_run(ws, "--gpus", "0,1", "--jobs", "2")
    assert code == 0, out
    # DVC drops the dead entry the first time it reads the lock file (here: the coordinator's dvc status)
    assert "had been killed. Auto removed it from the lock file" in out
    assert json.loads((lock_dir / "rwlock").read_text()).get("write", {}) == {}


def test_dirty_work_tree_is_refused(tmp_path: Path) -> None:
    ws = make_toy(tmp_path / "toy")
    (ws / "step.py").write_text((ws / "step.py").read_text() + "\n# edit\n")
    code, out = osasis_run(ws, "--gpus", "0,1")
    assert code == 2 and "uncommitted changes (step.py)" in out, out
    assert not (ws / "out").exists()
    code, out = osasis_run(ws, "--dry", "--gpus", "0,1")  # the plan still prints, with a warning
    assert code == 0 and "a real run would refuse" in out


def test_bad_options_are_named_errors(tmp_path: Path) -> None:
    ws = make_toy(tmp_path / "toy")
    code, out = osasis_run(ws, "--gpus", "0,0")
    assert code == 2 and "--gpus lists an id twice" in out
    code, out = osasis_run(ws, "--gpus", "")  # no GPU, but every device stage wants one
    assert code == 2 and "needs a GPU but the local executor has none" in out
    code, out = osasis_run(ws, "--storage", "clone", "--gpus", "0")
    assert code == 2 and "needs a default DVC remote" in out
    assert "Traceback" not in out
