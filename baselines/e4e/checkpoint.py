"""Read and write e4e checkpoints in the official layout.

Official ``e4e_ffhq_encode.pt``: ``{"state_dict": {"encoder.*", "decoder.*"}, "latent_avg": [18, 512],
"opts": dict, ...}``; the decoder is a rosinality StyleGAN2 generator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from baselines.e4e.encoder import E4EConfig, Encoder4Editing
from baselines.stylegan2.checkpoint import infer_config, read_checkpoint
from baselines.stylegan2.model import Generator
from benchmark.checkpoints import load_state_strict, require_keys, require_layout, skipped_init, strip_prefix
from benchmark.errors import CheckpointError
from benchmark.nets.ir_se import STAGE_UNITS

WHAT = "e4e encoder"


def infer_e4e_config(state: Mapping[str, torch.Tensor]) -> E4EConfig:
    """Encoder architecture from an ``encoder.*``-stripped state dict's key names and shapes."""
    n_units = len({m.group(1) for k in state if (m := re.match(r"body\.(\d+)\.", k))})
    depth = next((d for d, units in STAGE_UNITS.items() if sum(units) == n_units), None)
    if depth is None:
        raise CheckpointError(f"{WHAT}: {n_units} residual units match no IR-SE depth")
    n_latent = len([k for k in state if re.fullmatch(r"styles\.\d+\.linear\.weight", k)])
    n_down = len([k for k in state if re.fullmatch(r"styles\.0\.convs\.\d+\.weight", k)])
    return E4EConfig(
        num_layers=depth,
        width=int(state["input_layer.0.weight"].shape[0]),
        style_dim=int(state["styles.0.linear.weight"].shape[0]),
        n_latent=n_latent,
        input_size=16 * 2**n_down,
    )


def load_e4e(path: str | Path, with_decoder: bool = False) -> tuple[Encoder4Editing, torch.Tensor, Generator | None]:
    """Encoder (eval, strict), ``latent_avg`` ([n_latent, D] or [D]) and optionally the decoder."""
    ckpt = require_keys(read_checkpoint(path, WHAT), ("state_dict", "latent_avg"), path, WHAT)
    state = require_keys(ckpt["state_dict"], (), path, WHAT + " [state_dict]")
    require_layout(state, ("encoder.", "decoder."), (), path, WHAT + " [state_dict]")
    enc_state = strip_prefix(state, "encoder.")
    if not enc_state:
        raise CheckpointError(f"{WHAT}: {path} has no 'encoder.*' weights in its state_dict")
    with skipped_init():
        encoder = Encoder4Editing(infer_e4e_config(enc_state))
    load_state_strict(encoder, enc_state, path, WHAT)
    decoder = None
    if with_decoder:
        dec_state = strip_prefix(state, "decoder.")
        with skipped_init():
            decoder = Generator(infer_config(dec_state))
        load_state_strict(decoder, dec_state, path, "e4e decoder")
        decoder.eval()
    return encoder.eval(), ckpt["latent_avg"].float(), decoder


def save_e4e(
    path: str | Path,
    encoder: Encoder4Editing,
    latent_avg: torch.Tensor,
    decoder: Generator | None = None,
    opts: dict[str, Any] | None = None,
) -> Path:
    """Write ``encoder`` (+ ``decoder``) in the official e4e layout."""
    state = {f"encoder.{k}": v.detach().cpu().clone() for k, v in encoder.state_dict().items()}
    if decoder is not None:
        state.update({f"decoder.{k}": v.detach().cpu().clone() for k, v in decoder.state_dict().items()})
    cfg = encoder.cfg
    default_opts = {
        "encoder_type": "Encoder4Editing",
        "stylegan_size": 2 ** ((cfg.n_latent + 2) // 2),
        "start_from_latent_avg": True,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {"state_dict": state, "latent_avg": latent_avg.detach().cpu().clone(), "opts": opts or default_opts}, tmp
    )
    tmp.replace(path)
    return path
