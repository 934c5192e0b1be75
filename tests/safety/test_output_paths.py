"""Dangerous output paths: every writing command refuses them before any work, and the user's files survive."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import METHOD, PARAMS, World, digest_tree

from benchmark import atomic
from benchmark.atomic import MARKER, OutputPathError


def _sentinel(folder: Path, name: str = "precious.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("the user's data")
    return path


def _no_staging_left(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".") and (".tmp-" in p.name or ".old-" in p.name)]


def test_stylize_into_current_folder_refused(world: World, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = _sentinel(world.root)
    monkeypatch.chdir(world.root)
    before = digest_tree(world.root)
    result = run_cli(*world.stylize_args("."))
    assert result.code == 2 and "current folder" in result.message and "\n" not in result.message
    assert digest_tree(world.root) == before and sentinel.read_text() == "the user's data"


@pytest.mark.parametrize("which", ["inputs", "parent_of_inputs", "workdir", "reference_folder"])
def test_stylize_into_an_input_or_its_ancestor_refused(world: World, run_cli, which: str) -> None:
    target = {"inputs": world.inputs, "parent_of_inputs": world.root, "workdir": world.workdir,
              "reference_folder": world.reference.parent}[which]  # fmt: skip
    before = digest_tree(world.root)
    result = run_cli(*world.stylize_args(target))
    assert result.code == 2 and "input" in result.message
    assert digest_tree(world.root) == before


def test_stylize_into_foreign_folder_keeps_its_files(world: World, run_cli) -> None:
    foreign = world.root / "my_photos"
    sentinel = _sentinel(foreign)
    result = run_cli(*world.stylize_args(foreign))
    assert result.code == 2 and "not written by osasis-bench" in result.message
    assert sorted(p.name for p in foreign.iterdir()) == [sentinel.name] and _no_staging_left(world.root)


def test_stylize_replaces_its_own_output_only(world: World, run_cli) -> None:
    out = world.root / "styled"
    assert run_cli(*world.stylize_args(out)).code == 0
    assert json.loads((out / MARKER).read_text())["kind"] == "stylized"
    assert run_cli(*world.stylize_args(out)).code == 0  # rerun: replaced as a whole
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "inputs"] and _no_staging_left(world.root)
    # a marker of another kind is not enough
    (out / MARKER).write_text(json.dumps({"kind": "report"}))
    result = run_cli(*world.stylize_args(out))
    assert result.code == 2 and "'report' output" in result.message


def test_output_under_a_file_refused(world: World, run_cli) -> None:
    a_file = _sentinel(world.root / "docs", "notes.txt")
    result = run_cli(*world.stylize_args(a_file / "out"))
    assert result.code == 2 and "which is a file" in result.message and a_file.read_text() == "the user's data"


def test_home_and_repository_root_refused(world: World, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    home = world.root / "home"
    _sentinel(home)
    monkeypatch.setenv("HOME", str(home))
    assert run_cli(*world.stylize_args(home)).code == 2
    repo = world.root / "some_repo"
    (repo / ".git").mkdir(parents=True)
    result = run_cli(*world.stylize_args(repo))
    assert result.code == 2 and "repository root" in result.message and (repo / ".git").is_dir()


def test_read_only_folder_refused_before_any_work(world: World, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = world.root / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: simulate the permission bits the check reads
        real = os.access
        monkeypatch.setattr(atomic.os, "access", lambda p, m: False if Path(p) == locked else real(p, m))
    else:
        locked.chmod(0o555)
    calls = []
    monkeypatch.setattr("benchmark.stages.stylize.build_method", lambda *a, **k: calls.append(a))
    result = run_cli(*world.stylize_args(locked / "out"))
    locked.chmod(0o755)
    assert result.code == 2 and "read-only" in result.message and not calls and not any(locked.iterdir())


def test_two_inputs_with_the_same_name_refused(world: World, run_cli) -> None:
    twin = world.root / "elsewhere" / world.inputs.name
    twin.mkdir(parents=True)
    for p in world.inputs.iterdir():
        (twin / p.name).write_bytes(p.read_bytes())
    result = run_cli(*world.stylize_args(world.root / "out", "--inputs", twin))
    assert result.code == 2 and "same folder name" in result.message and not (world.root / "out").exists()


@pytest.mark.parametrize("target", ["current", "foreign", "inputs_reference_folder"])
def test_finetune_workdir_refused(world: World, run_cli, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.chdir(world.root)
    foreign = world.root / "project"
    _sentinel(foreign)
    workdir = {"current": ".", "foreign": foreign, "inputs_reference_folder": world.reference.parent}[target]
    before = digest_tree(world.root)
    result = run_cli("finetune", METHOD, "--params", PARAMS, "--reference", world.reference, "--workdir", workdir)
    assert result.code == 2 and "--workdir" in result.message
    assert digest_tree(world.root) == before


def test_evaluate_folder_mode_keeps_other_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``evaluate --method M --out DIR`` computes first, then replaces only the files its marker lists."""
    from benchmark.stages import evaluate as stage

    out = tmp_path / "metrics"
    other = _sentinel(out, "my_notes.json")
    computed = []

    def fake_cell(method, reference, run, layout, instances):
        computed.append(reference)
        return {"method": method, "reference": reference}

    monkeypatch.setattr(stage, "evaluate_cell", fake_cell)
    monkeypatch.setattr(stage.Layout, "from_params", classmethod(lambda cls, params: _FakeLayout()))
    stage.run_evaluate_cell("osasis", None, PARAMS, out)
    refs = sorted(computed)
    assert other.read_text() == "the user's data"
    assert sorted(p.name for p in out.glob("*.json")) == sorted(["my_notes.json", *[f"{r}.json" for r in refs]])
    # a foreign file with a name the stage would write: refused before anything is computed
    (out / MARKER).unlink()
    computed.clear()
    with pytest.raises(OutputPathError, match="not written by osasis-bench"):
        stage.run_evaluate_cell("osasis", None, PARAMS, out)
    assert not computed and other.read_text() == "the user's data"


