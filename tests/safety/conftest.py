"""Fixtures of the hostile-input battery: a CLI runner that returns (exit code, message) and a tiny world
(inputs, a reference, a fine-tuned weight-free method) built once per session."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark import cli
from benchmark.assets import REPO_ROOT
from benchmark.testing import make_test_images

PARAMS = REPO_ROOT / "params.yaml"
METHOD = "color-stats-transfer"  # weight-free and fast: the battery tests the suite, not a method


@dataclass
class Outcome:
    code: int
    message: str


@pytest.fixture
def run_cli(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture):
    """Run ``osasis-bench ARGS`` in-process; an unexpected exception propagates (and fails the test)."""

    def run(*args: object) -> Outcome:
        caplog.clear()
        capsys.readouterr()
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        err = capsys.readouterr().err
        return Outcome(code, "\n".join(errors) if errors else err.strip())

    return run


def digest_tree(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (relative names), hidden files included."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@dataclass
class World:
    root: Path
    inputs: Path
    reference: Path
    workdir: Path

    def stylize_args(self, out: Path | str, *extra: object) -> list[object]:
        return ["stylize", METHOD, "--params", PARAMS, "--reference", self.reference, "--workdir", self.workdir,
                "--inputs", self.inputs, "--out", out, *extra]  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> World:
    inputs = tmp_path / "inputs"
    make_test_images(inputs, n=3)
    reference = make_test_images(tmp_path / "refs", n=1, size=48, seed=5)[0]
    workdir = tmp_path / "work"
    code = cli.main(["finetune", METHOD, "--params", str(PARAMS), "--reference", str(reference),
                     "--workdir", str(workdir)])  # fmt: skip
    assert code == 0
    return World(tmp_path, inputs, reference, workdir)
