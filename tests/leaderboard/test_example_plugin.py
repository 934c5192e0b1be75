"""The guide's example: pip-install examples/osasis_bench_example_method into a temporary --target folder
(offline, no build isolation, nothing left in the venv), then it is a registered method, passes the
MethodContract, runs through the runner and ends up on a leaderboard built from its metric JSON."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmark.assets import REPO_ROOT
from benchmark.methods import METHODS, runner
from benchmark.testing import MethodContract, make_test_images

EXAMPLE = REPO_ROOT / "examples" / "osasis_bench_example_method"


@pytest.fixture(scope="module", autouse=True)
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Install a copy of the example (the source tree stays clean) and expose its entry point."""
    tmp = tmp_path_factory.mktemp("example")
    source, target = tmp / "src", tmp / "site"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
           "--disable-pip-version-check", "--target", str(target), str(source)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    saved = (dict(METHODS._lazy), METHODS._entry_points_loaded)
    sys.path.insert(0, str(target))
    METHODS._entry_points_loaded = False  # re-read entry points now that the dist-info is on sys.path
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        METHODS._lazy.clear()
        METHODS._lazy.update(saved[0])
        METHODS._classes.pop("example-sketch", None)
        METHODS._entry_points_loaded = saved[1]
        for name in [m for m in sys.modules if m.startswith("osasis_bench_example_method")]:
            del sys.modules[name]


def test_entry_point_registers_the_method() -> None:
    assert "example-sketch" in METHODS.names()
    cls = METHODS.get("example-sketch")
    assert cls.__module__ == "osasis_bench_example_method.method" and cls.name == "example-sketch"


class TestExampleContract(MethodContract):
    method_name = "example-sketch"

    def tiny_config(self, tmp_path: Path) -> dict:
        return {"blur": 3}


def test_runner_metrics_and_leaderboard(tmp_path: Path) -> None:
    from benchmark.metrics.evaluate import evaluate_folders
    from benchmark.report.ranking import rank
    from benchmark.report.summarize import summarize
    from benchmark.stages.aggregate import collect
    from benchmark.stages.evaluate import _write

    inputs = tmp_path / "inputs"
    make_test_images(inputs, n=4, size=32)
    reference = make_test_images(tmp_path / "ref", n=1, size=32, seed=5)[0]
    for name in ("example-sketch", "color-stats-transfer"):
        method = runner.build(name, {}, "cpu", 0, 32)
        runner.finetune(method, reference, tmp_path / "models" / name)
        runner.stylize_folder(method, reference, tmp_path / "models" / name, inputs, tmp_path / "out" / name / "low")
        result = evaluate_folders(inputs, tmp_path / "out" / name / "low", [reference], ["ssim"], resolution=32)
        cell = {"method": name, "reference": "ref", "reference_set": "S", "reference_kind": "in-domain",
                "splits": {"low": result}}
        _write(tmp_path / "metrics" / name / "ref.json", cell)
    tidy, per_image = collect(tmp_path / "metrics")
    board = rank(summarize(tidy, per_image), "ssim", ["ssim"])
    assert sorted(board["method"]) == ["color-stats-transfer", "example-sketch"]
    assert set(board["rank"]) == {1, 2}
    # a colour transfer keeps more structure (SSIM ↑) than a pencil sketch
    assert list(board["method"]) == ["color-stats-transfer", "example-sketch"]