class _FakeLayout:
    def stylized_dir(self, method: str, reference: str, split: str) -> Path:
        return Path("/nonexistent/stylized") / method / reference / split


def test_evaluate_folders_out_checked_before_metrics(world: World, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr("benchmark.metrics.evaluate.evaluate_folders", lambda *a, **k: calls.append(a))
    a_file = _sentinel(world.root, "a_file")
    for out in (a_file / "x.json", world.inputs, world.root / "result.png"):
        result = run_cli("evaluate", "--content", world.inputs, "--stylized", world.inputs, "--out", out)
        assert result.code == 2, out
    assert not calls and a_file.read_text() == "the user's data"


@pytest.mark.parametrize("command", ["prepare", "text-edit", "report", "submit"])
def test_folder_outputs_of_other_commands_refuse_foreign_folders(world: World, run_cli, command: str) -> None:
    foreign = world.root / "foreign"
    sentinel = _sentinel(foreign)
    tidy = world.root / "tidy.csv"
    tidy.write_text("method,reference,split,metric,value\n")
    args = {"prepare": ["prepare", "--params", PARAMS, "--out", foreign],
            "text-edit": ["text-edit", "--params", PARAMS, "--out", foreign],
            "report": ["report", "--params", PARAMS, "--tidy", tidy, "--out", foreign],
            "submit": ["submit", "--params", PARAMS, "--name", "mine", "--folder", world.inputs, "--out", foreign]}
    result = run_cli(*args[command])
    assert result.code == 2 and "not written by osasis-bench" in result.message
    assert sorted(p.name for p in foreign.iterdir()) == [sentinel.name]


def test_file_outputs_never_replace_folders_or_other_types(world: World, run_cli) -> None:
    folder = world.root / "tidy.csv"
    _sentinel(folder)
    metrics = world.root / "metrics"
    metrics.mkdir()
    assert run_cli("aggregate", "--params", PARAMS, "--metrics-dir", metrics, "--out", folder).code == 2
    assert run_cli("fetch", "--offline", "--asset", "smoke_p2", "--report", folder).code == 2
    params_like = _sentinel(world.root, "notes.yaml")
    assert run_cli("use-profile", "smoke", "--params", params_like).code == 2
    assert params_like.read_text() == "the user's data" and (folder / "precious.txt").is_file()


def test_outputs_get_ordinary_permissions(world: World, run_cli) -> None:
    old = os.umask(0o022)
    try:
        out = world.root / "styled"
        assert run_cli(*world.stylize_args(out)).code == 0
    finally:
        os.umask(old)
    for path in out.rglob("*"):
        expected = 0o755 if path.is_dir() else 0o644
        assert path.stat().st_mode & 0o777 == expected, path
