"""Through the runner: a fine-tuning killed mid-way resumes from the state directory and ends bit-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from osasis_method_helpers import tiny_config

from benchmark.checkpoints import load_tensors
from benchmark.methods import runner
from benchmark.testing import make_test_images


class KilledError(RuntimeError):
    pass


def _kill_after(n: int):
    def hook(iteration: int) -> None:
        if iteration == n:
            raise KilledError

    return hook


def test_killed_prepare_resumes_bit_exact(tiny_files: dict[str, str], tmp_path: Path) -> None:
    ref = make_test_images(tmp_path / "ref", n=1, size=48, seed=3)[0]
    cfg = tiny_config(tiny_files, tmp_path, iterations=2, sample_every=0)
    runner.finetune(runner.build("osasis", cfg, "cpu", 0, 32), ref, tmp_path / "full")
    killed = runner.build("osasis", {**cfg, "state_dir": str(tmp_path / "state2")}, "cpu", 0, 32)
    killed.iteration_hook = _kill_after(1)
    with pytest.raises(KilledError):
        runner.finetune(killed, ref, tmp_path / "resumed")
    assert not (tmp_path / "resumed").exists() and any((tmp_path / "state2").iterdir())
    runner.finetune(runner.build("osasis", {**cfg, "state_dir": str(tmp_path / "state2")}, "cpu", 0, 32), ref,
                    tmp_path / "resumed")  # fmt: skip
    info = json.loads((tmp_path / "resumed" / "osasis_finetune.json").read_text())
    assert info["resumed_from_iteration"] == 1 and info["optimizer_steps"] == 4
    a = load_tensors(tmp_path / "full" / "osasis_model.pt", "test")
    b = load_tensors(tmp_path / "resumed" / "osasis_model.pt", "test")
    assert any(k.startswith("latent_net.") for k in a["diffae_B"])  # the official latent-model layout
    for part in ("diffae_B", "model_map"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part])
    assert (tmp_path / "full" / "losses.csv").read_text() == (tmp_path / "resumed" / "losses.csv").read_text()
    assert not any((tmp_path / "state2").iterdir())  # removed after success (keep_train_state: false)
