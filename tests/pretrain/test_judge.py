"""The attribute judge that scores text edits: loads without pickle, reads a batch consistently, and its committed
held-out accuracy holds on regenerated held-out faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmark import assets
from benchmark.errors import CheckpointError
from benchmark.pretrain import judge as J


def test_missing_or_wrong_file_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="--models judge"):
        J.load_judge(tmp_path / "absent.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(CheckpointError, match="not an AttributeJudge"):
        J.load_judge(tmp_path / "bad.safetensors")


def test_prediction_is_batch_invariant_and_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = J.AttributeJudge().eval()
    J.save_judge(tmp_path / "j.safetensors", model)
    loaded = J.load_judge(tmp_path / "j.safetensors")
    x = torch.rand(5, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    together = loaded.predict(x)
    alone = [loaded.predict(x[i:i + 1])[0] for i in range(5)]
    assert together == alone == model.predict(x)
    assert set(together[0]) == set(J.CLASSES) and isinstance(together[0]["hat"], bool)


def test_committed_judge_accuracy_holds_on_regenerated_heldout_faces() -> None:
    from benchmark.pretrain.clip import captioned_images

    try:
        path = assets.resolve("smoke_attribute_judge")
    except Exception:  # noqa: BLE001
        pytest.skip("the attribute judge is not committed yet")
    recorded = json.loads((assets.REPO_ROOT / "data/smoke/models/record.json").read_text())
    clean = recorded["models"]["judge"]["quality"]["heldout"]["clean"]
    data = captioned_images("heldout", 40, magenta_per_style=0)  # the first 40 of the 300 recorded faces
    measured = J.evaluate_judge(J.load_judge(path), data.images, data.attrs, data.styles)["clean"]
    for attribute in ("hair_colour", "hair_style", "skin", "hat"):
        assert measured[attribute]["accuracy"] >= clean[attribute]["accuracy"] - 0.15, attribute
    assert measured["hat"]["accuracy"] >= 0.9
