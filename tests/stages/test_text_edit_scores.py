"""The text-edit stage's edit scores: targets are validated, and the judge/identity scores behave on tiny inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmark import assets
from benchmark.errors import ConfigError
from benchmark.stages.text_edit import score_edits, text_edit_section


def _section(**text_edit) -> dict:
    return text_edit_section({"references": ["r"], "text_edit": text_edit})


def test_targets_must_name_edits_and_judge_classes() -> None:
    ok = _section(edits={"hat": "with a hat"}, targets={"hat": {"hat": True}})
    assert ok["targets"] == {"hat": {"hat": True}} and ok["judge"] == "smoke_attribute_judge"
    with pytest.raises(ConfigError, match="not an edit"):
        _section(edits={"hat": "with a hat"}, targets={"cap": {"hat": True}})
    with pytest.raises(ConfigError, match="not a judge class"):
        _section(edits={"hat": "with a hat"}, targets={"hat": {"hair_colour": "purple"}})
    with pytest.raises(ConfigError, match="mapping"):
        _section(edits={"hat": "with a hat"}, targets={"hat": "yes"})


def test_unchanged_outputs_keep_everything_and_hit_only_what_was_there(tmp_path: Path) -> None:
    """Outputs identical to the inputs: every other attribute is kept, identity is ~1 and the target rate equals
    the rate at which the inputs already showed the target."""
    from benchmark.smoke.build import split_seed
    from benchmark.smoke.faces import generate_faces

    try:
        assets.resolve("smoke_attribute_judge")
    except Exception:  # noqa: BLE001
        pytest.skip("the attribute judge is not committed yet")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for i, (img, _) in enumerate(generate_faces(3, split_seed(0, "heldout"), 64)):
        img.convert("RGB").save(inputs / f"face{i}.png")
    files = sorted(inputs.glob("*.png"))
    (tmp_path / "edits" / "hat").mkdir(parents=True)
    for p in files:
        shutil.copy(p, tmp_path / "edits" / "hat" / p.name)
    cfg = _section(edits={"hat": "with a hat"}, targets={"hat": {"hat": True}})
    scores = score_edits(tmp_path / "edits", files, cfg)
    hat = scores["hat"]
    assert scores["n_inputs"] == 3 and hat["kept_rate"] == 1.0
    assert hat["target_rate"] == hat["target_before"]
    assert hat["id-dlib-resnet"] > 0.99 and len(hat["judged"]) == 3
    assert "photo_target_rate" not in hat  # no photo/ renders (edit_render direct)
    (tmp_path / "edits" / "hat" / "photo").mkdir()
    for p in files:
        shutil.copy(p, tmp_path / "edits" / "hat" / "photo" / p.name)
    hat = score_edits(tmp_path / "edits", files, cfg)["hat"]
    assert hat["photo_kept_rate"] == 1.0 and hat["photo_target_rate"] == hat["target_before"]
