"""CUDA parity (run by scripts/gpu_bench.sh): each network on CUDA in fp32 against CPU on the same tiny weights,
and the autocast paths (fp16, bf16) finite and close. Every test skips without a CUDA device."""

from __future__ import annotations

import pytest
import torch

import benchmark  # noqa: F401  (torchvision shim first)
from baselines.stylegan2.model import Discriminator, Generator, StyleGAN2Config
from benchmark.features.dino_vit import DinoViT, ViTConfig
from benchmark.features.inception import FIDInception
from benchmark.metrics.lpips import get_lpips
from osasis.api import build_diffae, build_spn, stylize
from osasis.networks.common import attention_backend

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch sees none)")]
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def _close(a: torch.Tensor, b: torch.Tensor, tol: float) -> None:
    a, b = a.float().cpu(), b.float().cpu()
    assert torch.isfinite(b).all()
    scale = max(1.0, float(a.abs().max()))
    assert float((a - b).abs().max()) <= tol * scale, float((a - b).abs().max())


@pytest.fixture(autouse=True)
def _fp32_matmul():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield


def test_osasis_stylize_cuda_matches_cpu() -> None:
    torch.manual_seed(0)
    model = build_diffae("diffae_tiny32").eval()
    spn = build_spn("spn_tiny").eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    ref = stylize(model, model, spn, x, x[:1], mode="official")
    m, s = model.to(CUDA), spn.to(CUDA)
    _close(ref, stylize(m, m, s, x.to(CUDA), x[:1].to(CUDA), mode="official"), 1e-3)
    with attention_backend("sdpa"):
        _close(ref, stylize(m, m, s, x.to(CUDA), x[:1].to(CUDA), mode="official"), 1e-3)
    for precision in ("fp16", "bf16"):
        _close(ref, stylize(m, m, s, x.to(CUDA), x[:1].to(CUDA), precision=precision), 0.25)


def test_osasis_finetune_cuda_matches_cpu(tmp_path) -> None:  # noqa: ANN001
    from osasis.api import build_latent_net
    from osasis.method.embedders import get_embedder
    from osasis.method.finetune import TrainModels, TrainSettings, finetune

    def run(device: torch.device, precision: str, recipe: str) -> list[dict[str, float]]:
        torch.manual_seed(0)
        a = build_diffae("diffae_tiny32").to(device).eval().requires_grad_(False)
        latent = build_latent_net("latent_tiny").to(device).eval().requires_grad_(False)
        style = (torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1).to(device)
        tm = TrainModels(a, latent, None, get_embedder("clip-vit-b32-random", device=device),
                         get_lpips("vgg", device, random_backbone=True), style[:1], style[1:])  # fmt: skip
        s = TrainSettings(iterations=1, batch_size=2, latent_steps=2, sample_steps=2, grids=(4, 4), dropout=False,
                          spn_config="spn_tiny", precision=precision, checkpoint_every=1, sample_every=0,
                          recipe=recipe)  # fmt: skip
        return finetune(tm, s, tmp_path / f"{device.type}-{precision}-{recipe}", device=device).history

    ref = run(CPU, "fp32", "official")
    for key, value in run(CUDA, "fp32", "official")[0].items():
        assert abs(value - ref[0][key]) <= 1e-3 * max(1.0, abs(ref[0][key])), key
    for precision in ("fp16", "bf16"):
        assert all(torch.isfinite(torch.tensor(v)) for v in run(CUDA, precision, "fast")[0].values())


@pytest.mark.parametrize("name", ["fid-inception", "dino-vitb8", "lpips-alex", "lpips-vgg"])
def test_metric_networks_cuda_match_cpu(name: str) -> None:
    torch.manual_seed(0)
    if name == "fid-inception":
        net, size = FIDInception(random_weights=True).eval(), 299
    elif name == "dino-vitb8":
        net, size = DinoViT(ViTConfig(depth=2)).eval(), 224
    else:
        net, size = get_lpips(name.split("-")[1], CPU, random_backbone=True), 64
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = net(x, x.flip(0)) if name.startswith("lpips") else net(x)
        gpu = net.to(CUDA)
        out = gpu(x.to(CUDA), x.flip(0).to(CUDA)) if name.startswith("lpips") else gpu(x.to(CUDA))
    _close(ref, out, 1e-3)


def test_stylegan2_cuda_matches_cpu() -> None:
    torch.manual_seed(0)
    cfg = StyleGAN2Config.tiny()
    gen, disc = Generator(cfg).eval(), Discriminator(cfg).eval()
    w = torch.randn(2, cfg.n_latent, cfg.style_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        img = gen(w)
        _close(img, gen.to(CUDA)(w.to(CUDA)), 1e-3)
        _close(disc(img), disc.to(CUDA)(img.to(CUDA)), 1e-3)
