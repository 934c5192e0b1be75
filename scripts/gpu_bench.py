"""Paper-size measurements on one device with random full-size weights (driver of ``scripts/gpu_bench.sh``).

Stages (each timed with the device synchronised; peak memory from ``torch.cuda.max_memory_allocated``):

* ``osasis-finetune-<recipe>``: OSASIS fine-tuning of the FFHQ-256 DiffAE (official architecture, random weights,
  random CLIP ViT-B/32 embedder, LPIPS-VGG with a random backbone) at batch 8 for ``--iterations`` iterations of
  the official loop; s/iteration and the extrapolation to 200 iterations; ``official`` and ``fast`` recipes.
* ``osasis-stylize``: stylization images/s at each batch size of ``--stylize-batches`` (the best is reported).
* ``jojogan-step``: one JoJoGAN fine-tuning step at 1024 px (StyleGAN2 config-f generator forward + discriminator
  features + backward + Adam), extrapolated to the official 300 iterations.
* ``metric-<net>``: feature extraction images/s for the FID Inception (299 px), DINO ViT-B/8 (224 px) and
  LPIPS-Alex (256 px).

``--smoke`` uses tiny configs (CPU-fast) so that the driver itself can be tested; its figures mean nothing.
Writes ``<out>/<device>.json``; ``--table`` also writes the Markdown table (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import benchmark  # noqa: F401  (torchvision shim first)
from benchmark.features.dino_vit import DinoViT
from benchmark.features.inception import FIDInception
from benchmark.imageio import atomic_write_text
from benchmark.metrics.lpips import get_lpips
from osasis.api import build_diffae, build_latent_net, stylize
from osasis.method.embedders import get_embedder
from osasis.method.finetune import TrainModels, TrainSettings, finetune

OFFICIAL = {"osasis_minutes_per_reference": 30.0, "osasis_peak_gb": 34.0, "device": "A100 (OSASIS README)"}
GOAL = {"osasis_fast_minutes_per_reference": 3.0, "osasis_fast_peak_gb": 16.0, "device": "H100 (issue 17)"}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(device: torch.device, fn: Callable[[], Any]) -> tuple[float, float | None]:
    """Wall seconds of ``fn()`` and the peak device memory in GB during it (None off CUDA)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None
    return seconds, peak


@dataclasses.dataclass
class Sizes:
    diffae: str
    latent: str
    spn: str
    train_grids: tuple[int, int]
    infer_grids: tuple[int, int]
    latent_steps: int
    sample_steps: int
    stylegan_size: int
    dino_size: int
    inception_size: int
    lpips_size: int


PAPER = Sizes("diffae_ffhq256", "latent_ffhq256", "spn_default", (50, 20), (100, 50), 200, 20, 1024, 224, 299, 256)
SMOKE = Sizes("diffae_tiny32", "latent_tiny", "spn_tiny", (4, 4), (4, 4), 2, 2, 32, 32, 75, 32)


def precision(device: torch.device, recipe: str) -> str:
    if device.type != "cuda":
        return "fp32"
    return "bf16" if recipe == "fast" and torch.cuda.is_bf16_supported() else "fp16"


def osasis_finetune(device: torch.device, sizes: Sizes, recipe: str, iterations: int, batch: int) -> dict[str, Any]:
    torch.manual_seed(0)
    model_a = build_diffae(sizes.diffae).to(device).eval().requires_grad_(False)
    latent = build_latent_net(sizes.latent).to(device).eval().requires_grad_(False)
    res = model_a.config.image_size
    style = torch.rand(2, 3, res, res, generator=torch.Generator().manual_seed(1)).to(device) * 2 - 1
    models = TrainModels(model_a, latent, None, get_embedder("clip-vit-b32-random", device=device),
                         get_lpips("vgg", device, random_backbone=True), style[:1], style[1:])  # fmt: skip
    settings = TrainSettings(iterations=iterations, batch_size=batch, latent_steps=sizes.latent_steps,
                             sample_steps=sizes.sample_steps, grids=sizes.train_grids, spn_config=sizes.spn,
                             precision=precision(device, recipe), checkpoint_every=iterations, sample_every=0,
                             recipe=recipe, attention="sdpa" if recipe == "fast" else "einsum")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
        seconds, peak = measure(device, lambda: finetune(models, settings, Path(tmp), device=device, run_key="b"))
    per_iter = seconds / iterations
    return {"recipe": recipe, "batch": batch, "iterations_run": iterations, "precision": settings.precision,
            "s_per_iteration": per_iter, "minutes_for_200": per_iter * 200 / 60, "peak_gb": peak}  # fmt: skip


