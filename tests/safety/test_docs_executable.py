"""Docs are executable: every fenced ``bash``/``python`` block of README.md and docs/*.md runs on small inputs.

Shell lines run in a scratch project (fake pipeline products from ``tests/report/fakes.py``, a few images):
``osasis-bench`` in-process, anything else as a subprocess from there. YAML and TOML blocks must parse. A
documented command too long for a unit test is listed in :data:`COVERED_ELSEWHERE` with the test that runs it,
or in :data:`CHEAP_EQUIVALENT` with the cheaper command run instead; keep both lists explicit and tiny.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest
import yaml
from report.fakes import write_project, write_submission

from benchmark import cli
from benchmark.assets import REPO_ROOT
from benchmark.testing import make_test_images

pytestmark = pytest.mark.slow

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
SHELL, PYTHON, DATA = {"bash", "sh", "shell"}, {"python", "py"}, {"yaml", "yml", "toml"}
COVERED_ELSEWHERE = {  # command prefix -> what runs it instead
    "make repro": "tests/pipeline/test_dvc_smoke.py (the smoke pipeline end to end)",
    "dvc repro": "tests/pipeline/test_dvc_smoke.py",
    "make test": "the test suite itself (make test / make test-fast)",
    "python -m benchmark.pretrain": "tests/pretrain/test_pretrain_training.py (each model, tiny); here: --help",
    "osasis-bench edit": "tests/osasis_method/test_edit.py::test_edit_images_api_and_cli_parser (needs CLIP weights)",
}
CHEAP_EQUIVALENT = {
    "python scripts/bench_features.py": "python scripts/bench_features.py --n 2 --size 64 --batch-size 2 --dims 64 "
                                        "--threads 1",
}  # fmt: skip
COMMAND_START = re.compile(r"^\s*(osasis-bench|python|make|dvc|pip)\b")


def fenced_blocks(path: Path) -> list[tuple[str, int, str]]:
    """(language, first line number, text) of every fenced block."""
    blocks, lang, start, lines = [], None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("```"):
            if lang is None:
                lang, start, lines = line[3:].strip().lower(), number, []
            else:
                blocks.append((lang, start, "\n".join(lines)))
                lang = None
        elif lang is not None:
            lines.append(line)
    return blocks


def shell_commands(text: str) -> list[str]:
    """Commands of a shell block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    words = [shlex.split(line, comments=True) for line in joined.splitlines()]
    return [shlex.join(w) for w in words if w]


def _covered(command: str) -> str | None:
    return next((why for prefix, why in COVERED_ELSEWHERE.items() if command.startswith(prefix)), None)


def scratch_project(root: Path) -> Path:
    """Fake pipeline products plus the folders the docs' examples name (inputs/, outputs/, ref.png, ...)."""
    write_project(root)
    write_submission(root / "path/to/folder")
    make_test_images(root / "inputs", n=3)
    shutil.copytree(root / "inputs", root / "outputs")
    shutil.copy(make_test_images(root / "refs", n=1, size=48, seed=3)[0], root / "ref.png")
    return root


def run_shell(command: str, cwd: Path) -> None:
    command = next((cheap for prefix, cheap in CHEAP_EQUIVALENT.items() if command.startswith(prefix)), command)
    if command.startswith("python -m benchmark.pretrain"):
        command = "python -m benchmark.pretrain --help"
    words = shlex.split(command)
    if words[0] == "osasis-bench":
        code = cli.main(words[1:])
        assert code == 0, f"`{command}` exited with {code}"
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    if words[0] == "python":
        words[0] = sys.executable
    where = REPO_ROOT if words[0] == "make" or words[1:2] == ["scripts/bench_features.py"] else cwd
    if len(words) > 1 and words[1].startswith("scripts/"):  # the repository's scripts, run from the scratch folder
        words[1] = str(REPO_ROOT / words[1])
    done = subprocess.run(words, cwd=where, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"`{command}` exited with {done.returncode}:\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_documented_blocks_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = scratch_project(tmp_path)
    monkeypatch.chdir(project)
    ran = 0
    for lang, line, text in fenced_blocks(doc):
        where = f"{doc.name}:{line}"
        if lang in SHELL:
            for command in shell_commands(text):
                if _covered(command):
                    if command.startswith("python -m benchmark.pretrain"):
                        run_shell(command, project)
                    continue
                assert not re.search(r"<[^>]+>|\[--", command), f"{where}: `{command}` has placeholders; make it " \
                                                                 "concrete or list it in COVERED_ELSEWHERE"
                run_shell(command, project)
                ran += 1
        elif lang in PYTHON:
            module = types.ModuleType(f"doc_{doc.stem.lower()}_{line}")
            monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses look their module up
            exec(compile(text, where, "exec"), module.__dict__)  # noqa: S102 - our own docs
            ran += 1
        elif lang in DATA:
            (yaml.safe_load if lang != "toml" else tomllib.loads)(text)
        elif lang == "":
            commands = [c for c in text.splitlines() if COMMAND_START.match(c)]
            assert not commands, f"{where}: an unlabelled block holds commands {commands}; fence it as bash"
    assert ran or doc.name != "README.md"


def test_cheap_equivalents_and_covered_lists_stay_in_use() -> None:
    """Every mapping still names a documented command (no stale exemptions)."""
    documented = [c for doc in DOCS for lang, _, text in fenced_blocks(doc) if lang in SHELL
                  for c in shell_commands(text)]  # fmt: skip
    for prefix in [*COVERED_ELSEWHERE, *CHEAP_EQUIVALENT]:
        assert any(c.startswith(prefix) for c in documented), f"{prefix!r} is no longer documented; drop it"
