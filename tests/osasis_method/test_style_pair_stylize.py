"""Photoreal cache reuse, official checkpoint layout / released-model path, and the stylization identities."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from osasis_method_helpers import tiny_config

from benchmark.checkpoints import load_tensors, sha256_of
from benchmark.methods import runner
from benchmark.testing import make_test_images, randomize
from osasis.api import encode, invert, reverse
from osasis.configs import get_config
from osasis.method import models, plugin
from osasis.method.checkpoint import MODEL_FILE, load_style_model, save_style_model
from osasis.method.stylize import InferSettings, mix_spec, stylize_batch
from osasis.networks.spn import SPN
from osasis.weights import load_osasis

CPU = torch.device("cpu")


def _method(files: dict[str, str], tmp: Path, seed: int = 0, **kw: object):
    return runner.build("osasis", tiny_config(files, tmp, **kw), "cpu", seed, 32)


def test_photoreal_is_cached(tiny_files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = make_test_images(tmp_path / "ref", n=1, size=48, seed=7)[0]
    loads = []
    real = models.p2_model
    monkeypatch.setattr(models, "p2_model", lambda cfg, dev: loads.append(1) or real(cfg, dev))
    first, path1 = _method(tiny_files, tmp_path).photoreal(ref)
    second, path2 = _method(tiny_files, tmp_path).photoreal(ref)
    assert len(loads) == 1 and path1 == path2 and torch.equal(first, second)
    assert first.shape == (1, 3, 32, 32) and first.min() >= -1 and first.max() <= 1
    _method(tiny_files, tmp_path, seed=1).photoreal(ref)  # another seed is another cache entry
    _method(tiny_files, tmp_path, style_pair_n=2).photoreal(ref)  # best-of-n too
    assert len(loads) == 3


def _perturbed_copy(files: dict[str, str]):
    cfg = plugin.OSASISConfig(diffae_path=files["autoenc"], diffae_config="diffae_tiny32")
    a = models.model_a(cfg, CPU)
    b = randomize(type(a)(a.config), 9, 0.05)
    return a, b


def test_checkpoint_layout_half_and_pretrained(tiny_files: dict[str, str], tmp_path: Path) -> None:
    _, b = _perturbed_copy(tiny_files)
    spn = SPN(get_config("spn_tiny"))
    path = save_style_model(tmp_path / MODEL_FILE, b, spn, iteration=7, half=True)
    ckpt = load_tensors(path, "test")
    assert set(ckpt) == {"iter", "diffae_B", "model_map", "optim_diffae_B", "optim_map"} and ckpt["iter"] == 7
    assert all(v.dtype == torch.float16 for v in ckpt["model_map"].values() if v.is_floating_point())
    b2, spn2 = load_style_model(path, "diffae_tiny32", "spn_tiny", CPU, sha256=sha256_of(path), require_spn=True)
    assert torch.allclose(b2.state_dict()["out.2.weight"], b.state_dict()["out.2.weight"], atol=1e-3)
    assert load_osasis(path, "diffae_tiny32", "spn_tiny")[1] is not None
    # pretrained_style: prepare records the file, load() uses it (no training)
    full = save_style_model(tmp_path / "released" / "iter_200.pt", b, spn, iteration=200)
    method = _method(tiny_files, tmp_path, pretrained_style_path=str(full))
    ref = make_test_images(tmp_path / "ref", n=1, size=48, seed=7)[0]
    method.prepare(ref, tmp_path / "work")
    assert not (tmp_path / "work" / MODEL_FILE).exists()
    method.load(ref, tmp_path / "work")
    out = method.stylize(torch.rand(2, 3, 32, 32), ["a", "b"])
    assert out.shape == (2, 3, 32, 32) and out.min() >= 0 and out.max() <= 1


def test_mix_with_own_code_and_no_spn_is_plain_reconstruction(tiny_files: dict[str, str]) -> None:
    a, b = _perturbed_copy(tiny_files)
    spn = SPN(get_config("spn_tiny")).eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    s = InferSettings(grids=(4, 4), spn_weight=0.0, mix=mix_spec(a.config))
    with torch.no_grad():
        z_in = encode(a, x)
        plain = reverse(b, invert(a, x, z_in, schedule=s.structural()), z_in, schedule=s.structural()).clamp(-1, 1)
    mixed = stylize_batch(a, b, spn, x, z_in, s)
    assert torch.allclose(mixed, plain, atol=1e-5)
    # a different style code and the reversed assignment change the output; λ > 0 adds the SPN
    z_style = encode(a, x[:1]).detach()
    out_default = stylize_batch(a, b, spn, x, z_style, s)
    out_rev = stylize_batch(a, b, spn, x, z_style, InferSettings(grids=(4, 4), spn_weight=0.0,
                                                                  mix=mix_spec(a.config, "reversed")))  # fmt: skip
    out_spn = stylize_batch(a, b, spn, x, z_style, InferSettings(grids=(4, 4), spn_weight=0.1, mix=s.mix))
    assert not torch.allclose(out_default[1:], plain[1:], atol=1e-4)
    assert not torch.allclose(out_default, out_rev, atol=1e-4) and not torch.allclose(out_default, out_spn, atol=1e-4)
    # batch-size independence
    single = torch.cat([stylize_batch(a, b, spn, x[i : i + 1], z_style, s) for i in range(2)])
    assert (single - out_default).abs().max() < 1e-3, (single - out_default).abs().max()
