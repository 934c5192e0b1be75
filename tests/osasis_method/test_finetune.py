"""Fine-tuning: one optimizer update per reverse step, loss CSV and sample grids, bit-exact resume after a kill."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from benchmark.metrics.lpips import get_lpips
from osasis.method import models
from osasis.method.config import OSASISConfig
from osasis.method.embedders import get_embedder
from osasis.method.finetune import LOSS_FILE, SAMPLES_DIR, TrainModels, TrainSettings, finetune, read_losses

CPU = torch.device("cpu")


class KilledError(RuntimeError):
    pass


def _models(files: dict[str, str], lpips_hook=None) -> TrainModels:
    cfg = OSASISConfig(diffae_path=files["autoenc"], diffae_config="diffae_tiny32", latent_path=files["latent"],
                       latent_config="diffae_latent_tiny32", latent_stats_path=files["stats"])  # fmt: skip
    g = torch.Generator().manual_seed(5)
    lpips = get_lpips("vgg", CPU)
    return TrainModels(
        model_a=models.model_a(cfg, CPU), latent_net=models.latent_net(cfg, CPU), stats=models.latent_stats(cfg),
        embed=get_embedder("vgg16-imagenet", device=CPU), lpips=lpips_hook(lpips) if lpips_hook else lpips,
        style_a=torch.rand(1, 3, 32, 32, generator=g) * 2 - 1, style_b=torch.rand(1, 3, 32, 32, generator=g) * 2 - 1,
    )  # fmt: skip


def _settings(**kw: object) -> TrainSettings:
    base = dict(iterations=2, batch_size=1, latent_steps=2, sample_steps=2, grids=(4, 4), lr_unet=1e-4,
                spn_config="spn_tiny", checkpoint_every=1, sample_every=1, seed=3)  # fmt: skip
    return TrainSettings(**{**base, **kw})  # type: ignore[arg-type]


def _killer(at_call: int):
    """Wrap LPIPS so that its ``at_call``-th call raises (a kill in the middle of an iteration)."""
    count = {"n": 0}

    def hook(lpips):  # noqa: ANN001, ANN202
        def call(a, b):  # noqa: ANN001, ANN202
            count["n"] += 1
            if count["n"] == at_call:
                raise KilledError
            return lpips(a, b)

        return call

    return hook


def test_updates_logs_and_bit_exact_resume(tiny_files: dict[str, str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    calls: list[int] = []
    original = torch.optim.Adam.step

    def counting(self, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(id(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting)
    full = finetune(_models(tiny_files), _settings(), tmp_path / "full", device=CPU, run_key="k")
    # grids (4, 4) at t0 = 500: reverse indices 1, 0 -> one update of each optimizer per reverse step
    assert full.optimizer_steps == 4
    assert len(calls) == 8 and len(set(calls)) == 2
    rows = read_losses(tmp_path / "full" / LOSS_FILE)
    assert [int(r["iteration"]) for r in rows] == [1, 2] and all(r["total"] > 0 for r in rows)
    assert sorted(p.name for p in (tmp_path / "full" / SAMPLES_DIR).glob("*.png")) == ["iter_0001.png",
                                                                                       "iter_0002.png"]  # fmt: skip
    base = _models(tiny_files).model_a.state_dict()
    changed = [n for n, p in full.model_b.named_parameters() if not torch.equal(p, base[n])]
    assert changed and not [n for n in changed if n.startswith("encoder.")]

    # killed in iteration 2 after its first (unsaved) update; the restart resumes from iteration 1
    with pytest.raises(KilledError):
        finetune(_models(tiny_files, _killer(4)), _settings(), tmp_path / "killed", device=CPU, run_key="k")
    resumed = finetune(_models(tiny_files), _settings(), tmp_path / "killed", device=CPU, run_key="k")
    assert resumed.resumed_from == 1
    for a, b in [(full.model_b, resumed.model_b), (full.spn, resumed.spn)]:
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert full.history == resumed.history
    assert (tmp_path / "full" / LOSS_FILE).read_text() == (tmp_path / "killed" / LOSS_FILE).read_text()
    # a state written by another run (other key) is not resumed
    other = finetune(_models(tiny_files), _settings(iterations=0), tmp_path / "killed", device=CPU, run_key="x")
    assert other.resumed_from == 0
