"""The fast fine-tuning recipe against the official one (fp32, tiny config): equal losses and weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_finetune import CPU, _models, _settings

from osasis.method import models
from osasis.method.config import OSASISConfig
from osasis.method.finetune import finetune
from osasis.networks.common import attention_backend, qkv_attention_legacy

TOL = 1e-5


def _run(files: dict[str, str], tmp: Path, **kw: object):
    s = _settings(iterations=2, batch_size=2, checkpoint_every=1, sample_every=0, **kw)
    return finetune(_models(files), s, tmp, device=CPU, run_key="k")


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


@pytest.mark.slow
def test_fast_changes_match_official(tiny_files: dict[str, str], tmp_path: Path) -> None:
    """SDPA, gradient checkpointing and the fast loop (gen_batch = batch size: same draws, same order, chunks cut
    at checkpoints) give the official losses and weights after 2 iterations (4 optimizer steps each)."""
    official = _run(tiny_files, tmp_path / "official")
    # the weights moved: the comparison is not between two untouched copies
    assert _max_diff(official.model_b.state_dict(), _models(tiny_files).model_a.state_dict()) > 1e-4
    for i, change in enumerate([
        {"attention": "sdpa", "grad_checkpoint": True},
        {"recipe": "fast", "gen_batch": 2, "attention": "sdpa", "grad_checkpoint": True},
    ]):  # fmt: skip
        fast = _run(tiny_files, tmp_path / str(i), **change)
        assert fast.optimizer_steps == official.optimizer_steps > 0
        assert len(fast.history) == len(official.history) == 2
        for row_f, row_o in zip(fast.history, official.history):
            assert row_f.keys() == row_o.keys()
            for key in row_o:
                assert abs(row_f[key] - row_o[key]) <= TOL, (change, key, row_f[key], row_o[key])
        assert _max_diff(fast.model_b.state_dict(), official.model_b.state_dict()) <= TOL
        assert _max_diff(fast.spn.state_dict(), official.spn.state_dict()) <= TOL
        assert not fast.model_b.gradient_checkpointing


def test_sdpa_attention_equals_einsum() -> None:
    qkv = torch.randn(3, 2 * 3 * 16, 64, generator=torch.Generator().manual_seed(0))
    ref = qkv_attention_legacy(qkv, 2)
    with attention_backend("sdpa"):
        out = qkv_attention_legacy(qkv, 2)
    assert float((out - ref).abs().max()) < 1e-6
    with pytest.raises(ValueError, match="attention backend"), attention_backend("flash"):
        pass


def test_recipe_config() -> None:
    assert OSASISConfig().recipe == "official" and OSASISConfig().effective_attention == "einsum"
    fast = OSASISConfig(recipe="fast")
    assert fast.effective_attention == "sdpa"
    assert models.precision_for(fast, CPU) == "fp32"
    with pytest.raises(ValueError, match="recipe"):
        OSASISConfig(recipe="quick")
    with pytest.raises(ValueError, match="gen_batch"):
        OSASISConfig(gen_batch=0)
    with pytest.raises(ValueError, match="recipe"):
        finetune(None, _settings(recipe="quick"), Path("."), device=CPU)  # type: ignore[arg-type]


def test_batched_synthesis_same_stream(tiny_files: dict[str, str]) -> None:
    """Large synthesis batches draw the official noise in the official order; values differ only by float batch
    effects (amplified by the DDIM inversion of a random tiny model), not by the random stream."""
    from osasis.diffusion.structural import structural_schedule
    from osasis.method.finetune import synthesize

    m = _models(tiny_files)
    out = {}
    for recipe in ("official", "fast"):
        s = _settings(batch_size=2, recipe=recipe, gen_batch=8)
        sched = structural_schedule("training", s.t0, s.schedule, grids=tuple(s.grids))
        gen = torch.Generator().manual_seed(1)
        out[recipe] = synthesize(m, s, sched, gen, CPU, 3)
        out[recipe + "-state"] = gen.get_state()
    assert torch.equal(out["official-state"], out["fast-state"])
    for a, b in zip(out["official"], out["fast"], strict=True):
        assert a.images.shape == b.images.shape == (2, 3, 32, 32)
        assert float((a.images - b.images).abs().max()) < 1e-4
        assert float((a.z_in - b.z_in).abs().max()) < 1e-4
        assert float((a.x_in - b.x_in).abs().max()) < 1e-2
    assert float((out["fast"][0].images - out["fast"][1].images).abs().max()) > 0.1  # distinct draws
