"""Text-driven editing moves z on a tiny random CLIP and needs a text tower otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from osasis_method_helpers import tiny_config

from benchmark.atomic import MARKER
from benchmark.errors import AssetError
from benchmark.methods import runner
from osasis.api import encode
from osasis.method import models
from osasis.method.config import OSASISConfig
from osasis.method.edit import EditSettings, edit_codes
from osasis.method.embedders import get_embedder

CPU = torch.device("cpu")


def test_edit_moves_the_code(tiny_files: dict[str, str]) -> None:
    a = models.model_a(OSASISConfig(diffae_path=tiny_files["autoenc"], diffae_config="diffae_tiny32"), CPU)
    clip = get_embedder("clip-vit-b32-random", device=CPU, seed=0)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 2 - 1
    z, losses = edit_codes(a, clip, x, "a photo of a face", "a sketch of a face",
                           EditSettings(steps=1, lr=0.05, decode_steps=1, inversion_grid=4))  # fmt: skip
    z_in = encode(a, x)
    assert len(losses) == 1 and all(torch.isfinite(torch.tensor(losses)))
    assert (z - z_in).abs().max() > 1e-3


def test_edit_without_clip_weights_is_a_clear_error(tiny_files: dict[str, str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("OSASIS_BENCH_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.delenv("OSASIS_BENCH_WEIGHTS", raising=False)
    method = runner.build("osasis", tiny_config(tiny_files, tmp_path), "cpu", 0, 32)
    with pytest.raises(AssetError, match="clip-vit-b32-openai"):
        method.edit(torch.rand(1, 3, 32, 32), ["a"], "a photo", "a sketch")
    vgg = get_embedder("vgg16-imagenet", device=CPU)
    with pytest.raises(AssetError, match="text tower"):
        vgg.embed_text(["a photo"])


def test_edit_images_api_and_cli_parser(tiny_files: dict[str, str], tmp_path: Path) -> None:
    import yaml

    from benchmark.cli import build_parser
    from benchmark.testing import make_test_images
    from osasis.method.api import edit_images

    cfg = tiny_config(tiny_files, tmp_path, edit_embedder="clip-vit-b32-random", edit_steps=1, edit_decode_steps=1)
    params = {"profile": "t", "seed": 0, "device": "cpu", "resolution": 32, "methods": ["osasis"], "references": [],
              "splits": [], "method_cfg": {"osasis": cfg}}  # fmt: skip
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    inputs = tmp_path / "inputs"
    make_test_images(inputs, n=2)
    ref = make_test_images(tmp_path / "ref", n=1, size=48, seed=7)[0]
    method = runner.build("osasis", params["method_cfg"]["osasis"], "cpu", 0, 32)
    runner.finetune(method, ref, tmp_path / "work")
    record = edit_images(tmp_path / "work", ref, inputs, tmp_path / "edited", "a photo", "a sketch",
                         params_path=tmp_path / "params.yaml")  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "edited").iterdir()) == [MARKER, "edit.json", "img_00a.png",
                                                                       "img_01b.png"]  # fmt: skip
    assert len(record["batches"][0]["losses"]) == 1
    args = build_parser().parse_args(["edit", "--workdir", "w", "--reference", "r.png", "--inputs", "i", "--out", "o",
                                      "--target", "a sketch"])  # fmt: skip
    assert args.func.__name__ == "_cmd_edit" and args.source == "a photo of a face"


def test_text_edit_stage_writes_one_folder_per_edit(tiny_files: dict[str, str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The ``text-edit`` stage on a tiny project: the first ``n_inputs`` of the split per edit, a record, and
    the report's figure (or its skip note when no edit is configured)."""
    import json
    import shutil

    import yaml

    from benchmark.report.paper_figures import text_edits
    from benchmark.stages.layout import Layout
    from benchmark.stages.text_edit import NO_EDITS, run_text_edits
    from benchmark.testing import make_test_images

    monkeypatch.chdir(tmp_path)
    cfg = tiny_config(tiny_files, tmp_path, edit_embedder="clip-vit-b32-random", edit_steps=1, edit_decode_steps=1)
    layout = Layout()
    make_test_images(layout.split_dir("low_density"), n=3)
    ref = make_test_images(tmp_path / "ref", n=1, size=48, seed=7)[0]
    layout.reference_path("ref").parent.mkdir(parents=True)
    shutil.copy(ref, layout.reference_path("ref"))
    runner.finetune(runner.build("osasis", cfg, "cpu", 0, 32), layout.reference_path("ref"),
                    layout.model_dir("osasis", "ref"))  # fmt: skip
    params = {"profile": "t", "seed": 0, "device": "cpu", "resolution": 32, "methods": ["osasis"],
              "references": ["ref"], "splits": ["low_density"], "method_cfg": {"osasis": cfg},
              "text_edit": {"reference": "ref", "n_inputs": 2, "edits": {"sketch": "a sketch of a face"}}}  # fmt: skip
    Path("params.yaml").write_text(yaml.safe_dump(params))
    record = run_text_edits(Path("params.yaml"), Path("results/edits"))
    edited = sorted(p.name for p in Path("results/edits/sketch").iterdir())
    assert edited == [MARKER, "edit.json", "img_00a.png", "img_01b.png"]  # the first two inputs in name order
    assert json.loads(Path("results/edits/edits.json").read_text()) == json.loads(json.dumps(record))
    fig = text_edits("results/edits", layout, "low_density", 4, tmp_path / "fig")
    assert fig.paths and "reference ref" in fig.title

    params["text_edit"]["edits"] = {}
    Path("params.yaml").write_text(yaml.safe_dump(params))
    run_text_edits(Path("params.yaml"), Path("results/edits"))
    assert sorted(p.name for p in Path("results/edits").iterdir()) == [MARKER, "edits.json"]  # replaced as a whole
    fig = text_edits("results/edits", layout, "low_density", 4, tmp_path / "fig2")
    assert not fig.paths and NO_EDITS in fig.note


