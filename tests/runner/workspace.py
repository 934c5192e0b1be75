"""The runner tests' tiny pipeline: the real ``dvc.yaml`` on a committed copy of the repository, with the CI
parameters of ``tests/pipeline`` cut to one weight-free method on two references (10 stages), so every
executor can run it end to end in about a minute. Also used by ``scripts/bench_runner.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from benchmark.assets import REPO_ROOT
from tests.pipeline.test_dvc_smoke import _copy_repo, _tiny_params

# products that must be byte-identical between executors; costs.csv and every cost.json hold measured timings
PRODUCTS = ("results/metrics", "results/tidy.csv", "results/per_image.csv", "results/stylized", "results/edits",
            "reports/tables", "reports/figures", "reports/index.html", "data/splits")  # fmt: skip
TIMINGS = "cost.json"


def runner_params() -> dict:
    smoke = yaml.safe_load((REPO_ROOT / "profiles" / "smoke.yaml").read_text())
    params = _tiny_params(smoke)
    params["methods"] = ["color-stats-transfer"]
    params["ablation"]["methods"] = []
    params["text_edit"]["method"] = "color-stats-transfer"  # no text editing: that method has none
    params["text_edit"]["edits"], params["text_edit"]["targets"] = {}, {}
    params["evaluate"]["metrics"] = ["lpips-alex", "ssim"]
    params["evaluate"]["ground_truth_metrics"] = ["gt-ssim"]
    params["runner"] = {"gpu": "always"}  # every device stage holds a (fake) GPU id, so the GPU pool is exercised
    return params


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "HF_HUB_OFFLINE": "1", "OSASIS_BENCH_PROGRESS": "0", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}  # fmt: skip


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-4000:]}")  # fmt: skip
    return result


def make_base(dest: Path) -> Path:
    """A committed copy with ``fetch`` and ``prepare`` already reproduced (serially, by DVC)."""
    dest.mkdir(parents=True, exist_ok=True)
    _copy_repo(dest)
    (dest / "params.yaml").write_text(yaml.safe_dump(runner_params(), sort_keys=False))
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "tiny runner pipeline"], dest)
    run([sys.executable, "-m", "dvc", "repro", "prepare"], dest)
    return dest


def clone_workspace(base: Path, dest: Path) -> Path:
    """A copy of ``base`` with its DVC cache, ``dvc.lock`` and outputs (same commit, same state)."""
    shutil.copytree(base, dest, symlinks=True)
    return dest


def osasis_run(ws: Path, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "benchmark", "run", *args], ws, check=check, timeout=timeout)


def product_files(ws: Path) -> dict[str, bytes]:
    files = {}
    for rel in PRODUCTS:
        path = ws / rel
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            if file.name == TIMINGS:
                continue
            data = file.read_bytes()
            if file.name == ".gitignore":  # DVC appends entries in the order stages finish
                data = b"\n".join(sorted(data.splitlines()))
            files[str(file.relative_to(ws))] = data
    return files


def assert_same_products(ws: Path, reference: Path) -> None:
    got, want = product_files(ws), product_files(reference)
    assert sorted(got) == sorted(want), sorted(set(got) ^ set(want))
    differ = [name for name in want if got[name] != want[name]]
    assert not differ, f"{len(differ)} product file(s) differ from the serial dvc repro: {differ[:10]}"