def osasis_stylize(device: torch.device, sizes: Sizes, batches: list[int]) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_diffae(sizes.diffae).to(device).eval().requires_grad_(False)
    res = model.config.image_size
    prec = precision(device, "official")
    rates = {}
    for b in batches:
        x = torch.rand(b, 3, res, res, device=device) * 2 - 1
        try:
            with torch.no_grad():
                seconds, peak = measure(device, lambda x=x: stylize(model, model, None, x, x[:1], precision=prec))
        except torch.cuda.OutOfMemoryError:
            break
        rates[b] = {"images_per_s": b / seconds, "peak_gb": peak}
    best = max(rates, key=lambda b: rates[b]["images_per_s"])
    return {"precision": prec, "per_batch": rates, "best_batch": best, "images_per_s": rates[best]["images_per_s"]}


def jojogan_step(device: torch.device, sizes: Sizes, steps: int) -> dict[str, Any]:
    from baselines.stylegan2.model import Discriminator, Generator, StyleGAN2Config

    torch.manual_seed(0)
    cfg = StyleGAN2Config.official(sizes.stylegan_size) if sizes.stylegan_size >= 256 else StyleGAN2Config.tiny()
    gen, disc = Generator(cfg).to(device), Discriminator(cfg).to(device).eval().requires_grad_(False)
    opt = torch.optim.Adam(gen.parameters(), lr=2e-3, betas=(0.0, 0.99))
    w = torch.randn(1, cfg.n_latent, cfg.style_dim, device=device)
    target = torch.rand(1, 3, cfg.size, cfg.size, device=device) * 2 - 1
    blocks = [0, 1, 2]

    def step() -> None:
        out = gen(w)
        loss = sum(torch.nn.functional.l1_loss(a, b) for a, b in
                   zip(disc.features(out, blocks), disc.features(target, blocks)))  # fmt: skip
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    seconds, peak = measure(device, lambda: [step() for _ in range(steps)])
    return {"size": cfg.size, "s_per_step": seconds / steps, "minutes_for_300": seconds / steps * 300 / 60,
            "peak_gb": peak}  # fmt: skip


def metric_extraction(device: torch.device, sizes: Sizes, batch: int) -> dict[str, Any]:
    nets = {
        "fid-inception": (FIDInception(random_weights=True).to(device).eval(), sizes.inception_size),
        "dino-vitb8": (DinoViT().to(device).eval(), sizes.dino_size),
        "lpips-alex": (get_lpips("alex", device, random_backbone=True), sizes.lpips_size),
    }
    out = {}
    for name, (net, size) in nets.items():
        x = torch.rand(batch, 3, size, size, device=device)

        def run(net=net, x=x, name=name) -> None:
            with torch.no_grad():
                net(x, x) if name.startswith("lpips") else net(x)

        run()  # warm-up
        seconds, _ = measure(device, lambda run=run: [run() for _ in range(3)])
        out[name] = {"size": size, "batch": batch, "images_per_s": 3 * batch / seconds}
    return out


def device_name(device: torch.device) -> str:
    raw = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu-{platform.machine()}"
    return re.sub(r"[^A-Za-z0-9]+", "-", raw).strip("-").lower()


