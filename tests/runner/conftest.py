"""Fixtures of the runner tests: the tiny pipeline (a prepared base and its serial ``dvc repro``), a real
single-node Slurm (``scripts/cluster/slurm-local.sh``) and Ray.

Outside CI a missing component skips its test with the reason; in CI (``CI=true``) it is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.assets import REPO_ROOT
from tests.runner.workspace import clone_workspace, make_base, run

CLUSTER = REPO_ROOT / "scripts" / "cluster"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the runner's cluster tests must run in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def runner_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        missing("git is not installed")
    return make_base(tmp_path_factory.mktemp("runner") / "base")


@pytest.fixture(scope="session")
def serial_reference(runner_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same commit reproduced by a plain serial ``dvc repro``."""
    ws = clone_workspace(runner_base, tmp_path_factory.mktemp("runner") / "serial")
    run([sys.executable, "-m", "dvc", "repro"], ws)
    return ws


@pytest.fixture
def workspace(runner_base: Path, tmp_path: Path) -> Path:
    return clone_workspace(runner_base, tmp_path / "ws")


def _slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    probe = subprocess.run(["timeout", "5", "sinfo", "-h", "-n", "localhost", "-o", "%T"], capture_output=True,
                           text=True)  # fmt: skip
    return probe.returncode == 0 and probe.stdout.strip() in ("idle", "mixed", "allocated", "completing")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real single-node Slurm with 2 fake GPUs; started here (and stopped after) unless already up."""
    try:
        import submitit  # noqa: F401
    except ImportError:
        missing("submitit is not installed (pip install 'osasis-bench[slurm]')")
    started = False
    if not _slurm_up():
        if os.geteuid() != 0 or not (shutil.which("slurmctld") or shutil.which("apt-get")):
            missing("a local Slurm needs root and Debian's slurm-wlm + munge (scripts/cluster/slurm-local.sh)")
        result = subprocess.run(["bash", str(CLUSTER / "slurm-local.sh"), "start"], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"local Slurm did not start:\n{result.stdout}\n{result.stderr}")
        started = True
    shim = tmp_path_factory.mktemp("shim")
    shutil.copy(CLUSTER / "sacct-shim", shim / "sacct")  # no slurmdbd: submitit polls squeue through it
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{shim}{os.pathsep}{old_path}"
    try:
        yield
    finally:
        os.environ["PATH"] = old_path
        if started:
            subprocess.run(["bash", str(CLUSTER / "slurm-local.sh"), "stop"], check=False)


@pytest.fixture(scope="session")
def ray_available() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        missing("ray is not installed (optional extra: pip install 'osasis-bench[ray]')")
