"""The dry-run workspace: one folder, marked as such, that holds everything a dry run makes.

Layout: ``.osasis-bench-dryrun`` (the marker the resolver checks), ``served/`` (the random-weight and procedural
files in the official layout, served on loopback), ``manifest/`` (the overlay manifest), ``cache/`` (where the
paper fetch stage puts what it downloads), ``project/`` (a copy of the repository's tracked files with the dry-run
parameter file, where ``dvc repro`` runs) and ``costs.jsonl`` (one line per stage). Only a folder that is absent,
empty or already marked is used; the command deletes only what it made inside a marked workspace.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from benchmark.assets import DRYRUN_MARKER
from benchmark.atomic import check_output_dir, write_marker
from benchmark.errors import ConfigError

KIND = "dryrun-workspace"

#: Tracked paths not copied into the project: the committed products of the smoke run (the dry run makes its own).
NOT_COPIED = ("results/", "reports/", "data/prepared/", "data/splits/", "dvc.lock", "params.yaml")


def open_workspace(folder: Path, repo: Path) -> Path:
    """Create or reuse the dry-run workspace ``folder``: absent, empty, or made by an earlier dry run."""
    folder = Path(folder).absolute()
    check_output_dir(folder, KIND, inputs=[repo], option="--workspace")
    folder.mkdir(parents=True, exist_ok=True)
    write_marker(folder, KIND)
    (folder / DRYRUN_MARKER).write_text("osasis-bench dry run: random weights, not a result\n")
    return folder


def tracked_files(repo: Path, skip: Path | None = None) -> list[str]:
    """Files of the repository's working tree that git tracks or would track (not ignored), outside ``skip``."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                             check=True, capture_output=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ConfigError(f"the dry run copies the repository's tracked files, and {repo} is not a git work tree "
                          f"({exc})") from exc  # fmt: skip
    names = [name for name in out.decode().split("\0") if name and not name.startswith(NOT_COPIED)]
    if skip is not None and repo.resolve() in skip.resolve().parents:
        inner = skip.resolve().relative_to(repo.resolve()).as_posix() + "/"
        names = [name for name in names if not name.startswith(inner)]
    return names


def copy_project(repo: Path, project: Path) -> Path:
    """A fresh copy of ``repo``'s tracked files at ``project`` (inside the workspace), DVC without git."""
    if project.exists():
        shutil.rmtree(project)  # made by an earlier dry run inside the marked workspace
    for name in tracked_files(repo, skip=project.parent):
        source = repo / name
        if not source.is_file():  # deleted in the work tree but still in the index
            continue
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (project / ".dvc").mkdir(exist_ok=True)
    # no git in the copy; outputs hardlinked from DVC's cache rather than copied (the checkpoints are GBs)
    (project / ".dvc" / "config.local").write_text("[core]\n    no_scm = true\n[cache]\n    type = hardlink,symlink\n")
    return project
