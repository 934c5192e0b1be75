"""Bad arguments of every subcommand: exit code 2 with one line naming the option or file, no traceback, no output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import METHOD, PARAMS, World
from pngwriter import bomb_png

from benchmark import cli
from benchmark.errors import BenchmarkError


def test_metrics_and_methods_list(run_cli, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["metrics", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"lpips-alex", "ssim"} <= {r["name"] for r in rows}
    assert run_cli("metrics").code == 0 and run_cli("methods").code == 0


def _cases(w: World) -> dict[str, tuple[list, str]]:
    """name -> (arguments, text the one-line message must contain)."""
    p = ["--params", PARAMS]
    empty = w.root / "empty"
    other = w.root / "other"
    notes = w.root / "notes.txt"
    bomb = w.root / "bombs" / "bomb.png"
    return {
        "no subcommand": ([], "required"),
        "unknown subcommand": (["paint"], "invalid choice"),
        "evaluate resolution 0": (["evaluate", "--content", w.inputs, "--stylized", w.inputs, "--out", "r.json",
                                   "--resolution", "0"], "--resolution"),
        "evaluate resolution negative": (["evaluate", "--content", w.inputs, "--stylized", w.inputs, "--out",
                                          "r.json", "--resolution", "-4"], "--resolution"),
        "evaluate resolution huge": (["evaluate", "--content", w.inputs, "--stylized", w.inputs, "--out", "r.json",
                                      "--resolution", "100000"], "--resolution"),
        "evaluate two empty folders": (["evaluate", "--content", empty, "--stylized", other, "--out", "r.json"],
                                       "no images"),
        "evaluate missing content": (["evaluate", "--content", w.root / "nope", "--stylized", w.inputs, "--out",
                                      "r.json"], "--content"),
        "evaluate unknown metric": (["evaluate", "--content", w.inputs, "--stylized", w.inputs, "--out", "r.json",
                                     "--metrics", "sharpness"], "unknown metric"),
        "evaluate no metric": (["evaluate", "--content", w.inputs, "--stylized", w.inputs, "--out", "r.json",
                                "--metrics", ","], "--metrics"),
        "evaluate decompression bomb": (["evaluate", "--content", bomb.parent, "--stylized", bomb.parent, "--out",
                                         "r.json", "--metrics", "ssim"], "bomb"),
        "evaluate reference without method": (["evaluate", *p, "--reference", "x", "--out", "r.json"], "--method"),
        "evaluate unknown method": (["evaluate", *p, "--method", "nope", "--out", "m"], "--method nope"),
        "stylize batch size -1": (w.stylize_args("o", "--batch-size", "-1"), "--batch-size"),
        "stylize batch size 0": (w.stylize_args("o", "--batch-size", "0"), "--batch-size"),
        "stylize batch size text": (w.stylize_args("o", "--batch-size", "many"), "--batch-size"),
        "stylize missing workdir": (["stylize", METHOD, *p, "--reference", w.reference, "--workdir",
                                     w.root / "nowork", "--inputs", w.inputs, "--out", "o"], "--workdir"),
        "stylize empty workdir": (["stylize", METHOD, *p, "--reference", w.reference, "--workdir", empty,
                                   "--inputs", w.inputs, "--out", "o"], "is empty"),
        "stylize another reference": (["stylize", METHOD, *p, "--reference", w.inputs / "img_00a.png",
                                       "--workdir", w.workdir, "--inputs", w.inputs, "--out", "o"], "fine-tuned on"),
        "stylize unknown method": (["stylize", "nope", *p, "--reference", w.reference, "--workdir", w.workdir,
                                    "--inputs", w.inputs, "--out", "o"], "unknown method"),
        "stylize missing inputs": (["stylize", METHOD, *p, "--reference", w.reference, "--workdir", w.workdir,
                                    "--inputs", w.root / "nope", "--out", "o"], "--inputs"),
        "stylize bad seed": (w.stylize_args("o", "--seed", "-1"), "--seed"),
        "stylize bad device": (w.stylize_args("o", "--device", "tpu"), "--device"),
        "finetune missing reference": (["finetune", METHOD, *p, "--reference", w.root / "nope.png", "--workdir",
                                        "wd"], "nope.png"),
        "finetune reference is text": (["finetune", METHOD, *p, "--reference", notes, "--workdir", "wd"],
                                       "notes.txt"),
        "finetune reference is a folder": (["finetune", METHOD, *p, "--reference", w.inputs, "--workdir", "wd"],
                                           "inputs"),
        "prepare missing params": (["prepare", "--params", w.root / "nope.yaml", "--out", "p"], "nope.yaml"),
        "prepare params not yaml": (["prepare", "--params", notes, "--out", "p"], "notes.txt"),
        "prepare split file not json": (["prepare", *p, "--out", "p", "--split-file", notes], "--split-file"),
        "text-edit missing params": (["text-edit", "--params", w.root / "nope.yaml", "--out", "t"], "nope.yaml"),
        "edit batch size 0": (["edit", *p, "--workdir", w.workdir, "--reference", w.reference, "--inputs",
                               w.inputs, "--out", "e", "--target", "x", "--batch-size", "0"], "--batch-size"),
        "edit missing workdir": (["edit", *p, "--workdir", w.root / "nowork", "--reference", w.reference,
                                  "--inputs", w.inputs, "--out", "e", "--target", "x"], "--workdir"),
        "edit without target": (["edit", *p, "--workdir", w.workdir, "--reference", w.reference, "--inputs",
                                 w.inputs, "--out", "e"], "--target"),
        "aggregate missing metrics dir": (["aggregate", *p, "--metrics-dir", w.root / "nope", "--out", "t.csv"],
                                          "--metrics-dir"),
        "aggregate out not csv": (["aggregate", *p, "--metrics-dir", empty, "--out", "t.txt"], ".csv"),
        "report missing tidy": (["report", *p, "--tidy", w.root / "nope.csv", "--out", "r"], "--tidy"),
        "report empty tidy": (["report", *p, "--tidy", w.root / "empty.csv", "--out", "r"], "--tidy"),
        "submit bad name": (["submit", *p, "--name", "Bad Name", "--folder", w.inputs], "submission name"),
        "submit missing folder": (["submit", *p, "--name", "mine", "--folder", w.root / "nope"], "--folder"),
        "fetch zero jobs": (["fetch", "--offline", "--jobs", "0", "--report", "f.json"], "--jobs"),
        "fetch report not json": (["fetch", "--offline", "--report", "f.txt"], "--report"),
        "fetch missing ids file": (["fetch", "--offline", "--ids-file", w.root / "nope.txt", "--report", "f.json"],
                                   "--ids-file"),
        "fetch unknown profile": (["fetch", "--profile", "huge"], "--profile"),
        "fetch params of another profile": (["fetch", "--offline", "--profile", "paper", *p, "--report", "f.json"],
                                            "--params"),
        "fetch missing params": (["fetch", "--offline", "--params", w.root / "nope.yaml", "--report", "f.json"],
                                 "nope.yaml"),
        "assets unknown profile": (["assets", "--profile", "huge"], "--profile"),
        "use-profile unknown": (["use-profile", "huge", "--params", w.root / "p.yaml"], "unknown profile"),
        "use-profile params not yaml": (["use-profile", "smoke", "--params", notes], "--params"),
    }  # fmt: skip


CASES = list(_cases(World(Path("/w"), Path("/w/i"), Path("/w/r.png"), Path("/w/k"))))


@pytest.mark.parametrize("name", CASES)
def test_bad_argument_is_a_named_error(world: World, run_cli, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(world.root)
    for folder in ("empty", "other"):
        (world.root / folder).mkdir()
    (world.root / "notes.txt").write_text("a: [unclosed\n")
    (world.root / "empty.csv").write_text("")
    bomb_png((world.root / "bombs").mkdir() or world.root / "bombs" / "bomb.png")
    before = sorted(p.name for p in world.root.iterdir())
    args, expected = _cases(world)[name]
    result = run_cli(*args)
    assert result.code == 2, result
    assert expected in result.message, result.message
    assert "Traceback" not in result.message and len(result.message.splitlines()) == 1, result.message
    assert sorted(p.name for p in world.root.iterdir()) == before, "a refused command left output behind"


def test_unexpected_exceptions_keep_their_traceback(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only named errors become exit code 2: a bug of the suite must stay visible."""
    monkeypatch.setattr("benchmark.stages.stylize.run_stylize", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main([str(a) for a in world.stylize_args(world.root / "o")])
    assert issubclass(cli.USER_OS_ERRORS[0], OSError) and not issubclass(ZeroDivisionError, BenchmarkError)
