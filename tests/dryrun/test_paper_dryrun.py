"""``osasis-bench dryrun`` end to end: the paper profile at full size with random weights (about 10 min on 2 CPUs).

It checks what the dry run promises: the paper fetch stage downloaded and verified every dry-run file from the
loopback server; the density split, every method and every ablation variant of the paper profile, every paper
metric, aggregation and the report ran; every product is stamped; the cost table has one row per stage; and a
second ``dvc status`` has nothing to do.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from PIL import Image

from benchmark.assets import CACHE_ENV, DRYRUN_ENV, REPO_ROOT, manifest
from benchmark.dryrun.datasets import DATASET_ASSETS
from benchmark.dryrun.profile import STAMP
from benchmark.dryrun.weights import MODEL_ASSETS

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture(scope="module")
def dryrun(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("dryrun")
    # OSASIS_BENCH_DRYRUN_COSTS_OUT keeps the cost table of this run (how results/perf/paper-dryrun-cpu.* are made)
    costs = Path(os.environ.get("OSASIS_BENCH_DRYRUN_COSTS_OUT") or tmp / "costs.json")
    env = {**os.environ, "OSASIS_BENCH_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1"}
    command = [sys.executable, "-m", "benchmark", "dryrun", "--workspace", str(tmp / "ws"), "--costs-out", str(costs)]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    try:
        assert done.returncode == 0, done.stderr[-6000:]
        yield tmp / "ws" / "project", costs
    finally:  # about 20 GB of downloads and products; the workspace is this fixture's own
        shutil.rmtree(tmp / "ws", ignore_errors=True)


def test_fetch_downloaded_and_verified_every_dryrun_file(dryrun: tuple[Path, Path]) -> None:
    project, _ = dryrun
    report = json.loads((project / "results" / "fetch" / "paper.json").read_text())
    outcomes = {o["name"]: o for o in report["assets"]}
    served = [*MODEL_ASSETS, *(name for name in DATASET_ASSETS if name != "ffhq-images1024")]
    assert not (project.parent / "served").exists()  # deleted after the fetch stage (~20 GB)
    for name in served:
        assert outcomes[name]["status"] == "downloaded" and outcomes[name]["verified"], outcomes[name]


def test_every_method_and_metric_ran_at_full_size(dryrun: tuple[Path, Path]) -> None:
    project, _ = dryrun
    params = yaml.safe_load((project / "params.yaml").read_text())
    refs = params["references"]
    cells = [(m, r, s) for m in params["methods"] for r in refs for s in params["splits"]]
    abl = params["ablation"]
    cells += [(m, r, abl["split"]) for m in abl["methods"] for r in abl["references"]]
    for method, ref, split in cells:
        inputs = sorted((project / "data" / "prepared" / "splits" / split).glob("*.png"))
        outputs = sorted((project / "results" / "stylized" / method / ref / split).glob("*.png"))
        assert inputs and [p.name for p in outputs] == [p.name for p in inputs], (method, split)
        with Image.open(outputs[0]) as image:
            assert image.size == (params["resolution"], params["resolution"])
        result = json.loads((project / "results" / "metrics" / method / f"{ref}.json").read_text())
        assert result["dry_run"] == STAMP
        values = result["splits"][split]
        assert values["errors"] == {}, (method, split)
        for metric in params["evaluate"]["metrics"]:
            value = values["metrics"][metric]["value"]
            assert math.isfinite(float(value)), (method, split, metric, value)


def test_report_and_tables_are_stamped(dryrun: tuple[Path, Path]) -> None:
    project, _ = dryrun
    page = (project / "reports" / "index.html").read_text()
    assert STAMP.upper() in page and STAMP in page.split("</title>")[0]
    tables = sorted((project / "reports" / "tables").glob("*.md"))
    assert tables and all(t.read_text().startswith(f"> **{STAMP.upper()}**") for t in tables)
    for figure in (project / "reports" / "figures").glob("*.png"):
        with Image.open(figure) as image:
            assert image.convert("RGB").getpixel((image.width - 1, 1)) == (200, 0, 0), figure.name


def test_cost_table_has_every_stage(dryrun: tuple[Path, Path]) -> None:
    project, costs = dryrun
    payload = json.loads(costs.read_text())
    assert payload["stages_without_record"] == [] and payload["stamp"] == STAMP
    items = [o for o in json.loads((project / "results" / "fetch" / "paper.json").read_text())["assets"]
             if o["name"].startswith("ffhq-images1024:")]
    assert items and all(o["status"] == "downloaded" for o in items)  # the density candidates, fetched by id
    names = {row["stage"] for row in payload["stages"]}
    assert {"fetch", "prepare", "aggregate", "report"} <= names
    assert all(row["exit_code"] == 0 and row["peak_rss_mb"] > 0 for row in payload["stages"])
    assert costs.with_suffix(".md").read_text().count("\n| `") == len(payload["stages"])


@pytest.mark.parametrize("name", ["stylegan2-ffhq-config-f", "e4e-ffhq-encode", "hfgi-ffhq",
                                  "mtg-digital-painting-jing", "arcface-ir-se50", "dino-vitb8",
                                  "diffae_ffhq256_latent_stats", "diffae_ffhq256_autoenc",
                                  "diffae_ffhq256_autoenc_latent", "osasis_img1_iter200", "p2_ffhq256",
                                  "clip-vit-b16-openai"])  # fmt: skip
def test_full_size_files_load_strictly(dryrun: tuple[Path, Path], name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files the dry run downloaded (its writers' output, SHA-256-checked) through the paper loaders, also
    those the reduced pipeline does not read (the released OSASIS model, the MTG model of another reference)."""
    from baselines.e4e.checkpoint import load_e4e
    from baselines.hfgi.checkpoint import load_hfgi
    from baselines.mtg.checkpoint import load_mtg
    from baselines.stylegan2.checkpoint import load_discriminator, load_generator
    from benchmark.features import clip
    from benchmark.features.dino_vit import load_dino
    from benchmark.metrics.identity import ArcFaceIdentity
    from osasis.weights import load_adm, load_diffae, load_latent_net, load_latent_stats, load_osasis

    project, _ = dryrun
    path = project.parent / "cache" / manifest()[name].file
    monkeypatch.setenv(DRYRUN_ENV, str(project.parent))  # as the stages: random-weight files only in dry-run mode
    monkeypatch.setenv(CACHE_ENV, str(project.parent / "cache"))
    loaders = {
        "stylegan2-ffhq-config-f": lambda p: (load_generator(p), load_discriminator(p)),
        "e4e-ffhq-encode": lambda p: load_e4e(p, with_decoder=True),
        "hfgi-ffhq": load_hfgi,
        "mtg-digital-painting-jing": load_mtg,
        "arcface-ir-se50": lambda p: ArcFaceIdentity(weights=str(p)),
        "dino-vitb8": lambda p: load_dino(path=p),
        "diffae_ffhq256_latent_stats": lambda p: load_latent_stats(p, 512),
        "diffae_ffhq256_autoenc": lambda p: load_diffae(p, "diffae_ffhq256"),
        "diffae_ffhq256_autoenc_latent": lambda p: (load_diffae(p, "diffae_latent_ffhq256"), load_latent_net(p),
                                                    load_latent_stats(p, 512)),  # fmt: skip
        "osasis_img1_iter200": lambda p: load_osasis(p, require_spn=True),
        "p2_ffhq256": lambda p: load_adm(p, "p2_ffhq256", asset=None),
        "clip-vit-b16-openai": lambda p: clip.build_clip("ViT-B-16", False, p, 0),
    }
    monkeypatch.setattr(clip, "require_pinned_clip", lambda path: None)
    loaders[name](path)