def table(result: dict[str, Any]) -> str:
    """The Markdown table of one result, official figures beside ours."""
    s, ft = result["stages"], result["stages"].get("osasis-finetune", {})

    def fmt(v: Any, unit: str = "") -> str:
        return "n/a" if v is None else f"{v:.3g}{unit}"

    rows = ["| stage | ours | official / goal |", "|---|---|---|"]
    for recipe, ref in (("official", f"~{OFFICIAL['osasis_minutes_per_reference']:.0f} min, "
                                     f"{OFFICIAL['osasis_peak_gb']:.0f} GB ({OFFICIAL['device']})"),
                        ("fast", f"goal ≤ {GOAL['osasis_fast_minutes_per_reference']:.0f} min, "
                                 f"≤ {GOAL['osasis_fast_peak_gb']:.0f} GB ({GOAL['device']})")):  # fmt: skip
        r = ft.get(recipe)
        if r:
            rows.append(f"| OSASIS fine-tune, {recipe} recipe, batch {r['batch']} ({r['precision']}) | "
                        f"{fmt(r['s_per_iteration'], ' s/it')} → {fmt(r['minutes_for_200'], ' min')} for 200 it, "
                        f"peak {fmt(r['peak_gb'], ' GB')} | {ref} |")  # fmt: skip
    if "osasis-stylize" in s:
        r = s["osasis-stylize"]
        rows.append(f"| OSASIS stylization (best batch {r['best_batch']}) | {fmt(r['images_per_s'], ' img/s')} | – |")
    if "jojogan" in s:
        r = s["jojogan"]
        rows.append(f"| JoJoGAN step at {r['size']} px | {fmt(r['s_per_step'], ' s')} → "
                    f"{fmt(r['minutes_for_300'], ' min')} for 300 it, "
                    f"peak {fmt(r['peak_gb'], ' GB')} | – |")  # fmt: skip
    for name, r in s.get("metrics", {}).items():
        rows.append(f"| metric extraction {name} ({r['size']} px, batch {r['batch']}) | "
                    f"{fmt(r['images_per_s'], ' img/s')} | – |")  # fmt: skip
    head = (f"Device: {result['device_name']} · torch {result['torch']} · "
            f"{'SMOKE (tiny configs, figures meaningless)' if result['smoke'] else 'paper sizes, random weights'}")
    return head + "\n\n" + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Paper-size performance measurements (random full-size weights)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true", help="tiny configs (tests the driver; figures meaningless)")
    parser.add_argument("--iterations", type=int, default=2, help="OSASIS fine-tune iterations measured per recipe")
    parser.add_argument("--batch", type=int, default=8, help="OSASIS fine-tune batch (official: 8)")
    parser.add_argument("--stylize-batches", default="1,4,8,16,32")
    parser.add_argument("--jojogan-steps", type=int, default=5)
    parser.add_argument("--metric-batch", type=int, default=64)
    parser.add_argument("--stages", default="finetune,stylize,jojogan,metrics")
    parser.add_argument("--out", type=Path, default=Path("results/perf"))
    parser.add_argument("--table", type=Path, help="write the Markdown table here too")
    args = parser.parse_args(argv)
    stages = set(args.stages.split(","))
    unknown = stages - {"finetune", "stylize", "jojogan", "metrics"}
    if unknown:
        print(f"error: unknown stages {sorted(unknown)}", file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device (use --device cpu --smoke to test the driver)",
              file=sys.stderr)  # fmt: skip
        return 2
    device = torch.device(args.device)
    sizes = SMOKE if args.smoke else PAPER
    result: dict[str, Any] = {"device_name": device_name(device), "torch": torch.__version__, "smoke": args.smoke,
                              "random_weights": True, "stages": {}}  # fmt: skip
    t0 = time.perf_counter()
    if "finetune" in stages:
        result["stages"]["osasis-finetune"] = {
            r: osasis_finetune(device, sizes, r, args.iterations, args.batch) for r in ("official", "fast")}
        print(json.dumps(result["stages"]["osasis-finetune"]), flush=True)
    if "stylize" in stages:
        batches = [int(b) for b in args.stylize_batches.split(",")]
        result["stages"]["osasis-stylize"] = osasis_stylize(device, sizes, batches)
    if "jojogan" in stages:
        result["stages"]["jojogan"] = jojogan_step(device, sizes, args.jojogan_steps)
    if "metrics" in stages:
        result["stages"]["metrics"] = metric_extraction(device, sizes, args.metric_batch)
    result["total_seconds"] = time.perf_counter() - t0
    name = result["device_name"] + ("-smoke" if args.smoke else "")
    path = args.out / f"{name}.json"
    atomic_write_text(path, json.dumps(result, indent=1, default=str) + "\n")
    text = table(result)
    if args.table:
        atomic_write_text(args.table, "# Performance (scripts/gpu_bench.sh)\n\n" + text)
    print(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
