"""Helpers of the OSASIS method tests: tiny random models in the official layouts and a fast method config."""

from __future__ import annotations

from pathlib import Path

import torch

from benchmark.testing import randomize
from osasis.api import build_diffae, build_latent_net, build_p2
from osasis.weights import save_diffae_lightning, save_latent_stats, save_p2


def write_tiny_models(folder: Path) -> dict[str, str]:
    """diffae_tiny32 autoencoder, its latent variant + stats, a p2_tiny32 DDPM: official layouts under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    auto = randomize(build_diffae("diffae_tiny32"), 1, 0.05)
    latent = build_diffae("diffae_latent_tiny32")
    latent.load_state_dict({**auto.state_dict(), **{f"latent_net.{k}": v for k, v in
                            randomize(build_latent_net("latent_tiny"), 2, 0.05).state_dict().items()}})  # fmt: skip
    stats_codes = torch.randn(64, 32, generator=torch.Generator().manual_seed(3)) * 0.5
    save_diffae_lightning(folder / "autoenc.ckpt", auto)
    save_diffae_lightning(folder / "latent.ckpt", latent)
    save_latent_stats(folder / "latent.pkl", stats_codes)
    save_p2(folder / "p2.pt", randomize(build_p2("p2_tiny32"), 4, 0.05))
    return {"autoenc": str(folder / "autoenc.ckpt"), "latent": str(folder / "latent.ckpt"),
            "stats": str(folder / "latent.pkl"), "p2": str(folder / "p2.pt")}  # fmt: skip


def tiny_config(files: dict[str, str], tmp: Path, **overrides: object) -> dict[str, object]:
    """A CPU-fast OSASIS config on the tiny models (VGG stand-in embedder, 2 iterations of 2 reverse steps)."""
    cfg: dict[str, object] = {
        "diffae_path": files["autoenc"], "diffae_config": "diffae_tiny32",
        "latent_path": files["latent"], "latent_config": "diffae_latent_tiny32",
        "latent_stats_path": files["stats"], "p2_path": files["p2"], "p2_config": "p2_tiny32",
        "spn_config": "spn_tiny", "embedder": "vgg16-imagenet",
        "style_pair_respacing": 4, "style_pair_cache": str(tmp / "pair_cache"), "state_dir": str(tmp / "state"),
        "iterations": 1, "train_batch_size": 1, "latent_steps": 2, "sample_steps": 2, "t0": 500,
        "train_grids": [4, 4], "infer_grids": [4, 4], "checkpoint_every": 1, "sample_every": 1,
        "lr_unet": 1e-4, "precision": "fp32",
    }  # fmt: skip
    cfg.update(overrides)
    return cfg