def test_text_edit_stage_with_the_tiny_clip_scores_edits(tiny_files: dict[str, str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The smoke setup on tiny inputs: edits driven by the committed tiny CLIP, scored by the attribute judge and
    id-dlib-resnet into edits.json, and the scores shown beside the figure."""
    import json
    import shutil

    import yaml

    from benchmark import assets
    from benchmark.report.paper_figures import text_edits
    from benchmark.stages.layout import Layout
    from benchmark.stages.text_edit import run_text_edits
    from benchmark.testing import make_test_images

    for name in ("clip-tiny-smoke", "smoke_attribute_judge"):
        try:
            assets.resolve(name)
        except Exception:  # noqa: BLE001
            pytest.skip(f"{name} is not committed yet")
    monkeypatch.chdir(tmp_path)
    cfg = tiny_config(tiny_files, tmp_path, edit_embedder="clip-tiny-smoke", edit_steps=1, edit_decode_steps=1)
    layout = Layout()
    make_test_images(layout.split_dir("low_density"), n=2)
    ref = make_test_images(tmp_path / "ref", n=1, size=48, seed=7)[0]
    layout.reference_path("ref").parent.mkdir(parents=True)
    shutil.copy(ref, layout.reference_path("ref"))
    runner.finetune(runner.build("osasis", cfg, "cpu", 0, 32), layout.reference_path("ref"),
                    layout.model_dir("osasis", "ref"))  # fmt: skip
    params = {"profile": "t", "seed": 0, "device": "cpu", "resolution": 32, "methods": ["osasis"],
              "references": ["ref"], "splits": ["low_density"], "method_cfg": {"osasis": cfg},
              "text_edit": {"reference": "ref", "n_inputs": 2, "source": "a photo of a cartoon face",
                            "edits": {"hat": "a photo of a cartoon face with a hat"},
                            "targets": {"hat": {"hat": True}}}}  # fmt: skip
    Path("params.yaml").write_text(yaml.safe_dump(params))
    record = run_text_edits(Path("params.yaml"), Path("results/edits"))
    hat = record["scores"]["hat"]
    assert record["scores"]["n_inputs"] == 2 and len(hat["judged"]) == 2
    assert 0 <= hat["target_rate"] <= 1 and 0 <= hat["kept_rate"] <= 1 and -1 <= hat["id-dlib-resnet"] <= 1
    saved = json.loads(Path("results/edits/edits.json").read_text())
    assert saved["scores"]["hat"]["target"] == {"hat": True}
    fig = text_edits("results/edits", layout, "low_density", 2, tmp_path / "fig")
    assert fig.paths and "judged by smoke_attribute_judge" in fig.title and "hat: target" in fig.note


def test_photo_render_stylizes_the_rendered_edit(tiny_files: dict[str, str], tmp_path: Path) -> None:
    """``edit_render: photo`` stylizes ε^A's rendering of the edit at ``edit_t0``: the output differs from the
    direct render, is deterministic, and a bad render name is a ConfigError."""
    from benchmark.errors import ConfigError
    from benchmark.testing import make_test_images
    from osasis.method.edit import render_photo

    ref = make_test_images(tmp_path / "ref", n=1, size=48, seed=7)[0]
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    outs = []
    for render in ("direct", "photo", "photo"):
        cfg = tiny_config(tiny_files, tmp_path, edit_embedder="clip-vit-b32-random", edit_steps=1,
                          edit_decode_steps=1, edit_t0=750, edit_render=render)  # fmt: skip
        method = runner.build("osasis", cfg, "cpu", 0, 32)
        runner.finetune(method, ref, tmp_path / "work")
        method.load(ref, tmp_path / "work")
        outs.append(method.edit(images, ["a", "b"], "a photo", "a sketch"))
    assert outs[0].shape == outs[1].shape == (2, 3, 32, 32)
    assert (outs[0] - outs[1]).abs().max() > 1e-3 and torch.equal(outs[1], outs[2])
    a = models.model_a(OSASISConfig(diffae_path=tiny_files["autoenc"], diffae_config="diffae_tiny32"), CPU)
    x = images * 2 - 1
    photo = render_photo(a, x, encode(a, x), EditSettings(t0=750, inversion_grid=4, reverse_grid=4))
    assert photo.shape == x.shape and photo.abs().max() <= 1
    with pytest.raises(ConfigError, match="render"):
        EditSettings(render="pixels")
    with pytest.raises(ValueError, match="edit_render"):
        OSASISConfig(edit_render="pixels")
