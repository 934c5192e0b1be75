"""Test-wide settings (offline hubs, no DVC analytics, quiet progress, the torchvision shim) and shared fixtures."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("OSASIS_BENCH_PROGRESS", "0")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

import benchmark._tv_shim  # noqa: E402,F401  (before anything imports torchvision)

# One torch thread per core: ``make test`` runs two pytest-xdist workers on the 2-core machine.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // _WORKERS)))


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Temporary cache, weights and manifest directories, wired through the environment."""
    paths = {name: tmp_path / name for name in ("cache", "weights", "manifest")}
    for path in paths.values():
        path.mkdir()
    monkeypatch.setenv("OSASIS_BENCH_CACHE", str(paths["cache"]))
    monkeypatch.setenv("OSASIS_BENCH_WEIGHTS", str(paths["weights"]))
    monkeypatch.delenv("OSASIS_BENCH_OFFLINE", raising=False)
    return paths


#: Test files that run longest (minutes each); they are scheduled first so the other worker takes the rest.
LONG_FIRST = ("tests/dryrun/test_paper_dryrun.py", "tests/pipeline/test_dvc_smoke.py",
              "tests/runner/test_runner_pipeline.py")


def xdist_group_of(relpath: str) -> str:
    """The pytest-xdist group of a test file (``make test`` runs ``-n 2 --dist loadgroup --no-loadscope-reorder``).

    Files of one folder share session- and package-scoped fixtures (tiny models, one Slurm cluster for
    tests/runner), so a folder is one group and those fixtures are built once; each long file is a group of its own."""
    if relpath in LONG_FIRST and not relpath.startswith("tests/runner/"):
        return relpath
    parts = relpath.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else relpath


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))

    def relpath(item: pytest.Item) -> str:
        return Path(str(item.path)).relative_to(root).as_posix()

    for item in items:
        item.add_marker(pytest.mark.xdist_group(xdist_group_of(relpath(item))))
    rank = {path: i for i, path in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(relpath(item), len(rank)))  # stable: the rest keep their order
