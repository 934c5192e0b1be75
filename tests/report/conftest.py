"""Fixtures: a fake project in a temporary working directory (the report reads paths relative to it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmark.report.build import build_report

from .fakes import write_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path)
    return tmp_path


@pytest.fixture(scope="package")
def built_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, bytes]]]:
    """The report of a fake project, built twice; yields (project root, bytes of the first build)."""
    root = tmp_path_factory.mktemp("built")
    with contextlib.chdir(root):
        write_project(root)
        build_report(Path("results/tidy.csv"), Path("params.yaml"), Path("reports"))
        first = {p.relative_to(root / "reports").as_posix(): p.read_bytes()
                 for p in sorted((root / "reports").rglob("*")) if p.is_file()}  # fmt: skip
        build_report(Path("results/tidy.csv"), Path("params.yaml"), Path("reports"))
        yield root, first
