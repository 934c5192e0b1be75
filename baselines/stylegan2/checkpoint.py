"""Load and save StyleGAN2 weights in the rosinality layout (``g``, ``g_ema``, ``d``, ``latent_avg``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from baselines.stylegan2.model import Discriminator, Generator, StyleGAN2Config
from benchmark.checkpoints import load_restricted, load_state_strict, require_keys, skipped_init
from benchmark.errors import CheckpointError

GENERATOR_KEYS = ("g_ema", "g")


#: Classes official training scripts pickle beside the weights (``args``: an ``argparse.Namespace``); inert stubs.
STUB_MODULES = ("argparse", "__main__")


def read_checkpoint(path: str | Path, what: str = "StyleGAN2 checkpoint") -> Mapping[str, Any]:
    """Load a checkpoint through the restricted loader (``args`` namespaces become inert stubs; no code runs)."""
    return require_keys(load_restricted(path, what, stub_modules=STUB_MODULES), (), path, what)


def infer_config(state: Mapping[str, torch.Tensor], lr_mlp: float = 0.01) -> StyleGAN2Config:
    """Architecture of a generator (or, lacking ``style.*``, discriminator) state dict from its shapes."""
    if "conv1.conv.weight" in state:
        n_mlp = len([k for k in state if re.fullmatch(r"style\.\d+\.weight", k)])
        style_dim = int(state["style.1.weight"].shape[1])
        n_rgb = len([k for k in state if re.fullmatch(r"to_rgbs\.\d+\.bias", k)])
        channels = {4: int(state["conv1.conv.weight"].shape[1])}
        for k in range(n_rgb):
            channels[2 ** (k + 3)] = int(state[f"convs.{2 * k}.conv.weight"].shape[1])
        size = 2 ** (n_rgb + 2)
        return StyleGAN2Config(size=size, style_dim=style_dim, n_mlp=n_mlp, lr_mlp=lr_mlp, channels=channels)
    if "convs.0.0.weight" in state:
        n_blocks = len([k for k in state if re.fullmatch(r"convs\.\d+\.conv2\.1\.weight", k)])
        size = 2 ** (n_blocks + 2)
        channels = {size: int(state["convs.0.0.weight"].shape[0])}
        for i in range(1, n_blocks + 1):
            channels[size // 2**i] = int(state[f"convs.{i}.conv2.1.weight"].shape[0])
        return StyleGAN2Config(size=size, channels=channels)
    raise CheckpointError("state dict is neither a StyleGAN2 generator nor discriminator")


def load_generator(
    path: str | Path, key: str | None = None, cfg: StyleGAN2Config | None = None
) -> tuple[Generator, torch.Tensor | None]:
    """Build a generator from ``path`` (strict); returns it (eval mode) and ``latent_avg`` if stored.

    ``key`` defaults to ``g_ema`` when present, else ``g`` (JoJoGAN fine-tuned files hold only ``g``).
    """
    what = "StyleGAN2 generator"
    ckpt = read_checkpoint(path, what)
    if key is None:
        key = next((k for k in GENERATOR_KEYS if k in ckpt), GENERATOR_KEYS[0])
    state = require_keys(ckpt, (key,), path, what)[key]
    with skipped_init():
        gen = Generator(cfg or infer_config(state))
    load_state_strict(gen, state, path, f"{what} [{key}]")
    latent_avg = ckpt.get("latent_avg")
    return gen.eval(), latent_avg


def load_discriminator(path: str | Path, cfg: StyleGAN2Config | None = None) -> Discriminator:
    """Build the discriminator stored under ``d`` in ``path`` (strict, eval mode)."""
    what = "StyleGAN2 discriminator"
    state = require_keys(read_checkpoint(path, what), ("d",), path, what)["d"]
    with skipped_init():
        disc = Discriminator(cfg or infer_config(state))
    load_state_strict(disc, state, path, what)
    return disc.eval()


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def official_state(
    g: Generator | None = None,
    g_ema: Generator | None = None,
    d: Discriminator | None = None,
    latent_avg: torch.Tensor | None = None,
) -> dict[str, Any]:
    """A dict in the official layout holding whichever parts are given."""
    out: dict[str, Any] = {}
    if g is not None:
        out["g"] = _cpu_state(g)
    if g_ema is not None:
        out["g_ema"] = _cpu_state(g_ema)
    if d is not None:
        out["d"] = _cpu_state(d)
    if latent_avg is not None:
        out["latent_avg"] = latent_avg.detach().cpu().clone()
    return out


def save_official(path: str | Path, **parts: Any) -> Path:
    """Save ``official_state(**parts)`` to ``path`` with ``torch.save`` (tensors only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(official_state(**parts), tmp)
    tmp.replace(path)
    return path
