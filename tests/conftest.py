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


def xdist_scope_of(relpath: str) -> str:
    """The scope of a test file on the pytest-xdist workers (``make test``: ``-n 2 --dist loadscope``).

    Files of one folder share session- and package-scoped fixtures (tiny models, one Slurm cluster for
    tests/runner), so a folder is one scope and those fixtures are built once; each long file is a scope of its own."""
    if relpath in LONG_FIRST and not relpath.startswith("tests/runner/"):
        return relpath
    parts = relpath.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else relpath


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadscope`` with our scopes (:func:`xdist_scope_of`) instead of one scope per file.

    (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest-xdist 3.8 renames node ids for it
    through ``item._nodeid``, which pytest 9 no longer reads, so every test became a group of its own.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope_of(nodeid.split("::", 1)[0])

    return FolderScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (with ``--no-loadscope-reorder`` the workers take scopes in this order)."""
    root = Path(str(config.rootpath))
    rank = {path: i for i, path in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.path)).relative_to(root).as_posix(), len(rank)))  # stable
