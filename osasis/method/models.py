"""Loading the frozen networks the method needs (ε^A, latent DPM + stats, P2 DDPM), each once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from benchmark import assets
from osasis.configs import get_config
from osasis.method.config import OSASISConfig
from osasis.networks.adm_unet import ADMUNet
from osasis.networks.diffae_unet import DiffAEAutoencoder
from osasis.networks.latentnet import MLPSkipNet
from osasis.weights import LatentStats, load_diffae, load_latent_net, load_latent_stats, load_p2


def resolve(asset: str, path: str | None) -> Path:
    """An explicit path (must exist) or the manifest asset (clear :class:`AssetError` when missing)."""
    return assets.resolve(asset, path)


def named_config(name: str) -> Any:
    """A named osasis config (``diffae_ffhq256``...) or ``module:ATTR`` (e.g. the smoke models'
    ``benchmark.pretrain.configs:DIFFAE_SMOKE``)."""
    return get_config(name)


def precision_for(cfg: OSASISConfig, device: torch.device) -> str:
    """``auto``: fp16 autocast on CUDA (the official ``conf.fp16``; bf16 for the fast recipe on GPUs that have
    it), fp32 elsewhere."""
    if cfg.precision == "auto":
        if device.type != "cuda":
            return "fp32"
        fast_bf16 = getattr(cfg, "recipe", "official") == "fast" and torch.cuda.is_bf16_supported()
        return "bf16" if fast_bf16 else "fp16"
    return cfg.precision


@lru_cache(maxsize=4)
def _diffae(path: str, mtime_ns: int, config: str) -> DiffAEAutoencoder:
    return load_diffae(path, named_config(config)).requires_grad_(False)


def model_a(cfg: OSASISConfig, device: torch.device) -> DiffAEAutoencoder:
    """Frozen ε^A + encoder (EMA weights), eval mode. Cached per file: never modify it (deep-copy for ε^B)."""
    path = resolve(cfg.diffae, cfg.diffae_path)
    return _diffae(str(path), path.stat().st_mtime_ns, cfg.diffae_config).to(device).eval()



def latent_net(cfg: OSASISConfig, device: torch.device) -> MLPSkipNet:
    """The frozen latent DPM (from the ``*_autoenc_latent`` checkpoint)."""
    net = load_latent_net(resolve(cfg.latent, cfg.latent_path), named_config(cfg.latent_config))
    return net.requires_grad_(False).to(device).eval()


def latent_stats(cfg: OSASISConfig) -> LatentStats:
    channels = named_config(cfg.diffae_config).enc_out_channels
    return load_latent_stats(resolve(cfg.latent_stats, cfg.latent_stats_path), channels=channels)


def p2_model(cfg: OSASISConfig, device: torch.device) -> ADMUNet:
    """The frozen P2-weighting DDPM used for the style pair."""
    return load_p2(resolve(cfg.p2, cfg.p2_path), named_config(cfg.p2_config)).requires_grad_(False).to(device).eval()


def model_resolution(cfg: OSASISConfig) -> int:
    """The DiffAE image size (inputs are resized to it and outputs back to the benchmark resolution)."""
    return int(named_config(cfg.diffae_config).image_size)
