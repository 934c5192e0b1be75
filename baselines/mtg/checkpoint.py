"""The released MTG per-style file: ``{'g_ema', 'g_optim', 'latent_avg', 'style_latent'}`` (``train.py``).

``g_ema`` is the trainable generator's state dict (rosinality layout, loaded strictly), ``g_optim`` the Adam
state dict, ``latent_avg`` the source generator's mean latent and ``style_latent`` the II2S code of the style
image ``[1, n_latent, D]``. Loading goes through the restricted loader only (tensors first, foreign classes
stubbed); no code from the file runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from baselines.stylegan2.checkpoint import infer_config, read_checkpoint
from baselines.stylegan2.model import Generator
from benchmark.checkpoints import load_state_strict, require_keys, skipped_init
from benchmark.errors import CheckpointError

WHAT = "MTG style checkpoint"
REQUIRED = ("g_ema", "style_latent")
OFFICIAL_KEYS = ("g_ema", "g_optim", "latent_avg", "style_latent")


@dataclass
class MTGModel:
    """A fine-tuned MTG generator with its style code (and, when stored, the optimiser state)."""

    generator: Generator
    style_latent: torch.Tensor
    latent_avg: torch.Tensor | None
    optimizer_state: dict[str, Any] | None


def load_mtg(path: str | Path) -> MTGModel:
    """Load an MTG per-style file strictly (architecture inferred from ``g_ema``'s shapes)."""
    ckpt = require_keys(read_checkpoint(path, WHAT), REQUIRED, path, WHAT)
    state = ckpt["g_ema"]
    with skipped_init():
        gen = Generator(infer_config(state))
    load_state_strict(gen, state, path, f"{WHAT} [g_ema]")
    style = ckpt["style_latent"]
    if not isinstance(style, torch.Tensor) or tuple(style.shape) != (1, gen.n_latent, gen.style_dim):
        shape = tuple(style.shape) if isinstance(style, torch.Tensor) else type(style).__name__
        raise CheckpointError(f"{path}: style_latent has shape {shape}, expected (1, {gen.n_latent}, {gen.style_dim})")
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is not None and (not isinstance(latent_avg, torch.Tensor) or latent_avg.shape[-1] != gen.style_dim):
        raise CheckpointError(f"{path}: latent_avg does not match style_dim {gen.style_dim}")
    optim = ckpt.get("g_optim")
    if optim is not None and not (isinstance(optim, dict) and {"state", "param_groups"} <= set(optim)):
        raise CheckpointError(f"{path}: g_optim is not an optimizer state dict")
    return MTGModel(gen.eval(), style.detach().float(), latent_avg, optim)


def save_mtg(path: str | Path, g: Generator, optimizer: torch.optim.Optimizer | None, latent_avg: torch.Tensor | None,
             style_latent: torch.Tensor) -> Path:  # fmt: skip
    """Write the released layout (tensors and plain containers only) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "g_ema": {k: v.detach().cpu().clone() for k, v in g.state_dict().items()},
        "g_optim": optimizer.state_dict() if optimizer is not None else None,
        "latent_avg": latent_avg.detach().cpu().clone() if latent_avg is not None else None,
        "style_latent": style_latent.detach().cpu().clone(),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path
