"""Read and write HFGI checkpoints in the official layout.

Official ``ckpt.pt`` (``training/coach.py``): ``{"state_dict": pSp.state_dict(), "opts": dict, "latent_avg":
[18, 512]}``; the state dict holds ``encoder.*`` (e4e, frozen copy of ``e4e_ffhq_encode.pt``), ``decoder.*``
(StyleGAN2, with ``noises.noise_*``), ``residue.*`` (:class:`ResidualEncoder`) and ``grid_align.*``
(:class:`ResidualAligner`).  Each part present is loaded strictly; ``parts`` names those that must be there.

The smoke profile's HFGI file has no e4e (its base code comes from the W+ projector): it holds only
``residue.*`` and ``grid_align.*``, and ``opts`` records ``encoder_type: "none"`` plus the sizes
(``input_size``, ``condition_size``) that upstream hard-wires (256, 64).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from baselines.e4e.checkpoint import infer_e4e_config
from baselines.e4e.encoder import Encoder4Editing
from baselines.hfgi.networks import HFGIConfig, ResidualAligner, ResidualEncoder
from baselines.stylegan2.checkpoint import infer_config, read_checkpoint
from baselines.stylegan2.model import Generator
from benchmark.checkpoints import load_state_strict, require_keys, skipped_init, strip_prefix
from benchmark.errors import CheckpointError

WHAT = "HFGI checkpoint"
PARTS = ("encoder", "decoder", "residue", "grid_align")
OFFICIAL_PARTS = PARTS
BRANCH_PARTS = ("residue", "grid_align")


@dataclass
class HFGIWeights:
    """The loaded parts (eval mode); ``encoder``/``decoder`` are ``None`` when the file lacks them."""

    residue: ResidualEncoder
    grid_align: ResidualAligner
    config: HFGIConfig
    encoder: Encoder4Editing | None = None
    decoder: Generator | None = None
    latent_avg: torch.Tensor | None = None
    opts: dict[str, Any] = field(default_factory=dict)

    def to(self, device: str | torch.device) -> HFGIWeights:
        for name in PARTS:
            module = getattr(self, name)
            if module is not None:
                module.to(device)
        if self.latent_avg is not None:
            self.latent_avg = self.latent_avg.to(device)
        return self


def hfgi_config(state: dict[str, torch.Tensor], opts: dict[str, Any]) -> HFGIConfig:
    """Sizes from the ``residue.*`` shapes and ``opts`` (official files lack the size keys: 256 and 64)."""
    key = "condition_scale3.2.weight"
    if key not in state:
        raise CheckpointError(f"{WHAT}: the residue weights lack {key!r}")
    return HFGIConfig(
        input_size=int(opts.get("input_size", 256)),
        cond_channels=int(state[key].shape[0]),
        cond_size=int(opts.get("condition_size", 64)),
    )


def load_hfgi(path: str | Path, parts: Sequence[str] = OFFICIAL_PARTS) -> HFGIWeights:
    """Load an HFGI file; every part in ``parts`` must be present, and every part present loads strictly."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown HFGI parts {unknown}; choose from {list(PARTS)}")
    ckpt = require_keys(read_checkpoint(path, WHAT), ("state_dict",), path, WHAT)
    state = ckpt["state_dict"]
    opts = dict(ckpt.get("opts") or {})
    split = {name: strip_prefix(state, f"{name}.") for name in PARTS}
    missing = [name for name in (*BRANCH_PARTS, *parts) if not split[name]]
    if missing:
        raise CheckpointError(
            f"{WHAT}: {path} has no {', '.join(sorted(set(missing)))} weights (keys with the prefixes "
            f"{', '.join(sorted({m + '.' for m in missing}))}); an official HFGI ckpt.pt has all of {list(PARTS)}"
        )
    known = tuple(f"{name}." for name in PARTS)
    stray = sorted(k for k in state if not k.startswith(known))
    if stray:
        raise CheckpointError(f"{WHAT}: {path} has {len(stray)} keys outside {list(PARTS)} (e.g. {stray[:5]})")
    cfg = hfgi_config(split["residue"], opts)
    residue = ResidualEncoder(cfg.cond_channels, cfg.cond_size)
    load_state_strict(residue, split["residue"], path, f"{WHAT} [residue]")
    grid_align = ResidualAligner()
    load_state_strict(grid_align, split["grid_align"], path, f"{WHAT} [grid_align]")
    encoder = decoder = None
    if split["encoder"]:
        with skipped_init():
            encoder = Encoder4Editing(infer_e4e_config(split["encoder"]))
        load_state_strict(encoder, split["encoder"], path, f"{WHAT} [encoder]")
        encoder.eval()
    if split["decoder"]:
        with skipped_init():
            decoder = Generator(infer_config(split["decoder"]))
        load_state_strict(decoder, split["decoder"], path, f"{WHAT} [decoder]")
        decoder.eval()
        try:
            width = decoder.convs[2 * decoder.condition_layer(cfg.cond_size)].conv.cout
        except ValueError:
            width = -1
        if width != cfg.cond_channels:
            raise CheckpointError(
                f"{WHAT}: {path}: {cfg.cond_channels}-channel conditions at {cfg.cond_size}px do not fit its "
                f"{decoder.size}px decoder"
            )
    latent_avg = ckpt.get("latent_avg")
    if encoder is not None and latent_avg is None:
        raise CheckpointError(f"{WHAT}: {path} has an encoder but no 'latent_avg' (added to the encoder output)")
    return HFGIWeights(
        residue=residue.eval(),
        grid_align=grid_align.eval(),
        config=cfg,
        encoder=encoder,
        decoder=decoder,
        latent_avg=None if latent_avg is None else latent_avg.float(),
        opts=opts,
    )


def _prefixed(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().clone() for k, v in module.state_dict().items()}


def save_hfgi(
    path: str | Path,
    residue: ResidualEncoder,
    grid_align: ResidualAligner,
    encoder: Encoder4Editing | None = None,
    decoder: Generator | None = None,
    latent_avg: torch.Tensor | None = None,
    opts: dict[str, Any] | None = None,
    input_size: int = 256,
) -> Path:
    """Write the official layout (atomically); ``opts`` is completed with the sizes and the encoder type."""
    state: dict[str, torch.Tensor] = {}
    for name, module in (("encoder", encoder), ("decoder", decoder), ("residue", residue), ("grid_align", grid_align)):
        if module is not None:
            state.update(_prefixed(name, module))
    full_opts: dict[str, Any] = {
        "encoder_type": "Encoder4Editing" if encoder is not None else "none",
        "start_from_latent_avg": latent_avg is not None,
        "dataset_type": "ffhq_encode",
        "input_size": int(input_size),
        "condition_size": int(residue.cond_size),
    }
    if decoder is not None:
        full_opts["stylegan_size"] = decoder.size
    full_opts.update(opts or {})
    ckpt: dict[str, Any] = {"state_dict": state, "opts": full_opts}
    if latent_avg is not None:
        ckpt["latent_avg"] = latent_avg.detach().cpu().clone()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    return path
