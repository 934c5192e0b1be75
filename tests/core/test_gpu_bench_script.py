"""scripts/gpu_bench.sh and its driver on CPU: syntax, argument handling, and the tiny-config smoke mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_bench.sh"


def _sh(*args: str, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHON": sys.executable,
           "OMP_NUM_THREADS": "1", "HOME": str(tmp or ROOT)}  # fmt: skip
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_syntax_help_and_bad_arguments(tmp_path: Path) -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
    help_ = _sh("--help")
    assert help_.returncode == 0 and "--cpu-smoke" in help_.stdout
    bad = _sh("--bogus")
    assert bad.returncode == 2 and "unknown argument" in bad.stderr
    assert _sh("--out").returncode != 0  # a missing value is refused


def test_dry_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    out = tmp_path / "perf"
    dry = _sh("--dry", "--out", str(out), "--table", str(tmp_path / "PERF.md"))
    assert dry.returncode == 0, dry.stderr
    assert "plan: pytest" in dry.stdout and "gpu_bench.py --device cuda" in dry.stdout
    assert not out.exists()


def test_driver_rejects_bad_input() -> None:
    from scripts.gpu_bench import main

    assert main(["--stages", "finetune,nope", "--device", "cpu"]) == 2


@pytest.mark.slow
def test_cpu_smoke_writes_json_and_table(tmp_path: Path) -> None:
    run = _sh("--cpu-smoke", "--out", str(tmp_path / "perf"), "--table", str(tmp_path / "PERF.md"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(next((tmp_path / "perf").glob("*-smoke.json")).read_text())
    assert result["smoke"] and result["random_weights"]
    ft = result["stages"]["osasis-finetune"]
    assert set(ft) == {"official", "fast"} and all(r["s_per_iteration"] > 0 for r in ft.values())
    assert result["stages"]["osasis-stylize"]["best_batch"] in (1, 2)
    assert set(result["stages"]["metrics"]) == {"fid-inception", "dino-vitb8", "lpips-alex"}
    table = (tmp_path / "PERF.md").read_text()
    assert "SMOKE" in table and "34 GB" in table and "OSASIS fine-tune, fast recipe" in table
