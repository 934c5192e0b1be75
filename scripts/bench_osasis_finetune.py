"""OSASIS fine-tuning: the ``fast`` recipe against the ``official`` one on the smoke config, in one run (CPU).

Both recipes fine-tune the smoke profile's models (``profiles/smoke.yaml``, ``method_cfg.osasis``) from the same
seed on the same procedural style pair; the script prints seconds per iteration of each, their ratio
(official / fast) and the largest difference of the per-iteration losses. Not a test.

    .venv/bin/python scripts/bench_osasis_finetune.py --iterations 4 --batch-size 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import benchmark  # noqa: F401  (torchvision shim first)
from benchmark.metrics.lpips import get_lpips
from benchmark.params import load_params, method_params, profile_file
from osasis.method import models
from osasis.method.config import OSASISConfig
from osasis.method.embedders import get_embedder
from osasis.method.finetune import TrainModels, finetune
from osasis.method.plugin import OSASIS


def smoke_config(**overrides: object) -> OSASISConfig:
    """The smoke profile's OSASIS config (only ``OSASISConfig`` fields), with ``overrides``."""
    section = method_params(load_params(profile_file("smoke")), "osasis")
    names = {f.name for f in dataclasses.fields(OSASISConfig)}
    return OSASISConfig(**{**{k: v for k, v in section.items() if k in names}, **overrides})


def train_models(cfg: OSASISConfig, device: torch.device, seed: int = 0) -> TrainModels:
    size = models.model_resolution(cfg)
    g = torch.Generator().manual_seed(seed)
    style_b = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    style_a = (style_b + 0.1 * torch.randn(1, 3, size, size, generator=g)).clamp(-1, 1)
    return TrainModels(
        model_a=models.model_a(cfg, device), latent_net=models.latent_net(cfg, device), stats=models.latent_stats(cfg),
        embed=get_embedder(cfg.embedder, device=device, preprocess=cfg.clip_preprocess), lpips=get_lpips("vgg", device),
        style_a=style_a.to(device), style_b=style_b.to(device),
    )  # fmt: skip


def run_recipe(cfg: OSASISConfig, device: torch.device) -> tuple[float, list[dict[str, float]]]:
    """Seconds per iteration and the loss history of one fine-tuning run."""
    method = OSASIS(config=dataclasses.asdict(cfg), device=str(device), seed=0)
    settings = dataclasses.replace(method.train_settings(), sample_every=0, checkpoint_every=cfg.iterations)
    tm = train_models(cfg, device)
    with tempfile.TemporaryDirectory(prefix="osasis-bench-") as tmp:
        start = time.perf_counter()
        result = finetune(tm, settings, Path(tmp), device=device, run_key="bench")
        elapsed = time.perf_counter() - start
    return elapsed / max(1, cfg.iterations), result.history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8, help="train_batch_size (official: 8)")
    parser.add_argument("--gen-batch", type=int, default=64, help="fast recipe: images per synthesis call")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    common = dict(iterations=args.iterations, train_batch_size=args.batch_size, checkpoint_every=args.iterations)
    official_s, official_hist = run_recipe(smoke_config(recipe="official", **common), device)
    fast_s, fast_hist = run_recipe(smoke_config(recipe="fast", gen_batch=args.gen_batch, **common), device)
    loss_diff = max(abs(a["total"] - b["total"]) for a, b in zip(official_hist, fast_hist))
    figures = {"device": str(device), "threads": args.threads, "iterations": args.iterations,
               "batch_size": args.batch_size, "gen_batch": args.gen_batch, "official_s_per_iter": official_s,
               "fast_s_per_iter": fast_s, "speedup_official_over_fast": official_s / fast_s,
               "max_abs_loss_diff": loss_diff}  # fmt: skip
    print(f"official {official_s:.3f} s/it  fast {fast_s:.3f} s/it  ratio official/fast {official_s / fast_s:.2f}x  "
          f"max |Δ total loss| {loss_diff:.2e}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
