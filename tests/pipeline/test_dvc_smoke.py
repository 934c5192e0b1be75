"""The real ``dvc.yaml`` on a temporary copy of the repository with a tiny smoke profile.

This is the CI version of ``make repro``: same stages and code, fewer and smaller images. It checks that
every stage runs, that the products land where the report expects them, that a second ``dvc repro`` has
nothing to do, and that re-running a stage gives byte-identical metrics.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmark.assets import REPO_ROOT

pytestmark = pytest.mark.pipeline
# OSASIS and its ablation variants: one iteration, few diffusion steps (the smoke profile: 8 iterations)
TINY_OSASIS = {"iterations": 1, "checkpoint_every": 1, "sample_every": 0, "style_pair_respacing": 4, "latent_steps": 4,
               "sample_steps": 2, "train_grids": [4, 4], "infer_grids": [4, 4], "edit_steps": 2}  # fmt: skip
TINY = {
    "prepare": {"world": {"n_train": 48, "n_pool": 24, "n_heldout": 4},
                "density": {"k": 4, "n_components": 16, "batch_size": 12}},
    "evaluate": {"metrics": ["lpips-alex", "ssim", "id-dlib-resnet"], "ground_truth_metrics": ["gt-lpips-vgg"]},
    "method_cfg": {"osasis": TINY_OSASIS, "osasis-spn-off": TINY_OSASIS, "osasis-mix-reversed": TINY_OSASIS,
                   "jojogan": {"iterations": 4, "projector_steps": 4},
                   "mtg": {"iterations": 2, "ii2s_steps": 2, "projector_steps": 4, "pca_samples": 1000},
                   "inst": {"steps": 4, "checkpoint_every": 4, "ddim_steps": 4},
                   "diffuseit": {"skip_timesteps": 16}},
    "ablation": {"methods": ["osasis-spn-off", "osasis-mix-reversed"]},
}  # fmt: skip


def _deep_update(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        base[key] = _deep_update(dict(base.get(key) or {}), value) if isinstance(value, dict) else value
    return base


def _copy_repo(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")  # fmt: skip
    skip = ("results/", "reports/", "data/splits/", "dvc.lock")
    for rel in filter(None, listed):
        source = REPO_ROOT / rel
        if rel.startswith(skip) or not source.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _tiny_params(smoke: dict) -> dict:
    params = _deep_update(yaml.safe_load(yaml.safe_dump(smoke)), TINY)
    params["prepare"]["density"]["steps"] = 5
    params["references"] = smoke["references"][:1] + [r for r in smoke["references"] if "astronaut" in r][:1]
    params["report"]["grid"]["references"] = params["references"][:1]
    params["report"]["main_metrics"] = ["lpips-alex", "ssim"]
    params["ablation"]["references"] = params["references"][:1]
    edit = "blue-hair"  # one scored edit of two inputs (the smoke profile: three edits of four)
    text_edit = params["text_edit"]
    text_edit["n_inputs"] = 2
    text_edit["edits"], text_edit["targets"] = {edit: text_edit["edits"][edit]}, {edit: text_edit["targets"][edit]}
    return params


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "HF_HUB_OFFLINE": "1", "OSASIS_BENCH_PROGRESS": "0", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    dest = tmp_path_factory.mktemp("repo")
    _copy_repo(dest)
    smoke = yaml.safe_load((REPO_ROOT / "profiles" / "smoke.yaml").read_text())
    (dest / "params.yaml").write_text(yaml.safe_dump(_tiny_params(smoke), sort_keys=False))
    _run(["git", "init", "-q"], dest)
    _run([sys.executable, "-m", "dvc", "repro"], dest)
    return dest


def test_every_stage_produced_its_outputs(repo_copy: Path) -> None:
    params = yaml.safe_load((repo_copy / "params.yaml").read_text())
    for method in params["methods"]:
        for ref in params["references"]:
            assert (repo_copy / "results" / "metrics" / method / f"{ref}.json").is_file()
            for split in params["splits"]:
                assert any((repo_copy / "results" / "stylized" / method / ref / split).glob("*.png"))
    ablation = params["ablation"]
    for method in ablation["methods"]:
        for ref in ablation["references"]:
            assert (repo_copy / "results" / "metrics" / method / f"{ref}.json").is_file()
            stylized = repo_copy / "results" / "stylized" / method / ref
            assert sorted(p.name for p in stylized.iterdir() if p.is_dir()) == [ablation["split"]]
    for name in ("tidy.csv", "per_image.csv", "costs.csv"):
        assert (repo_copy / "results" / name).stat().st_size > 0
    table2 = (repo_copy / "reports" / "tables" / "table2.md").read_text()
    assert "w/o SPN" in table2 and "λ=0.1" in table2 and "not run" not in table2
    assert (repo_copy / "reports" / "figures" / "mixing_ablation.png").is_file()
    assert (repo_copy / "reports" / "tables" / "main.md").read_text().count("|") > 10
    assert (repo_copy / "reports" / "figures" / "qualitative_grid.png").is_file()
    split = (repo_copy / "data" / "splits" / "smoke_density.json").read_text()
    assert '"low_density"' in split and '"rare_attribute_precision_at_k"' in split


def test_second_repro_is_a_no_op(repo_copy: Path) -> None:
    status = _run([sys.executable, "-m", "dvc", "status"], repo_copy)
    assert "changed" not in status.stdout, status.stdout
    again = _run([sys.executable, "-m", "dvc", "repro"], repo_copy)
    assert "Running stage" not in again.stdout, again.stdout


def test_metrics_are_byte_identical_when_recomputed(repo_copy: Path) -> None:
    params = yaml.safe_load((repo_copy / "params.yaml").read_text())
    method, ref = params["methods"][0], params["references"][0]
    committed = repo_copy / "results" / "metrics" / method / f"{ref}.json"
    again = repo_copy / "again.json"
    _run([sys.executable, "-m", "benchmark", "--no-progress", "evaluate", "--method", method, "--reference", ref,
          "--out", str(again)], repo_copy)  # fmt: skip
    assert again.read_bytes() == committed.read_bytes()
