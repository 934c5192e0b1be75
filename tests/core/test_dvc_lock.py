"""The committed ``dvc.lock`` records code dependencies as their tracked source files only.

Python bytecode (``__pycache__``) is written on import, differs between machines and Python versions, and used to
be hashed into the code folders' dependency hashes: a fresh clone then saw every stage as changed, and a stage
hashed before the first import of an edited module disagreed with the next one. ``.dvcignore`` leaves it out.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from benchmark.assets import REPO_ROOT


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs the git checkout of the repository")
    done = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_locked_code_folders_hold_exactly_their_tracked_files() -> None:
    tracked = _tracked_files()
    lock = yaml.safe_load((REPO_ROOT / "dvc.lock").read_text())
    outs = {out["path"].rstrip("/") for entry in lock["stages"].values() for out in entry.get("outs", [])}

    def holds_outputs(path: str) -> bool:  # a stage's output, inside one, or a folder around one
        return any(path == o or path.startswith(o + "/") or o.startswith(path + "/") for o in outs)

    checked = 0
    for stage, entry in lock["stages"].items():
        for dep in entry.get("deps", []):
            if "nfiles" not in dep or holds_outputs(dep["path"].rstrip("/")):
                continue
            prefix = dep["path"].rstrip("/") + "/"
            files = [f for f in tracked if f.startswith(prefix)]
            assert dep["nfiles"] == len(files), (stage, dep["path"], dep["nfiles"], len(files))
            checked += 1
    assert checked > 0
